/// The one JSON string escaper of Chorus (RFC 8259): `"` + the UTF-8 bytes, with `"`, `\` and the
/// control characters U+0000...U+001F escaped (`\"`, `\\`, `\b`, `\f`, `\n`, `\r`, `\t`, else
/// `\u00xx` in lower case) and everything else copied as it is + `"`. These are the bytes Foundation's
/// `JSONEncoder` writes with `.withoutEscapingSlashes`. Used for canonical schemas, review's JSON
/// lines and the counts' JSON.
public enum JSONString {
    /// Appends the JSON string literal of `bytes` (which must be valid UTF-8) to `out`. Runs of bytes
    /// that need no escape are found eight at a time and copied whole.
    public static func append(_ bytes: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        let n = bytes.count
        var runStart = 0, i = 0
        while i < n {
            if i + 8 <= n && !mayNeedEscape(bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self)) {
                i += 8
                continue
            }
            let b = bytes[i]
            if b >= 0x20 && b != UInt8(ascii: "\"") && b != UInt8(ascii: "\\") {
                i += 1
                continue
            }
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[runStart ..< i]))
            appendEscape(b, to: &out)
            i += 1
            runStart = i
        }
        out.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[runStart ..< n]))
        out.append(UInt8(ascii: "\""))
    }

    /// Appends the JSON string literal of `s`.
    public static func append(_ s: String, to out: inout [UInt8]) {
        var copy = s
        copy.withUTF8 { append(UnsafeRawBufferPointer($0), to: &out) }
    }

    /// The JSON string literal of `s`.
    public static func quoted(_ s: String) -> String {
        var out: [UInt8] = []
        append(s, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Whether any of the eight bytes of `w` is below 0x20, `"` or `\` (exact for "none": the
    /// classic SWAR tests for a zero byte and for a byte less than n).
    @inline(__always) static func mayNeedEscape(_ w: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
        let control = (w &- ones &* 0x20) & ~w & highs
        let q = w ^ (ones &* 0x22), quote = (q &- ones) & ~q & highs
        let s = w ^ (ones &* 0x5C), backslash = (s &- ones) & ~s & highs
        return (control | quote | backslash) != 0
    }

    private static let hex = Array("0123456789abcdef".utf8)

    @inline(__always) static func appendEscape(_ b: UInt8, to out: inout [UInt8]) {
        switch b {
        case UInt8(ascii: "\""): out.append(contentsOf: #"\""#.utf8)
        case UInt8(ascii: "\\"): out.append(contentsOf: #"\\"#.utf8)
        case 0x08: out.append(contentsOf: #"\b"#.utf8)
        case 0x0C: out.append(contentsOf: #"\f"#.utf8)
        case 0x0A: out.append(contentsOf: #"\n"#.utf8)
        case 0x0D: out.append(contentsOf: #"\r"#.utf8)
        case 0x09: out.append(contentsOf: #"\t"#.utf8)
        default:
            out.append(contentsOf: #"\u00"#.utf8)
            out.append(hex[Int(b >> 4)])
            out.append(hex[Int(b & 0x0F)])
        }
    }
}
