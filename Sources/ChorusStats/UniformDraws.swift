/// The integer draws of the noise sampler, on any `RandomNumberGenerator` (in production
/// ChorusCrypto's `SystemRandom`, libsodium's `randombytes_buf`; in tests a seeded one). Every random
/// decision is an integer drawn from 64-bit words, never a floating-point number.
extension RandomNumberGenerator {
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
