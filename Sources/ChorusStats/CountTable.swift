/// Exact counts of a one- or two-field grouping, after binning: what the ``Tabulator`` produces
/// and what ``Disclosure/publish(_:policy:)`` protects. It holds exact small counts, so it must
/// never be printed as such; only a ``PublishedTable`` may leave the program.
///
/// Relations every table satisfies (checked by the initialisers):
/// - the counts of a single-valued field's categories add up to their parent (the number of
///   entries, or the row or column total);
/// - the counts of a multi-valued field's categories *cover* their parent: each answering entry
///   chose at least one value, so they add up to at least the parent; each value was chosen at
///   most once per entry, and "not answered" excludes every other value, so
///   `count(value) + count(not answered) <= parent`.
public struct CountTable: Sendable, Equatable {
    /// One grouping field as the table shows it.
    public struct Dimension: Sendable, Equatable {
        public let fieldID: String
        public let label: String
        /// Category labels in order; `nil` is "not answered" and, when present, comes last.
        public let values: [String?]
        public let multiValued: Bool
        /// The most categories one entry counts in (the number of values when multi-valued,
        /// else 1): the field's part of the differential-privacy sensitivity.
        public let maxChoices: Int
        /// The categories were chosen from the data (arrival months without a fixed range), so
        /// the reader knows the first and the last one are not empty.
        public let rangeFromData: Bool

        public init(fieldID: String, label: String, values: [String?], multiValued: Bool = false, rangeFromData: Bool = false) throws {
            guard !fieldID.isEmpty else { throw StatsError.invalidField(field: fieldID, reason: "its id is empty") }
            if let na = values.firstIndex(where: { $0 == nil }), na != values.count - 1 {
                throw StatsError.invalidField(field: fieldID, reason: "'not answered' must be the last category")
            }
            self.fieldID = fieldID
            self.label = label
            self.values = values
            self.multiValued = multiValued
            self.maxChoices = multiValued ? max(1, values.filter { $0 != nil }.count) : 1
            self.rangeFromData = rangeFromData
        }

        /// The index of the "not answered" category, if shown.
        public var notAnsweredIndex: Int? { values.last.map { $0 == nil } == true ? values.count - 1 : nil }
    }

    /// One dimension (rows only) or two (rows, then columns).
    public let dimensions: [Dimension]
    /// Row-major counts: `cells[row * columnCount + column]`; a 1-D table has one column.
    public let cells: [Int]
    /// 2-D only: entries per row category (for a multi-valued row field, entries that chose it).
    public let rowTotals: [Int]
    /// 2-D only: entries per column category.
    public let columnTotals: [Int]
    /// The number of entries counted.
    public let entries: Int

    public var rowCount: Int { dimensions[0].values.count }
    public var columnCount: Int { dimensions.count == 2 ? dimensions[1].values.count : 1 }

    /// The count at (`row`, `column`); `column` is 0 in a 1-D table.
    public func count(row: Int, column: Int = 0) -> Int { cells[row * columnCount + column] }

    /// A one-field table.
    public init(dimension: Dimension, counts: [Int], entries: Int) throws {
        guard counts.count == dimension.values.count else {
            throw StatsError.inconsistentCounts("\(counts.count) counts for \(dimension.values.count) categories")
        }
        try Self.checkNonNegative(counts + [entries])
        try Self.checkRelation(children: counts, parent: entries, dimension: dimension, what: "the entries")
        try Self.checkEdges(dimension, counts)
        dimensions = [dimension]
        cells = counts
        rowTotals = []
        columnTotals = []
        self.entries = entries
    }

    /// A two-field table; `cells[row][column]`.
    public init(rows: Dimension, columns: Dimension, cells: [[Int]], rowTotals: [Int], columnTotals: [Int], entries: Int) throws {
        let r = rows.values.count, c = columns.values.count
        guard rows.fieldID != columns.fieldID else { throw StatsError.invalidGrouping("the same field twice") }
        guard cells.count == r, cells.allSatisfy({ $0.count == c }), rowTotals.count == r, columnTotals.count == c else {
            throw StatsError.inconsistentCounts("the table is not \(r) by \(c)")
        }
        let flat = cells.flatMap { $0 }
        try Self.checkNonNegative(flat + rowTotals + columnTotals + [entries])
        for i in 0..<r {
            try Self.checkRelation(children: cells[i], parent: rowTotals[i], dimension: columns, what: "row \(i)")
        }
        for j in 0..<c {
            try Self.checkRelation(children: cells.map { $0[j] }, parent: columnTotals[j], dimension: rows, what: "column \(j)")
        }
        try Self.checkRelation(children: rowTotals, parent: entries, dimension: rows, what: "the row totals")
        try Self.checkRelation(children: columnTotals, parent: entries, dimension: columns, what: "the column totals")
        try Self.checkEdges(rows, rowTotals)
        try Self.checkEdges(columns, columnTotals)
        dimensions = [rows, columns]
        self.cells = flat
        self.rowTotals = rowTotals
        self.columnTotals = columnTotals
        self.entries = entries
    }

    private static func checkNonNegative(_ values: [Int]) throws {
        guard values.allSatisfy({ $0 >= 0 }) else { throw StatsError.inconsistentCounts("a count is negative") }
    }

    /// `children` are the counts of `dimension`'s categories within one parent group.
    private static func checkRelation(children: [Int], parent: Int, dimension: Dimension, what: String) throws {
        let (sum, overflow) = children.reduce((0, false)) { acc, x in
            let (s, o) = acc.0.addingReportingOverflow(x)
            return (s, acc.1 || o)
        }
        guard !overflow else { throw StatsError.overflow }
        if !dimension.multiValued {
            guard sum == parent else {
                throw StatsError.inconsistentCounts("the '\(dimension.fieldID)' counts of \(what) add up to \(sum), not \(parent)")
            }
            return
        }
        guard sum >= parent else {
            throw StatsError.inconsistentCounts("the '\(dimension.fieldID)' counts of \(what) add up to less than \(parent)")
        }
        let na = dimension.notAnsweredIndex.map { children[$0] } ?? 0
        for (k, x) in children.enumerated() where k != dimension.notAnsweredIndex {
            guard x + na <= parent else {
                throw StatsError.inconsistentCounts("a '\(dimension.fieldID)' count of \(what) exceeds its \(parent) entries")
            }
        }
        guard na <= parent else { throw StatsError.inconsistentCounts("'not answered' of \(what) exceeds \(parent)") }
    }

    private static func checkEdges(_ dimension: Dimension, _ margins: [Int]) throws {
        guard dimension.rangeFromData, let first = margins.first, let last = margins.last else { return }
        guard first > 0, last > 0 else {
            throw StatsError.inconsistentCounts("the categories of '\(dimension.fieldID)' come from the data but an end one is empty")
        }
    }
}
