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

    /// A uniform integer in `0..<upperBound` without modulo bias (`randombytes_uniform`).
    public static func uniform(_ upperBound: UInt32) -> UInt32 {
        Sodium.ensureInitialized()
        return randombytes_uniform(upperBound)
    }

    /// A uniform 64-bit integer.
    public static func uint64() -> UInt64 {
        let b = bytes(8)
        return b.reduce(0) { ($0 << 8) | UInt64($1) }
    }

    /// Shuffles `array` in place (Fisher-Yates driven by `randombytes_uniform`).
    public static func shuffle<T>(_ array: inout [T]) {
        precondition(array.count <= Int(UInt32.max), "too many elements to shuffle")
        var i = array.count
        while i > 1 {
            let j = Int(uniform(UInt32(i)))
            i -= 1
            array.swapAt(i, j)
        }
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
