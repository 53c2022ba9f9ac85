@testable import ChorusFormat
import Foundation
import Testing

@Suite struct EncodingTests {
    @Test func hexRoundTripAndStrictness() {
        #expect(Hex.encode([0x00, 0xab, 0xff]) == "00abff")
        #expect(Hex.decode("00abff") == [0x00, 0xab, 0xff])
        for bad in ["0", "AB", "zz", "0g", " 00", "00 "] { #expect(Hex.decode(bad) == nil, "\(bad)") }
    }

    @Test func base64KnownAnswersAndCanonical() {
        // RFC 4648 section 10.
        let cases = ["": "", "f": "Zg==", "fo": "Zm8=", "foo": "Zm9v", "foob": "Zm9vYg==", "fooba": "Zm9vYmE=", "foobar": "Zm9vYmFy"]
        for (plain, encoded) in cases {
            #expect(Base64.encode(Array(plain.utf8)) == encoded)
            #expect(Base64.decode(encoded) == Array(plain.utf8))
        }
        // Non-canonical: set unused bits, missing padding, padding in the middle, bad characters.
        for bad in ["Zh==", "Zm9=", "Zg", "Zg=", "Z===", "Zg==Zg==", "Zm9v\n", "Zm-v", "===="] { #expect(Base64.decode(bad) == nil, "\(bad)") }
    }

    @Test func base32Crockford() {
        #expect(Base32.encode([0xff]) == "ZW")
        #expect(Base32.encode([0, 0, 0, 0, 0]) == "00000000")
        #expect(Base32.value(UInt8(ascii: "U")) == nil)
        #expect(Base32.value(UInt8(ascii: "I")) == nil)
        #expect(Base32.value(UInt8(ascii: "Z")) == 31)
    }

    @Test(arguments: [(1, 1), (2, 2), (9, 10), (100, 104), (256, 256), (257, 272), (4097, 4352), (10004, 10240), (65536, 65536), (1_000_000, 1_015_808)])
    func padme(_ input: Int, _ expected: Int) {
        #expect(Padme.pad(input) == expected)
        #expect(Padme.pad(Padme.pad(input)) == Padme.pad(input), "padme is idempotent")
    }

    @Test func padmeOverheadIsBounded() {
        for x in stride(from: 2, to: 2_000_000, by: 997) {
            let p = Padme.pad(x)
            #expect(p >= x)
            #expect(Double(p - x) / Double(x) <= 0.12)
        }
    }

    @Test func sectionLengths() {
        #expect(Padme.sectionLength(content: 0, minimum: 4096) == 4096)
        #expect(Padme.sectionLength(content: 4092, minimum: 4096) == 4096)
        #expect(Padme.sectionLength(content: 4093, minimum: 4096) > 4096)
        #expect(Padme.isValidSectionLength(4096, minimum: 4096, maximum: 1 << 24))
        #expect(!Padme.isValidSectionLength(4097, minimum: 4096, maximum: 1 << 24))
        #expect(!Padme.isValidSectionLength(2048, minimum: 4096, maximum: 1 << 24))
        #expect(!Padme.isValidSectionLength(1 << 25, minimum: 4096, maximum: 1 << 24))
    }
}

@Suite struct AnswersTextTests {
    static let digest = [UInt8](repeating: 0x0f, count: 32)
    static let q = "questionnaire=" + String(repeating: "0f", count: 32) + "\n"
    let sample = "chorus-answers-2\narrival=2026-11\n" + AnswersTextTests.q + "consent=counts-only\nkind=physical,verbal\nsetting=workplace\n"

    @Test func encodesCanonically() throws {
        let a = try AnswersText(arrivalMonth: "2026-11", questionnaire: Self.digest,
                                fields: ["setting": ["workplace"], "kind": ["verbal", "physical", "verbal"], "consent": ["counts-only"]])
        #expect(String(decoding: a.encoded(), as: UTF8.self) == sample)
        let back = try Array(sample.utf8).withUnsafeBytes { try AnswersText.decode($0) }
        #expect(back == a)
    }

    @Test(arguments: [
        "", "chorus-answers-2\n", "chorus-answers-2\narrival=2026-11\n", "chorus-answers-1\narrival=2026-11\n" + AnswersTextTests.q,
        "chorus-answers-2\narrival=2026-11\n" + AnswersTextTests.q.dropLast(), "chorus-answers-2\narrival=1999-12\n" + AnswersTextTests.q,
        "chorus-answers-2\narrival=2026-13\n" + AnswersTextTests.q, "chorus-answers-2\narrival=26-11\n" + AnswersTextTests.q, "chorus-answers-2\narrival=2026-11\n" + AnswersTextTests.q + "\n",
        "chorus-answers-2\narrival=2026-11\nquestionnaire=" + String(repeating: "0F", count: 32) + "\n",
        "chorus-answers-2\n" + AnswersTextTests.q + "arrival=2026-11\n",
    ] + [
        "kind=verbal,physical\n", "kind=verbal,verbal\n", "setting=home\nkind=verbal\n", "kind=\n", "kind=Verbal\n", "kind verbal\n",
        "arrival=verbal\n", "questionnaire=x\n", "kind=verbal\r\n", "kind=-verbal\n", "kind=v\u{0430}rbal\n", "9kind=verbal\n", "kind=a,,b\n",
    ].map { "chorus-answers-2\narrival=2026-11\n" + AnswersTextTests.q + $0 })
    func rejectsNonCanonical(_ text: String) {
        #expect(throws: FormatError.self) { try Array(text.utf8).withUnsafeBytes { try AnswersText.decode($0) } }
    }

    @Test func rejectsOversizedAnswers() {
        let many = Dictionary(uniqueKeysWithValues: (0 ..< 65).map { ("f\($0)", ["x"]) })
        #expect(throws: FormatError.self) { try AnswersText(arrivalMonth: "2026-11", questionnaire: Self.digest, fields: many) }
        let long = ["kind": (0 ..< 200).map { "value-number-\($0)-with-some-length" }]
        #expect(throws: FormatError.self) { try AnswersText(arrivalMonth: "2026-11", questionnaire: Self.digest, fields: long) }
    }
}

@Suite struct KeyFileTests {
    let raw = [UInt8](repeating: 0xab, count: 32)

    @Test func publicKeyRoundTrip() throws {
        let f = PublicKeyFile(role: .analyst, rawKey: raw, name: "bob")
        let parsed = try PublicKeyFile.parse(Array(f.render(fingerprint: "aaaa-bbbb-cccc-dddd").utf8))
        #expect(parsed == f)
    }

    @Test(arguments: [
        ("", "line feed"),
        ("\n", "no key line"),
        ("chorus-pk-reviewer-2:" + String(repeating: "ab", count: 31) + "\n", "64 lowercase hex"),
        ("chorus-pk-reviewer-2:" + String(repeating: "AB", count: 32) + "\n", "64 lowercase hex"),
        ("chorus-pk-reviewer-2:" + String(repeating: "ab", count: 32) + " \n", "64 lowercase hex"),
        ("chorus-pk-reviewer-2:" + String(repeating: "ab", count: 32), "line feed"),
        ("chorus-pk-reviewer-2:" + String(repeating: "ab", count: 32) + "\r\n", "carriage return"),
        ("chorus-pk-reviewer-1:" + String(repeating: "ab", count: 32) + "\n", "unsupported version 1"),
        ("chorus-pk-admin-2:" + String(repeating: "ab", count: 32) + "\n", "does not start with"),
        ("chorus-pk-reviewer-2:" + String(repeating: "ab", count: 32) + "\nchorus-pk-reviewer-2:" + String(repeating: "ab", count: 32) + "\n", "more than one key line"),
        ("-----BEGIN CHORUS SECRET KEY-----\nAAAA\n-----END CHORUS SECRET KEY-----\n", "SECRET key"),
        ("age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs\n", "does not start with"),
    ])
    func publicKeyRejects(_ text: String, _ words: String) {
        do {
            _ = try PublicKeyFile.parse(Array(text.utf8))
            Issue.record("accepted \(text)")
        } catch {
            #expect(error.description.contains(words), "\(error)")
        }
    }

    @Test func publicKeyRejectsBinaryAndHuge() {
        #expect(throws: FormatError.self) { try PublicKeyFile.parse([0xff, 0xfe, 0x00]) }
        #expect(throws: FormatError.self) { try PublicKeyFile.parse([UInt8](repeating: 0x23, count: 5000)) }
    }

    func secretFile(name: String = "alice", ops: UInt64 = 3, mem: UInt64 = 268_435_456) throws -> SecretKeyFile {
        try SecretKeyFile(role: .reviewer, opsLimit: ops, memoryBytes: mem, salt: [UInt8](repeating: 1, count: 16), publicKey: raw,
                          name: name, nonce: [UInt8](repeating: 2, count: 24), sealedSecret: [UInt8](repeating: 3, count: 48))
    }

    @Test func secretKeyRoundTrip() throws {
        let f = try secretFile()
        #expect(f.blob.count == 148 + 5)
        #expect(try SecretKeyFile.parse(Array(f.render().utf8)) == f)
    }

    @Test func secretKeyRejectsHostileCosts() {
        #expect(throws: FormatError.self) { try secretFile(ops: 5) }
        #expect(throws: FormatError.self) { try secretFile(mem: 1 << 40) }
        #expect(throws: FormatError.self) { try secretFile(ops: 0) }
        #expect(throws: FormatError.self) { try secretFile(name: "") }
        #expect(throws: FormatError.self) { try secretFile(name: String(repeating: "x", count: 65)) }
    }

    @Test func secretKeyRejectsBadArmour() throws {
        let good = try secretFile().render()
        var lines = good.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let variants: [String] = [
            good.replacingFirst("BEGIN", "START"),
            String(good.dropLast()),
            good + "extra\n",
            good.replacingFirst("\n", "\n\n"),
            { lines[1] = String(lines[1].dropLast()); return lines.joined(separator: "\n") }(),
            "chorus-pk-reviewer-1:" + String(repeating: "ab", count: 32) + "\n",
        ]
        for v in variants {
            #expect(throws: FormatError.self, "\(v)") { try SecretKeyFile.parse(Array(v.utf8)) }
        }
        // A blob with a patched cost is refused before any passphrase work.
        var blob = try secretFile().blob
        blob[11 + 7] = 9
        let armoured = "\(SecretKeyFile.beginLine)\n" + chunk(Base64.encode(blob)) + "\(SecretKeyFile.endLine)\n"
        #expect(throws: FormatError.self) { try SecretKeyFile.parse(Array(armoured.utf8)) }
    }

    func chunk(_ s: String) -> String {
        var out = "", line = ""
        for c in s { line.append(c); if line.count == 64 { out += line + "\n"; line = "" } }
        return line.isEmpty ? out : out + line + "\n"
    }
}

extension String {
    func replacingFirst(_ a: String, _ b: String) -> String {
        guard let r = range(of: a) else { return self }
        return replacingCharacters(in: r, with: b)
    }
}
