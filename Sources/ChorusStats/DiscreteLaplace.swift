/// Exact samplers for the two-sided geometric ("discrete Laplace") distribution, after
/// Canonne, Kamath and Steinke, *The Discrete Gaussian for Differential Privacy* (NeurIPS 2020),
/// Algorithms 1 and 2. Every step is an integer comparison against a uniform integer from a
/// `RandomNumberGenerator`; no floating-point number is ever sampled or rounded, so the output
/// distribution is exactly the mathematical one (up to events of probability far below 2^-64,
/// see ``bernoulliExpMinus(_:over:using:)``).
public enum DiscreteLaplace {
    /// True with probability exactly `exp(-n/d)`, for `n >= 0`, `d >= 1`.
    ///
    /// For `n/d <= 1` (CKS Algorithm 1): draw A_k ~ Bernoulli((n/d)/k) for k = 1, 2, … until one
    /// is 0; the probability that the first 0 comes at an odd k is
    /// `sum_k (-γ)^k / k! = exp(-γ)`. For `n/d > 1`: exp(-γ) = exp(-1)^floor(γ) · exp(-(γ - floor γ)),
    /// each factor an independent draw. The only inexactness: if `d·k` overflows 64 bits the
    /// loop stops, an event of probability below 1/(2^64/d)! — never, in practice.
    public static func bernoulliExpMinus<R: RandomNumberGenerator>(_ n: UInt64, over d: UInt64, using random: inout R) -> Bool {
        precondition(d > 0, "denominator must be positive")
        if n <= d {
            var k: UInt64 = 1
            while true {
                let (dk, overflow) = d.multipliedReportingOverflow(by: k)
                if overflow || !random.bernoulli(n, over: dk) { break }
                k += 1
            }
            return k % 2 == 1
        }
        for _ in 0..<(n / d) {
            if !bernoulliExpMinus(1, over: 1, using: &random) { return false }
        }
        return bernoulliExpMinus(n % d, over: d, using: &random)
    }

    /// One sample Z with `P(Z = z) = (1 - α)/(1 + α) · α^|z|`, where `α = exp(-s/t)`
    /// (CKS Algorithm 2; the scale is t/s). For ε-differential privacy of a count vector with
    /// L1 sensitivity Δ, use α = exp(-ε/Δ), i.e. `s/t = ε/Δ`.
    ///
    /// The algorithm: draw U uniform in 0..<t and keep it with probability exp(-U/t); draw V
    /// geometric with P(V = v) ∝ exp(-v); then X = U + t·V is geometric with ratio exp(-1/t),
    /// Y = floor(X/s) is geometric with ratio exp(-s/t); a fair sign B, rejecting (B = 1, Y = 0)
    /// so that zero is not counted twice, gives Z = (1 - 2B)·Y.
    public static func sample<R: RandomNumberGenerator>(s: UInt64, t: UInt64, using random: inout R) -> Int64 {
        precondition(s > 0 && t > 0, "s and t must be positive")
        while true {
            let u = random.uniform(below: t)
            guard bernoulliExpMinus(u, over: t, using: &random) else { continue }
            var v: UInt64 = 0
            while bernoulliExpMinus(1, over: 1, using: &random) { v += 1 }
            let (tv, o1) = t.multipliedReportingOverflow(by: v)
            let (x, o2) = u.addingReportingOverflow(tv)
            guard !o1, !o2 else { continue }  // needs v ~ 2^64/t: probability ~ exp(-2^64/t)
            let y = x / s
            let negative = random.bernoulli(1, over: 2)
            if negative && y == 0 { continue }
            guard y <= UInt64(Int64.max) else { continue }
            return negative ? -Int64(y) : Int64(y)
        }
    }

    /// The parameters (s, t) of ``sample(s:t:using:)`` for noise of ε-DP at L1 sensitivity
    /// `sensitivity`: s/t = ε/Δ in lowest terms.
    public static func parameters(epsilon: Epsilon, sensitivity: Int) -> (s: UInt64, t: UInt64) {
        precondition(epsilon.micro > 0 && sensitivity > 0, "epsilon and sensitivity must be positive")
        let (num, den) = epsilon.fraction
        let t = den * UInt64(sensitivity)
        let g = gcd(num, t)
        return (num / g, t / g)
    }

    /// α = exp(-ε/Δ), for reporting and tests only.
    public static func alpha(epsilon: Epsilon, sensitivity: Int) -> Double {
        let (s, t) = parameters(epsilon: epsilon, sensitivity: sensitivity)
        return _exp(-Double(s) / Double(t))
    }
}

#if canImport(Glibc)
import Glibc
private func _exp(_ x: Double) -> Double { Glibc.exp(x) }
#elseif canImport(Darwin)
import Darwin
private func _exp(_ x: Double) -> Double { Darwin.exp(x) }
#endif
