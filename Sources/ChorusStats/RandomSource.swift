import ChorusCrypto

/// A source of independent, uniformly distributed 64-bit words. Every random decision of the
/// noise sampler is an integer drawn from one of these, never a floating-point number.
public protocol RandomSource {
    mutating func next() -> UInt64
}

extension RandomSource {
    /// A uniform integer in `0 ..< bound` (`bound > 0`) without modulo bias: words below
    /// `2^64 mod bound` are rejected, so the accepted range is a whole multiple of `bound`.
    public mutating func uniform(below bound: UInt64) -> UInt64 {
        precondition(bound > 0, "uniform(below: 0)")
        let threshold = (0 &- bound) % bound
        while true {
            let r = next()
            if r >= threshold { return r % bound }
        }
    }

    /// True with probability exactly `numerator / denominator` (`numerator <= denominator`).
    public mutating func bernoulli(_ numerator: UInt64, over denominator: UInt64) -> Bool {
        uniform(below: denominator) < numerator
    }
}

/// The system's source: libsodium's `randombytes_buf` (the kernel CSPRNG) through
/// ``ChorusCrypto/Random/bytes(_:)``, read 512 bytes at a time so that a sample does not cost
/// one system call per word. The buffer is wiped after use; whoever learns the noise can
/// remove it.
public struct SystemRandomSource: RandomSource {
    private final class Buffer {
        var bytes: [UInt8] = []
        var position = 0
        deinit { secureZero(&bytes) }
    }
    private let buffer = Buffer()
    private static let chunk = 512

    public init() {}

    public mutating func next() -> UInt64 {
        if buffer.position + 8 > buffer.bytes.count {
            secureZero(&buffer.bytes)
            buffer.bytes = Random.bytes(Self.chunk)
            buffer.position = 0
        }
        var word: UInt64 = 0
        for i in 0..<8 {
            word = (word << 8) | UInt64(buffer.bytes[buffer.position + i])
            buffer.bytes[buffer.position + i] = 0
        }
        buffer.position += 8
        return word
    }
}
