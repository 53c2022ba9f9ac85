/// The answers plaintext (docs/FORMAT.md section 4): a canonical text encoding of the questionnaire
/// answers, the digest of the questionnaire they answer, and the arrival month, and nothing else.
public struct AnswersText: Equatable, Sendable {
    public static let header = "chorus-answers-2"
    public static let maxBytes = 4096
    public static let maxFields = 64
    public static let questionnaireLength = 32
    /// Field ids that name the fixed lines and cannot name a question.
    public static let reservedIDs: Set<String> = ["arrival", "questionnaire"]

    /// The month the submission was sealed, `YYYY-MM` (UTC).
    public let arrivalMonth: String
    /// The digest of the questionnaire the submitter was shown (docs/FORMAT.md 7.2): readers interpret
    /// the answers with that questionnaire and no other.
    public let questionnaire: [UInt8]
    /// Field id to its values, each list sorted and without repeats.
    public let fields: [String: [String]]

    /// Builds canonical answers; values are sorted and deduplicated here. Throws on a token that does
    /// not fit the grammar.
    public init(arrivalMonth: String, questionnaire: [UInt8], fields: [String: [String]]) throws(FormatError) {
        guard Self.isMonth(arrivalMonth) else {
            throw .invalidField(what: "answers", why: "arrival month '\(arrivalMonth)' is not YYYY-MM from 2000-01 to 9999-12")
        }
        guard questionnaire.count == Self.questionnaireLength else {
            throw .invalidField(what: "answers", why: "the questionnaire digest must be \(Self.questionnaireLength) bytes")
        }
        guard fields.count <= Self.maxFields else { throw .invalidField(what: "answers", why: "more than \(Self.maxFields) fields") }
        var clean: [String: [String]] = [:]
        for (k, vs) in fields {
            guard Self.isFieldID(k) else { throw .invalidField(what: "answers", why: "field id '\(k)' is not valid") }
            guard !vs.isEmpty else { throw .invalidField(what: "answers", why: "field '\(k)' has no value") }
            for v in vs where !Self.isValue(v) { throw .invalidField(what: "answers", why: "value '\(v)' of field '\(k)' is not valid") }
            clean[k] = Array(Set(vs)).sorted(by: Self.byteOrder)
        }
        self.arrivalMonth = arrivalMonth
        self.questionnaire = questionnaire
        self.fields = clean
        guard encoded().count <= Self.maxBytes else { throw .tooLarge(what: "answers", limit: Self.maxBytes) }
    }

    /// The canonical bytes.
    public func encoded() -> [UInt8] {
        var s = "\(Self.header)\narrival=\(arrivalMonth)\nquestionnaire=\(Hex.encode(questionnaire))\n"
        for k in fields.keys.sorted(by: Self.byteOrder) {
            s += "\(k)=\(fields[k]!.joined(separator: ","))\n"
        }
        return Array(s.utf8)
    }

    /// The fields as they are, already checked to be canonical (only `decodeCanonical` builds one so).
    private init(checkedArrivalMonth: String, questionnaire: [UInt8], fields: [String: [String]]) {
        self.arrivalMonth = checkedArrivalMonth
        self.questionnaire = questionnaire
        self.fields = fields
    }

    /// Parses canonical bytes; anything else is rejected.
    ///
    /// Canonical input (every entry of a sound batch) is parsed in one pass over the bytes, without
    /// building any intermediate string; input that pass does not accept goes through the full
    /// checks below, which say exactly what is wrong. The fast pass accepts exactly the canonical
    /// encodings of valid answers, so the result is the same either way.
    public static func decode(_ bytes: UnsafeRawBufferPointer) throws(FormatError) -> AnswersText {
        if let fast = decodeCanonical(bytes) { return fast }
        return try decodeChecked(bytes)
    }

    /// One pass over bytes that must be exactly `encoded()` of valid answers: the header, a valid
    /// month, the questionnaire digest, then field lines in strictly ascending byte order, each with
    /// values in strictly ascending byte order, every token following section 4. Nil for anything else.
    static func decodeCanonical(_ bytes: UnsafeRawBufferPointer) -> AnswersText? {
        let n = bytes.count
        let lead = 25 // "chorus-answers-2\narrival="
        let digestLine = 14 + 64 + 1 // "questionnaire=" hex "\n"
        guard n <= maxBytes, n >= lead + 8 + digestLine, bytes[n - 1] == 0x0a else { return nil }
        let expected = "chorus-answers-2\narrival="
        var i = 0
        for b in expected.utf8 {
            guard bytes[i] == b else { return nil }
            i += 1
        }
        // YYYY-MM and a line feed.
        func digit(_ k: Int) -> UInt8? { let b = bytes[k]; return b >= 0x30 && b <= 0x39 ? b - 0x30 : nil }
        guard let y1 = digit(i), let _ = digit(i + 1), let _ = digit(i + 2), let _ = digit(i + 3), bytes[i + 4] == 0x2d,
              let m1 = digit(i + 5), let m2 = digit(i + 6), bytes[i + 7] == 0x0a else { return nil }
        let month = Int(m1) * 10 + Int(m2)
        guard month >= 1 && month <= 12, y1 >= 2 else { return nil }
        let arrival = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[i ..< i + 7]), as: UTF8.self)
        i += 8
        for b in "questionnaire=".utf8 {
            guard bytes[i] == b else { return nil }
            i += 1
        }
        guard let questionnaire = Hex.decode(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[i ..< i + 64]), as: UTF8.self)),
              bytes[i + 64] == 0x0a else { return nil }
        i += 65

        @inline(__always) func isToken(_ b: UInt8) -> Bool { (b >= 0x61 && b <= 0x7a) || (b >= 0x30 && b <= 0x39) || b == 0x2d }
        /// Strict byte order of two ranges of `bytes`.
        func precedes(_ a: Range<Int>, _ b: Range<Int>) -> Bool {
            UnsafeRawBufferPointer(rebasing: bytes[a]).lexicographicallyPrecedes(UnsafeRawBufferPointer(rebasing: bytes[b]))
        }
        var fields: [String: [String]] = [:]
        var previousKey: Range<Int>? = nil
        while i < n {
            if fields.count == maxFields { return nil }
            // FIELD: [a-z][a-z0-9-]{0,31}, not "arrival", then "=".
            let keyStart = i
            guard bytes[i] >= 0x61 && bytes[i] <= 0x7a else { return nil }
            i += 1
            while i < n && bytes[i] != 0x3d {
                guard isToken(bytes[i]) else { return nil }
                i += 1
            }
            guard i < n else { return nil }
            let key = keyStart ..< i
            guard key.count <= 32 else { return nil }
            if key.count == 7 && UnsafeRawBufferPointer(rebasing: bytes[key]).elementsEqual("arrival".utf8) { return nil }
            if key.count == 13 && UnsafeRawBufferPointer(rebasing: bytes[key]).elementsEqual("questionnaire".utf8) { return nil }
            if let p = previousKey, !precedes(p, key) { return nil }
            previousKey = key
            i += 1 // "="
            // VALUE(,VALUE)*: each [a-z0-9][a-z0-9-]{0,47}, strictly ascending, then "\n".
            var values: [String] = []
            var previousValue: Range<Int>? = nil
            while true {
                let valueStart = i
                guard i < n, isToken(bytes[i]), bytes[i] != 0x2d else { return nil }
                i += 1
                while i < n && isToken(bytes[i]) { i += 1 }
                let value = valueStart ..< i
                guard value.count <= 48, i < n else { return nil }
                if let p = previousValue, !precedes(p, value) { return nil }
                previousValue = value
                values.append(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[value]), as: UTF8.self))
                if bytes[i] == 0x2c { i += 1; continue }
                guard bytes[i] == 0x0a else { return nil }
                i += 1
                break
            }
            fields[String(decoding: UnsafeRawBufferPointer(rebasing: bytes[key]), as: UTF8.self)] = values
        }
        return AnswersText(checkedArrivalMonth: arrival, questionnaire: questionnaire, fields: fields)
    }

    /// The full checks of `decode`, with an error that says what is wrong.
    static func decodeChecked(_ bytes: UnsafeRawBufferPointer) throws(FormatError) -> AnswersText {
        let what = "answers"
        guard bytes.count <= maxBytes else { throw .tooLarge(what: what, limit: maxBytes) }
        guard bytes.last == UInt8(ascii: "\n") else { throw .invalidField(what: what, why: "does not end with a newline") }
        // Only printable ASCII and LF are possible in valid answers; this also rules out bad UTF-8.
        for b in bytes where !(b == 0x0a || (0x20 ... 0x7e).contains(b)) {
            throw .invalidField(what: what, why: "contains a byte outside the answers alphabet")
        }
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        guard lines.count >= 3, lines.first == Substring(header) else { throw .invalidField(what: what, why: "missing the \(header) header") }
        let second = lines[lines.startIndex + 1]
        guard second.hasPrefix("arrival=") else { throw .invalidField(what: what, why: "missing the arrival month") }
        let third = lines[lines.startIndex + 2]
        guard third.hasPrefix("questionnaire="), let digest = Hex.decode(third.dropFirst("questionnaire=".count)), digest.count == questionnaireLength else {
            throw .invalidField(what: what, why: "missing the questionnaire digest (64 lowercase hex characters)")
        }
        var fields: [String: [String]] = [:]
        var previous: String? = nil
        for line in lines.dropFirst(3) {
            guard let eq = line.firstIndex(of: "=") else { throw .invalidField(what: what, why: "a line has no '='") }
            let k = String(line[..<eq])
            let vs = line[line.index(after: eq)...].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            if let p = previous, !byteOrder(p, k) { throw .nonCanonical(what: "answers field order") }
            previous = k
            guard vs.count == Set(vs).count, vs == vs.sorted(by: byteOrder) else { throw .nonCanonical(what: "answers value order") }
            fields[k] = vs
        }
        let result = try AnswersText(arrivalMonth: String(second.dropFirst("arrival=".count)), questionnaire: digest, fields: fields)
        guard result.encoded().elementsEqual(bytes) else { throw .nonCanonical(what: "answers") }
        return result
    }

    static func byteOrder(_ a: String, _ b: String) -> Bool { Array(a.utf8).lexicographicallyPrecedes(Array(b.utf8)) }

    /// `[a-z][a-z0-9-]{0,31}`, not `arrival` nor `questionnaire`.
    public static func isFieldID(_ s: String) -> Bool {
        let u = Array(s.utf8)
        guard (1 ... 32).contains(u.count), (UInt8(ascii: "a") ... UInt8(ascii: "z")).contains(u[0]), !reservedIDs.contains(s) else { return false }
        return u.allSatisfy(isTokenByte)
    }

    /// `[a-z0-9][a-z0-9-]{0,47}`.
    public static func isValue(_ s: String) -> Bool {
        let u = Array(s.utf8)
        guard (1 ... 48).contains(u.count), u[0] != UInt8(ascii: "-") else { return false }
        return u.allSatisfy(isTokenByte)
    }

    static func isTokenByte(_ b: UInt8) -> Bool {
        (UInt8(ascii: "a") ... UInt8(ascii: "z")).contains(b) || (UInt8(ascii: "0") ... UInt8(ascii: "9")).contains(b) || b == UInt8(ascii: "-")
    }

    /// `YYYY-MM` with a year 2000...9999 and a month 01...12.
    public static func isMonth(_ s: String) -> Bool {
        let u = Array(s.utf8)
        guard u.count == 7, u[4] == UInt8(ascii: "-") else { return false }
        let digits = u[0 ..< 4] + u[5 ..< 7]
        guard digits.allSatisfy({ (UInt8(ascii: "0") ... UInt8(ascii: "9")).contains($0) }) else { return false }
        let month = Int(s.suffix(2))!, year = Int(s.prefix(4))!
        return (1 ... 12).contains(month) && year >= 2000
    }

    /// The year of the arrival month.
    public var arrivalYear: Int { Int(arrivalMonth.prefix(4))! }
}
