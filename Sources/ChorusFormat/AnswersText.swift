/// The answers plaintext (docs/FORMAT.md section 4): a canonical text encoding of the questionnaire
/// answers and the arrival month, and nothing else.
public struct AnswersText: Equatable, Sendable {
    public static let header = "chorus-answers-1"
    public static let maxBytes = 4096
    public static let maxFields = 64

    /// The month the submission was sealed, `YYYY-MM` (UTC).
    public let arrivalMonth: String
    /// Field id to its values, each list sorted and without repeats.
    public let fields: [String: [String]]

    /// Builds canonical answers; values are sorted and deduplicated here. Throws on a token that does
    /// not fit the grammar.
    public init(arrivalMonth: String, fields: [String: [String]]) throws(FormatError) {
        guard Self.isMonth(arrivalMonth) else { throw .invalidField(what: "answers", why: "arrival month '\(arrivalMonth)' is not YYYY-MM") }
        guard fields.count <= Self.maxFields else { throw .invalidField(what: "answers", why: "more than \(Self.maxFields) fields") }
        var clean: [String: [String]] = [:]
        for (k, vs) in fields {
            guard Self.isFieldID(k) else { throw .invalidField(what: "answers", why: "field id '\(k)' is not valid") }
            guard !vs.isEmpty else { throw .invalidField(what: "answers", why: "field '\(k)' has no value") }
            for v in vs where !Self.isValue(v) { throw .invalidField(what: "answers", why: "value '\(v)' of field '\(k)' is not valid") }
            clean[k] = Array(Set(vs)).sorted(by: Self.byteOrder)
        }
        self.arrivalMonth = arrivalMonth
        self.fields = clean
        guard encoded().count <= Self.maxBytes else { throw .tooLarge(what: "answers", limit: Self.maxBytes) }
    }

    /// The canonical bytes.
    public func encoded() -> [UInt8] {
        var s = "\(Self.header)\narrival=\(arrivalMonth)\n"
        for k in fields.keys.sorted(by: Self.byteOrder) {
            s += "\(k)=\(fields[k]!.joined(separator: ","))\n"
        }
        return Array(s.utf8)
    }

    /// Parses canonical bytes; anything else is rejected.
    public static func decode(_ bytes: UnsafeRawBufferPointer) throws(FormatError) -> AnswersText {
        let what = "answers"
        guard bytes.count <= maxBytes else { throw .tooLarge(what: what, limit: maxBytes) }
        guard bytes.last == UInt8(ascii: "\n") else { throw .invalidField(what: what, why: "does not end with a newline") }
        // Only printable ASCII and LF are possible in valid answers; this also rules out bad UTF-8.
        for b in bytes where !(b == 0x0a || (0x20 ... 0x7e).contains(b)) {
            throw .invalidField(what: what, why: "contains a byte outside the answers alphabet")
        }
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        guard lines.count >= 2, lines.first == Substring(header) else { throw .invalidField(what: what, why: "missing the chorus-answers-1 header") }
        let second = lines[lines.startIndex + 1]
        guard second.hasPrefix("arrival=") else { throw .invalidField(what: what, why: "missing the arrival month") }
        var fields: [String: [String]] = [:]
        var previous: String? = nil
        for line in lines.dropFirst(2) {
            guard let eq = line.firstIndex(of: "=") else { throw .invalidField(what: what, why: "a line has no '='") }
            let k = String(line[..<eq])
            let vs = line[line.index(after: eq)...].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            if let p = previous, !byteOrder(p, k) { throw .nonCanonical(what: "answers field order") }
            previous = k
            guard vs.count == Set(vs).count, vs == vs.sorted(by: byteOrder) else { throw .nonCanonical(what: "answers value order") }
            fields[k] = vs
        }
        let result = try AnswersText(arrivalMonth: String(second.dropFirst("arrival=".count)), fields: fields)
        guard result.encoded().elementsEqual(bytes) else { throw .nonCanonical(what: "answers") }
        return result
    }

    static func byteOrder(_ a: String, _ b: String) -> Bool { Array(a.utf8).lexicographicallyPrecedes(Array(b.utf8)) }

    /// `[a-z][a-z0-9-]{0,31}`, not `arrival`.
    public static func isFieldID(_ s: String) -> Bool {
        let u = Array(s.utf8)
        guard (1 ... 32).contains(u.count), (UInt8(ascii: "a") ... UInt8(ascii: "z")).contains(u[0]), s != "arrival" else { return false }
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

    /// `YYYY-MM` with a month 01...12.
    public static func isMonth(_ s: String) -> Bool {
        let u = Array(s.utf8)
        guard u.count == 7, u[4] == UInt8(ascii: "-") else { return false }
        let digits = u[0 ..< 4] + u[5 ..< 7]
        guard digits.allSatisfy({ (UInt8(ascii: "0") ... UInt8(ascii: "9")).contains($0) }) else { return false }
        let month = Int(s.suffix(2))!
        return (1 ... 12).contains(month)
    }
}
