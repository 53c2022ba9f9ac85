import Testing
import ChorusCrypto

@Suite struct KDFTests {
    static let master: [UInt8] = Array(0..<32).map(UInt8.init)

    @Test func sizes() {
        #expect(KDF.masterKeyByteCount == 32)
        #expect(KDF.contextByteCount == 8)
    }

    // crypto_kdf_derive_from_key is BLAKE2b keyed with the master key, salt = id (u64 little-endian) ‖ 8
    // zero bytes, personal = context ‖ 8 zero bytes. Expected values computed independently with Python's
    // hashlib.blake2b(key=, salt=, person=).
    @Test(arguments: [
        (UInt64(0), "d44a99025e3ac64ee1ef76bcfb2094c1acd13a7175668bf37cbc4138461e5285"),
        (UInt64(1), "aec4de65b1eed38197b8976555439aa9c1db2041187ed474c8e86ee273b29c5e"),
        (UInt64(0x0102030405060708), "f96036aec33c10066c99ce8361a23d6ea69d2a2e0c18e51fcc9aac5067e41883"),
    ])
    func knownAnswers(id: UInt64, expected: String) throws {
        let sub = try KDF.deriveSubkey(from: SecretBytes(copying: Self.master, guarded: true), id: id, context: "CHORUSv1")
        #expect(hexString(sub.revealedBytes()) == expected)
    }

    @Test func deterministic() throws {
        let m = SecretBytes(copying: Self.master)
        let a = try KDF.deriveSubkey(from: m, id: 42, context: "CHORUSv1")
        let b = try KDF.deriveSubkey(from: m, id: 42, context: "CHORUSv1")
        #expect(a.constantTimeEquals(b) == true)
        #expect(a.count == 32)
    }

    @Test func differentIdsGiveDifferentSubkeys() throws {
        let m = SecretBytes(copying: Self.master)
        var seen = Set<[UInt8]>()
        for id in Array(UInt64(0)..<64) + [UInt64(1) << 32, UInt64(1) << 63, UInt64.max] {
            seen.insert(try KDF.deriveSubkey(from: m, id: id, context: "CHORUSv1").revealedBytes())
        }
        #expect(seen.count == 67)
    }

    @Test func differentContextsAndMastersGiveDifferentSubkeys() throws {
        let m = SecretBytes(copying: Self.master)
        let a = try KDF.deriveSubkey(from: m, id: 1, context: "CHORUSv1").revealedBytes()
        let b = try KDF.deriveSubkey(from: m, id: 1, context: "CHORUSv2").revealedBytes()
        let c = try KDF.deriveSubkey(from: m, id: 1, context: "chorusv1").revealedBytes()
        let d = try KDF.deriveSubkey(from: SecretBytes(copying: flipping(Self.master, at: 5)), id: 1, context: "CHORUSv1").revealedBytes()
        #expect(Set([a, b, c, d]).count == 4)
    }

    @Test(arguments: [16, 17, 32, 64])
    func acceptedLengths(length: Int) throws {
        let m = SecretBytes(copying: Self.master)
        let sub = try KDF.deriveSubkey(from: m, id: 7, context: "CHORUSv1", length: length)
        #expect(sub.count == length)
        #expect(sub.isAllZero == false)
    }

    @Test func lengthIsPartOfTheDerivation() throws {
        // BLAKE2b's parameter block includes the output length: a short sub-key is not a prefix of a long one.
        let m = SecretBytes(copying: Self.master)
        let short = try KDF.deriveSubkey(from: m, id: 7, context: "CHORUSv1", length: 16).revealedBytes()
        let long = try KDF.deriveSubkey(from: m, id: 7, context: "CHORUSv1", length: 64).revealedBytes()
        #expect(Array(long.prefix(16)) != short)
    }

    @Test(arguments: [Int.min, -1, 0, 1, 15, 65, 1 << 20])
    func rejectedLengths(length: Int) {
        let m = SecretBytes(copying: Self.master)
        expectInvalidParameters { _ = try KDF.deriveSubkey(from: m, id: 0, context: "CHORUSv1", length: length) }
    }

    @Test(arguments: [0, 1, 16, 31, 33, 64])
    func wrongMasterLengthThrows(length: Int) {
        expectWrongLength(expected: 32, got: length) {
            _ = try KDF.deriveSubkey(from: SecretBytes(copying: pattern(length)), id: 0, context: "CHORUSv1")
        }
    }

    @Test(arguments: [("", 0), ("CHORUS", 6), ("CHORUSv", 7), ("CHORUSv12", 9), ("a much longer context", 21),
                      ("CHORUSé", 8), ("CHORUSvé", 9)]) // counted in UTF-8 bytes, not characters
    func contextMustBeEightBytes(context: String, bytes: Int) throws {
        let m = SecretBytes(copying: Self.master)
        if bytes == 8 {
            #expect(try KDF.deriveSubkey(from: m, id: 0, context: context).count == 32)
        } else {
            expectWrongLength(expected: 8, got: bytes) { _ = try KDF.deriveSubkey(from: m, id: 0, context: context) }
        }
    }
}
