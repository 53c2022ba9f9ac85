internal import CSodium

/// An X25519 public key (`crypto_box`, 32 bytes).
public struct PublicKey: Hashable, Sendable {
    public static let byteCount = 32
    public let rawBytes: [UInt8]

    /// Checks the length, and rejects the low-order points (all-zero shared secret) that libsodium's
    /// `crypto_scalarmult` refuses: nothing could ever be sealed to such a key, and `SealedBox.seal`,
    /// which does not throw, must not meet one.
    public init(rawBytes: [UInt8]) throws {
        guard rawBytes.count == Self.byteCount else {
            throw CryptoError.wrongLength(what: "public key", expected: Self.byteCount, got: rawBytes.count)
        }
        guard Self.isUsableForBox(rawBytes) else {
            throw CryptoError.invalidParameters("public key is a low-order X25519 point")
        }
        self.rawBytes = rawBytes
    }

    /// `crypto_scalarmult` fails for a point exactly when the point has low order: any clamped scalar is a
    /// multiple of 8 below 8·ℓ, so the product is the identity only for those points, whatever the scalar.
    /// Probing with a fixed public scalar therefore finds exactly the keys `crypto_box_seal` would refuse.
    private static func isUsableForBox(_ pk: [UInt8]) -> Bool {
        Sodium.ensureInitialized()
        let probe = [UInt8](repeating: 0x5c, count: 32)
        var q = [UInt8](repeating: 0, count: 32)
        let rc = q.withUnsafeMutableBytes { o in probe.withUnsafeBytes { n in pk.withUnsafeBytes { p in
            crypto_scalarmult(o.baseAddress!.assumingMemoryBound(to: UInt8.self),
                              n.baseAddress!.assumingMemoryBound(to: UInt8.self),
                              p.baseAddress!.assumingMemoryBound(to: UInt8.self))
        } } }
        return rc == 0
    }
}

/// An X25519 secret key. Not copyable; wiped when it dies; kept in guarded memory.
public struct SecretKey: ~Copyable, @unchecked Sendable {
    public static let byteCount = 32
    private let storage: SecretBytes
    public let publicKey: PublicKey

    /// A fresh key pair (`crypto_box_keypair`).
    public static func generate() -> SecretKey {
        Sodium.ensureInitialized()
        var sk = SecretBytes(count: byteCount, guarded: true)
        var pk = [UInt8](repeating: 0, count: PublicKey.byteCount)
        let rc = sk.withUnsafeMutableBytes { s in
            pk.withUnsafeMutableBytes { p in
                crypto_box_keypair(p.baseAddress!.assumingMemoryBound(to: UInt8.self), s.baseAddress!.assumingMemoryBound(to: UInt8.self))
            }
        }
        precondition(rc == 0, "crypto_box_keypair failed")
        return SecretKey(storage: sk, publicKey: try! PublicKey(rawBytes: pk))
    }

    /// The key pair determined by a 32-byte seed (`crypto_box_seed_keypair`). For fixed test keys.
    public static func derived(fromSeed seed: borrowing SecretBytes) throws -> SecretKey {
        Sodium.ensureInitialized()
        let seedBytes = Int(crypto_box_seedbytes())
        guard seed.count == seedBytes else { throw CryptoError.wrongLength(what: "key seed", expected: seedBytes, got: seed.count) }
        var sk = SecretBytes(count: byteCount, guarded: true)
        var pk = [UInt8](repeating: 0, count: PublicKey.byteCount)
        let rc = seed.withUnsafeBytes { sd in
            sk.withUnsafeMutableBytes { s in
                pk.withUnsafeMutableBytes { p in
                    crypto_box_seed_keypair(p.baseAddress!.assumingMemoryBound(to: UInt8.self),
                                            s.baseAddress!.assumingMemoryBound(to: UInt8.self),
                                            sd.baseAddress!.assumingMemoryBound(to: UInt8.self))
                }
            }
        }
        guard rc == 0 else { throw CryptoError.invalidParameters("crypto_box_seed_keypair failed") }
        return SecretKey(storage: sk, publicKey: try PublicKey(rawBytes: pk))
    }

    /// Rebuilds a key from its 32 secret bytes; the public key is recomputed (`crypto_scalarmult_base`).
    public init(rawSecret: consuming SecretBytes) throws {
        Sodium.ensureInitialized()
        guard rawSecret.count == Self.byteCount else {
            throw CryptoError.wrongLength(what: "secret key", expected: Self.byteCount, got: rawSecret.count)
        }
        var pk = [UInt8](repeating: 0, count: PublicKey.byteCount)
        let rc = rawSecret.withUnsafeBytes { s in
            pk.withUnsafeMutableBytes { p in
                crypto_scalarmult_base(p.baseAddress!.assumingMemoryBound(to: UInt8.self), s.baseAddress!.assumingMemoryBound(to: UInt8.self))
            }
        }
        guard rc == 0 else { throw CryptoError.invalidParameters("crypto_scalarmult_base failed") }
        self.publicKey = try PublicKey(rawBytes: pk)
        self.storage = rawSecret.isGuarded ? rawSecret : rawSecret.copy(guarded: true)
    }

    private init(storage: consuming SecretBytes, publicKey: PublicKey) {
        self.storage = storage
        self.publicKey = publicKey
    }

    /// A copy of the raw secret bytes (guarded memory), e.g. to encrypt them into a key file.
    public func exportSecret() -> SecretBytes { storage.copy(guarded: true) }

    func withUnsafeSecret<R>(_ body: (UnsafePointer<UInt8>) throws -> R) rethrows -> R {
        try storage.withUnsafeBytes { try body($0.baseAddress!.assumingMemoryBound(to: UInt8.self)) }
    }
}

/// libsodium sealed boxes (`crypto_box_seal`): anonymous public-key encryption to one recipient.
public enum SealedBox {
    /// Bytes added to the message (`crypto_box_sealbytes()`, 48: ephemeral public key and MAC).
    public static var overhead: Int { Sodium.ensureInitialized(); return Int(crypto_box_sealbytes()) }

    /// Seals `message` to `recipient` with a fresh ephemeral key.
    public static func seal(_ message: borrowing SecretBytes, to recipient: PublicKey) -> [UInt8] {
        Sodium.ensureInitialized()
        var out = [UInt8](repeating: 0, count: message.count + overhead)
        let rc = message.withUnsafeBytes { m in
            out.withUnsafeMutableBytes { o in
                recipient.rawBytes.withUnsafeBytes { pk in
                    crypto_box_seal(o.baseAddress!.assumingMemoryBound(to: UInt8.self),
                                    m.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(m.count),
                                    pk.baseAddress!.assumingMemoryBound(to: UInt8.self))
                }
            }
        }
        precondition(rc == 0, "crypto_box_seal failed")
        return out
    }

    /// The sealed-box construction with an ephemeral key pair taken from `ephemeralSeed`
    /// (`crypto_box_seed_keypair`, nonce = BLAKE2b-192(epk ‖ pk), `crypto_box_easy`). The output opens
    /// with `crypto_box_seal_open` like any sealed box; it exists only so that test vectors are reproducible.
    public static func sealDeterministically(_ message: borrowing SecretBytes, to recipient: PublicKey,
                                             ephemeralSeed: borrowing SecretBytes) throws -> [UInt8] {
        let eph = try SecretKey.derived(fromSeed: ephemeralSeed)
        let nonce = BLAKE2b.hash(eph.publicKey.rawBytes + recipient.rawBytes, outputLength: Int(crypto_box_noncebytes()))
        var out = [UInt8](repeating: 0, count: message.count + overhead)
        let epkCount = PublicKey.byteCount
        let rc = message.withUnsafeBytes { m in
            out.withUnsafeMutableBytes { o in
                recipient.rawBytes.withUnsafeBytes { pk in
                    nonce.withUnsafeBytes { n in
                        eph.withUnsafeSecret { esk in
                            crypto_box_easy(o.baseAddress!.assumingMemoryBound(to: UInt8.self) + epkCount,
                                            m.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(m.count),
                                            n.baseAddress!.assumingMemoryBound(to: UInt8.self),
                                            pk.baseAddress!.assumingMemoryBound(to: UInt8.self), esk)
                        }
                    }
                }
            }
        }
        guard rc == 0 else { throw CryptoError.invalidParameters("crypto_box_easy failed") }
        out.replaceSubrange(0..<epkCount, with: eph.publicKey.rawBytes)
        return out
    }

    /// Opens a sealed box with `key`. Throws `authenticationFailed` when the box is not for this key or
    /// was altered, `wrongLength` when it is shorter than the overhead.
    public static func open(_ box: UnsafeRawBufferPointer, with key: borrowing SecretKey) throws -> SecretBytes {
        Sodium.ensureInitialized()
        let oh = overhead
        guard box.count >= oh else { throw CryptoError.wrongLength(what: "sealed box", expected: oh, got: box.count) }
        var out = SecretBytes(count: box.count - oh)
        let pk = key.publicKey.rawBytes
        let rc = out.withUnsafeMutableBytes { o in
            pk.withUnsafeBytes { p in
                key.withUnsafeSecret { s in
                    crypto_box_seal_open(o.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? UnsafeMutablePointer<UInt8>(bitPattern: 1)!,
                                         box.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt64(box.count),
                                         p.baseAddress!.assumingMemoryBound(to: UInt8.self), s)
                }
            }
        }
        guard rc == 0 else { throw CryptoError.authenticationFailed }
        return out
    }

    /// Opens a sealed box with `key` into `out`, which must be exactly `box.count - overhead` bytes
    /// (one buffer can then serve several attempts). True when the box opened; false when it is not
    /// for this key or was altered (`out` then holds nothing of the message). Throws `wrongLength`.
    public static func open(_ box: UnsafeRawBufferPointer, with key: borrowing SecretKey, into out: inout SecretBytes) throws -> Bool {
        Sodium.ensureInitialized()
        let oh = Int(crypto_box_sealbytes())
        guard box.count >= oh else { throw CryptoError.wrongLength(what: "sealed box", expected: oh, got: box.count) }
        guard out.count == box.count - oh else { throw CryptoError.wrongLength(what: "sealed box output", expected: box.count - oh, got: out.count) }
        var scratch: UInt8 = 0
        let rc = out.withUnsafeMutableBytes { o in
            key.publicKey.rawBytes.withUnsafeBytes { p in
                key.withUnsafeSecret { s in
                    withUnsafeMutablePointer(to: &scratch) { sp in
                        crypto_box_seal_open(o.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? sp,
                                             box.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt64(box.count),
                                             p.baseAddress!.assumingMemoryBound(to: UInt8.self), s)
                    }
                }
            }
        }
        return rc == 0
    }

    /// Convenience over `open(_:with:)` for an array.
    public static func open(_ box: [UInt8], with key: borrowing SecretKey) throws -> SecretBytes {
        var result: SecretBytes? = nil
        try box.withUnsafeBytes { b in result = try open(b, with: key) }
        return result.take()!
    }
}
