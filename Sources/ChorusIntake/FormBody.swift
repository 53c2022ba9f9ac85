import ChorusCrypto

/// A body of `application/x-www-form-urlencoded` (the WHATWG URL standard, section 5.1), as a browser
/// sends the submission form with JavaScript off, parsed strictly and without copies of the story
/// outside guarded memory.
///
/// Names and values other than the story's are short ASCII (the questionnaire's ids and values, a
/// year): they are decoded into ordinary strings, and any pair whose name is unknown, whose value is
/// longer than `maxValueBytes` decoded, or that repeats a single-valued name is refused by the caller.
/// The story's value is percent-decoded straight into `SecretBytes`, with the CRLF line breaks that
/// browsers send for a textarea made LF again (a lone CR is kept, for `Story.validate` to judge).
public struct FormBody: ~Copyable {
    /// Every pair but the story's, in order, decoded.
    public let fields: [(name: String, value: String)]
    /// The story's value, decoded; nil when the form had no such field.
    public var story: SecretBytes?

    public static let maxFields = 256
    public static let maxValueBytes = 64

    public enum Problem: Error, Equatable, Sendable {
        /// A name or value has a `%` not followed by two hex digits.
        case badEscape
        /// A name or value (not the story) is not ASCII, or has a control character, once decoded.
        case notPlainText
        /// A name or value (not the story) is longer than `maxValueBytes`, or there are too many pairs.
        case tooLong
        /// The story field appears more than once.
        case storyTwice
    }

    /// Parses `body`; the story is the value of the field named `storyField`.
    public init(parsing body: UnsafeRawBufferPointer, storyField: String) throws(Problem) {
        var fields: [(name: String, value: String)] = []
        var story: SecretBytes? = nil
        var start = 0
        let n = body.count
        while start <= n {
            var end = start
            while end < n && body[end] != UInt8(ascii: "&") { end += 1 }
            if end > start {
                var eq = start
                while eq < end && body[eq] != UInt8(ascii: "=") { eq += 1 }
                let name = try Self.decodeShort(body, start ..< eq)
                let valueRange = eq < end ? (eq + 1) ..< end : end ..< end
                if name == storyField {
                    guard story == nil else { throw .storyTwice }
                    story = try Self.decodeSecret(body, valueRange)
                } else {
                    guard fields.count < Self.maxFields else { throw .tooLong }
                    fields.append((name, try Self.decodeShort(body, valueRange)))
                }
            }
            start = end + 1
        }
        self.fields = fields
        self.story = story
    }

    /// The value of one hex digit, or nil.
    @inline(__always)
    static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0") ... UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a") ... UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A") ... UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    /// Decodes `range` of `body` (`+` is a space, `%XX` a byte) into `out`, returning the count written,
    /// or nil for a `%` without two hex digits after it (within `range`). `out` must have room for
    /// `range.count` bytes (decoding never lengthens).
    static func decode(_ body: UnsafeRawBufferPointer, _ range: Range<Int>, into out: UnsafeMutableRawBufferPointer) -> Int? {
        var i = range.lowerBound, w = 0
        while i < range.upperBound {
            var c = body[i]
            if c == UInt8(ascii: "+") {
                c = UInt8(ascii: " ")
                i += 1
            } else if c == UInt8(ascii: "%") {
                guard i + 2 < range.upperBound, let hi = hexValue(body[i + 1]), let lo = hexValue(body[i + 2]) else { return nil }
                c = hi << 4 | lo
                i += 3
            } else {
                i += 1
            }
            out[w] = c
            w += 1
        }
        return w
    }

    static func decodeShort(_ body: UnsafeRawBufferPointer, _ range: Range<Int>) throws(Problem) -> String {
        guard range.count <= Self.maxValueBytes * 3 else { throw .tooLong }
        var bytes = [UInt8](repeating: 0, count: range.count)
        guard let n = bytes.withUnsafeMutableBytes({ decode(body, range, into: $0) }) else { throw .badEscape }
        guard n <= Self.maxValueBytes else { throw .tooLong }
        bytes.removeLast(bytes.count - n)
        guard bytes.allSatisfy({ $0 >= 0x20 && $0 < 0x7f }) else { throw .notPlainText }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func decodeSecret(_ body: UnsafeRawBufferPointer, _ range: Range<Int>) throws(Problem) -> SecretBytes {
        var scratch = SecretBytes(count: range.count, guarded: true)
        guard var length = scratch.withUnsafeMutableBytes({ decode(body, range, into: $0) }) else { throw .badEscape }
        // CRLF → LF, in place.
        scratch.withUnsafeMutableBytes { b in
            var r = 0, w = 0
            while r < length {
                if b[r] == 0x0d && r + 1 < length && b[r + 1] == 0x0a { r += 1; continue }
                b[w] = b[r]; w += 1; r += 1
            }
            length = w
        }
        return scratch.prefix(length)
    }
}
