internal import CSodium

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// BLAKE2b (`crypto_generichash_blake2b*`): plain, keyed and personalised.
public enum BLAKE2b {
    public static let minOutput = 16, maxOutput = 64
    public static let minKey = 16, maxKey = 64
    public static let personalByteCount = 16, saltByteCount = 16

    private static func checkOutput(_ n: Int) throws {
        guard (minOutput...maxOutput).contains(n) else { throw CryptoError.invalidParameters("BLAKE2b output length \(n) is outside 16...64") }
    }

    /// Unkeyed hash of `data`. `outputLength` must be 1...64; it is a constant of the caller, so another
    /// value is a programming error and traps (unlike the throwing functions below).
    public static func hash(_ data: [UInt8], outputLength: Int = 32) -> [UInt8] {
        data.withUnsafeBytes { hash($0, outputLength: outputLength) }
    }

    public static func hash(_ data: UnsafeRawBufferPointer, outputLength: Int = 32) -> [UInt8] {
        Sodium.ensureInitialized()
        precondition((1...maxOutput).contains(outputLength), "BLAKE2b output length")
        var out = [UInt8](repeating: 0, count: outputLength)
        let rc = out.withUnsafeMutableBytes { o in
            crypto_generichash(o.baseAddress!.assumingMemoryBound(to: UInt8.self), outputLength,
                               data.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(data.count), nil, 0)
        }
        precondition(rc == 0)
        return out
    }

    /// Keyed hash (a MAC): key 16...64 bytes, output 16...64 bytes.
    public static func keyedHash(_ data: UnsafeRawBufferPointer, key: borrowing SecretBytes, outputLength: Int = 32) throws -> [UInt8] {
        Sodium.ensureInitialized()
        try checkOutput(outputLength)
        guard (minKey...maxKey).contains(key.count) else { throw CryptoError.invalidParameters("BLAKE2b key length \(key.count) is outside 16...64") }
        var out = [UInt8](repeating: 0, count: outputLength)
        let rc = key.withUnsafeBytes { k in out.withUnsafeMutableBytes { o in
            crypto_generichash(o.baseAddress!.assumingMemoryBound(to: UInt8.self), outputLength,
                               data.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(data.count),
                               k.baseAddress!.assumingMemoryBound(to: UInt8.self), k.count)
        } }
        guard rc == 0 else { throw CryptoError.invalidParameters("BLAKE2b failed") }
        return out
    }

    /// Whether the 32-byte keyed hash of `data` under the key `key[keyRange]` equals `expected`,
    /// compared in constant time (`sodium_memcmp`). Nothing is allocated. Throws for a key length
    /// outside 16...64 or a range outside `key`.
    public static func keyedHashMatches(_ data: UnsafeRawBufferPointer, key: borrowing SecretBytes, keyRange: Range<Int>,
                                        expected: UnsafeRawBufferPointer) throws -> Bool {
        Sodium.ensureInitialized()
        guard keyRange.lowerBound >= 0, keyRange.upperBound <= key.count else {
            throw CryptoError.invalidParameters("key range \(keyRange) outside \(key.count) bytes")
        }
        guard (minKey...maxKey).contains(keyRange.count) else { throw CryptoError.invalidParameters("BLAKE2b key length \(keyRange.count) is outside 16...64") }
        guard expected.count == 32 else { return false }
        var out: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        let rc = key.withUnsafeBytes { k in withUnsafeMutableBytes(of: &out) { o in
            crypto_generichash(o.baseAddress!.assumingMemoryBound(to: UInt8.self), 32,
                               data.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(data.count),
                               k.baseAddress!.assumingMemoryBound(to: UInt8.self) + keyRange.lowerBound, keyRange.count)
        } }
        guard rc == 0 else { throw CryptoError.invalidParameters("BLAKE2b failed") }
        return withUnsafeBytes(of: &out) { o in sodium_memcmp(o.baseAddress!, expected.baseAddress!, 32) == 0 }
    }

    public static func keyedHash(_ data: [UInt8], key: borrowing SecretBytes, outputLength: Int = 32) throws -> [UInt8] {
        try data.withUnsafeBytes { (d) throws -> [UInt8] in try keyedHash(d, key: key, outputLength: outputLength) }
    }

    /// Personalised hash (`crypto_generichash_blake2b_salt_personal`, no key, zero salt). `personal` is
    /// ASCII of at most 16 bytes, zero-padded to 16.
    public static func personalHash(_ data: [UInt8], personal: String, outputLength: Int = 32) throws -> [UInt8] {
        Sodium.ensureInitialized()
        try checkOutput(outputLength)
        var pers = Array(personal.utf8)
        guard pers.count <= personalByteCount else { throw CryptoError.invalidParameters("BLAKE2b personal string is longer than 16 bytes") }
        pers += [UInt8](repeating: 0, count: personalByteCount - pers.count)
        let salt = [UInt8](repeating: 0, count: saltByteCount)
        var out = [UInt8](repeating: 0, count: outputLength)
        let rc = data.withUnsafeBytes { d in out.withUnsafeMutableBytes { o in salt.withUnsafeBytes { s in pers.withUnsafeBytes { p in
            crypto_generichash_blake2b_salt_personal(
                o.baseAddress!.assumingMemoryBound(to: UInt8.self), outputLength,
                d.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(d.count), nil, 0,
                s.baseAddress!.assumingMemoryBound(to: UInt8.self), p.baseAddress!.assumingMemoryBound(to: UInt8.self))
        } } } }
        guard rc == 0 else { throw CryptoError.invalidParameters("BLAKE2b failed") }
        return out
    }

    /// Incremental unkeyed BLAKE2b, for hashing a large file as it streams.
    public final class Hasher: @unchecked Sendable {
        private let state: UnsafeMutableRawPointer
        public let outputLength: Int
        private var finished = false

        public init(outputLength: Int = 32) throws {
            Sodium.ensureInitialized()
            try checkOutput(outputLength)
            self.outputLength = outputLength
            var p: UnsafeMutableRawPointer?
            guard posix_memalign(&p, 64, crypto_generichash_statebytes()) == 0, let q = p else { throw CryptoError.outOfMemory }
            // Initialise before storing `state`: once every stored property is set, a throw runs deinit,
            // which would free the state a second time.
            let rc = crypto_generichash_init(OpaquePointer(q), nil, 0, outputLength)
            guard rc == 0 else { free(q); throw CryptoError.invalidParameters("BLAKE2b init failed") }
            state = q
        }

        deinit {
            sodium_memzero(state, crypto_generichash_statebytes())
            free(state)
        }

        public func update(_ data: UnsafeRawBufferPointer) {
            precondition(!finished, "BLAKE2b hasher used after finalize")
            guard data.count > 0 else { return }
            _ = crypto_generichash_update(OpaquePointer(state), data.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt64(data.count))
        }

        public func update(_ data: [UInt8]) { data.withUnsafeBytes { update($0) } }

        public func finalize() -> [UInt8] {
            precondition(!finished, "BLAKE2b hasher finalised twice")
            finished = true
            var out = [UInt8](repeating: 0, count: outputLength)
            out.withUnsafeMutableBytes { o in
                _ = crypto_generichash_final(OpaquePointer(state), o.baseAddress!.assumingMemoryBound(to: UInt8.self), outputLength)
            }
            return out
        }
    }
}

/// Sub-key derivation (`crypto_kdf_derive_from_key`, BLAKE2b based).
public enum KDF {
    public static var masterKeyByteCount: Int { Sodium.ensureInitialized(); return Int(crypto_kdf_keybytes()) }
    public static var contextByteCount: Int { Sodium.ensureInitialized(); return Int(crypto_kdf_contextbytes()) }

    /// Derives sub-key number `id` of `length` bytes (16...64) from a 32-byte master key in an 8-byte ASCII context.
    public static func deriveSubkey(from master: borrowing SecretBytes, id: UInt64, context: String,
                                    length: Int = 32) throws -> SecretBytes {
        Sodium.ensureInitialized()
        guard master.count == masterKeyByteCount else { throw CryptoError.wrongLength(what: "KDF master key", expected: masterKeyByteCount, got: master.count) }
        let ctx = Array(context.utf8)
        guard ctx.count == contextByteCount else { throw CryptoError.wrongLength(what: "KDF context", expected: contextByteCount, got: ctx.count) }
        guard (Int(crypto_kdf_bytes_min())...Int(crypto_kdf_bytes_max())).contains(length) else {
            throw CryptoError.invalidParameters("KDF sub-key length \(length) is outside 16...64")
        }
        var out = SecretBytes(count: length)
        let rc = master.withUnsafeBytes { m in out.withUnsafeMutableBytes { o in ctx.withUnsafeBytes { c in
            crypto_kdf_derive_from_key(o.baseAddress!.assumingMemoryBound(to: UInt8.self), length, id,
                                       c.baseAddress!.assumingMemoryBound(to: CChar.self),
                                       m.baseAddress!.assumingMemoryBound(to: UInt8.self))
        } } }
        guard rc == 0 else { throw CryptoError.invalidParameters("crypto_kdf_derive_from_key failed") }
        return out
    }
}

/// Argon2id password hashing (`crypto_pwhash` with `crypto_pwhash_ALG_ARGON2ID13` passed explicitly).
public enum PasswordHash {
    public static var saltByteCount: Int { Sodium.ensureInitialized(); return Int(crypto_pwhash_saltbytes()) }

    /// Argon2id cost parameters. `memoryBytes` is in bytes.
    public struct Parameters: Equatable, Sendable {
        public let opsLimit: UInt64
        public let memoryBytes: UInt64
        public init(opsLimit: UInt64, memoryBytes: UInt64) { self.opsLimit = opsLimit; self.memoryBytes = memoryBytes }

        /// libsodium's MODERATE (3 passes, 256 MiB): the default for secret key files.
        public static let moderate = Parameters(opsLimit: 3, memoryBytes: 268_435_456)
        /// libsodium's INTERACTIVE (2 passes, 64 MiB).
        public static let interactive = Parameters(opsLimit: 2, memoryBytes: 67_108_864)
        /// libsodium's SENSITIVE (4 passes, 1 GiB).
        public static let sensitive = Parameters(opsLimit: 4, memoryBytes: 1_073_741_824)
        /// Test-only: 1 pass, 8 MiB. Fast and weak; only through an explicit option.
        public static let testOnly = Parameters(opsLimit: 1, memoryBytes: 8_388_608)

        /// The range a key file may ask for: from libsodium's minimum up to SENSITIVE, so a hostile file
        /// cannot demand unbounded time or memory.
        public var isWithinAcceptedBounds: Bool {
            opsLimit >= 1 && opsLimit <= Parameters.sensitive.opsLimit
                && memoryBytes >= 8192 && memoryBytes <= Parameters.sensitive.memoryBytes
        }
    }

    /// Derives `length` bytes from `passphrase` and `salt` with Argon2id v1.3.
    public static func deriveKey(length: Int, passphrase: borrowing SecretBytes, salt: [UInt8],
                                 parameters: Parameters) throws -> SecretBytes {
        Sodium.ensureInitialized()
        guard salt.count == saltByteCount else { throw CryptoError.wrongLength(what: "Argon2id salt", expected: saltByteCount, got: salt.count) }
        guard parameters.isWithinAcceptedBounds else {
            throw CryptoError.invalidParameters("Argon2id cost (ops \(parameters.opsLimit), memory \(parameters.memoryBytes) bytes) is outside the accepted range")
        }
        guard length >= 16 && length <= 64 else { throw CryptoError.invalidParameters("Argon2id output length \(length) is outside 16...64") }
        var out = SecretBytes(count: length, guarded: true)
        var empty: CChar = 0
        let rc = passphrase.withUnsafeBytes { p in out.withUnsafeMutableBytes { o in salt.withUnsafeBytes { s in
            withUnsafeMutablePointer(to: &empty) { e in
                crypto_pwhash(o.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt64(length),
                              p.baseAddress?.assumingMemoryBound(to: CChar.self) ?? UnsafePointer(e), UInt64(p.count),
                              s.baseAddress!.assumingMemoryBound(to: UInt8.self),
                              parameters.opsLimit, Int(parameters.memoryBytes), crypto_pwhash_alg_argon2id13())
            }
        } } }
        guard rc == 0 else { throw CryptoError.outOfMemory }
        return out
    }
}
