import Testing
import ChorusCrypto

@Suite struct BLAKE2bTests {
    static let abc: [UInt8] = Array("abc".utf8)

    // BLAKE2b-512 of the empty string (reference implementation / RFC 7693 test suite).
    @Test func emptyString512() {
        #expect(hexString(BLAKE2b.hash([], outputLength: 64)) ==
            "786a02f742015903c6c6fd852552d272912f4740e15847618a86e217f71f5419d25e1031afee585313896444934eb04b903a685b1448b755d56f701afe9be2ce")
    }

    // RFC 7693, Appendix A: BLAKE2b-512("abc").
    @Test func rfc7693Abc512() {
        #expect(BLAKE2b.hash(Self.abc, outputLength: 64) == hex("""
            BA 80 A5 3F 98 1C 4D 0D 6A 27 97 B6 9F 12 F6 E9
            4C 21 2F 14 68 5A C4 B7 4B 12 BB 6F DB FF A2 D1
            7D 87 C5 39 2A AB 79 2D C2 52 D5 DE 45 33 CC 95
            18 D3 8A A8 DB F1 92 5A B9 23 86 ED D4 00 99 23
            """))
    }

    // BLAKE2b-256 of the empty string (the output length is a parameter, not a truncation).
    @Test func emptyString256() {
        let d = BLAKE2b.hash([])
        #expect(hexString(d) == "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8")
        #expect(d != Array(BLAKE2b.hash([], outputLength: 64).prefix(32)))
    }

    // blake2b-kat.txt (BLAKE2 reference repository, keyed): key = 00 01 ... 3f, in = 00 01 ... (n-1).
    @Test(arguments: [
        (0, "10ebb67700b1868efb4417987acf4690ae9d972fb7a590c2f02871799aaa4786b5e996e8f0f4eb981fc214b005f42d2ff4233499391653df7aefcbc13fc51568"),
        (1, "961f6dd1e4dd30f63901690c512e78e4b45e4742ed197c3c5e45c549fd25f2e4187b0bc9fe30492b16b0d0bc4ef9b0f34c7003fac09a5ef1532e69430234cebd"),
        (2, "da2cfbe2d8409a0f38026113884f84b50156371ae304c4430173d08a99d9fb1b983164a3770706d537f49e0c916d9f32b95cc37a95b99d857436f0232c88a965"),
        (3, "33d0825dddf7ada99b0e7e307104ad07ca9cfd9692214f1561356315e784f3e5a17e364ae9dbb14cb2036df932b77f4b292761365fb328de7afdc6d8998f5fc1"),
    ])
    func keyedKnownAnswers(length: Int, expected: String) throws {
        let key = SecretBytes(copying: Array(0..<64).map(UInt8.init))
        let input = Array(0..<length).map(UInt8.init)
        #expect(hexString(try BLAKE2b.keyedHash(input, key: key, outputLength: 64)) == expected)
        let viaBuffer = try input.withUnsafeBytes { try BLAKE2b.keyedHash($0, key: key, outputLength: 64) }
        #expect(hexString(viaBuffer) == expected)
    }

    @Test func bufferAndArrayAgree() {
        let data = pattern(1000)
        for n in [1, 16, 24, 32, 64] {
            #expect(data.withUnsafeBytes { BLAKE2b.hash($0, outputLength: n) } == BLAKE2b.hash(data, outputLength: n))
            #expect(BLAKE2b.hash(data, outputLength: n).count == n)
        }
        #expect([UInt8]().withUnsafeBytes { BLAKE2b.hash($0) } == BLAKE2b.hash([]))
    }

    @Test func differentInputsDiffer() {
        #expect(BLAKE2b.hash(Self.abc) != BLAKE2b.hash(Array("abd".utf8)))
        #expect(BLAKE2b.hash([0]) != BLAKE2b.hash([]))
    }

    @Test func keyedDiffersFromUnkeyedAndByKey() throws {
        let k1 = SecretBytes(copying: pattern(32, seed: 1))
        let k2 = SecretBytes(copying: flipping(pattern(32, seed: 1), at: 0))
        let m1 = try BLAKE2b.keyedHash(Self.abc, key: k1)
        #expect(m1.count == 32)
        #expect(m1 == (try BLAKE2b.keyedHash(Self.abc, key: k1)))
        #expect(m1 != (try BLAKE2b.keyedHash(Self.abc, key: k2)))
        #expect(m1 != BLAKE2b.hash(Self.abc))
    }

    @Test(arguments: [16, 17, 32, 63, 64])
    func keyedAcceptsBoundaryLengths(n: Int) throws {
        let key = SecretBytes(copying: pattern(n))
        #expect(try BLAKE2b.keyedHash(Self.abc, key: key, outputLength: n).count == n)
    }

    @Test(arguments: [Int.min, -1, 0, 1, 15, 65, 1000])
    func keyedRejectsOutputLength(n: Int) {
        let key = SecretBytes(copying: pattern(32))
        expectInvalidParameters { _ = try BLAKE2b.keyedHash(Self.abc, key: key, outputLength: n) }
        expectInvalidParameters { _ = try Self.abc.withUnsafeBytes { try BLAKE2b.keyedHash($0, key: key, outputLength: n) } }
    }

    @Test(arguments: [0, 1, 15, 65, 128])
    func keyedRejectsKeyLength(n: Int) {
        let key = SecretBytes(copying: pattern(n))
        expectInvalidParameters { _ = try BLAKE2b.keyedHash(Self.abc, key: key) }
    }

    // Expected values computed independently with Python's hashlib.blake2b(digest_size=32, person=...),
    // whose salt defaults to 16 zero bytes, as here.
    @Test(arguments: [
        ("chorus-fpr-1", "hello", "3d242c6b5c081364eaeb85084090730798a80e7d16b24b17988f24f96cd5c176"),
        ("chorus-receipt-1", "", "847f85deeb97bc2b97b7e60403e471692a859108d914a25ed2fe728dea36476f"),
    ])
    func personalKnownAnswers(personal: String, message: String, expected: String) throws {
        #expect(hexString(try BLAKE2b.personalHash(Array(message.utf8), personal: personal)) == expected)
    }

    @Test func emptyPersonalIsThePlainHash() throws {
        // An all-zero parameter block (zero salt, zero personal) is plain BLAKE2b.
        for n in [16, 32, 64] {
            #expect(try BLAKE2b.personalHash(Self.abc, personal: "", outputLength: n) == BLAKE2b.hash(Self.abc, outputLength: n))
        }
    }

    @Test func personalSeparatesDomains() throws {
        let a = try BLAKE2b.personalHash(Self.abc, personal: "chorus-a")
        let b = try BLAKE2b.personalHash(Self.abc, personal: "chorus-b")
        #expect(a != b)
        #expect(a != BLAKE2b.hash(Self.abc))
        #expect(try BLAKE2b.personalHash(Self.abc, personal: "0123456789abcdef").count == 32, "exactly 16 bytes is allowed")
    }

    @Test(arguments: ["0123456789abcdefX", "chorus-receipt-12", String(repeating: "x", count: 100),
                      String(repeating: "é", count: 9)]) // 9 characters but 18 UTF-8 bytes
    func personalLongerThan16BytesThrows(personal: String) {
        expectInvalidParameters { _ = try BLAKE2b.personalHash(Self.abc, personal: personal) }
    }

    @Test(arguments: [-1, 0, 15, 65])
    func personalRejectsOutputLength(n: Int) {
        expectInvalidParameters { _ = try BLAKE2b.personalHash(Self.abc, personal: "p", outputLength: n) }
    }

    @Test(arguments: [1, 7, 64, 127, 128, 129, 1000, 5000])
    func streamingMatchesOneShot(chunk: Int) throws {
        let data = pattern(3000, seed: 5)
        for n in [16, 32, 64] {
            let h = try BLAKE2b.Hasher(outputLength: n)
            #expect(h.outputLength == n)
            var i = 0
            while i < data.count {
                let end = min(i + chunk, data.count)
                data[i..<end].withUnsafeBytes { h.update($0) }
                i = end
            }
            h.update([]) // an empty update changes nothing
            #expect(h.finalize() == BLAKE2b.hash(data, outputLength: n), "chunk \(chunk), output \(n)")
        }
    }

    @Test func streamingKnownAnswers() throws {
        let h = try BLAKE2b.Hasher(outputLength: 64)
        h.update(Array("a".utf8))
        h.update(Array("bc".utf8))
        #expect(h.finalize() == BLAKE2b.hash(Self.abc, outputLength: 64))
        #expect(hexString(try BLAKE2b.Hasher(outputLength: 64).finalize()).hasPrefix("786a02f742015903"))
        #expect(try BLAKE2b.Hasher().finalize() == BLAKE2b.hash([]))
    }

    @Test(arguments: [Int.min, -1, 0, 1, 15, 65, Int.max])
    func hasherRejectsOutputLength(n: Int) {
        expectInvalidParameters { _ = try BLAKE2b.Hasher(outputLength: n) }
    }
}
