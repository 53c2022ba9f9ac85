/// Errors of the counting layer. Each description is one lowercase sentence that names what and
/// where, and never contains an entry's identity or anything read from an entry: only field
/// ids, values from the schema and parameters (the offending text stays in the payload).
public enum StatsError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A field definition is unusable (empty id, no values, duplicated values, …).
    case invalidField(field: String, reason: String)
    /// `--by` named no field, more than two, or the same field twice.
    case invalidGrouping(String)
    /// A record lacks an answer to a required field.
    case missingAnswer(field: String)
    /// A record answers a field with a value the field does not allow.
    case unknownValue(field: String, value: String, allowed: [String])
    /// A record gives several values to a single-valued field, or one value twice.
    case invalidAnswer(field: String, reason: String)
    /// An arrival month is not of the form YYYY-MM, or lies outside a fixed range.
    case invalidMonth(String)
    /// Two partial tables of different groupings were merged.
    case mismatchedMerge
    /// A table of counts breaks the relations every real table satisfies.
    case inconsistentCounts(String)
    /// A disclosure parameter is out of range (K below 2 without the unsafe flag, …).
    case invalidParameter(String)
    /// Noise was asked for on a table whose categories were chosen from the data itself.
    case dataDependentCategories(field: String)
    /// A count grew past what an `Int` holds.
    case overflow

    public var description: String {
        switch self {
        case let .invalidField(field, reason): return "field '\(field)' is invalid: \(reason)"
        case let .invalidGrouping(why): return "cannot group the counts: \(why)"
        case let .missingAnswer(field): return "the entry does not answer the required field '\(field)'"
        case let .unknownValue(field, _, allowed):
            // The value itself is not echoed: it comes from a damaged or hostile entry and may
            // hold anything, from an answer worth keeping private to terminal escape codes.
            return "field '\(field)' has a value it does not allow (allowed: \(allowed.joined(separator: ", ")))"
        case let .invalidAnswer(field, reason): return "the answer to field '\(field)' is invalid: \(reason)"
        case .invalidMonth: return "the arrival month is not of the form YYYY-MM, or lies outside the fixed range"
        case .mismatchedMerge: return "partial tables of different groupings cannot be merged"
        case let .inconsistentCounts(why): return "the counts are inconsistent: \(why)"
        case let .invalidParameter(why): return "invalid parameter: \(why)"
        case let .dataDependentCategories(field):
            return "field '\(field)' takes its categories from the data, which noise cannot hide; give it a fixed range"
        case .overflow: return "a count is too large"
        }
    }
}
