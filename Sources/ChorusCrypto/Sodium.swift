internal import CSodium

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Errors of the crypto layer. Wrong-length input always throws; it never traps.
public enum CryptoError: Error, Equatable, Sendable, CustomStringConvertible {
    /// An input had the wrong size: `what`, the size expected, the size given.
    case wrongLength(what: String, expected: Int, got: Int)
    /// A MAC, a sealed box or an AEAD tag did not verify.
    case authenticationFailed
    /// Parameters out of the range this layer accepts.
    case invalidParameters(String)
    /// The secure allocator or the password hash ran out of memory.
    case outOfMemory
    /// libsodium could not be initialised.
    case initialisationFailed

    public var description: String {
        switch self {
        case let .wrongLength(what, expected, got): return "\(what) must be \(expected) bytes, got \(got)"
        case .authenticationFailed: return "authentication failed"
        case let .invalidParameters(why): return "invalid parameters: \(why)"
        case .outOfMemory: return "out of memory"
        case .initialisationFailed: return "libsodium could not be initialised"
        }
    }
}

/// libsodium's one-time initialisation. Every entry point of this module calls `ensureInitialized()`;
/// a Swift `static let` runs its initialiser exactly once, safely from any thread.
public enum Sodium {
    private static let initResult: Int32 = sodium_init()

    /// Initialises libsodium once. Traps only if the library itself cannot start (no entropy source),
    /// since no cryptography can then be done safely.
    @inline(__always)
    public static func ensureInitialized() {
        precondition(initResult >= 0, "libsodium could not be initialised")
    }

    /// The version string of the linked libsodium.
    public static var versionString: String {
        ensureInitialized()
        return String(cString: sodium_version_string())
    }
}

/// Constant-time operations.
public enum ConstantTime {
    /// Compares two byte strings in time that depends only on their length. Different lengths are unequal.
    public static func equals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        Sodium.ensureInitialized()
        guard a.count == b.count else { return false }
        if a.isEmpty { return true }
        return a.withUnsafeBytes { pa in
            b.withUnsafeBytes { pb in sodium_memcmp(pa.baseAddress!, pb.baseAddress!, a.count) == 0 }
        }
    }

    /// True when every byte is zero, in constant time.
    public static func isZero(_ a: [UInt8]) -> Bool {
        Sodium.ensureInitialized()
        if a.isEmpty { return true }
        return a.withUnsafeBytes { sodium_is_zero($0.baseAddress!.assumingMemoryBound(to: UInt8.self), a.count) == 1 }
    }
}

/// Zeroes a byte array in place in a way the compiler cannot remove.
public func secureZero(_ bytes: inout [UInt8]) {
    Sodium.ensureInitialized()
    let n = bytes.count
    if n == 0 { return }
    bytes.withUnsafeMutableBytes { sodium_memzero($0.baseAddress!, n) }
}
