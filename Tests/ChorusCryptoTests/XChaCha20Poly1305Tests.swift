import Testing
import ChorusCrypto

@Suite struct XChaCha20Poly1305Tests {
    // draft-irtf-cfrg-xchacha-03, Appendix A.3.1 (AEAD_XChaCha20_Poly1305).
    static let kPlaintext = Array("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.".utf8)
    static let kAD = hex("50515253c0c1c2c3c4c5c6c7")
    static let kKey = hex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f")
    static let kNonce = hex("404142434445464748494a4b4c4d4e4f5051525354555657")
    static let kCiphertext = hex("""
        bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb
        731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452
        2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9
        21f9664c97637da9768812f615c68b13b52e
        """)
    static let kTag = hex("c0875924c1c7987947deafd8780acf49")

    @Test func sizes() {
        #expect(XChaCha20Poly1305.keyByteCount == 32)
        #expect(XChaCha20Poly1305.nonceByteCount == 24)
        #expect(XChaCha20Poly1305.tagByteCount == 16)
    }

    @Test func draftA31Seal() throws {
        let key = SecretBytes(copying: Self.kKey)
        let sealed = try XChaCha20Poly1305.seal(SecretBytes(copying: Self.kPlaintext), associatedData: Self.kAD,
                                                nonce: Self.kNonce, key: key)
        #expect(sealed == Self.kCiphertext + Self.kTag)
    }

    @Test func draftA31Open() throws {
        let key = SecretBytes(copying: Self.kKey, guarded: true)
        let opened = try XChaCha20Poly1305.open(Self.kCiphertext + Self.kTag, associatedData: Self.kAD,
                                                nonce: Self.kNonce, key: key)
        #expect(opened.revealedBytes() == Self.kPlaintext)
        let viaBuffers = try (Self.kCiphertext + Self.kTag).withUnsafeBytes { c in
            try Self.kAD.withUnsafeBytes { a in try XChaCha20Poly1305.open(c, associatedData: a, nonce: Self.kNonce, key: key).revealedBytes() }
        }
        #expect(viaBuffers == Self.kPlaintext)
    }

    @Test(arguments: [0, 1, 15, 16, 17, 63, 64, 65, 1000, 70_000])
    func roundTrip(length: Int) throws {
        let key = SecretBytes.random(count: 32)
        let nonce = Random.bytes(24)
        let message = pattern(length)
        for ad in [[], pattern(1, seed: 3), pattern(300, seed: 4)] {
            let sealed = try XChaCha20Poly1305.seal(SecretBytes(copying: message), associatedData: ad, nonce: nonce, key: key)
            #expect(sealed.count == length + 16)
            if length >= 16 { #expect(Array(sealed.prefix(length)) != message, "the ciphertext is not the plaintext") }
            let opened = try XChaCha20Poly1305.open(sealed, associatedData: ad, nonce: nonce, key: key)
            #expect(opened.count == length)
            #expect(opened.revealedBytes() == message)
        }
    }

    @Test func emptyPlaintextIsJustATag() throws {
        let key = SecretBytes(copying: Self.kKey)
        let sealed = try XChaCha20Poly1305.seal(SecretBytes(count: 0), associatedData: Self.kAD, nonce: Self.kNonce, key: key)
        #expect(sealed.count == 16)
        #expect(try XChaCha20Poly1305.open(sealed, associatedData: Self.kAD, nonce: Self.kNonce, key: key).count == 0)
        expectAuthenticationFailure { _ = try XChaCha20Poly1305.open(flipping(sealed, at: 15, bit: 7), associatedData: Self.kAD, nonce: Self.kNonce, key: key) }
        expectAuthenticationFailure { _ = try XChaCha20Poly1305.open(sealed, associatedData: [], nonce: Self.kNonce, key: key) }
    }

    @Test func sameInputsSameOutputDifferentNonceDifferentOutput() throws {
        let key = SecretBytes(copying: Self.kKey)
        let m = pattern(50)
        let a = try XChaCha20Poly1305.seal(SecretBytes(copying: m), associatedData: [], nonce: Self.kNonce, key: key)
        let b = try XChaCha20Poly1305.seal(SecretBytes(copying: m), associatedData: [], nonce: Self.kNonce, key: key)
        let c = try XChaCha20Poly1305.seal(SecretBytes(copying: m), associatedData: [], nonce: flipping(Self.kNonce, at: 23), key: key)
        #expect(a == b)
        #expect(a != c)
    }

    @Test func everyFlippedBitOfCiphertextOrTagFails() {
        let key = SecretBytes(copying: Self.kKey)
        let sealed = Self.kCiphertext + Self.kTag
        for i in 0..<sealed.count {
            for bit in [0, 7] {
                expectAuthenticationFailure {
                    _ = try XChaCha20Poly1305.open(flipping(sealed, at: i, bit: bit), associatedData: Self.kAD, nonce: Self.kNonce, key: key)
                }
            }
        }
    }

    @Test func everyFlippedBitOfNonceFails() {
        let key = SecretBytes(copying: Self.kKey)
        for i in 0..<Self.kNonce.count {
            expectAuthenticationFailure {
                _ = try XChaCha20Poly1305.open(Self.kCiphertext + Self.kTag, associatedData: Self.kAD,
                                               nonce: flipping(Self.kNonce, at: i, bit: i), key: key)
            }
        }
    }

    @Test func everyFlippedBitOfAssociatedDataFails() {
        let key = SecretBytes(copying: Self.kKey)
        for i in 0..<Self.kAD.count {
            expectAuthenticationFailure {
                _ = try XChaCha20Poly1305.open(Self.kCiphertext + Self.kTag, associatedData: flipping(Self.kAD, at: i, bit: i),
                                               nonce: Self.kNonce, key: key)
            }
        }
        // Longer, shorter or missing associated data fails too.
        for ad in [Self.kAD + [0], Array(Self.kAD.dropLast()), []] {
            expectAuthenticationFailure {
                _ = try XChaCha20Poly1305.open(Self.kCiphertext + Self.kTag, associatedData: ad, nonce: Self.kNonce, key: key)
            }
        }
    }

    @Test func everyFlippedBitOfKeyFails() {
        for i in 0..<32 {
            let key = SecretBytes(copying: flipping(Self.kKey, at: i, bit: i))
            expectAuthenticationFailure {
                _ = try XChaCha20Poly1305.open(Self.kCiphertext + Self.kTag, associatedData: Self.kAD, nonce: Self.kNonce, key: key)
            }
        }
    }

    @Test func truncatedOrExtendedCiphertextFails() {
        let key = SecretBytes(copying: Self.kKey)
        let sealed = Self.kCiphertext + Self.kTag
        for bad in [Array(sealed.dropLast()), Array(sealed.dropFirst()), sealed + [0], Array(sealed.prefix(16))] {
            expectAuthenticationFailure {
                _ = try XChaCha20Poly1305.open(bad, associatedData: Self.kAD, nonce: Self.kNonce, key: key)
            }
        }
    }

    @Test(arguments: [0, 1, 15, 16, 31, 33, 64])
    func wrongKeyLengthThrows(length: Int) {
        let key = SecretBytes(copying: pattern(length))
        expectWrongLength(expected: 32, got: length) {
            _ = try XChaCha20Poly1305.seal(SecretBytes(copying: [1, 2, 3]), associatedData: [], nonce: Self.kNonce, key: key)
        }
        expectWrongLength(expected: 32, got: length) {
            _ = try XChaCha20Poly1305.open(Self.kCiphertext + Self.kTag, associatedData: Self.kAD, nonce: Self.kNonce, key: key)
        }
    }

    @Test(arguments: [0, 1, 8, 12, 16, 23, 25, 32])
    func wrongNonceLengthThrows(length: Int) {
        let key = SecretBytes(copying: Self.kKey)
        expectWrongLength(expected: 24, got: length) {
            _ = try XChaCha20Poly1305.seal(SecretBytes(copying: [1, 2, 3]), associatedData: [], nonce: pattern(length), key: key)
        }
        expectWrongLength(expected: 24, got: length) {
            _ = try XChaCha20Poly1305.open(Self.kCiphertext + Self.kTag, associatedData: Self.kAD, nonce: pattern(length), key: key)
        }
    }

    @Test(arguments: Array(0..<16))
    func ciphertextShorterThanTagThrows(length: Int) {
        let key = SecretBytes(copying: Self.kKey)
        expectWrongLength(expected: 16, got: length) {
            _ = try XChaCha20Poly1305.open(pattern(length), associatedData: [], nonce: Self.kNonce, key: key)
        }
        expectWrongLength(expected: 16, got: length) {
            _ = try pattern(length).withUnsafeBytes { c in
                try [UInt8]().withUnsafeBytes { a in try XChaCha20Poly1305.open(c, associatedData: a, nonce: Self.kNonce, key: key).count }
            }
        }
    }
}
