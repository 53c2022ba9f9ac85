import ChorusSystem

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
