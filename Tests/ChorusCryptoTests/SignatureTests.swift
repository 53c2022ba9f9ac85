import Testing
import ChorusCrypto

@Suite struct SignatureTests {
    // RFC 8032, section 7.1, test 1 (empty message) and test 2 (one byte).
    @Test func rfc8032KnownAnswers() throws {
        for (seedHex, pkHex, message, sigHex) in [
            ("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", [UInt8](),
             "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"),
            ("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb", "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", [UInt8(0x72)],
             "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"),
        ] {
            let key = try SigningKey(seed: SecretBytes(copying: hex(seedHex)))
            #expect(hexString(key.publicKey.rawBytes) == pkHex)
            #expect(hexString(key.sign(message)) == sigHex)
            #expect(key.publicKey.verifies(hex(sigHex), of: message))
            #expect(key.exportSeed().revealedBytes() == hex(seedHex))
        }
    }

    @Test func anyChangeBreaksTheSignature() throws {
        let key = SigningKey.generate()
        let message = Array("the recipients of a store".utf8)
        let signature = key.sign(message)
        #expect(key.publicKey.verifies(signature, of: message))
        for i in [0, 31, 63] { #expect(!key.publicKey.verifies(flipping(signature, at: i), of: message), "signature byte \(i)") }
        #expect(!key.publicKey.verifies(signature, of: flipping(message, at: 3)))
        #expect(!key.publicKey.verifies(signature, of: message + [0]))
        #expect(!key.publicKey.verifies(Array(signature.prefix(63)), of: message))
        #expect(!SigningKey.generate().publicKey.verifies(signature, of: message), "another key")
    }

    @Test func unusableKeysAndSeedsAreRefused() {
        expectWrongLength(expected: 32, got: 31) { _ = try SigningPublicKey(rawBytes: pattern(31)) }
        expectWrongLength(expected: 32, got: 16) { _ = try SigningKey(seed: SecretBytes(copying: pattern(16))) }
        // The identity point (a small-order encoding) is refused.
        #expect(throws: CryptoError.self) { _ = try SigningPublicKey(rawBytes: [1] + [UInt8](repeating: 0, count: 31)) }
    }
}
