internal import CSodium

/// Randomness from libsodium's generator (`randombytes_buf`, the kernel's CSPRNG).
public enum Random {
    /// `count` random bytes.
    public static func bytes(_ count: Int) -> [UInt8] {
        Sodium.ensureInitialized()
        var out = [UInt8](repeating: 0, count: count)
        if count > 0 { out.withUnsafeMutableBytes { randombytes_buf($0.baseAddress!, count) } }
        return out
    }

    /// Fills `buffer` with random bytes.
    public static func fill(_ buffer: UnsafeMutableRawBufferPointer) {
        Sodium.ensureInitialized()
        if buffer.count > 0 { randombytes_buf(buffer.baseAddress!, buffer.count) }
    }

    /// `count` bytes that depend only on `seed` (`randombytes_buf_deterministic`, ChaCha20).
    /// For reproducible test vectors and benchmark data, never for keys of real use.
    public static func deterministicBytes(_ count: Int, seed: [UInt8]) throws -> [UInt8] {
        Sodium.ensureInitialized()
        let seedBytes = Int(randombytes_seedbytes())
        guard seed.count == seedBytes else { throw CryptoError.wrongLength(what: "seed", expected: seedBytes, got: seed.count) }
        var out = [UInt8](repeating: 0, count: count)
        if count > 0 {
            out.withUnsafeMutableBytes { o in seed.withUnsafeBytes { s in
                randombytes_buf_deterministic(o.baseAddress!, count, s.baseAddress!.assumingMemoryBound(to: UInt8.self))
            } }
        }
        return out
    }
}

/// The system's CSPRNG as a `RandomNumberGenerator`, for the standard library's unbiased algorithms:
/// `array.shuffle(using:)`, `Int.random(in:using:)`, `rng.next(upperBound:)`. Words are read 64 at a
/// time from `randombytes_buf`, and each is wiped from the buffer as it is handed out (whoever
/// learns a shuffle or a noise draw can undo it).
public struct SystemRandom: RandomNumberGenerator {
    private final class Buffer {
        var words = [UInt64](repeating: 0, count: 64)
        var position = 64
        deinit { words.withUnsafeMutableBytes { zero($0) } }
    }
    private let buffer = Buffer()

    public init() { Sodium.ensureInitialized() }

    public mutating func next() -> UInt64 {
        if buffer.position == buffer.words.count {
            buffer.words.withUnsafeMutableBytes { randombytes_buf($0.baseAddress!, $0.count) }
            buffer.position = 0
        }
        let word = buffer.words[buffer.position]
        buffer.words[buffer.position] = 0
        buffer.position += 1
        return word
    }
}

/// A `RandomNumberGenerator` whose words depend only on a 32-byte seed (ChaCha20 through
/// `randombytes_buf_deterministic`, one seed per block of 64 words derived with BLAKE2b from the
/// seed and a counter). For reproducible test vectors, benchmark data and property tests only.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private let seed: [UInt8]
    private var block: UInt64 = 0
    private var words: [UInt64] = []
    private var position = 0

    public init(seed: [UInt8]) throws {
        guard seed.count == 32 else { throw CryptoError.wrongLength(what: "seed", expected: 32, got: seed.count) }
        self.seed = seed
    }

    public mutating func next() -> UInt64 {
        if position == words.count {
            var counter = [UInt8](repeating: 0, count: 8)
            for i in 0 ..< 8 { counter[i] = UInt8(truncatingIfNeeded: block >> (56 - 8 * UInt64(i))) }
            block += 1
            let blockSeed = BLAKE2b.hash(seed + counter, outputLength: 32)
            let bytes = try! Random.deterministicBytes(64 * 8, seed: blockSeed)
            words = stride(from: 0, to: bytes.count, by: 8).map { i in bytes[i ..< i + 8].reduce(UInt64(0)) { ($0 << 8) | UInt64($1) } }
            position = 0
        }
        defer { position += 1 }
        return words[position]
    }
}

private func zero(_ buffer: UnsafeMutableRawBufferPointer) {
    if buffer.count > 0 { sodium_memzero(buffer.baseAddress!, buffer.count) }
}
