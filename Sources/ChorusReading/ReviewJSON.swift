import ChorusCore
import ChorusFormat

/// `chorus review --format jsonl`: one JSON object per entry, written byte by byte (no Foundation
/// encoder, no intermediate strings). The bytes are those of `JSONEncoder` with `.sortedKeys` and
/// `.withoutEscapingSlashes` (a test compares the two): keys in sorted order, `"` `\` and control
/// characters escaped, everything else (all of UTF-8) as is.
public enum ReviewJSON {
    /// The name every line carries, so that a reader knows what it holds.
    public static let formatName = "chorus-review"
    /// The version of the lines' layout; it grows when a key changes meaning or goes away.
    public static let version = 1

    /// `{"answers":{…},"arrival":"YYYY-MM","format":"chorus-review","quotable":true|false,
    /// "story":"…"|null,"version":1}` and a newline. `story` is `null` (not left out) when the key
    /// opened the answers only, so every line has the same keys. Bytes of the story that are not
    /// UTF-8 become U+FFFD, as a `String` would.
    public static func line(answers: AnswersText, story: UnsafeRawBufferPointer?) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity((story?.count ?? 0) + 512)
        out.append(contentsOf: #"{"answers":{"#.utf8)
        for (n, id) in answers.fields.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }).enumerated() {
            if n > 0 { out.append(UInt8(ascii: ",")) }
            JSONString.append(id, to: &out)
            out.append(contentsOf: ":[".utf8)
            for (m, value) in answers.fields[id]!.enumerated() {
                if m > 0 { out.append(UInt8(ascii: ",")) }
                JSONString.append(value, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        }
        out.append(contentsOf: #"},"arrival":"#.utf8)
        JSONString.append(answers.arrivalMonth, to: &out)
        out.append(contentsOf: #","format":"#.utf8)
        JSONString.append(formatName, to: &out)
        out.append(contentsOf: #","quotable":"#.utf8)
        out.append(contentsOf: (ReviewText.isCountsOnly(answers) ? "false" : "true").utf8)
        out.append(contentsOf: #","story":"#.utf8)
        if let story {
            if !appendASCIIString(story, to: &out) {
                // Not all ASCII: decoding validates and repairs bad bytes as a String would.
                var text = String(decoding: story, as: UTF8.self)
                text.withUTF8 { JSONString.append(UnsafeRawBufferPointer($0), to: &out) }
            }
        } else {
            out.append(contentsOf: "null".utf8)
        }
        out.append(contentsOf: ",\"version\":\(version)}\n".utf8)
        return out
    }

    /// `appendString` for bytes that are all ASCII (then valid UTF-8 as they are); false, with `out`
    /// unchanged, as soon as a byte is not.
    static func appendASCIIString(_ bytes: UnsafeRawBufferPointer, to out: inout [UInt8]) -> Bool {
        let n = bytes.count
        var i = 0
        while i + 8 <= n {
            if bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 != 0 { return false }
            i += 8
        }
        while i < n {
            if bytes[i] >= 0x80 { return false }
            i += 1
        }
        JSONString.append(bytes, to: &out)
        return true
    }
}
