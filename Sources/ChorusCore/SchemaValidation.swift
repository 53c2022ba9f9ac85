import ChorusFormat
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - Showing user input safely

/// `s` made safe to print on a terminal inside a message: printable ASCII (U+0020...U+007E) is kept,
/// a backslash becomes `\\`, and every other Unicode scalar (control characters, escape sequences,
/// bidi overrides, zero-width characters, combining marks, look-alike letters, ...) becomes
/// `\u{XXXX}` (upper-case hex, at least 4 digits). At most `limit` scalars of `s` are shown; a longer
/// string ends in `...`. The result is always printable ASCII.
///
/// Use it for every piece of user input (argv, replies, file names, file contents) quoted in a message.
public func displaySafe(_ s: String, limit: Int = 64) -> String {
    var out = ""
    var shown = 0
    for u in s.unicodeScalars {
        if shown == max(limit, 0) {
            out += "..."
            break
        }
        switch u.value {
        case 0x5C: out += "\\\\"
        case 0x20 ... 0x7E: out.unicodeScalars.append(u)
        default:
            out += escapedScalar(u)
        }
        shown += 1
    }
    return out
}

/// A scalar written as `\u{XXXX}` (upper-case hex, at least 4 digits): printable ASCII that names it.
public func escapedScalar(_ u: Unicode.Scalar) -> String {
    let hex = String(u.value, radix: 16, uppercase: true)
    return "\\u{" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex + "}"
}

/// `s` with every scalar that could steer or fool a terminal written as `\u{XXXX}`: control
/// characters (C0 but line feed, DEL, C1, so no escape sequence), format characters (bidi overrides
/// and isolates, zero-width characters, BOM, ...), line and paragraph separators, private-use,
/// surrogate, unassigned and non-character code points. Everything else, including a backslash and
/// printable non-ASCII text, is kept as it is. The last line of defence of every message on stderr
/// (`displaySafe` is the first: it is applied to each piece of input a message quotes).
public func terminalSafe(_ s: String) -> String {
    func dangerous(_ u: Unicode.Scalar) -> Bool {
        if u.value == 0x0A { return false }
        if u.properties.isNoncharacterCodePoint { return true }
        switch u.properties.generalCategory {
        case .control, .format, .lineSeparator, .paragraphSeparator, .privateUse, .surrogate, .unassigned: return true
        default: return false
        }
    }
    guard s.unicodeScalars.contains(where: dangerous) else { return s }
    var out = String.UnicodeScalarView()
    for u in s.unicodeScalars {
        if dangerous(u) {
            out.append(contentsOf: escapedScalar(u).unicodeScalars)
        } else {
            out.append(u)
        }
    }
    return String(out)
}

// MARK: - Schema files

extension Schema {
    /// The largest schema file accepted (1 MiB).
    public static let maxFileBytes = 1 << 20
    /// The most fields a schema may have (also the most answer lines, docs/FORMAT.md 4).
    public static let maxFields = 64
    /// The most values a `single` or `multiple` field may have.
    public static let maxValues = 64
    /// The earliest `min` a `year` field may have.
    public static let earliestYear = 1900
    /// The longest label, in Unicode scalars.
    public static let maxLabelLength = 200

    static let fieldKeys = ["id", "label", "kind", "values", "min", "required"]

    /// The current year in UTC (the upper bound of every `year` field).
    public static func currentUTCYear(_ now: Date = Date()) -> Int {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar.component(.year, from: now)
    }

    /// Reads and strictly checks a schema file given by the user (`chorus init --schema FILE`).
    /// A missing file is `.noInput`, an unreadable one `.permission` or `.ioError`, anything wrong
    /// inside it `.dataError`, each as one sentence naming the file, the field and the reason.
    public static func load(path: String, currentYear: Int = currentUTCYear()) throws(ChorusError) -> Schema {
        let shown = displaySafe(path, limit: 200)
        // O_NONBLOCK: a FIFO planted as the schema must not make the open wait for a writer forever
        // (it is then refused as not a regular file). Reads of a regular file ignore the flag.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        if fd < 0 {
            let e = errno
            if e == ENOENT { throw ChorusError.noInput("schema file \(shown) does not exist") }
            if e == EACCES { throw ChorusError.permission("cannot read schema file \(shown): permission denied") }
            throw ChorusError.io("cannot open schema file \(shown): \(String(cString: strerror(e)))")
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw ChorusError.io("cannot stat schema file \(shown): \(String(cString: strerror(errno)))") }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw ChorusError.data("schema file \(shown) is not a regular file") }
        guard Int(st.st_size) <= maxFileBytes else {
            throw ChorusError.data("schema file \(shown) is \(st.st_size) bytes, more than the limit of \(maxFileBytes) bytes (1 MiB)")
        }
        // Read at most one byte more than the limit, in case the file grew after fstat.
        var bytes = [UInt8](repeating: 0, count: maxFileBytes + 1)
        var filled = 0
        while filled < bytes.count {
            let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + filled, $0.count - filled) }
            if n < 0 {
                if errno == EINTR { continue }
                throw ChorusError.io("cannot read schema file \(shown): \(String(cString: strerror(errno)))")
            }
            if n == 0 { break }
            filled += n
        }
        bytes.removeSubrange(filled...)
        return try load(json: bytes, source: "schema file \(shown)", currentYear: currentYear)
    }

    /// Parses and strictly checks schema JSON (`{"fields": [...]}`, docs/FORMAT.md 7.2). Unknown keys,
    /// duplicate keys, wrong types and every rule of the format are rejected with `.dataError` and one
    /// sentence starting with `source` (e.g. "schema file my.json").
    public static func load(json bytes: [UInt8], source: String = "the schema",
                            currentYear: Int = currentUTCYear()) throws(ChorusError) -> Schema {
        func fail(_ why: String) -> ChorusError { ChorusError.data("\(source): \(why)") }
        guard bytes.count <= maxFileBytes else {
            throw fail("it is \(bytes.count) bytes, more than the limit of \(maxFileBytes) bytes (1 MiB)")
        }
        let root: StrictJSONValue
        do {
            root = try StrictJSONParser.parse(bytes)
        } catch {
            throw fail("not valid JSON: \(error.why) at line \(error.line), column \(error.column)")
        }
        let schema = try decodeRoot(root, fail: fail)
        if let problem = schema.validationProblems(currentYear: currentYear).first { throw fail(problem) }
        return schema
    }

    /// Decodes a schema stored by Chorus (store configuration, batch header): `canonicalJSON()` bytes,
    /// checked like a user's file and, in addition, required to be exactly in canonical form.
    public static func decode(canonicalJSON bytes: [UInt8], source: String = "the stored schema",
                              currentYear: Int = currentUTCYear()) throws(ChorusError) -> Schema {
        let schema = try load(json: bytes, source: source, currentYear: currentYear)
        guard schema.canonicalJSON() == bytes else { throw ChorusError.data("\(source): not in canonical form") }
        return schema
    }

    /// Checks a schema built in code or decoded with `Codable` (which does not check anything):
    /// throws `.dataError` with the first problem found.
    public func validate(currentYear: Int = Schema.currentUTCYear(), source: String = "the schema") throws(ChorusError) {
        if let problem = validationProblems(currentYear: currentYear).first { throw ChorusError.data("\(source): \(problem)") }
    }

    /// Every rule of docs/FORMAT.md 7.2 this schema breaks, one lowercase sentence each, in field order;
    /// empty when the schema is valid.
    public func validationProblems(currentYear: Int = Schema.currentUTCYear()) -> [String] {
        var problems: [String] = []
        if fields.isEmpty { problems.append("it has no fields; a schema needs 1 to \(Schema.maxFields)") }
        if fields.count > Schema.maxFields {
            problems.append("it has \(fields.count) fields, more than the limit of \(Schema.maxFields)")
        }
        var ids: [[UInt8]] = []
        for (i, f) in fields.enumerated() {
            let name = "field \(i + 1) (\"\(displaySafe(f.id))\")"
            if f.id == "arrival" {
                problems.append("\(name) uses the reserved id \"arrival\" (it holds the arrival month); choose another id")
            } else if !AnswersText.isFieldID(f.id) {
                problems.append("\(name) has an invalid id; an id is 1 to 32 lowercase ASCII letters, digits and \"-\", starting with a letter")
            }
            if let j = ids.firstIndex(of: Array(f.id.utf8)) {
                problems.append("\(name) has the same id as field \(j + 1); ids must be unique")
            }
            ids.append(Array(f.id.utf8))
            if let why = Schema.labelProblem(f.label) { problems.append("\(name) has a label that \(why)") }
            switch f.kind {
            case .single, .multiple:
                if f.min != nil { problems.append("\(name) has \"min\", which only a \"year\" field may have") }
                guard let values = f.values else {
                    problems.append("\(name) has no \"values\"; a \"\(f.kind.rawValue)\" field needs 1 to \(Schema.maxValues)")
                    continue
                }
                if values.isEmpty || values.count > Schema.maxValues {
                    problems.append("\(name) has \(values.count) values; a \"\(f.kind.rawValue)\" field needs 1 to \(Schema.maxValues)")
                }
                var seen: [[UInt8]] = []
                for v in values {
                    if !AnswersText.isValue(v) {
                        problems.append("\(name) has the invalid value \"\(displaySafe(v))\"; a value is 1 to 48 lowercase ASCII letters, digits and \"-\", not starting with \"-\"")
                    } else if seen.contains(Array(v.utf8)) {
                        problems.append("\(name) lists the value \"\(displaySafe(v))\" twice; values must be unique")
                    }
                    seen.append(Array(v.utf8))
                }
            case .year:
                if f.values != nil { problems.append("\(name) is a \"year\" field and must not have \"values\"") }
                if let min = f.min {
                    if min < Schema.earliestYear || min > currentYear {
                        problems.append("\(name) has \"min\" \(min), outside \(Schema.earliestYear) to \(currentYear) (the current year)")
                    }
                } else {
                    problems.append("\(name) is a \"year\" field without \"min\" (the first allowed year, \(Schema.earliestYear) or later)")
                }
            }
        }
        if problems.isEmpty {
            let worst = worstCaseAnswersBytes(currentYear: currentYear)
            if worst > AnswersText.maxBytes {
                problems.append("answering every value of every field would take \(worst) bytes, more than the \(AnswersText.maxBytes)-byte limit of the answers; use fewer or shorter ids and values")
            }
        }
        return problems
    }

    /// The size of the largest answers text this schema allows.
    func worstCaseAnswersBytes(currentYear: Int) -> Int {
        var total = AnswersText.header.utf8.count + 1 + "arrival=YYYY-MM\n".utf8.count
        for f in fields {
            let valueBytes: Int
            switch f.kind {
            case .year: valueBytes = String(max(currentYear, f.min ?? 0)).utf8.count
            case .single: valueBytes = (f.values ?? []).map(\.utf8.count).max() ?? 0
            case .multiple:
                let vs = f.values ?? []
                valueBytes = vs.reduce(0) { $0 + $1.utf8.count } + max(0, vs.count - 1)
            }
            total += f.id.utf8.count + 1 + valueBytes + 1
        }
        return total
    }

    /// Why a label is not acceptable, or nil.
    static func labelProblem(_ label: String) -> String? {
        let count = label.unicodeScalars.count
        if count == 0 { return "is empty; a label is 1 to \(maxLabelLength) characters" }
        if count > maxLabelLength { return "is \(count) characters long, more than the limit of \(maxLabelLength)" }
        if label.unicodeScalars.allSatisfy({ $0.properties.isWhitespace }) { return "is only whitespace" }
        if let bad = label.unicodeScalars.first(where: { !isLabelScalar($0) }) {
            return "contains the control or invisible formatting character \(displaySafe(String(Character(bad))))"
        }
        return nil
    }

    /// Labels are shown on the submitter's terminal: no control characters (C0, DEL, C1), no line or
    /// paragraph separators, no invisible format characters (bidi overrides and isolates, zero-width
    /// space, BOM, ...) except ZWNJ and ZWJ (needed by some scripts and emoji), no private-use or
    /// non-character code points.
    static func isLabelScalar(_ u: Unicode.Scalar) -> Bool {
        if u.value == 0x200C || u.value == 0x200D { return true }
        if u.properties.isNoncharacterCodePoint { return false }
        switch u.properties.generalCategory {
        case .control, .format, .lineSeparator, .paragraphSeparator, .privateUse, .surrogate: return false
        default: return true
        }
    }

    /// Builds a schema from parsed JSON, rejecting unknown keys and wrong types.
    private static func decodeRoot(_ root: StrictJSONValue, fail: (String) -> ChorusError) throws(ChorusError) -> Schema {
        guard case let .object(members) = root else { throw fail("the top level must be a JSON object {\"fields\": [...]}, not \(root.typeName)") }
        for (key, _) in members where key != "fields" {
            throw fail("unknown key \"\(displaySafe(key))\" at the top level; only \"fields\" is allowed")
        }
        guard let fieldsValue = members.first(where: { $0.key == "fields" })?.value else { throw fail("there is no \"fields\" list") }
        guard case let .array(items) = fieldsValue else { throw fail("\"fields\" must be a list, not \(fieldsValue.typeName)") }
        if items.isEmpty { throw fail("\"fields\" is empty; a schema needs 1 to \(maxFields) fields") }
        if items.count > maxFields { throw fail("it has \(items.count) fields, more than the limit of \(maxFields)") }
        var fields: [Field] = []
        for (i, item) in items.enumerated() {
            fields.append(try decodeField(item, index: i, fail: fail))
        }
        return Schema(fields: fields)
    }

    private static func decodeField(_ item: StrictJSONValue, index i: Int, fail: (String) -> ChorusError) throws(ChorusError) -> Field {
        guard case let .object(members) = item else { throw fail("field \(i + 1) must be a JSON object, not \(item.typeName)") }
        var dict: [String: StrictJSONValue] = [:]
        for (k, v) in members { dict[k] = v }
        var name = "field \(i + 1)"
        if case let .string(id)? = dict["id"] { name += " (\"\(displaySafe(id))\")" }
        for (key, _) in members where !fieldKeys.contains(key) {
            throw fail("\(name) has the unknown key \"\(displaySafe(key))\"; allowed keys: \(fieldKeys.joined(separator: ", "))")
        }
        func string(_ key: String) throws(ChorusError) -> String {
            guard let v = dict[key] else { throw fail("\(name) has no \"\(key)\"") }
            guard case let .string(s) = v else { throw fail("\(name): \"\(key)\" must be a string, not \(v.typeName)") }
            return s
        }
        let id = try string("id")
        let label = try string("label")
        let kindName = try string("kind")
        guard let kind = Field.Kind(rawValue: kindName) else {
            throw fail("\(name) has the unknown kind \"\(displaySafe(kindName))\"; a kind is \"single\", \"multiple\" or \"year\"")
        }
        guard let requiredValue = dict["required"] else { throw fail("\(name) has no \"required\" (true or false)") }
        guard case let .bool(required) = requiredValue else {
            throw fail("\(name): \"required\" must be true or false, not \(requiredValue.typeName)")
        }
        var values: [String]? = nil
        if let v = dict["values"] {
            guard case let .array(list) = v else { throw fail("\(name): \"values\" must be a list of strings, not \(v.typeName)") }
            var strings: [String] = []
            for (j, element) in list.enumerated() {
                guard case let .string(s) = element else {
                    throw fail("\(name): value \(j + 1) must be a string, not \(element.typeName)")
                }
                strings.append(s)
            }
            values = strings
        }
        var min: Int? = nil
        if let v = dict["min"] {
            guard case let .number(text) = v else { throw fail("\(name): \"min\" must be a whole number, not \(v.typeName)") }
            guard let n = Int(text) else { throw fail("\(name): \"min\" must be a whole number, not \(displaySafe(text))") }
            min = n
        }
        return Field(id: id, label: label, kind: kind, values: values, min: min, required: required)
    }

    /// The schema as canonical JSON: no whitespace, object keys in ascending byte order, absent
    /// `values`/`min` left out, strings with only `"`, `\` and U+0000...U+001F escaped (`\"`, `\\`,
    /// `\u00xx`), everything else as UTF-8. The same schema always gives the same bytes; this is what
    /// a store's configuration and every batch carry.
    public func canonicalJSON() -> [UInt8] {
        var out: [UInt8] = []
        func put(_ s: String) { out.append(contentsOf: s.utf8) }
        func putString(_ s: String) {
            out.append(UInt8(ascii: "\""))
            for b in s.utf8 {
                switch b {
                case UInt8(ascii: "\""): put("\\\"")
                case UInt8(ascii: "\\"): put("\\\\")
                case 0x00 ..< 0x20:
                    let hex = String(b, radix: 16)
                    put("\\u00" + (hex.count == 1 ? "0" : "") + hex)
                default: out.append(b)
                }
            }
            out.append(UInt8(ascii: "\""))
        }
        put("{\"fields\":[")
        for (i, f) in fields.enumerated() {
            if i > 0 { put(",") }
            // Keys in byte order: id, kind, label, min, required, values.
            put("{\"id\":"); putString(f.id)
            put(",\"kind\":"); putString(f.kind.rawValue)
            put(",\"label\":"); putString(f.label)
            if let min = f.min { put(",\"min\":\(min)") }
            put(",\"required\":\(f.required ? "true" : "false")")
            if let values = f.values {
                put(",\"values\":[")
                for (j, v) in values.enumerated() {
                    if j > 0 { put(",") }
                    putString(v)
                }
                put("]")
            }
            put("}")
        }
        put("]}")
        return out
    }
}

// MARK: - Checking answers

extension Schema {
    /// Checks raw `--answer FIELD=VALUE[,VALUE]...` strings (repeatable; `kind=a,b` and `kind=a`
    /// `kind=b` mean the same) against the schema and builds the canonical answers.
    ///
    /// Normalisation: spaces (U+0020) around the field and around each value are dropped and ASCII
    /// upper case is folded to lower case; nothing else. Any other character outside `[a-z0-9-]` (tabs,
    /// control characters, bidi overrides, zero-width characters, combining marks, non-ASCII
    /// look-alikes, fullwidth forms) is rejected. Errors are `.usage`, one sentence naming the field
    /// and the allowed values, quoting the input only through `displaySafe`.
    public func answers(from raw: [String], arrivalMonth: String, currentYear: Int) throws(ChorusError) -> AnswersText {
        guard AnswersText.isMonth(arrivalMonth) else {
            throw ChorusError(.software, "internal error: the arrival month \"\(displaySafe(arrivalMonth))\" is not YYYY-MM")
        }
        let given = try partialAnswers(from: raw, currentYear: currentYear)
        let missing = fields.filter { $0.required && given[$0.id] == nil }
        if let first = missing.first {
            var message = "the required field \"\(first.id)\" has no answer; add --answer \(first.id)=VALUE with \(allowedDescription(first, currentYear: currentYear))"
            if missing.count > 1 { message += " (also missing: \(missing.dropFirst().map(\.id).joined(separator: ", ")))" }
            throw ChorusError.usage(message)
        }
        do {
            return try AnswersText(arrivalMonth: arrivalMonth, fields: given)
        } catch {
            throw ChorusError.data("the answers do not fit the answers format: \(error)")
        }
    }

    /// Like `answers(from:arrivalMonth:currentYear:)` but without the check for missing required
    /// fields: the normalised values given so far, by field id (used by the questionnaire to check one
    /// reply, and to skip the questions already answered on the command line).
    public func partialAnswers(from raw: [String], currentYear: Int) throws(ChorusError) -> [String: [String]] {
        var given: [String: [String]] = [:]
        for item in raw {
            let scalars = item.unicodeScalars
            guard let eq = scalars.firstIndex(of: "=") else {
                throw ChorusError.usage("the answer \"\(displaySafe(item))\" is not in the form FIELD=VALUE (it has no \"=\"); known fields: \(knownFields)")
            }
            let fieldName = Self.normalise(scalars[..<eq])
            if fieldName.isEmpty {
                throw ChorusError.usage("the answer \"\(displaySafe(item))\" has no field name before \"=\"; known fields: \(knownFields)")
            }
            guard Self.isToken(fieldName), let field = fields.first(where: { Array($0.id.utf8) == Array(fieldName.utf8) }) else {
                let note = Self.isToken(fieldName) ? "" : " (it contains characters other than lowercase ASCII letters, digits and \"-\")"
                throw ChorusError.usage("unknown field \"\(displaySafe(fieldName))\"\(note); known fields: \(knownFields)")
            }
            let valueScalars = scalars[scalars.index(after: eq)...]
            for part in valueScalars.split(separator: ",", omittingEmptySubsequences: false) {
                let value = Self.normalise(part)
                let allowed = allowedDescription(field, currentYear: currentYear)
                if value.isEmpty {
                    throw ChorusError.usage("the field \"\(field.id)\" was given an empty value; \(allowed)")
                }
                let canonical: String
                switch field.kind {
                case .year:
                    let digits = Array(value.utf8)
                    guard (1 ... 9).contains(digits.count), digits.allSatisfy({ (UInt8(ascii: "0") ... UInt8(ascii: "9")).contains($0) }),
                          let year = Int(value)
                    else {
                        throw ChorusError.usage("the year \"\(displaySafe(value))\" for field \"\(field.id)\" is not a number; \(allowed)")
                    }
                    let min = field.min ?? Schema.earliestYear
                    guard (min ... Swift.max(min, currentYear)).contains(year), year <= currentYear else {
                        throw ChorusError.usage("the year \(year) for field \"\(field.id)\" is out of range; \(allowed)")
                    }
                    canonical = String(year)
                case .single, .multiple:
                    guard Self.isToken(value) else {
                        throw ChorusError.usage("the value \"\(displaySafe(value))\" for field \"\(field.id)\" contains characters other than lowercase ASCII letters, digits and \"-\"; \(allowed)")
                    }
                    guard (field.values ?? []).contains(where: { Array($0.utf8) == Array(value.utf8) }) else {
                        throw ChorusError.usage("unknown value \"\(displaySafe(value))\" for field \"\(field.id)\"; \(allowed)")
                    }
                    canonical = value
                }
                let previous = given[field.id] ?? []
                if previous.contains(where: { Array($0.utf8) == Array(canonical.utf8) }) {
                    throw ChorusError.usage("the value \"\(canonical)\" was given twice for field \"\(field.id)\"; give each value once")
                }
                if field.kind != .multiple, let other = previous.first {
                    let what = field.kind == .year ? "one year" : "one value"
                    throw ChorusError.usage("the field \"\(field.id)\" takes \(what) but was given two (\"\(other)\" and \"\(canonical)\"); \(allowed)")
                }
                given[field.id] = previous + [canonical]
            }
        }
        return given
    }

    /// "known fields" list for messages.
    var knownFields: String { fields.map(\.id).joined(separator: ", ") }

    /// What a field accepts, for messages: "allowed values: a, b" or "enter a year from X to Y".
    public func allowedDescription(_ field: Field, currentYear: Int) -> String {
        switch field.kind {
        case .year: return "enter a year from \(field.min ?? Schema.earliestYear) to \(currentYear)"
        case .single: return "allowed values (one): \((field.values ?? []).joined(separator: ", "))"
        case .multiple: return "allowed values (one or more): \((field.values ?? []).joined(separator: ", "))"
        }
    }

    /// Drops U+0020 around the token and folds ASCII upper case; keeps every other scalar as it is.
    static func normalise(_ scalars: Substring.UnicodeScalarView) -> String {
        var view = scalars
        while view.first == " " { view.removeFirst() }
        while view.last == " " { view.removeLast() }
        var out = String.UnicodeScalarView()
        for u in view {
            if (0x41 ... 0x5A).contains(u.value) {
                out.append(Unicode.Scalar(u.value + 0x20)!)
            } else {
                out.append(u)
            }
        }
        return String(out)
    }

    /// Only `[a-z0-9-]`, non-empty.
    static func isToken(_ s: String) -> Bool {
        !s.isEmpty && s.unicodeScalars.allSatisfy {
            ("a" ... "z").contains($0) || ("0" ... "9").contains($0) || $0 == "-"
        }
    }
}

// MARK: - A strict JSON parser (RFC 8259, nothing more)

/// A parsed JSON value; objects keep their members in file order.
enum StrictJSONValue {
    case null
    case bool(Bool)
    /// The number exactly as written (checked against the JSON grammar).
    case number(String)
    case string(String)
    case array([StrictJSONValue])
    case object([(key: String, value: StrictJSONValue)])

    var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "true/false"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "a list"
        case .object: return "an object"
        }
    }
}

struct StrictJSONError: Error {
    let why: String
    let line: Int
    let column: Int
}

/// A strict JSON parser: UTF-8 only (a leading BOM is skipped), no trailing data, no duplicate keys,
/// no lone surrogates, nesting at most 32 deep (so hostile input cannot exhaust the stack).
struct StrictJSONParser {
    static let maxDepth = 32

    private let bytes: [UInt8]
    private var i = 0

    private init(_ bytes: [UInt8]) { self.bytes = bytes }

    static func parse(_ bytes: [UInt8]) throws(StrictJSONError) -> StrictJSONValue {
        var p = StrictJSONParser(bytes)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { p.i = 3 }
        if let bad = firstInvalidUTF8(bytes) {
            p.i = bad
            throw p.error("invalid UTF-8")
        }
        p.skipWhitespace()
        if p.i == bytes.count { throw p.error("there is nothing in it (empty)") }
        let value = try p.parseValue(depth: 0)
        p.skipWhitespace()
        if p.i != bytes.count { throw p.error("unexpected data after the end of the JSON value") }
        return value
    }

    /// The offset of the first byte that is not part of well-formed UTF-8, or nil.
    static func firstInvalidUTF8(_ bytes: [UInt8]) -> Int? {
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = bytes.makeIterator()
        var offset = 0
        while true {
            switch parser.parseScalar(from: &iterator) {
            case let .valid(encoded): offset += encoded.count
            case .error: return offset
            case .emptyInput: return nil
            }
        }
    }

    private func error(_ why: String) -> StrictJSONError {
        var line = 1
        var lineStart = 0
        for (k, b) in bytes[..<Swift.min(i, bytes.count)].enumerated() where b == 0x0A {
            line += 1
            lineStart = k + 1
        }
        return StrictJSONError(why: why, line: line, column: i - lineStart + 1)
    }

    private mutating func skipWhitespace() {
        while i < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[i]) { i += 1 }
    }

    private func describeHere() -> String {
        guard i < bytes.count else { return "the end of the file" }
        let b = bytes[i]
        if (0x21 ... 0x7E).contains(b) { return "'\(Character(Unicode.Scalar(b)))'" }
        return "byte 0x" + String(b, radix: 16, uppercase: true)
    }

    private mutating func parseValue(depth: Int) throws(StrictJSONError) -> StrictJSONValue {
        guard depth < Self.maxDepth else { throw error("nesting deeper than \(Self.maxDepth) levels") }
        guard i < bytes.count else { throw error("unexpected end of the file") }
        switch bytes[i] {
        case UInt8(ascii: "{"): return try parseObject(depth: depth)
        case UInt8(ascii: "["): return try parseArray(depth: depth)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0") ... UInt8(ascii: "9"): return .number(try parseNumber())
        default: throw error("unexpected \(describeHere())")
        }
    }

    private mutating func literal(_ word: String) throws(StrictJSONError) {
        let w = Array(word.utf8)
        guard bytes.count - i >= w.count, Array(bytes[i ..< i + w.count]) == w else { throw error("unexpected \(describeHere())") }
        i += w.count
    }

    private mutating func parseObject(depth: Int) throws(StrictJSONError) -> StrictJSONValue {
        i += 1
        var members: [(key: String, value: StrictJSONValue)] = []
        skipWhitespace()
        if i < bytes.count, bytes[i] == UInt8(ascii: "}") {
            i += 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw error("expected a key in quotes but found \(describeHere())") }
            let keyStart = i
            let key = try parseString()
            if members.contains(where: { Array($0.key.utf8) == Array(key.utf8) }) {
                i = keyStart
                throw error("duplicate key \"\(displaySafe(key))\"")
            }
            skipWhitespace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw error("expected ':' but found \(describeHere())") }
            i += 1
            skipWhitespace()
            members.append((key, try parseValue(depth: depth + 1)))
            skipWhitespace()
            guard i < bytes.count else { throw error("unexpected end of the file inside an object") }
            if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
            if bytes[i] == UInt8(ascii: "}") { i += 1; return .object(members) }
            throw error("expected ',' or '}' but found \(describeHere())")
        }
    }

    private mutating func parseArray(depth: Int) throws(StrictJSONError) -> StrictJSONValue {
        i += 1
        var elements: [StrictJSONValue] = []
        skipWhitespace()
        if i < bytes.count, bytes[i] == UInt8(ascii: "]") {
            i += 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            elements.append(try parseValue(depth: depth + 1))
            skipWhitespace()
            guard i < bytes.count else { throw error("unexpected end of the file inside a list") }
            if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
            if bytes[i] == UInt8(ascii: "]") { i += 1; return .array(elements) }
            throw error("expected ',' or ']' but found \(describeHere())")
        }
    }

    private mutating func hex4() throws(StrictJSONError) -> UInt32 {
        guard bytes.count - i >= 4 else { throw error("incomplete \\u escape") }
        var v: UInt32 = 0
        for _ in 0 ..< 4 {
            let b = bytes[i]
            let d: UInt8
            switch b {
            case UInt8(ascii: "0") ... UInt8(ascii: "9"): d = b - UInt8(ascii: "0")
            case UInt8(ascii: "a") ... UInt8(ascii: "f"): d = b - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A") ... UInt8(ascii: "F"): d = b - UInt8(ascii: "A") + 10
            default: throw error("invalid \\u escape")
            }
            v = v << 4 | UInt32(d)
            i += 1
        }
        return v
    }

    private mutating func parseString() throws(StrictJSONError) -> String {
        i += 1
        var out: [UInt8] = []
        while true {
            guard i < bytes.count else { throw error("unterminated string") }
            let b = bytes[i]
            switch b {
            case UInt8(ascii: "\""):
                i += 1
                return String(decoding: out, as: UTF8.self)  // already checked to be valid UTF-8
            case 0x00 ..< 0x20:
                throw error("a raw control character (byte 0x\(String(b, radix: 16, uppercase: true))) inside a string; write it as an escape")
            case UInt8(ascii: "\\"):
                i += 1
                guard i < bytes.count else { throw error("unterminated string") }
                let e = bytes[i]
                i += 1
                switch e {
                case UInt8(ascii: "\""): out.append(0x22)
                case UInt8(ascii: "\\"): out.append(0x5C)
                case UInt8(ascii: "/"): out.append(0x2F)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var v = try hex4()
                    if (0xD800 ... 0xDBFF).contains(v) {
                        guard bytes.count - i >= 2, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") else {
                            throw error("a lone surrogate in a \\u escape")
                        }
                        i += 2
                        let low = try hex4()
                        guard (0xDC00 ... 0xDFFF).contains(low) else { throw error("a lone surrogate in a \\u escape") }
                        v = 0x10000 + ((v - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00 ... 0xDFFF).contains(v) {
                        throw error("a lone surrogate in a \\u escape")
                    }
                    out.append(contentsOf: String(Character(Unicode.Scalar(v)!)).utf8)
                default:
                    i -= 1
                    throw error("invalid escape \\\(describeHere())")
                }
            default:
                out.append(b)
                i += 1
            }
        }
    }

    private mutating func parseNumber() throws(StrictJSONError) -> String {
        let start = i
        func digits() -> Int {
            let s = i
            while i < bytes.count, (UInt8(ascii: "0") ... UInt8(ascii: "9")).contains(bytes[i]) { i += 1 }
            return i - s
        }
        if bytes[i] == UInt8(ascii: "-") { i += 1 }
        guard i < bytes.count, (UInt8(ascii: "0") ... UInt8(ascii: "9")).contains(bytes[i]) else { throw error("invalid number") }
        if bytes[i] == UInt8(ascii: "0") {
            i += 1
            if i < bytes.count, (UInt8(ascii: "0") ... UInt8(ascii: "9")).contains(bytes[i]) { throw error("a number with a leading zero") }
        } else {
            _ = digits()
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
            i += 1
            guard digits() > 0 else { throw error("invalid number") }
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
            i += 1
            if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
            guard digits() > 0 else { throw error("invalid number") }
        }
        return String(decoding: bytes[start ..< i], as: UTF8.self)
    }
}

extension Schema {
    /// Whether opened answers fit this questionnaire (the same checks as when sealing: known fields,
    /// allowed values, one value for single choices, years in range, required fields present).
    /// Used by readers, which must not count answers a hostile sender made up.
    public func accepts(_ answers: AnswersText, currentYear: Int) -> Bool {
        let raw = answers.fields.keys.sorted().map { "\($0)=\(answers.fields[$0]!.joined(separator: ","))" }
        return (try? self.answers(from: raw, arrivalMonth: answers.arrivalMonth, currentYear: currentYear)) == answers
    }
}
