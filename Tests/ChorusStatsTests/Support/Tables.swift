@testable import ChorusStats

/// Small hand-made tables.
enum Tables {
    static func dimension(_ id: String, _ values: [String?], multi: Bool = false, fromData: Bool = false) -> CountTable.Dimension {
        try! CountTable.Dimension(fieldID: id, label: id.capitalized, values: values, multiValued: multi, rangeFromData: fromData)
    }

    static func names(_ prefix: String, _ n: Int) -> [String?] { (0..<n).map { "\(prefix)\($0)" } }

    /// A single-valued one-field table.
    static func oneField(_ counts: [Int], fromData: Bool = false) -> CountTable {
        try! CountTable(dimension: dimension("a", names("a", counts.count), fromData: fromData), counts: counts, entries: counts.reduce(0, +))
    }

    /// A single-valued two-field table; totals are the sums.
    static func twoFields(_ cells: [[Int]]) -> CountTable {
        let r = cells.count, c = cells.first?.count ?? 0
        return try! CountTable(rows: dimension("a", names("a", r)), columns: dimension("b", names("b", c)), cells: cells,
                               rowTotals: cells.map { $0.reduce(0, +) },
                               columnTotals: (0..<c).map { j in cells.reduce(0) { $0 + $1[j] } },
                               entries: cells.flatMap { $0 }.reduce(0, +))
    }

    static func publish(_ t: CountTable, k: Int = 5) -> StatsReport {
        try! Disclosure.publish(t, policy: DisclosurePolicy(minCount: k))
    }

    static func published(_ r: StatsReport) -> PublishedCounts? {
        if case let .published(p) = r.outcome { return p }
        return nil
    }

    /// The marks of the cells, as the text table shows them.
    static func cellMarks(_ r: StatsReport) -> [String] { published(r)?.cells.map(StatsReport.mark) ?? [] }

    /// A report of `t` in which exactly the numbers in `hide` are hidden (by their marks): how a
    /// naive rule would publish it. Indices as in `BruteForce`: cells, row totals, column
    /// totals, entries.
    static func naive(_ t: CountTable, k: Int, hide: Set<Int>) -> StatsReport {
        let all = t.cells + t.rowTotals + t.columnTotals + [t.entries]
        let shown = all.enumerated().map { i, x -> PublishedCount in
            hide.contains(i) ? (x < k ? .fewerThan(k) : .atLeast(k)) : .exact(x)
        }
        let nc = t.cells.count, nr = t.rowTotals.count, ncol = t.columnTotals.count
        return StatsReport(dimensions: t.dimensions.map(PublishedDimension.init), minCount: k, noise: nil, outcome: .published(PublishedCounts(
            cells: Array(shown[0..<nc]), rowTotals: Array(shown[nc..<(nc + nr)]),
            columnTotals: Array(shown[(nc + nr)..<(nc + nr + ncol)]), entries: shown[nc + nr + ncol])))
    }
}
