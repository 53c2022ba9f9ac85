import Foundation
import Testing
import ChorusCrypto
import ChorusFormat
import ChorusSystem
import ChorusTestSupport
@testable import ChorusCore

// MARK: - Helpers shared by SchemaTests, StoryTests and QuestionnaireTests

/// Every message a user sees must be one line of printable ASCII: no control, bidi or zero-width
/// character can reach the terminal through it.
func isTerminalSafeMessage(_ s: String) -> Bool {
    !s.isEmpty && s.unicodeScalars.allSatisfy { (0x20 ... 0x7E).contains($0.value) }
}


let testYear = 2026
let testMonth = "2026-11"

/// A schema document from field objects.
private func doc(_ fields: String...) -> String { #"{"fields":["# + fields.joined(separator: ",") + "]}" }

private let S = #"{"id":"setting","label":"Where","kind":"single","values":["home","work"],"required":true}"#
private let M = #"{"id":"kind","label":"What","kind":"multiple","values":["verbal","physical"],"required":true}"#
private let Y = #"{"id":"year","label":"Year","kind":"year","min":1950,"required":false}"#

/// `S` with `key`'s value replaced by `json` (or removed when nil).
private func single(_ key: String, _ json: String?) -> String {
    var members: [(String, String)] = [("id", #""setting""#), ("label", #""Where""#), ("kind", #""single""#),
                                       ("values", #"["home","work"]"#), ("required", "true")]
    if let i = members.firstIndex(where: { $0.0 == key }) {
        if let json { members[i].1 = json } else { members.remove(at: i) }
    } else if let json {
        members.append((key, json))
    }
    return "{" + members.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}"
}

private func year(_ key: String, _ json: String?) -> String {
    var members: [(String, String)] = [("id", #""year""#), ("label", #""Year""#), ("kind", #""year""#), ("min", "1950"),
                                       ("required", "false")]
    if let i = members.firstIndex(where: { $0.0 == key }) {
        if let json { members[i].1 = json } else { members.remove(at: i) }
    } else if let json {
        members.append((key, json))
    }
    return "{" + members.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}"
}

struct BadSchemaCase: Sendable, CustomTestStringConvertible {
    let name: String
    let json: String
    let fragments: [String]
    var testDescription: String { name }
}

private func manyFields(_ n: Int) -> String {
    "{\"fields\":[" + (0 ..< n).map { #"{"id":"f\#($0)","label":"F","kind":"single","values":["a"],"required":false}"# }
        .joined(separator: ",") + "]}"
}

/// A JSON list of `n` distinct valid values, each `length` characters long when given.
private func values(_ n: Int, length: Int? = nil) -> String {
    "[" + (0 ..< n).map { i in
        let v = "v\(i)"
        return "\"" + (length.map { v.padding(toLength: $0, withPad: "x", startingAt: 0) } ?? v) + "\""
    }.joined(separator: ",") + "]"
}

let badSchemaCases: [BadSchemaCase] = [
    // JSON syntax
    .init(name: "not JSON", json: #"{"fields": [}"#, fragments: ["not valid JSON", "line 1, column 13"]),
    .init(name: "trailing comma", json: doc(S) .replacingOccurrences(of: "]}", with: ",]}"), fragments: ["not valid JSON"]),
    .init(name: "comment", json: "// schema\n" + doc(S), fragments: ["not valid JSON", "line 1, column 1"]),
    .init(name: "single quotes", json: "{'fields':[]}", fragments: ["not valid JSON", "key in quotes"]),
    .init(name: "data after the end", json: doc(S) + " {}", fragments: ["not valid JSON", "after the end"]),
    .init(name: "two documents", json: doc(S) + "\n" + doc(S), fragments: ["not valid JSON", "line 2"]),
    .init(name: "empty file", json: "", fragments: ["not valid JSON", "empty"]),
    .init(name: "only whitespace", json: " \n\t ", fragments: ["not valid JSON", "empty"]),
    .init(name: "raw control character in a string", json: doc(single("label", "\"a\tb\"")), fragments: ["not valid JSON", "control character"]),
    .init(name: "lone high surrogate", json: doc(single("label", #""a\ud800b""#)), fragments: ["not valid JSON", "lone surrogate"]),
    .init(name: "lone low surrogate", json: doc(single("label", #""\udc00""#)), fragments: ["not valid JSON", "lone surrogate"]),
    .init(name: "bad escape", json: doc(single("label", #""\x41""#)), fragments: ["not valid JSON", "invalid escape"]),
    .init(name: "leading zero", json: doc(year("min", "01950")), fragments: ["not valid JSON", "leading zero"]),
    .init(name: "NaN", json: doc(year("min", "NaN")), fragments: ["not valid JSON", "unexpected 'N'"]),
    .init(name: "duplicate key", json: doc(#"{"id":"a","id":"b","label":"L","kind":"single","values":["x"],"required":true}"#),
          fragments: ["not valid JSON", "duplicate key \"id\""]),
    // structure
    .init(name: "top level is a list", json: "[]", fragments: ["top level", "object", "a list"]),
    .init(name: "unknown top-level key", json: #"{"fields":[\#(S)],"version":1}"#, fragments: ["unknown key \"version\"", "top level", "only \"fields\""]),
    .init(name: "no fields key", json: "{}", fragments: ["no \"fields\""]),
    .init(name: "fields not a list", json: #"{"fields":{}}"#, fragments: ["\"fields\" must be a list", "an object"]),
    .init(name: "zero fields", json: #"{"fields":[]}"#, fragments: ["\"fields\" is empty", "1 to 64"]),
    .init(name: "65 fields", json: manyFields(65), fragments: ["65 fields", "limit of 64"]),
    .init(name: "field not an object", json: #"{"fields":["kind"]}"#, fragments: ["field 1 must be a JSON object", "a string"]),
    .init(name: "unknown field key", json: doc(single("colour", #""red""#)),
          fragments: ["field 1 (\"setting\")", "unknown key \"colour\"", "allowed keys: id, label, kind, values, min, required"]),
    .init(name: "misspelt key", json: doc(single("required", nil).replacingOccurrences(of: "}", with: #","require":true}"#)),
          fragments: ["unknown key \"require\""]),
    .init(name: "missing id", json: doc(single("id", nil)), fragments: ["field 1 has no \"id\""]),
    .init(name: "id not a string", json: doc(single("id", "5")), fragments: ["\"id\" must be a string", "a number"]),
    .init(name: "missing label", json: doc(single("label", nil)), fragments: ["(\"setting\") has no \"label\""]),
    .init(name: "missing kind", json: doc(single("kind", nil)), fragments: ["has no \"kind\""]),
    .init(name: "unknown kind", json: doc(single("kind", #""choice""#)), fragments: ["unknown kind \"choice\"", "\"single\", \"multiple\" or \"year\""]),
    .init(name: "missing required", json: doc(single("required", nil)), fragments: ["no \"required\"", "true or false"]),
    .init(name: "required as a string", json: doc(single("required", #""yes""#)), fragments: ["\"required\" must be true or false", "a string"]),
    .init(name: "required as 1", json: doc(single("required", "1")), fragments: ["\"required\" must be true or false", "a number"]),
    .init(name: "values not a list", json: doc(single("values", #""home""#)), fragments: ["\"values\" must be a list of strings"]),
    .init(name: "value not a string", json: doc(single("values", "[\"home\",2]")), fragments: ["value 2 must be a string", "a number"]),
    .init(name: "values null", json: doc(single("values", "null")), fragments: ["\"values\" must be a list", "null"]),
    .init(name: "min as a string", json: doc(year("min", #""1950""#)), fragments: ["\"min\" must be a whole number", "a string"]),
    .init(name: "min with a fraction", json: doc(year("min", "1950.5")), fragments: ["whole number", "1950.5"]),
    .init(name: "min with an exponent", json: doc(year("min", "2e3")), fragments: ["whole number", "2e3"]),
    .init(name: "min too big for Int", json: doc(year("min", "99999999999999999999999")), fragments: ["whole number"]),
    // rules of docs/FORMAT.md 7.2
    .init(name: "id upper case", json: doc(single("id", #""Setting""#)), fragments: ["field 1 (\"Setting\") has an invalid id", "lowercase"]),
    .init(name: "id starts with a digit", json: doc(single("id", #""1st""#)), fragments: ["invalid id"]),
    .init(name: "id 33 characters", json: doc(single("id", "\"" + String(repeating: "a", count: 33) + "\"")), fragments: ["invalid id", "1 to 32"]),
    .init(name: "id with a Cyrillic letter", json: doc(single("id", #""s\u0435tting""#)), fragments: ["invalid id", "s\\u{0435}tting"]),
    .init(name: "id empty", json: doc(single("id", #""""#)), fragments: ["invalid id"]),
    .init(name: "id arrival", json: doc(single("id", #""arrival""#)), fragments: ["reserved id \"arrival\""]),
    .init(name: "duplicate id", json: doc(S, S), fragments: ["field 2 (\"setting\") has the same id as field 1", "unique"]),
    .init(name: "single without values", json: doc(single("values", nil)), fragments: ["no \"values\"", "\"single\" field needs 1 to 64"]),
    .init(name: "empty values", json: doc(single("values", "[]")), fragments: ["0 values", "1 to 64"]),
    .init(name: "65 values", json: doc(single("values", values(65))), fragments: ["65 values", "1 to 64"]),
    .init(name: "duplicate value", json: doc(single("values", #"["home","work","home"]"#)), fragments: ["\"home\" twice", "unique"]),
    .init(name: "value upper case", json: doc(single("values", #"["Home"]"#)), fragments: ["invalid value \"Home\"", "lowercase"]),
    .init(name: "value starts with -", json: doc(single("values", #"["-home"]"#)), fragments: ["invalid value \"-home\""]),
    .init(name: "value 49 characters", json: doc(single("values", values(1, length: 49))), fragments: ["invalid value", "1 to 48"]),
    .init(name: "value with a bidi override", json: doc(single("values", #"["\u202Eemoh"]"#)), fragments: ["invalid value", "\\u{202E}emoh"]),
    .init(name: "value with a space", json: doc(single("values", #"["at home"]"#)), fragments: ["invalid value \"at home\""]),
    .init(name: "min on a single field", json: doc(single("min", "1950")), fragments: ["\"min\", which only a \"year\" field may have"]),
    .init(name: "year with values", json: doc(year("values", #"["2020"]"#)), fragments: ["\"year\" field and must not have \"values\""]),
    .init(name: "year without min", json: doc(year("min", nil)), fragments: ["without \"min\"", "1900"]),
    .init(name: "min before 1900", json: doc(year("min", "1899")), fragments: ["\"min\" 1899", "1900 to 2026"]),
    .init(name: "min in the future", json: doc(year("min", "2027")), fragments: ["\"min\" 2027", "1900 to 2026"]),
    .init(name: "negative min", json: doc(year("min", "-5")), fragments: ["\"min\" -5"]),
    .init(name: "empty label", json: doc(single("label", #""""#)), fragments: ["label that is empty", "1 to 200"]),
    .init(name: "whitespace label", json: doc(single("label", #""  \u3000 ""#)), fragments: ["label that is only whitespace"]),
    .init(name: "label 201 characters", json: doc(single("label", "\"" + String(repeating: "é", count: 201) + "\"")),
          fragments: ["201 characters", "limit of 200"]),
    .init(name: "label with a newline", json: doc(single("label", #""Where\nnow""#)), fragments: ["label that contains", "\\u{000A}"]),
    .init(name: "label with NUL", json: doc(single("label", #""a\u0000""#)), fragments: ["\\u{0000}"]),
    .init(name: "label with ESC", json: doc(single("label", #""\u001b[31mred""#)), fragments: ["\\u{001B}"]),
    .init(name: "label with a C1 control", json: doc(single("label", #""a\u009bb""#)), fragments: ["\\u{009B}"]),
    .init(name: "label with RLO", json: doc(single("label", #""\u202Eereh""#)), fragments: ["\\u{202E}"]),
    .init(name: "label with zero-width space", json: doc(single("label", #""Wh\u200Bere""#)), fragments: ["\\u{200B}"]),
    .init(name: "label with a line separator", json: doc(single("label", #""a\u2028b""#)), fragments: ["\\u{2028}"]),
    .init(name: "label with private use", json: doc(single("label", #""a\ue000""#)), fragments: ["\\u{E000}"]),
    .init(name: "answers could exceed 4096 bytes",
          json: doc(#"{"id":"a","label":"A","kind":"multiple","values":\#(values(60, length: 40)),"required":true}"#,
                    #"{"id":"b","label":"B","kind":"multiple","values":\#(values(60, length: 40)),"required":true}"#),
          fragments: ["4096-byte limit", "fewer or shorter"]),
]

@Suite struct SchemaTests {
    @Test func builtInIsValid() throws {
        #expect(Schema.builtIn.validationProblems(currentYear: testYear) == [])
        try Schema.builtIn.validate(currentYear: testYear)
        #expect(Schema.builtIn.worstCaseAnswersBytes(currentYear: testYear) <= AnswersText.maxBytes)
    }

    @Test func builtInCanonicalRoundTrip() throws {
        let bytes = Schema.builtIn.canonicalJSON()
        #expect(try Schema.decode(canonicalJSON: bytes, currentYear: testYear) == Schema.builtIn)
        #expect(try Schema.load(json: bytes, currentYear: testYear) == Schema.builtIn)
        // Stable: the same schema gives the same bytes every time.
        #expect(Schema.builtIn.canonicalJSON() == bytes)
        #expect(String(decoding: bytes, as: UTF8.self).hasPrefix(#"{"fields":[{"id":"kind","kind":"multiple","label":"What happened (one or more)","required":true,"values":["verbal","non-verbal","#))
    }

    @Test func canonicalJSONExactBytes() throws {
        let schema = Schema(fields: [
            .init(id: "setting", label: "Where \"it\" happened\\", kind: .single, values: ["home", "work"], required: true),
            .init(id: "year", label: "Année", kind: .year, min: 1950, required: false),
        ])
        let expected = #"{"fields":[{"id":"setting","kind":"single","label":"Where \"it\" happened\\","required":true,"values":["home","work"]},{"id":"year","kind":"year","label":"Année","min":1950,"required":false}]}"#
        #expect(schema.canonicalJSON() == Array(expected.utf8))
        #expect(try Schema.decode(canonicalJSON: Array(expected.utf8), currentYear: testYear) == schema)
    }

    @Test func canonicalFormIgnoresKeyOrderAndWhitespace() throws {
        let pretty = """
        \u{FEFF}{
          "fields" : [
            { "required": true, "values": [ "home", "work" ], "kind": "single", "label": "Where", "id": "setting" },
            { "min": 1950, "required": false, "kind": "year", "id": "year", "label": "Ann\\u00e9e \\ud83d\\ude00" }
          ]
        }

        """
        let schema = try Schema.load(json: Array(pretty.utf8), currentYear: testYear)
        #expect(schema.fields.map(\.id) == ["setting", "year"])
        #expect(schema.fields[1].label == "Année 😀")
        let compact = #"{"fields":[{"id":"setting","kind":"single","label":"Where","required":true,"values":["home","work"]},{"id":"year","kind":"year","label":"Année 😀","min":1950,"required":false}]}"#
        #expect(schema.canonicalJSON() == Array(compact.utf8))
        // The pretty form is valid but not canonical.
        expectFailure(CoreError.self, .invalidSchema, ["the stored schema", "canonical form"]) {
            _ = try Schema.decode(canonicalJSON: Array(pretty.utf8), currentYear: testYear)
        }
    }

    @Test func codableShapeIsUnchanged() throws {
        let encoded = try JSONEncoder().encode(Schema.builtIn)
        #expect(try JSONDecoder().decode(Schema.self, from: encoded) == Schema.builtIn)
        #expect(try JSONDecoder().decode(Schema.self, from: Data(Schema.builtIn.canonicalJSON())) == Schema.builtIn)
        let reloaded = try Schema.load(json: Array(encoded), currentYear: testYear)
        #expect(reloaded == Schema.builtIn)
    }

    @Test(arguments: badSchemaCases)
    func badSchemaIsRejected(_ c: BadSchemaCase) {
        expectFailure(CoreError.self, .invalidSchema, ["my.json: "] + c.fragments) {
            _ = try Schema.load(json: Array(c.json.utf8), source: "my.json", currentYear: testYear)
        }
    }

    @Test func invalidUTF8IsRejected() {
        var bytes = Array(doc(S).utf8)
        let at = bytes.firstIndex(of: UInt8(ascii: "W"))!
        bytes[at] = 0xFF
        expectFailure(CoreError.self, .invalidSchema, ["not valid JSON", "invalid UTF-8", "line 1, column \(at + 1)"]) {
            _ = try Schema.load(json: bytes, currentYear: testYear)
        }
        // An overlong encoding of '"' and a UTF-8-encoded surrogate are not UTF-8 either.
        for bad: [UInt8] in [[0xC0, 0xA2], [0xED, 0xA0, 0x80]] {
            let b = Array(#"{"fields":[{"id":"a","label":""#.utf8) + bad + Array(#"","kind":"year","min":1950,"required":true}]}"#.utf8)
            expectFailure(CoreError.self, .invalidSchema, ["invalid UTF-8"]) { _ = try Schema.load(json: b, currentYear: testYear) }
        }
    }

    @Test func deepNestingIsRejectedWithoutCrashing() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        expectFailure(CoreError.self, .invalidSchema, ["not valid JSON", "nesting deeper than 32"]) {
            _ = try Schema.load(json: Array(deep.utf8), currentYear: testYear)
        }
        let deepInField = doc(single("colour", String(repeating: "{\"a\":", count: 40) + "1" + String(repeating: "}", count: 40)))
        expectFailure(CoreError.self, .invalidSchema, ["nesting"]) { _ = try Schema.load(json: Array(deepInField.utf8), currentYear: testYear) }
    }

    @Test func sizeLimit() throws {
        // Exactly 1 MiB (padded with whitespace) is accepted, one byte more is not.
        let body = Array(doc(S).utf8)
        let padded = body + [UInt8](repeating: 0x20, count: Schema.maxFileBytes - body.count)
        #expect(try Schema.load(json: padded, currentYear: testYear).fields.count == 1)
        expectFailure(CoreError.self, .invalidSchema, ["\(Schema.maxFileBytes + 1) bytes", "limit of 1048576 bytes (1 MiB)"]) {
            _ = try Schema.load(json: padded + [0x20], currentYear: testYear)
        }
    }

    @Test func boundaries() throws {
        // 64 fields, 64 values, 200-character labels, min 1900 and the current year, ids of 32 and values of 48.
        #expect(try Schema.load(json: Array(manyFields(64).utf8), currentYear: testYear).fields.count == 64)
        #expect(try Schema.load(json: Array(doc(single("values", values(64))).utf8), currentYear: testYear).fields[0].values?.count == 64)
        let label = String(repeating: "é", count: 200)
        #expect(try Schema.load(json: Array(doc(single("label", "\"\(label)\"")).utf8), currentYear: testYear).fields[0].label == label)
        for min in [1900, testYear] {
            #expect(try Schema.load(json: Array(doc(year("min", "\(min)")).utf8), currentYear: testYear).fields[0].min == min)
        }
        let id32 = String(repeating: "a", count: 32)
        #expect(try Schema.load(json: Array(doc(single("id", "\"\(id32)\"")).utf8), currentYear: testYear).fields[0].id == id32)
        #expect(try Schema.load(json: Array(doc(single("values", values(1, length: 48))).utf8), currentYear: testYear)
            .fields[0].values?[0].count == 48)
        // Labels may use any script, emoji with ZWJ, and ZWNJ.
        let family = "Qui 👩\u{200D}👩\u{200D}👧 می\u{200C}خواهم"
        let s = try Schema.load(json: Array(doc(single("label", "\"\(family)\""), M, Y).utf8), currentYear: testYear)
        #expect(s.fields[0].label == family)
    }

    @Test func validationListsEveryProblem() {
        let schema = Schema(fields: [
            .init(id: "Bad", label: "", kind: .single, values: ["x", "x"], required: true),
            .init(id: "year", label: "Year", kind: .year, values: ["1"], min: 1800, required: false),
        ])
        let problems = schema.validationProblems(currentYear: testYear)
        #expect(problems.count == 5, "\(problems.description)")
        #expect(problems.contains { $0.contains("invalid id") })
        #expect(problems.contains { $0.contains("label that is empty") })
        #expect(problems.contains { $0.contains("\"x\" twice") })
        #expect(problems.contains { $0.contains("must not have \"values\"") })
        #expect(problems.contains { $0.contains("\"min\" 1800") })
        expectFailure(CoreError.self, .invalidSchema, ["config.json: field 1 (\"Bad\") has an invalid id"]) {
            try schema.validate(currentYear: testYear, source: "config.json")
        }
        #expect(Schema(fields: []).validationProblems(currentYear: testYear) == ["it has no fields; a schema needs 1 to 64"])
    }

    @Test func loadFromFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("chorus-schema-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let good = dir.appendingPathComponent("good.json")
        try Data(doc(S, M, Y).utf8).write(to: good)
        let schema = try Schema.load(path: good.path, currentYear: testYear)
        #expect(schema.fields.map(\.id) == ["setting", "kind", "year"])

        let bad = dir.appendingPathComponent("bad.json")
        try Data(doc(single("kind", #""choice""#)).utf8).write(to: bad)
        expectFailure(CoreError.self, .invalidSchema, ["schema file \(bad.path): field 1 (\"setting\") has the unknown kind \"choice\""]) {
            _ = try Schema.load(path: bad.path, currentYear: testYear)
        }
        expectFailure(SystemError.self, .notFound, ["schema file", "missing.json", "does not exist"]) {
            _ = try Schema.load(path: dir.appendingPathComponent("missing.json").path, currentYear: testYear)
        }
        expectFailure(SystemError.self, .notARegularFile, ["not a file"]) { _ = try Schema.load(path: dir.path, currentYear: testYear) }
        let big = dir.appendingPathComponent("big.json")
        try Data(count: Schema.maxFileBytes + 10).write(to: big)
        expectFailure(CoreError.self, .invalidSchema, ["\(Schema.maxFileBytes + 10) bytes", "1 MiB"]) {
            _ = try Schema.load(path: big.path, currentYear: testYear)
        }
        // A hostile file name is shown escaped.
        expectFailure(SystemError.self, .notFound, ["\\u{202E}\\u{001B}"]) {
            _ = try Schema.load(path: dir.path + "/\u{202E}\u{1B}.json", currentYear: testYear)
        }
    }

    @Test func currentUTCYear() {
        #expect(UTCDate(secondsSince1970: 1_798_761_599) == UTCDate(year: 2026, month: 12, day: 31))  // 2026-12-31T23:59:59Z
        #expect(UTCDate(secondsSince1970: 1_798_761_600).year == 2027)  // 2027-01-01T00:00:00Z
        #expect(UTCDate(secondsSince1970: 1_798_761_600).monthText == "2027-01")
        #expect(UTCDate(secondsSince1970: 0).dayText == "1970-01-01")
        #expect(Schema.currentYear == UTCDate.now().year)
    }

    @Test(arguments: [
        ("verbal", "verbal"),
        ("a\\b", "a\\\\b"),
        ("verb\u{0430}l", "verb\\u{0430}l"),
        ("\u{202E}x", "\\u{202E}x"),
        ("\u{1B}[2J", "\\u{001B}[2J"),
        ("\u{0}\n\t\u{7F}", "\\u{0000}\\u{000A}\\u{0009}\\u{007F}"),
        ("e\u{301}", "e\\u{0301}"),
        ("😀", "\\u{1F600}"),
        ("", ""),
    ])
    func displaySafeEscapes(_ input: String, _ expected: String) {
        #expect(displaySafe(input) == expected)
        #expect(displaySafe(input).unicodeScalars.allSatisfy { (0x20 ... 0x7E).contains($0.value) })
    }

    @Test func displaySafeLimitsLength() {
        #expect(displaySafe(String(repeating: "a", count: 1000)) == String(repeating: "a", count: 64) + "...")
        #expect(displaySafe(String(repeating: "a", count: 64)) == String(repeating: "a", count: 64))
        #expect(displaySafe("\u{200B}\u{200B}\u{200B}", limit: 2) == "\\u{200B}\\u{200B}...")
    }

    // MARK: Answers (item 2)

    @Suite struct Answers {
        let schema = Schema.builtIn
        static let complete = ["kind=verbal,physical", "setting=workplace", "perpetrator-role=colleague", "year=2019",
                               "reported=no", "consent=counts-only"]
        static let expected = """
        chorus-answers-2
        arrival=2026-11
        questionnaire=7e82eca559ac2b3238a6da639058f0e6dc4c0ee74aabaa99c9f10ce8ec57f0df
        consent=counts-only
        kind=physical,verbal
        perpetrator-role=colleague
        reported=no
        setting=workplace
        year=2019

        """

        func answers(_ raw: [String]) throws -> AnswersText {
            try schema.answers(from: raw, arrivalMonth: testMonth, currentYear: testYear)
        }

        /// `raw` plus a valid answer for every required field not mentioned in it.
        static func withRest(_ raw: [String], field: String) -> [String] {
            raw + complete.filter { !$0.hasPrefix(field + "=") }
        }

        @Test func completeAnswersEncodeCanonically() throws {
            let a = try answers(Self.complete)
            #expect(a.encoded() == Array(Self.expected.utf8))
            #expect(try a.encoded().withUnsafeBytes { try AnswersText.decode($0) } == a)
            // Order of the arguments does not matter.
            #expect(try answers(Self.complete.reversed()) == a)
        }

        @Test func repeatedFlagsEqualCommaList() throws {
            let a = try answers(Self.withRest(["kind=verbal", "kind=physical"], field: "kind"))
            let b = try answers(Self.withRest(["kind=physical,verbal"], field: "kind"))
            #expect(a == b)
            #expect(a.fields["kind"] == ["physical", "verbal"])
        }

        @Test func optionalFieldMayBeLeftOut() throws {
            let a = try answers(Self.complete.filter { !$0.hasPrefix("year=") })
            #expect(a.fields["year"] == nil)
            #expect(!String(decoding: a.encoded(), as: UTF8.self).contains("year="))
        }

        @Test(arguments: [
            ["KIND=VERBAL,Physical"], [" kind = verbal , physical "], ["Kind=Verbal", "kind=PHYSICAL"], ["kind=  physical,verbal  "],
        ])
        func asciiCaseAndSpacesAreNormalised(_ raw: [String]) throws {
            let a = try answers(Self.withRest(raw, field: "kind"))
            #expect(a.fields["kind"] == ["physical", "verbal"])
        }

        @Test func yearIsNormalised() throws {
            #expect(try answers(Self.withRest(["year= 2019 "], field: "year")).fields["year"] == ["2019"])
            #expect(try answers(Self.withRest(["year=02019"], field: "year")).fields["year"] == ["2019"])
            #expect(try answers(Self.withRest(["year=1950"], field: "year")).fields["year"] == ["1950"])
            #expect(try answers(Self.withRest(["year=2026"], field: "year")).fields["year"] == ["2026"])
        }

        @Test(arguments: [
            // malformed --answer
            (["kind"], ["the answer \"kind\" is not in the form FIELD=VALUE", "no \"=\"", "known fields: kind, setting, perpetrator-role, year, reported, consent"]),
            ([""], ["the answer \"\" is not in the form FIELD=VALUE"]),
            (["=verbal"], ["\"=verbal\" has no field name", "known fields: kind,"]),
            ([" =verbal"], ["has no field name"]),
            // unknown field
            (["colour=red"], ["unknown field \"colour\"", "known fields: kind, setting, perpetrator-role, year, reported, consent"]),
            (["arrival=2020-01"], ["unknown field \"arrival\""]),
            // unknown value
            (["kind=verbose"], ["unknown value \"verbose\" for field \"kind\"", "allowed values (one or more): verbal, non-verbal, physical, sexual-assault, rape, online, quid-pro-quo, stalking, other"]),
            (["setting=office"], ["unknown value \"office\" for field \"setting\"", "allowed values (one): workplace, education"]),
            (["kind=verbal,physicall"], ["unknown value \"physicall\""]),
            (["setting=work place"], ["\"work place\"", "other than lowercase ASCII letters", "allowed values (one): workplace"]),
            // empty value
            (["kind="], ["field \"kind\" was given an empty value", "allowed values (one or more): verbal"]),
            (["kind=   "], ["empty value"]),
            (["kind=verbal,"], ["empty value"]),
            (["kind=verbal,,physical"], ["empty value"]),
            (["year="], ["field \"year\" was given an empty value", "enter a year from 1950 to 2026"]),
            // two values for a single-choice field
            (["setting=home,workplace"], ["field \"setting\" takes one value but was given two (\"home\" and \"workplace\")", "allowed values (one): workplace"]),
            (["setting=home", "setting=workplace"], ["takes one value but was given two"]),
            (["year=2019,2020"], ["field \"year\" takes one year but was given two", "1950 to 2026"]),
            // the same value twice
            (["kind=verbal,verbal"], ["the value \"verbal\" was given twice for field \"kind\""]),
            (["kind=verbal", "kind=VERBAL"], ["\"verbal\" was given twice"]),
            (["setting=home", "setting= home"], ["\"home\" was given twice for field \"setting\""]),
            (["year=2019", "year=02019"], ["\"2019\" was given twice"]),
            // years
            (["year=1949"], ["the year 1949 for field \"year\" is out of range", "enter a year from 1950 to 2026"]),
            (["year=2027"], ["the year 2027", "out of range", "1950 to 2026"]),
            (["year=0"], ["the year 0", "out of range"]),
            (["year=20x9"], ["the year \"20x9\" for field \"year\" is not a number", "1950 to 2026"]),
            (["year=nineteen"], ["\"nineteen\"", "not a number"]),
            (["year=-2019"], ["\"-2019\"", "not a number"]),
            (["year=+2019"], ["\"+2019\"", "not a number"]),
            (["year=2019.0"], ["not a number"]),
            (["year=1e3"], ["not a number"]),
            (["year=99999999999999999999"], ["not a number"]),
        ])
        func invalidAnswer(_ raw: [String], _ fragments: [String]) {
            expectFailure(CoreError.self, .invalidAnswer, fragments) { _ = try answers(raw + Self.complete.filter { c in !raw.contains { $0.split(separator: "=").first == c.split(separator: "=").first } }) }
        }

        @Test func missingRequiredField() {
            expectFailure(CoreError.self, .invalidAnswer, ["the required field \"setting\" has no answer", "add --answer setting=VALUE",
                                         "allowed values (one): workplace, education, entertainment"]) {
                _ = try answers(Self.complete.filter { !$0.hasPrefix("setting=") })
            }
            expectFailure(CoreError.self, .invalidAnswer, ["the required field \"kind\" has no answer", "(also missing: setting, perpetrator-role, reported, consent)"]) {
                _ = try answers(["year=2019"])
            }
            expectFailure(CoreError.self, .invalidAnswer, ["required field \"kind\"", "also missing"]) { _ = try answers([]) }
        }

        @Test func requiredYearField() throws {
            let schema = Schema(fields: [.init(id: "born", label: "Born", kind: .year, min: 1900, required: true)])
            expectFailure(CoreError.self, .invalidAnswer, ["required field \"born\" has no answer", "enter a year from 1900 to 2026"]) {
                _ = try schema.answers(from: [], arrivalMonth: testMonth, currentYear: testYear)
            }
            #expect(try schema.answers(from: ["born=1900"], arrivalMonth: testMonth, currentYear: testYear).fields == ["born": ["1900"]])
        }

        @Test func badArrivalMonthIsAnInternalError() {
            expectFailure(CoreError.self, .bug, ["arrival month", "YYYY-MM"]) {
                _ = try schema.answers(from: Self.complete, arrivalMonth: "2026-13", currentYear: testYear)
            }
        }

        @Test func partialAnswersDoNotRequireEverything() throws {
            #expect(try schema.partialAnswers(from: ["kind=verbal"], currentYear: testYear) == ["kind": ["verbal"]])
            #expect(try schema.partialAnswers(from: [], currentYear: testYear) == [:])
        }

        struct Hostile: Sendable, CustomTestStringConvertible {
            let name: String
            let raw: String
            let field: String
            let fragments: [String]
            var testDescription: String { name }
        }

        static let hostile: [Hostile] = [
            .init(name: "Cyrillic a in a value", raw: "kind=verb\u{0430}l", field: "kind",
                  fragments: ["\"verb\\u{0430}l\"", "other than lowercase ASCII", "allowed values (one or more): verbal"]),
            .init(name: "Cyrillic i in a field name", raw: "k\u{0456}nd=verbal", field: "kind",
                  fragments: ["unknown field \"k\\u{0456}nd\"", "other than lowercase ASCII", "known fields: kind"]),
            .init(name: "Cyrillic capital in a field name", raw: "\u{0421}ETTING=home", field: "setting",
                  fragments: ["unknown field \"\\u{0421}etting\""]),
            .init(name: "zero-width space", raw: "kind=ver\u{200B}bal", field: "kind", fragments: ["ver\\u{200B}bal"]),
            .init(name: "zero-width joiner", raw: "kind=verbal\u{200D}", field: "kind", fragments: ["verbal\\u{200D}"]),
            .init(name: "zero-width non-joiner in a field", raw: "set\u{200C}ting=home", field: "setting", fragments: ["set\\u{200C}ting"]),
            .init(name: "BOM before the field", raw: "\u{FEFF}kind=verbal", field: "kind", fragments: ["unknown field \"\\u{FEFF}kind\""]),
            .init(name: "right-to-left override", raw: "kind=\u{202E}labrev", field: "kind", fragments: ["\\u{202E}labrev"]),
            .init(name: "right-to-left isolate", raw: "setting=home\u{2067}", field: "setting", fragments: ["home\\u{2067}"]),
            .init(name: "left-to-right mark", raw: "setting=\u{200E}home", field: "setting", fragments: ["\\u{200E}home"]),
            .init(name: "combining acute accent", raw: "kind=verbal\u{0301}", field: "kind", fragments: ["verbal\\u{0301}"]),
            .init(name: "combining mark after =", raw: "kind=\u{0301}verbal", field: "kind", fragments: ["\\u{0301}verbal"]),
            .init(name: "combining mark after the comma", raw: "kind=verbal,\u{0338}physical", field: "kind", fragments: ["\\u{0338}physical"]),
            .init(name: "fullwidth letters", raw: "kind=\u{FF56}\u{FF45}\u{FF52}\u{FF42}\u{FF41}\u{FF4C}", field: "kind",
                  fragments: ["\\u{FF56}\\u{FF45}", "other than lowercase ASCII"]),
            .init(name: "fullwidth equals sign", raw: "kind\u{FF1D}verbal", field: "kind",
                  fragments: ["the answer \"kind\\u{FF1D}verbal\" is not in the form FIELD=VALUE"]),
            .init(name: "fullwidth comma", raw: "kind=verbal\u{FF0C}physical", field: "kind", fragments: ["verbal\\u{FF0C}physical"]),
            .init(name: "terminal escape sequence", raw: "kind=\u{1B}[31mverbal\u{1B}[0m", field: "kind", fragments: ["\\u{001B}[31mverbal"]),
            .init(name: "C1 control sequence introducer", raw: "kind=\u{9B}2Jverbal", field: "kind", fragments: ["\\u{009B}2jverbal"]),
            .init(name: "newline injecting an answer line", raw: "kind=verbal\nconsent=quote-anonymously", field: "kind",
                  fragments: ["verbal\\u{000A}consent"]),
            .init(name: "carriage return", raw: "setting=home\r", field: "setting", fragments: ["home\\u{000D}"]),
            .init(name: "NUL", raw: "kind=verbal\u{0}", field: "kind", fragments: ["verbal\\u{0000}"]),
            .init(name: "DEL", raw: "kind=verbal\u{7F}", field: "kind", fragments: ["verbal\\u{007F}"]),
            .init(name: "tab is not a space", raw: "kind=\tverbal", field: "kind", fragments: ["\\u{0009}verbal"]),
            .init(name: "no-break space", raw: "kind=verbal\u{A0}", field: "kind", fragments: ["verbal\\u{00A0}"]),
            .init(name: "ideographic space", raw: "kind=\u{3000}verbal", field: "kind", fragments: ["\\u{3000}verbal"]),
            .init(name: "line separator", raw: "setting=home\u{2028}", field: "setting", fragments: ["home\\u{2028}"]),
            .init(name: "Kelvin sign (lowercases to k)", raw: "\u{212A}ind=verbal", field: "kind", fragments: ["unknown field \"\\u{212A}ind\""]),
            .init(name: "long s (uppercases to S)", raw: "kind=\u{017F}talking", field: "kind", fragments: ["\\u{017F}talking"]),
            .init(name: "dotless i", raw: "kind=phys\u{0131}cal", field: "kind", fragments: ["phys\\u{0131}cal"]),
            .init(name: "dotted capital I", raw: "kind=PHYS\u{0130}CAL", field: "kind", fragments: ["phys\\u{0130}cal"]),
            .init(name: "Arabic-Indic digits", raw: "year=\u{0662}\u{0660}\u{0661}\u{0669}", field: "year",
                  fragments: ["the year \"\\u{0662}\\u{0660}\\u{0661}\\u{0669}\" for field \"year\" is not a number", "1950 to 2026"]),
            .init(name: "fullwidth digits", raw: "year=\u{FF12}\u{FF10}\u{FF11}\u{FF19}", field: "year", fragments: ["\\u{FF12}", "not a number"]),
            .init(name: "superscript digits", raw: "year=2\u{00B9}19", field: "year", fragments: ["2\\u{00B9}19", "not a number"]),
            .init(name: "emoji", raw: "kind=verbal\u{1F600}", field: "kind", fragments: ["verbal\\u{1F600}"]),
            .init(name: "replacement character (bad UTF-8 in argv)", raw: "kind=verbal\u{FFFD}", field: "kind", fragments: ["verbal\\u{FFFD}"]),
            .init(name: "very long value", raw: "kind=" + String(repeating: "\u{202E}", count: 100_000), field: "kind",
                  fragments: ["\\u{202E}\\u{202E}", "...\""]),
        ]

        @Test(arguments: hostile)
        func hostileInputIsRejectedAndNeverEchoedRaw(_ h: Hostile) {
            let message = expectFailure(CoreError.self, .invalidAnswer, h.fragments) { _ = try answers(Self.withRest([h.raw], field: h.field)) }
            if let message {
                #expect(message.utf8.count < 1000, "message too long: \(String(message.utf8.count)) bytes")
                #expect(!message.unicodeScalars.contains { $0.properties.generalCategory == .control || $0.properties.generalCategory == .format })
            }
        }
    }
}
