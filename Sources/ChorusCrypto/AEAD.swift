internal import CSodium

/// XChaCha20-Poly1305 (IETF variant, `crypto_aead_xchacha20poly1305_ietf_*`).
public enum XChaCha20Poly1305 {
    public static var keyByteCount: Int { Sodium.ensureInitialized(); return Int(crypto_aead_xchacha20poly1305_ietf_keybytes()) }
    public static var nonceByteCount: Int { Sodium.ensureInitialized(); return Int(crypto_aead_xchacha20poly1305_ietf_npubbytes()) }
    public static var tagByteCount: Int { Sodium.ensureInitialized(); return Int(crypto_aead_xchacha20poly1305_ietf_abytes()) }

    private static func check(key: borrowing SecretBytes, nonce: [UInt8]) throws {
        guard key.count == keyByteCount else { throw CryptoError.wrongLength(what: "AEAD key", expected: keyByteCount, got: key.count) }
        guard nonce.count == nonceByteCount else { throw CryptoError.wrongLength(what: "AEAD nonce", expected: nonceByteCount, got: nonce.count) }
    }

    /// Encrypts `plaintext`, authenticating `associatedData` too. The result is ciphertext ‖ 16-byte tag.
    public static func seal(_ plaintext: borrowing SecretBytes, associatedData: [UInt8], nonce: [UInt8],
                            key: borrowing SecretBytes) throws -> [UInt8] {
        try check(key: key, nonce: nonce)
        var out = [UInt8](repeating: 0, count: plaintext.count + tagByteCount)
        var outLen: UInt64 = 0
        let rc = plaintext.withUnsafeBytes { m in key.withUnsafeBytes { k in
            out.withUnsafeMutableBytes { o in associatedData.withUnsafeBytes { ad in nonce.withUnsafeBytes { n in
                crypto_aead_xchacha20poly1305_ietf_encrypt(
                    o.baseAddress!.assumingMemoryBound(to: UInt8.self), &outLen,
                    m.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(m.count),
                    ad.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(ad.count), nil,
                    n.baseAddress!.assumingMemoryBound(to: UInt8.self), k.baseAddress!.assumingMemoryBound(to: UInt8.self))
            } } }
        } }
        guard rc == 0 else { throw CryptoError.invalidParameters("AEAD encryption failed") }
        return out
    }

    /// Decrypts and verifies ciphertext ‖ tag. Nothing is returned unless the tag verifies.
    public static func open(_ ciphertext: UnsafeRawBufferPointer, associatedData: UnsafeRawBufferPointer, nonce: [UInt8],
                            key: borrowing SecretBytes) throws -> SecretBytes {
        try open(ciphertext, associatedData: associatedData, nonce: nonce, key: key, keyRange: 0 ..< key.count)
    }

    /// As `open(_:associatedData:nonce:key:)`, with the key being the bytes `keyRange` of `key` (several
    /// keys kept in one secret buffer, as in a stanza), so that no copy of the key is made.
    public static func open(_ ciphertext: UnsafeRawBufferPointer, associatedData: UnsafeRawBufferPointer, nonce: [UInt8],
                            key: borrowing SecretBytes, keyRange: Range<Int>) throws -> SecretBytes {
        Sodium.ensureInitialized()
        guard keyRange.lowerBound >= 0, keyRange.upperBound <= key.count else {
            throw CryptoError.invalidParameters("key range \(keyRange) outside \(key.count) bytes")
        }
        let keyBytes = Int(crypto_aead_xchacha20poly1305_ietf_keybytes())
        guard keyRange.count == keyBytes else { throw CryptoError.wrongLength(what: "AEAD key", expected: keyBytes, got: keyRange.count) }
        let nonceBytes = Int(crypto_aead_xchacha20poly1305_ietf_npubbytes())
        guard nonce.count == nonceBytes else { throw CryptoError.wrongLength(what: "AEAD nonce", expected: nonceBytes, got: nonce.count) }
        let tag = Int(crypto_aead_xchacha20poly1305_ietf_abytes())
        guard ciphertext.count >= tag else { throw CryptoError.wrongLength(what: "AEAD ciphertext", expected: tag, got: ciphertext.count) }
        var out = SecretBytes(count: ciphertext.count - tag)
        var outLen: UInt64 = 0
        var scratch: UInt8 = 0
        let rc = key.withUnsafeBytes { k in out.withUnsafeMutableBytes { o in nonce.withUnsafeBytes { n in
            withUnsafeMutablePointer(to: &scratch) { sp in
                crypto_aead_xchacha20poly1305_ietf_decrypt(
                    o.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? sp, &outLen, nil,
                    ciphertext.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt64(ciphertext.count),
                    associatedData.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(associatedData.count),
                    n.baseAddress!.assumingMemoryBound(to: UInt8.self), k.baseAddress!.assumingMemoryBound(to: UInt8.self) + keyRange.lowerBound)
            }
        } } }
        guard rc == 0 else { throw CryptoError.authenticationFailed }
        return out
    }

    /// Encrypts `plaintext` with no associated data into `output` (exactly `plaintext.count` + 16
    /// bytes: ciphertext ‖ tag), without intermediate copies. For short-lived data under a key that
    /// never leaves the process (e.g. a spool of output that must not reach the disk in clear).
    public static func seal(_ plaintext: UnsafeRawBufferPointer, nonce: [UInt8], key: borrowing SecretBytes,
                            into output: UnsafeMutableRawBufferPointer) throws {
        try check(key: key, nonce: nonce)
        guard output.count == plaintext.count + tagByteCount else {
            throw CryptoError.wrongLength(what: "AEAD output", expected: plaintext.count + tagByteCount, got: output.count)
        }
        var outLen: UInt64 = 0
        let rc = key.withUnsafeBytes { k in nonce.withUnsafeBytes { n in
            crypto_aead_xchacha20poly1305_ietf_encrypt(
                output.baseAddress!.assumingMemoryBound(to: UInt8.self), &outLen,
                plaintext.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(plaintext.count),
                nil, 0, nil,
                n.baseAddress!.assumingMemoryBound(to: UInt8.self), k.baseAddress!.assumingMemoryBound(to: UInt8.self))
        } }
        guard rc == 0 else { throw CryptoError.invalidParameters("AEAD encryption failed") }
    }

    /// Decrypts and verifies ciphertext ‖ tag (no associated data) into `output` (exactly
    /// `ciphertext.count` − 16 bytes). On failure `output` holds nothing of the plaintext.
    public static func open(_ ciphertext: UnsafeRawBufferPointer, nonce: [UInt8], key: borrowing SecretBytes,
                            into output: UnsafeMutableRawBufferPointer) throws {
        try check(key: key, nonce: nonce)
        guard ciphertext.count >= tagByteCount, output.count == ciphertext.count - tagByteCount else {
            throw CryptoError.wrongLength(what: "AEAD output", expected: max(0, ciphertext.count - tagByteCount), got: output.count)
        }
        var scratch: UInt8 = 0
        var outLen: UInt64 = 0
        let rc = key.withUnsafeBytes { k in nonce.withUnsafeBytes { n in
            withUnsafeMutablePointer(to: &scratch) { sp in
                crypto_aead_xchacha20poly1305_ietf_decrypt(
                    output.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? sp, &outLen, nil,
                    ciphertext.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt64(ciphertext.count),
                    nil, 0,
                    n.baseAddress!.assumingMemoryBound(to: UInt8.self), k.baseAddress!.assumingMemoryBound(to: UInt8.self))
            }
        } }
        guard rc == 0 else { throw CryptoError.authenticationFailed }
    }

    /// Whether ciphertext ‖ tag is authentic under `key` (the bytes `keyRange` of it), `associatedData`
    /// and `nonce`, without decrypting anything: libsodium's `decrypt_detached` with no output buffer
    /// only checks the tag.
    public static func verify(_ ciphertext: UnsafeRawBufferPointer, associatedData: UnsafeRawBufferPointer, nonce: [UInt8],
                              key: borrowing SecretBytes, keyRange: Range<Int>) -> Bool {
        Sodium.ensureInitialized()
        let tag = Int(crypto_aead_xchacha20poly1305_ietf_abytes())
        guard keyRange.lowerBound >= 0, keyRange.upperBound <= key.count,
              keyRange.count == Int(crypto_aead_xchacha20poly1305_ietf_keybytes()),
              nonce.count == Int(crypto_aead_xchacha20poly1305_ietf_npubbytes()),
              ciphertext.count >= tag else { return false }
        let body = ciphertext.count - tag
        let rc = key.withUnsafeBytes { k in nonce.withUnsafeBytes { n in
            crypto_aead_xchacha20poly1305_ietf_decrypt_detached(
                nil, nil,
                ciphertext.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt64(body),
                ciphertext.baseAddress!.assumingMemoryBound(to: UInt8.self) + body,
                associatedData.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(associatedData.count),
                n.baseAddress!.assumingMemoryBound(to: UInt8.self), k.baseAddress!.assumingMemoryBound(to: UInt8.self) + keyRange.lowerBound)
        } }
        return rc == 0
    }

    /// Convenience over arrays.
    public static func open(_ ciphertext: [UInt8], associatedData: [UInt8], nonce: [UInt8],
                            key: borrowing SecretBytes) throws -> SecretBytes {
        var result: SecretBytes? = nil
        try ciphertext.withUnsafeBytes { c in
            try associatedData.withUnsafeBytes { a in
                result = try open(c, associatedData: a, nonce: nonce, key: key)
            }
        }
        return result.take()!
    }
}
