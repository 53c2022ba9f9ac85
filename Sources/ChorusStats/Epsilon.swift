/// A privacy parameter ε held exactly, as an integer number of millionths.
///
/// Epsilons are parsed from decimal text with at most six decimal places (`"0.5"`, `"1"`,
/// `"0.125"`), so every value the user can write is exact, sums in the budget ledger never
/// drift, and the noise sampler gets an exact fraction (``fraction``). Floating point is used
/// only to report (``doubleValue``).
public struct Epsilon: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Millionths per unit of ε.
    public static let microPerUnit: Int64 = 1_000_000
    /// The largest ε accepted: 1000 (far beyond any meaningful privacy).
    public static let maximumMicro: Int64 = 1_000 * microPerUnit

    /// ε in millionths.
    public let micro: Int64

    public static let zero = Epsilon(unchecked: 0)
    public static let one = Epsilon(unchecked: microPerUnit)

    private init(unchecked micro: Int64) { self.micro = micro }

    /// ε = `micro` / 1 000 000, for 0 <= ε <= 1000.
    public init(micro: Int64) throws {
        guard micro >= 0, micro <= Self.maximumMicro else {
            throw StatsError.invalidParameter("epsilon must lie between 0 and 1000")
        }
        self.micro = micro
    }

    /// Parses a positive decimal such as `"0.5"`: ASCII digits, optionally a point and one to six
    /// more digits; no sign, exponent or spaces; greater than 0 and at most 1000.
    public init(parsing text: String) throws {
        let bad = StatsError.invalidParameter("epsilon '\(text)' must be a positive decimal such as 0.5, with at most 6 decimal places, up to 1000")
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let whole = parts[0], fractionPart = parts.count == 2 ? parts[1] : ""
        func isDigits(_ s: Substring) -> Bool { s.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }
        guard !whole.isEmpty, whole.count <= 4, isDigits(whole), isDigits(fractionPart),
              parts.count == 1 || (1...6).contains(fractionPart.count),
              let w = Int64(whole)
        else { throw bad }
        var f: Int64 = 0
        for b in fractionPart.utf8 { f = f * 10 + Int64(b - 0x30) }
        for _ in fractionPart.count..<6 { f *= 10 }
        let micro = w * Self.microPerUnit + f
        guard micro > 0, micro <= Self.maximumMicro else { throw bad }
        self.micro = micro
    }

    /// ε as a fraction in lowest terms.
    public var fraction: (numerator: UInt64, denominator: UInt64) {
        let g = gcd(UInt64(micro), UInt64(Self.microPerUnit))
        return (UInt64(micro) / g, UInt64(Self.microPerUnit) / g)
    }

    /// For reporting only.
    public var doubleValue: Double { Double(micro) / Double(Self.microPerUnit) }

    /// The exact decimal, without trailing zeros: `0.5`, `1`, `0.000001`.
    public var description: String {
        let whole = micro / Self.microPerUnit, f = micro % Self.microPerUnit
        guard f != 0 else { return String(whole) }
        var digits = pad(Int(f), 6)
        while digits.hasSuffix("0") { digits.removeLast() }
        return "\(whole).\(digits)"
    }

    /// `self + other`, exactly.
    public func adding(_ other: Epsilon) throws -> Epsilon {
        let (sum, overflow) = micro.addingReportingOverflow(other.micro)
        guard !overflow else { throw StatsError.overflow }
        return Epsilon(unchecked: sum)
    }

    /// `max(0, self - other)`, exactly.
    public func subtractingClamped(_ other: Epsilon) -> Epsilon {
        Epsilon(unchecked: max(0, micro - other.micro))
    }

    public static func < (a: Epsilon, b: Epsilon) -> Bool { a.micro < b.micro }
}

func gcd(_ a: UInt64, _ b: UInt64) -> UInt64 {
    var (a, b) = (a, b)
    while b != 0 { (a, b) = (b, a % b) }
    return a
}
