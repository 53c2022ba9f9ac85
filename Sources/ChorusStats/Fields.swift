import Foundation

/// A calendar month, written `YYYY-MM`: the only time information sealed with a story.
public struct YearMonth: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let year: Int
    /// 1 ... 12.
    public let month: Int

    public init(year: Int, month: Int) throws {
        guard (1...9999).contains(year), (1...12).contains(month) else {
            throw StatsError.invalidMonth("\(year)-\(month)")
        }
        self.year = year
        self.month = month
    }

    /// Parses exactly four ASCII digits, `-`, two ASCII digits (`2025-03`). Anything else throws.
    public init(parsing text: String) throws {
        let bytes = Array(text.utf8)
        func digits(_ range: Range<Int>) -> Int? {
            var value = 0
            for i in range {
                let b = bytes[i]
                guard b >= 0x30, b <= 0x39 else { return nil }
                value = value * 10 + Int(b - 0x30)
            }
            return value
        }
        guard bytes.count == 7, bytes[4] == UInt8(ascii: "-"),
              let y = digits(0..<4), let m = digits(5..<7), y >= 1, (1...12).contains(m)
        else { throw StatsError.invalidMonth(text) }
        year = y
        month = m
    }

    /// Months since January of year 0; consecutive months have consecutive indices.
    var index: Int { year * 12 + (month - 1) }

    init(index: Int) {
        year = index / 12
        month = index % 12 + 1
    }

    public static func < (a: YearMonth, b: YearMonth) -> Bool { a.index < b.index }

    public var description: String { pad(year, 4) + "-" + pad(month, 2) }
}

/// Zero-pads a non-negative integer to `width` digits.
func pad(_ value: Int, _ width: Int) -> String {
    let s = String(value)
    return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
}

/// One field that counts can be grouped by: a questionnaire field, or one of the two
/// pseudo-fields `year` (the year the event happened, binned) and `arrival-month` (the month the
/// entry arrived, binned).
///
/// The list of categories a field shows never depends on the data, with one documented
/// exception (``Kind/arrivalMonth(_:)`` without a fixed range), because a category that is
/// shown only when it is non-empty tells the reader it is non-empty.
public struct StatsField: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        /// A closed list of values, in the order they are shown.
        case categorical([String])
        /// A year between the bounds, answered as a decimal string such as `"2019"`. Shown in
        /// bins: five-year bins aligned on multiples of five (`1950-1954`, …, the last one cut
        /// at the upper bound) when the range spans at most 100 years, else decades aligned on
        /// multiples of ten. The bins depend only on the declared range, never on the answers.
        case year(ClosedRange<Int>)
        /// The month the entry arrived (every entry has one). Shown month by month when the
        /// range spans at most 24 months, else by calendar quarter (`2025-Q1`) when that gives at
        /// most 24 quarters, else by calendar year. With a fixed range the categories are that
        /// range; with `nil` they run from the first to the last month present in the data, so
        /// the reader learns that the first and the last category are not empty. Suppression
        /// takes that knowledge into account; differential privacy cannot, and refuses such a
        /// field (``StatsError/dataDependentCategories(field:)``).
        case arrivalMonth(ClosedRange<YearMonth>?)
    }

    /// The id used on the command line (`--by setting`) and in the answers.
    public let id: String
    /// The human label shown in headers.
    public let label: String
    public let kind: Kind
    /// An entry may choose several values; it then counts once per chosen value.
    public let multiValued: Bool
    /// An entry may leave the field unanswered; such entries count in a final
    /// "not answered" category, which is shown exactly when the field is optional.
    public let optional: Bool

    /// The id of the arrival-month pseudo-field.
    public static let arrivalMonthID = "arrival-month"

    /// A field with a closed list of values.
    public init(id: String, label: String, values: [String], multiValued: Bool = false, optional: Bool = false) throws {
        try Self.checkID(id)
        guard !values.isEmpty else { throw StatsError.invalidField(field: id, reason: "it has no values") }
        guard !values.contains(where: \.isEmpty) else { throw StatsError.invalidField(field: id, reason: "a value is empty") }
        guard Set(values).count == values.count else { throw StatsError.invalidField(field: id, reason: "a value is listed twice") }
        self.id = id
        self.label = label.isEmpty ? id : label
        self.kind = .categorical(values)
        self.multiValued = multiValued
        self.optional = optional
    }

    private init(id: String, label: String, kind: Kind, optional: Bool) {
        self.id = id
        self.label = label
        self.kind = kind
        self.multiValued = false
        self.optional = optional
    }

    /// The `year` question: the year the event happened, from `years.lowerBound` (1950 in the
    /// default schema) to the current year, optional by default.
    public static func year(id: String = "year", label: String = "Year it happened",
                            years: ClosedRange<Int>, optional: Bool = true) throws -> StatsField {
        try checkID(id)
        guard years.lowerBound >= 1, years.upperBound <= 9999 else {
            throw StatsError.invalidField(field: id, reason: "years must lie in 1...9999")
        }
        return StatsField(id: id, label: label, kind: .year(years), optional: optional)
    }

    /// The arrival-month pseudo-field; see ``Kind/arrivalMonth(_:)`` for the binning rule.
    public static func arrivalMonth(label: String = "Month of arrival", range: ClosedRange<YearMonth>? = nil) -> StatsField {
        StatsField(id: arrivalMonthID, label: label, kind: .arrivalMonth(range), optional: false)
    }

    private static func checkID(_ id: String) throws {
        guard !id.isEmpty else { throw StatsError.invalidField(field: id, reason: "its id is empty") }
    }

    /// The most categories one entry can count in for this field (not counting "not answered",
    /// which excludes every other value): the number of values when multi-valued, else 1.
    public var maxChoices: Int {
        guard multiValued, case let .categorical(values) = kind else { return 1 }
        return values.count
    }
}

/// The answers of one entry, as the counting layer sees them: field id to the chosen values
/// (an absent key or an empty list means not answered), and the month it arrived.
public struct StatsRecord: Sendable, Equatable {
    public var answers: [String: [String]]
    /// `YYYY-MM`.
    public var arrivalMonth: String

    public init(answers: [String: [String]], arrivalMonth: String) {
        self.answers = answers
        self.arrivalMonth = arrivalMonth
    }
}
