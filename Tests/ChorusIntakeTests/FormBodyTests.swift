import ChorusCrypto
@testable import ChorusIntake
import Testing

@Suite struct FormBodyTests {
    func parse(_ text: String) throws -> (fields: [(String, String)], story: String?) {
        try Array(text.utf8).withUnsafeBytes { b in
            let form = try FormBody(parsing: b, storyField: "story")
            return (form.fields.map { ($0.name, $0.value) }, form.story?.withUnsafeBytes { String(decoding: $0, as: UTF8.self) })
        }
    }

    @Test func decodesPairsPlusAndPercent() throws {
        let r = try parse("kind=verbal&kind=online&year=&story=Line+one%0D%0Aline%20two%E2%80%94%0Athree")
        #expect(r.fields.map(\.0) == ["kind", "kind", "year"])
        #expect(r.fields.map(\.1) == ["verbal", "online", ""])
        #expect(r.story == "Line one\nline two\u{2014}\nthree")
    }

    @Test func aLoneCarriageReturnIsKeptForTheStoryCheck() throws {
        #expect(try parse("story=a%0Db").story == "a\rb")
    }

    @Test func emptyAndMissingPieces() throws {
        #expect(try parse("").fields.isEmpty)
        #expect(try parse("&&&").fields.isEmpty)
        let r = try parse("a&b=")
        #expect(r.fields.map(\.0) == ["a", "b"] && r.fields.map(\.1) == ["", ""])
        #expect(r.story == nil)
    }

    @Test func hostileBodiesAreRefused() {
        for (body, problem) in [
            ("kind=%", FormBody.Problem.badEscape), ("kind=%4", .badEscape), ("kind=%zz", .badEscape), ("story=%0", .badEscape),
            ("kind=%00", .notPlainText), ("kind=%C3%A9", .notPlainText), ("k%0Aind=x", .notPlainText),
            ("kind=" + String(repeating: "a", count: 65), .tooLong), ("story=a&story=b", .storyTwice),
            (Array(repeating: "a=b", count: 257).joined(separator: "&"), .tooLong),
        ] {
            #expect(throws: problem, "\(body.prefix(40))") { _ = try parse(body) }
        }
    }

    @Test func anEscapeCutAtTheEndOfAValueIsNotReadPastIt() {
        // "%4" then "&": the escape must not take the separator as its second digit.
        #expect(throws: FormBody.Problem.badEscape) { _ = try parse("kind=%4&x=1") }
    }
}

@Suite struct FormBodyRandomTests {
    /// Percent-encodes every byte but unreserved ASCII, as a browser does (space as `+`).
    static func encode(_ bytes: [UInt8]) -> String {
        var s = ""
        for b in bytes {
            switch b {
            case UInt8(ascii: "a") ... UInt8(ascii: "z"), UInt8(ascii: "A") ... UInt8(ascii: "Z"), UInt8(ascii: "0") ... UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                s.unicodeScalars.append(Unicode.Scalar(b))
            case UInt8(ascii: " "): s += "+"
            default: s += "%" + String(b, radix: 16, uppercase: Bool.random()).leftPadded
            }
        }
        return s
    }

    @Test func randomStoriesComeBackExactlyWithCRLFMadeLF() throws {
        var rng = SystemRandomNumberGenerator()
        for _ in 0 ..< 2000 {
            let n = Int.random(in: 0 ... 300, using: &rng)
            let story = (0 ..< n).map { _ in [UInt8(13), 10, 32, 37, 38, 43, 61, 0xe2, 0x80, 0x94, UInt8.random(in: 0 ... 255, using: &rng)].randomElement(using: &rng)! }
            let body = Array(("kind=verbal&story=" + Self.encode(story) + "&consent=counts-only").utf8)
            let got = try body.withUnsafeBytes { b in
                let form = try FormBody(parsing: b, storyField: "story")
                #expect(form.fields.map(\.name) == ["kind", "consent"])
                return form.story!.withUnsafeBytes { Array($0) }
            }
            var expected: [UInt8] = []
            var i = 0
            while i < story.count {
                if story[i] == 13, i + 1 < story.count, story[i + 1] == 10 { i += 1; continue }
                expected.append(story[i]); i += 1
            }
            #expect(got == expected)
        }
    }

    @Test func randomBytesNeverCrashTheParser() {
        var rng = SystemRandomNumberGenerator()
        let alphabet: [UInt8] = Array("%&=+aZ09\r\n".utf8) + [0, 0x7f, 0xff, 0xc3]
        for _ in 0 ..< 20000 {
            let body = (0 ..< Int.random(in: 0 ... 64, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }
            _ = body.withUnsafeBytes { b in try? FormBody(parsing: b, storyField: "story").fields.count }
        }
    }
}

private extension String {
    var leftPadded: String { count == 1 ? "0" + self : self }
}
