internal import CSodium

/// An Ed25519 public key (`crypto_sign`, 32 bytes): what verifies the organisation's signatures.
public struct SigningPublicKey: Hashable, Sendable {
    public static let byteCount = 32
    public let rawBytes: [UInt8]

    /// Checks the length, and that the bytes are a point libsodium verifies with (`crypto_sign_ed25519_pk_to_curve25519`
    /// refuses non-canonical and small-order encodings): a key nothing could ever verify against is refused here.
    public init(rawBytes: [UInt8]) throws {
        Sodium.ensureInitialized()
        guard rawBytes.count == Self.byteCount else {
            throw CryptoError.wrongLength(what: "signing public key", expected: Self.byteCount, got: rawBytes.count)
        }
        var curve = [UInt8](repeating: 0, count: 32)
        let rc = curve.withUnsafeMutableBytes { c in rawBytes.withUnsafeBytes { p in
            crypto_sign_ed25519_pk_to_curve25519(c.baseAddress!.assumingMemoryBound(to: UInt8.self), p.baseAddress!.assumingMemoryBound(to: UInt8.self))
        } }
        guard rc == 0 else { throw CryptoError.invalidParameters("signing public key is not a usable Ed25519 point") }
        self.rawBytes = rawBytes
    }

    /// Whether `signature` (64 bytes) is this key's Ed25519 signature of `message`
    /// (`crypto_sign_verify_detached`).
    public func verifies(_ signature: [UInt8], of message: [UInt8]) -> Bool {
        Sodium.ensureInitialized()
        guard signature.count == Int(crypto_sign_bytes()) else { return false }
        let rc = signature.withUnsafeBytes { s in message.withUnsafeBytes { m in rawBytes.withUnsafeBytes { p in
            crypto_sign_verify_detached(s.baseAddress!.assumingMemoryBound(to: UInt8.self),
                                        m.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(m.count),
                                        p.baseAddress!.assumingMemoryBound(to: UInt8.self))
        } } }
        return rc == 0
    }
}

/// An Ed25519 signing key (`crypto_sign`). Not copyable; the 64-byte secret key lives in guarded
/// memory and is wiped when it dies. It is made from (and stored as) its 32-byte seed.
public struct SigningKey: ~Copyable, @unchecked Sendable {
    public static let seedByteCount = 32
    public static let signatureByteCount = 64
    private let storage: SecretBytes
    public let publicKey: SigningPublicKey

    /// A fresh key from a random seed.
    public static func generate() -> SigningKey {
        try! SigningKey(seed: SecretBytes.random(count: seedByteCount, guarded: true))
    }

    /// The key pair of a 32-byte seed (`crypto_sign_seed_keypair`).
    public init(seed: borrowing SecretBytes) throws {
        Sodium.ensureInitialized()
        guard seed.count == Self.seedByteCount else {
            throw CryptoError.wrongLength(what: "signing key seed", expected: Self.seedByteCount, got: seed.count)
        }
        var sk = SecretBytes(count: Int(crypto_sign_secretkeybytes()), guarded: true)
        var pk = [UInt8](repeating: 0, count: SigningPublicKey.byteCount)
        let rc = seed.withUnsafeBytes { sd in sk.withUnsafeMutableBytes { s in pk.withUnsafeMutableBytes { p in
            crypto_sign_seed_keypair(p.baseAddress!.assumingMemoryBound(to: UInt8.self), s.baseAddress!.assumingMemoryBound(to: UInt8.self),
                                     sd.baseAddress!.assumingMemoryBound(to: UInt8.self))
        } } }
        guard rc == 0 else { throw CryptoError.invalidParameters("crypto_sign_seed_keypair failed") }
        let verifying = try SigningPublicKey(rawBytes: pk)
        self.init(storage: sk, publicKey: verifying)
    }

    private init(storage: consuming SecretBytes, publicKey: SigningPublicKey) {
        self.storage = storage
        self.publicKey = publicKey
    }

    /// A copy of the 32-byte seed (guarded memory), e.g. to encrypt it into a key file.
    public func exportSeed() -> SecretBytes {
        var seed = SecretBytes(count: Self.seedByteCount, guarded: true)
        seed.withUnsafeMutableBytes { out in storage.withUnsafeBytes { s in
            _ = crypto_sign_ed25519_sk_to_seed(out.baseAddress!.assumingMemoryBound(to: UInt8.self), s.baseAddress!.assumingMemoryBound(to: UInt8.self))
        } }
        return seed
    }

    /// The 64-byte detached signature of `message` (`crypto_sign_detached`).
    public func sign(_ message: [UInt8]) -> [UInt8] {
        var signature = [UInt8](repeating: 0, count: Self.signatureByteCount)
        var length: UInt64 = 0
        let rc = signature.withUnsafeMutableBytes { o in message.withUnsafeBytes { m in storage.withUnsafeBytes { s in
            crypto_sign_detached(o.baseAddress!.assumingMemoryBound(to: UInt8.self), &length,
                                 m.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(m.count), s.baseAddress!.assumingMemoryBound(to: UInt8.self))
        } } }
        precondition(rc == 0 && length == UInt64(Self.signatureByteCount), "crypto_sign_detached failed")
        return signature
    }
}
