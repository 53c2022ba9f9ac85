import Foundation
import Testing
import ChorusCrypto
@testable import ChorusFormat
@testable import ChorusCore

/// The fast paths of reading answers against their references.
@Suite struct AnswersAcceptorTests {
    @Test func theAcceptorAgreesWithSchemaAccepts() throws {
        let year = Schema.currentYear
        let custom = Schema(fields: [
            .init(id: "a", label: "A", kind: .single, values: ["x", "y", "z0"], required: true),
            .init(id: "b", label: "B", kind: .multiple, values: ["p", "q", "r"], required: false),
            .init(id: "when", label: "When", kind: .year, min: 1990, required: false),
        ])
        let candidates: [String: [[String]]] = [
            "a": [["x"], ["y"], ["z0"], ["w"], ["x", "y"], ["X"]],
            "b": [["p"], ["p", "q"], ["p", "q", "r"], ["s"], ["p", "s"]],
            "when": [["1990"], ["1989"], ["2001"], ["02001"], ["\(year)"], ["\(year + 1)"], ["1999", "2000"], ["0"], ["123456789"], ["1234567890"]],
            "kind": [["verbal"], ["verbal", "physical"], ["walking"]],
            "setting": [["home"], ["home", "online"], ["moon"]],
            "perpetrator-role": [["family"]], "reported": [["no"], ["maybe"]], "consent": [["counts-only"]],
            "year": [["1950"], ["1949"], ["\(year)"], ["\(year + 1)"], ["2019"], ["02019"]],
            "extra": [["x"]],
        ]
        var rng = SystemRandomNumberGenerator()
        for schema in [Schema.builtIn, custom] {
            let acceptor = AnswersAcceptor(schema: schema)
            var accepted = 0
            for _ in 0 ..< 3000 {
                var fields: [String: [String]] = [:]
                for (id, options) in candidates where Int.random(in: 0 ..< 10, using: &rng) < (schema.field(id) == nil ? 1 : 8) {
                    fields[id] = options.randomElement(using: &rng)!
                }
                guard let answers = try? AnswersText(arrivalMonth: "2026-05", questionnaire: schema.digest, fields: fields) else { continue }
                let expected = schema.accepts(answers)
                #expect(acceptor.accepts(answers) == expected, "\(fields)")
                if expected { accepted += 1 }
            }
            #expect(accepted > 10)
        }
    }

    @Test func theFastAnswersDecoderAgreesWithTheCheckedOne() throws {
        let q = "questionnaire=" + Hex.encode(Schema.builtIn.digest) + "\n"
        let samples = [
            "chorus-answers-2\narrival=2026-11\n" + q,
            "chorus-answers-2\narrival=2026-11\n" + q + "consent=counts-only\nkind=physical,verbal\nsetting=workplace\nyear=2019\n",
            "chorus-answers-2\narrival=2000-01\n" + q + "a=0,1,a-\nb-9=z\n",
        ]
        let alphabet = Array("chorus-answers-2\narrival=2026-11,x09azf-=A \u{0}questionnaire".utf8)
        var rng = SystemRandomNumberGenerator()
        for sample in samples {
            let bytes = Array(sample.utf8)
            for trial in 0 ..< 4000 {
                var b = bytes
                if trial > 0 {
                    for _ in 0 ..< Int.random(in: 1 ... 3, using: &rng) {
                        let i = Int.random(in: 0 ..< b.count, using: &rng)
                        switch Int.random(in: 0 ..< 3, using: &rng) {
                        case 0: b[i] = alphabet.randomElement(using: &rng)!
                        case 1: b.insert(alphabet.randomElement(using: &rng)!, at: i)
                        default: if b.count > 1 { b.remove(at: i) }
                        }
                    }
                }
                let fast = b.withUnsafeBytes { AnswersText.decodeCanonical($0) }
                let checked = try? b.withUnsafeBytes { try AnswersText.decodeChecked($0) }
                #expect(fast == checked, "\(String(decoding: b, as: UTF8.self).debugDescription)")
            }
        }
        // Over 64 fields and over 4096 bytes: refused by both.
        let many = "chorus-answers-2\narrival=2026-11\n" + q + (0 ..< 65).map { "f\(String(format: "%03d", $0))=x\n" }.joined()
        let long = "chorus-answers-2\narrival=2026-11\n" + q + (0 ..< 90).map { "f\(String(format: "%03d", $0))=\(String(repeating: "v", count: 44))\n" }.joined()
        for text in [many, long] {
            let b = Array(text.utf8)
            #expect(b.withUnsafeBytes { AnswersText.decodeCanonical($0) } == nil)
            #expect((try? b.withUnsafeBytes { try AnswersText.decodeChecked($0) }) == nil)
        }
    }
}
