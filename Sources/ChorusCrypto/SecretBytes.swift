internal import CSodium

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Secret bytes (keys, passphrases, decrypted plaintext) that are wiped with `sodium_memzero` when they die.
///
/// The type is `~Copyable`: a secret cannot be duplicated by an assignment; a copy must be asked for with
/// `copy()`. With `guarded: true` the bytes live in libsodium's guarded memory (`sodium_malloc`: locked
/// out of swap, fenced by guard pages, wiped by `sodium_free`); use it for long-lived keys and passphrases.
/// Without it the bytes live in ordinary memory that is still wiped on deinit (cheap enough for the
/// per-entry plaintext of a large batch).
public struct SecretBytes: ~Copyable, @unchecked Sendable {
    private let pointer: UnsafeMutableRawPointer?
    public let count: Int
    public let isGuarded: Bool

    /// `count` zero bytes.
    public init(count: Int, guarded: Bool = false) {
        Sodium.ensureInitialized()
        precondition(count >= 0, "negative size")
        self.count = count
        self.isGuarded = guarded
        if count == 0 {
            pointer = nil
        } else if guarded {
            guard let p = sodium_malloc(count) else { fatalError("sodium_malloc failed: out of locked memory") }
            sodium_memzero(p, count)
            pointer = p
        } else {
            guard let p = calloc(count, 1) else { fatalError("out of memory") }
            pointer = p
        }
    }

    /// A copy of `bytes`. The caller should wipe its own copy (`secureZero`) if it was secret.
    public init(copying bytes: [UInt8], guarded: Bool = false) {
        self.init(count: bytes.count, guarded: guarded)
        if let p = pointer { bytes.withUnsafeBytes { p.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) } }
    }

    /// A copy of the bytes in `buffer`.
    public init(copying buffer: UnsafeRawBufferPointer, guarded: Bool = false) {
        self.init(count: buffer.count, guarded: guarded)
        if let p = pointer, buffer.count > 0 { p.copyMemory(from: buffer.baseAddress!, byteCount: buffer.count) }
    }

    /// `count` random bytes from libsodium's generator.
    public static func random(count: Int, guarded: Bool = false) -> SecretBytes {
        var s = SecretBytes(count: count, guarded: guarded)
        s.withUnsafeMutableBytes { if $0.count > 0 { randombytes_buf($0.baseAddress!, $0.count) } }
        return s
    }

    deinit {
        guard let p = pointer else { return }
        if isGuarded {
            sodium_free(p)
        } else {
            sodium_memzero(p, count)
            free(p)
        }
    }

    /// Read access to the bytes. The pointer must not escape the closure.
    public func withUnsafeBytes<R: ~Copyable>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: pointer, count: count))
    }

    /// Write access to the bytes. The pointer must not escape the closure.
    public mutating func withUnsafeMutableBytes<R: ~Copyable>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeMutableRawBufferPointer(start: pointer, count: count))
    }

    /// An explicit copy, in the same kind of memory unless told otherwise.
    public func copy(guarded: Bool? = nil) -> SecretBytes {
        withUnsafeBytes { SecretBytes(copying: $0, guarded: guarded ?? isGuarded) }
    }

    /// A copy of the bytes from `range`, in the same kind of memory as `self`. Throws outside `0...count`.
    public func slice(_ range: Range<Int>) throws -> SecretBytes {
        guard range.lowerBound >= 0, range.upperBound <= count else {
            throw CryptoError.invalidParameters("slice \(range) outside \(count) bytes")
        }
        return withUnsafeBytes { SecretBytes(copying: UnsafeRawBufferPointer(rebasing: $0[range]), guarded: isGuarded) }
    }

    /// A copy of the first `n` bytes (0 ... `count`), in the same kind of memory as `self`.
    public func prefix(_ n: Int) -> SecretBytes {
        precondition(n >= 0 && n <= count, "prefix \(n) of \(count) bytes")
        return withUnsafeBytes { SecretBytes(copying: UnsafeRawBufferPointer(rebasing: $0[0 ..< n]), guarded: isGuarded) }
    }

    /// The bytes as an ordinary array. Only for values that are about to become public (e.g. plaintext
    /// handed to the user); the array is not wiped for you.
    public func revealedBytes() -> [UInt8] {
        withUnsafeBytes { Array($0) }
    }

    /// Compares with another secret in constant time (different lengths are unequal).
    public func constantTimeEquals(_ other: borrowing SecretBytes) -> Bool {
        guard count == other.count else { return false }
        if count == 0 { return true }
        return withUnsafeBytes { a in other.withUnsafeBytes { b in sodium_memcmp(a.baseAddress!, b.baseAddress!, count) == 0 } }
    }

    /// Constant-time check that every byte of `range` is zero. Throws outside `0...count`.
    public func isAllZero(in range: Range<Int>) throws -> Bool {
        guard range.lowerBound >= 0, range.upperBound <= count else {
            throw CryptoError.invalidParameters("range \(range) outside \(count) bytes")
        }
        if range.isEmpty { return true }
        return withUnsafeBytes { sodium_is_zero($0.baseAddress!.assumingMemoryBound(to: UInt8.self) + range.lowerBound, range.count) == 1 }
    }

    /// Constant-time check that every byte is zero.
    public var isAllZero: Bool {
        if count == 0 { return true }
        return withUnsafeBytes { sodium_is_zero($0.baseAddress!.assumingMemoryBound(to: UInt8.self), count) == 1 }
    }
}
