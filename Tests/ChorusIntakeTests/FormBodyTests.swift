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
