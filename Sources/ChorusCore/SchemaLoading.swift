import ChorusFormat
import ChorusSystem

// MARK: - Loading a questionnaire

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
    public static var currentYear: Int { UTCDate.now().year }

    /// Reads and strictly checks a schema file given by the user (`chorus init --schema FILE`).
    /// A missing or unreadable file is a `SystemError` (`.notFound`, `.permissionDenied`, ...);
    /// anything wrong inside it is `.invalidSchema`, each as one sentence naming the file, the field
    /// and the reason.
    public static func load(path: String, currentYear: Int = Schema.currentYear) throws -> Schema {
        let shown = displaySafe(path, limit: 200)
        // O_NONBLOCK (InputFile.read): a FIFO planted as the schema must not make the open wait for a
        // writer forever (it is then refused as not a regular file).
        let bytes = try InputFile.read(path, limit: maxFileBytes + 1, what: "schema file") { st in
            guard Int(st.st_size) <= maxFileBytes else {
                throw CoreError(.invalidSchema, "schema file \(shown) is \(st.st_size) bytes, more than the limit of \(maxFileBytes) bytes (1 MiB)")
            }
        }
        return try load(json: bytes, source: "schema file \(shown)", currentYear: currentYear)
    }

    /// Parses and strictly checks schema JSON (`{"fields": [...]}`, docs/FORMAT.md 7.2). Unknown keys,
    /// duplicate keys, wrong types and every rule of the format are rejected with `.dataError` and one
    /// sentence starting with `source` (e.g. "schema file my.json").
    public static func load(json bytes: [UInt8], source: String = "the schema",
                            currentYear: Int = Schema.currentYear) throws(CoreError) -> Schema {
        func fail(_ why: String) -> CoreError { CoreError(.invalidSchema, "\(source): \(why)") }
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
                              currentYear: Int = Schema.currentYear) throws(CoreError) -> Schema {
        let schema = try load(json: bytes, source: source, currentYear: currentYear)
        guard schema.canonicalJSON() == bytes else { throw CoreError(.invalidSchema, "\(source): not in canonical form") }
        return schema
    }

    /// Checks a schema built in code or decoded with `Codable` (which does not check anything):
    /// throws `.dataError` with the first problem found.

    /// Builds a schema from parsed JSON, rejecting unknown keys and wrong types.
    static func decodeRoot(_ root: StrictJSONValue, fail: (String) -> CoreError) throws(CoreError) -> Schema {
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

    private static func decodeField(_ item: StrictJSONValue, index i: Int, fail: (String) -> CoreError) throws(CoreError) -> Field {
        guard case let .object(members) = item else { throw fail("field \(i + 1) must be a JSON object, not \(item.typeName)") }
        var dict: [String: StrictJSONValue] = [:]
        for (k, v) in members { dict[k] = v }
        var name = "field \(i + 1)"
        if case let .string(id)? = dict["id"] { name += " (\"\(displaySafe(id))\")" }
        for (key, _) in members where !fieldKeys.contains(key) {
            throw fail("\(name) has the unknown key \"\(displaySafe(key))\"; allowed keys: \(fieldKeys.joined(separator: ", "))")
        }
        func string(_ key: String) throws(CoreError) -> String {
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
}
