import ChorusCrypto
/// How a table is protected before it is published.
public struct DisclosurePolicy: Sendable, Equatable {
    /// K: numbers from 1 to K-1 are never shown (default 5).
    public let minCount: Int
    /// ε of the differential-privacy noise, or nil for exact counts.
    public let epsilon: Epsilon?

    /// Refuses K < 2 unless `allowUnsafeSmallCells` is set (K = 1 then publishes every count
    /// as it is); K must be at least 1 and at most 1 000 000 in any case.
    public init(minCount: Int = 5, epsilon: Epsilon? = nil, allowUnsafeSmallCells: Bool = false) throws {
        guard minCount >= 1, minCount <= 1_000_000 else {
            throw StatsError.invalidParameter("the minimum count must be at least 2 (1 with the unsafe flag) and at most 1000000, not \(minCount)")
        }
        guard minCount >= 2 || allowUnsafeSmallCells else {
            throw StatsError.invalidParameter("a minimum count below 2 publishes single entries; it needs the explicit unsafe flag")
        }
        if let epsilon, epsilon.micro <= 0 { throw StatsError.invalidParameter("epsilon must be greater than 0") }
        self.minCount = minCount
        self.epsilon = epsilon
    }
}

/// One published number.
public enum PublishedCount: Sendable, Hashable {
    /// Shown as it is (exact, or noisy when the report says so).
    case exact(Int)
    /// Hidden as `<K`: the number is below K (possibly 0).
    case fewerThan(Int)
    /// Hidden as `x` to protect another number: the number is K or more.
    case atLeast(Int)

    public var isSuppressed: Bool {
        if case .exact = self { return false }
        return true
    }
}

/// The differential-privacy parameters of a noisy report.
public struct NoiseReport: Sendable, Equatable {
    public let epsilon: Epsilon
    /// Δ, the most counts one entry can change (see ``Disclosure/sensitivity(of:)``).
    public let sensitivity: Int
}

/// A grouping field as a report shows it.
public struct PublishedDimension: Sendable, Equatable {
    public let fieldID: String
    public let label: String
    /// Category labels; `nil` is "not answered".
    public let values: [String?]
    public let multiValued: Bool
    /// The categories were taken from the data (first and last not empty).
    public let rangeFromData: Bool

    /// The label without a closing note in parentheses ("What happened (one or more)" is
    /// "What happened"): what a heading shows.
    public var shortLabel: String {
        guard label.hasSuffix(")"), let open = label.lastIndex(of: "("), open > label.startIndex else { return label }
        let short = label[..<open].trimmingSuffix(" ")
        return short.isEmpty ? label : String(short)
    }

    init(_ d: CountTable.Dimension) {
        fieldID = d.fieldID
        label = d.label
        values = d.values
        multiValued = d.multiValued
        rangeFromData = d.rangeFromData
    }
}

/// The published numbers of a table.
public struct PublishedCounts: Sendable, Equatable {
    /// Row-major, `cells[row * columnCount + column]`; one column for a one-field table.
    public let cells: [PublishedCount]
    /// Two fields only.
    public let rowTotals: [PublishedCount]
    /// Two fields only.
    public let columnTotals: [PublishedCount]
    /// The number of entries: never hidden (every table shows it, so hiding it in one would
    /// protect nothing).
    public let entries: PublishedCount
}

/// What `chorus stats` may print: the only output of this module meant to leave the program.
/// It carries no entry ids, file names or exact numbers below K.
public struct StatsReport: Sendable, Equatable {
    public enum Outcome: Sendable, Equatable {
        case published(PublishedCounts)
        /// Fewer than K entries in all: nothing but that is published.
        case fewerThanMinimum
        /// No pattern of hidden numbers protects every small one (for example two categories
        /// of 4 and 4 with K = 5: any total gives both away); only the number of entries
        /// (at least K) is published.
        case withheld(entries: Int)
    }

    public let dimensions: [PublishedDimension]
    public let minCount: Int
    /// Nil for exact counts.
    public let noise: NoiseReport?
    public let outcome: Outcome
    /// Numbers of this table the joint audit hid beyond the table's own protection.
    public var jointlyHidden = 0
    /// The joint audit withheld this table (it would be published alone).
    public var withheldJointly = false
    /// What release the table belongs to, when it is part of one.
    public var release: ReleaseFacts? = nil

    public var rowCount: Int { dimensions[0].values.count }
    public var columnCount: Int { dimensions.count == 2 ? dimensions[1].values.count : 1 }
}

extension Substring {
    func trimmingSuffix(_ c: Character) -> Substring {
        var s = self
        while s.last == c { s = s.dropLast() }
        return s
    }
}

/// What a report says about the release it is part of.
public struct ReleaseFacts: Sendable, Equatable {
    /// The release's number in the release log (nil when not recorded: fewer than K entries).
    public var number: Int?
    /// UTC, `YYYY-MM-DD`.
    public var date: String
    /// The first and last arrival month of the entries counted (or the fixed range of
    /// `--months`); nil when it cannot be said (no entries, or a noisy release without a fixed
    /// range, where months taken from the data would be exact information beside the noise).
    public var period: (first: String, last: String)?

    public init(number: Int?, date: String, period: (first: String, last: String)?) {
        self.number = number
        self.date = date
        self.period = period
    }

    public static func == (a: ReleaseFacts, b: ReleaseFacts) -> Bool {
        a.number == b.number && a.date == b.date && a.period?.first == b.period?.first && a.period?.last == b.period?.last
    }
}

/// Turns exact counts into a publishable report: optional noise, then suppression.
public enum Disclosure {
    /// Δ for a grouping: Π over the fields of (maxChoices + 1 if multi-valued, else 1).
    /// See ``NoiseMechanism``; computed from the field definitions alone.
    public static func sensitivity(fields: [StatsField]) -> Int {
        fields.reduce(1) { $0 * ($1.maxChoices + ($1.multiValued ? 1 : 0)) }
    }

    /// Δ for the grouping of `counts`.
    public static func sensitivity(of counts: CountTable) -> Int { NoiseMechanism.sensitivity(counts.dimensions) }

    /// Protects `counts` under `policy`, drawing noise (if any) from the system's CSPRNG.
    public static func publish(_ counts: CountTable, policy: DisclosurePolicy) throws -> StatsReport {
        var random = SystemRandom()
        return try publish(counts, policy: policy, random: &random)
    }

    /// Protects `counts` under `policy`, drawing noise (if any) from `random`:
    /// 1. with ε, every count gets discrete Laplace noise (``NoiseMechanism``);
    /// 2. if the (noisy) number of entries is below K, the outcome is ``StatsReport/Outcome/fewerThanMinimum``;
    /// 3. otherwise numbers from 1 to K-1 are hidden, then as many more as it takes for none to
    ///    be recoverable (``Suppressor``), or the table is withheld when that is impossible.
    ///
    /// Spend the ε in the ``EpsilonLedger`` *before* calling this with an ε.
    public static func publish<R: RandomNumberGenerator>(_ counts: CountTable, policy: DisclosurePolicy, random: inout R) throws -> StatsReport {
        let table: ValueTable
        var noise: NoiseReport?
        if let epsilon = policy.epsilon {
            table = try NoiseMechanism.noisyTable(counts, epsilon: epsilon, random: &random)
            noise = NoiseReport(epsilon: epsilon, sensitivity: NoiseMechanism.sensitivity(counts.dimensions))
        } else {
            table = ValueTable(exact: counts)
        }
        return protect(table, dimensions: counts.dimensions.map(PublishedDimension.init), minCount: policy.minCount, noise: noise)
    }

    /// Suppression of `table` (exact or noisy) for threshold `k`: steps 2 and 3 of
    /// ``publish(_:policy:random:)``.
    static func protect(_ table: ValueTable, dimensions: [PublishedDimension], minCount k: Int, noise: NoiseReport?) -> StatsReport {
        func report(_ outcome: StatsReport.Outcome) -> StatsReport {
            StatsReport(dimensions: dimensions, minCount: k, noise: noise, outcome: outcome)
        }
        guard table.entries >= k else { return report(.fewerThanMinimum) }
        var hidden: Set<Suppressor.Item> = []
        if k >= 2 {
            guard let pattern = hiddenPattern(table, minCount: k) else { return report(.withheld(entries: table.entries)) }
            hidden = pattern
        }
        func show(_ value: Int, _ item: Suppressor.Item) -> PublishedCount {
            guard hidden.contains(item) else { return .exact(value) }
            return value < k ? .fewerThan(k) : .atLeast(k)
        }
        return report(.published(PublishedCounts(
            cells: table.cells.indices.map { show(table.cells[$0], .cell($0)) },
            rowTotals: table.rowTotals.indices.map { show(table.rowTotals[$0], .row($0)) },
            columnTotals: table.columnTotals.indices.map { show(table.columnTotals[$0], .column($0)) },
            entries: show(table.entries, .entries))))
    }

    /// The numbers to hide in `table`, or nil when it must be withheld.
    ///
    /// Several tables are often published from the same entries (`--by setting --by
    /// setting,perpetrator-role`), and a reader combines them. So that combining them tells no
    /// more than each alone:
    /// - the number of entries is never hidden (every table shows it);
    /// - a two-field table's row and column totals are hidden exactly as the one-field table of
    ///   that field hides its cells (the same algorithm on the same numbers), and no further;
    ///   its cells alone must then protect everything (else it is withheld, as is a two-field
    ///   table whose one-field tables would be);
    /// - a two-field table is protected with its fields in a fixed order (by id), so `a,b` and
    ///   `b,a` hide the same numbers.
    /// The reader model then has nothing to gain from the other tables: their numbers are this
    /// table's totals, published the same way. (Tables made with different K, or from different
    /// but overlapping sets of entries, are beyond this and must not be published side by side.)
    static func hiddenPattern(_ table: ValueTable, minCount k: Int) -> Set<Suppressor.Item>? {
        guard table.isTwoDimensional else {
            var suppressor = Suppressor(table, minCount: k)
            return suppressor.run()
        }
        if table.dimensions[0].fieldID > table.dimensions[1].fieldID {
            let r = table.rowCount
            return hiddenPattern(table.transposed, minCount: k).map { pattern in
                Set(pattern.map { item -> Suppressor.Item in
                    switch item {
                    case let .cell(index): return .cell((index % r) * table.columnCount + index / r)
                    case let .row(i): return .column(i)
                    case let .column(j): return .row(j)
                    case .entries: return .entries
                    }
                })
            }
        }
        guard let rows = marginPattern(table, dimension: 0, minCount: k),
              let columns = marginPattern(table, dimension: 1, minCount: k) else { return nil }
        let preset = Set(rows.map(Suppressor.Item.row) + columns.map(Suppressor.Item.column))
        let locked = Set((0..<table.rowCount).map(Suppressor.Item.row) + (0..<table.columnCount).map(Suppressor.Item.column) + [.entries])
        var suppressor = Suppressor(table, minCount: k, preset: preset, locked: locked)
        return suppressor.run()
    }

    /// The categories the one-field table of `table`'s dimension `d` hides, or nil when that
    /// table would be withheld.
    private static func marginPattern(_ table: ValueTable, dimension d: Int, minCount k: Int) -> [Int]? {
        let oneField = ValueTable(dimensions: [table.dimensions[d]], cells: d == 0 ? table.rowTotals : table.columnTotals,
                                  rowTotals: [], columnTotals: [], entries: table.entries, mode: table.mode)
        var suppressor = Suppressor(oneField, minCount: k)
        return suppressor.run()?.compactMap { item in
            if case let .cell(i) = item { return i }
            return nil
        }
    }
}
