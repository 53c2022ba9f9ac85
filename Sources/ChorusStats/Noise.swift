/// Differential privacy for a table of counts: every count an entry can change gets independent
/// discrete Laplace noise (``DiscreteLaplace``) with α = exp(-ε/Δ).
///
/// **What is noised.** The cells always. A total is the sum of the noisy cells under it when the
/// cells under it are a single-valued field's categories (each entry is in exactly one, so the
/// sum is the total); that costs no privacy, being computed from already-private numbers. The
/// total over a multi-valued field's categories is not their sum (an entry counts once per
/// chosen value), so it gets noise of its own: the row totals of a table whose column field is
/// multi-valued, the column totals of one whose row field is multi-valued, and the number of
/// entries when every grouping field is multi-valued.
///
/// **Sensitivity.** Adding or removing one entry changes, in a one-field table, one cell of a
/// single-valued field, or up to m cells plus the independently noised entry count of a
/// multi-valued field with m values; in a two-field table, up to m1·m2 cells plus m1 (or m2)
/// independently noised totals plus possibly the entry count. In every case the L1 sensitivity
/// is Δ = Π over the fields of (choices + [multi-valued]), where choices is 1 for a
/// single-valued field and m for a multi-valued one: 1 for `--by setting`,
/// 10 for `--by kind` (9 values), 1 for `--by setting,perpetrator-role`.
///
/// **Post-processing.** Noisy counts are clamped at 0 (a count cannot be negative) and totals
/// are summed from the clamped cells, so the published table adds up; small-cell suppression
/// then runs on the noisy table exactly as on an exact one. Both are post-processing of an
/// ε-DP release and cost no budget. Categories taken from the data (arrival months without a
/// fixed range) would leak outside the noise, so they are refused.
enum NoiseMechanism {
    /// Δ = Π (maxChoices + [multi-valued]) over the dimensions.
    static func sensitivity(_ dimensions: [CountTable.Dimension]) -> Int {
        dimensions.reduce(1) { $0 * ($1.maxChoices + ($1.multiValued ? 1 : 0)) }
    }

    static func noisyTable<R: RandomNumberGenerator>(_ counts: CountTable, epsilon: Epsilon, random: inout R) throws -> ValueTable {
        for d in counts.dimensions where d.rangeFromData { throw StatsError.dataDependentCategories(field: d.fieldID) }
        let (s, t) = DiscreteLaplace.parameters(epsilon: epsilon, sensitivity: sensitivity(counts.dimensions))
        func noisy(_ x: Int) throws -> Int {
            let (y, overflow) = x.addingReportingOverflow(Int(DiscreteLaplace.sample(s: s, t: t, using: &random)))
            guard !overflow else { throw StatsError.overflow }
            return max(0, y)
        }
        func sum(_ xs: [Int]) throws -> Int {
            try xs.reduce(0) { a, x in
                let (y, o) = a.addingReportingOverflow(x)
                guard !o else { throw StatsError.overflow }
                return y
            }
        }
        let cells = try counts.cells.map(noisy)
        let rows = counts.dimensions[0]
        if counts.dimensions.count == 1 {
            let entries = rows.multiValued ? try noisy(counts.entries) : try sum(cells)
            return ValueTable(dimensions: counts.dimensions, cells: cells, rowTotals: [], columnTotals: [], entries: entries, mode: .noisy)
        }
        let columns = counts.dimensions[1]
        let r = counts.rowCount, c = counts.columnCount
        let rowTotals = try (0..<r).map { i in
            columns.multiValued ? try noisy(counts.rowTotals[i]) : try sum(Array(cells[(i * c)..<((i + 1) * c)]))
        }
        let columnTotals = try (0..<c).map { j in
            rows.multiValued ? try noisy(counts.columnTotals[j]) : try sum((0..<r).map { cells[$0 * c + j] })
        }
        let entries: Int
        if !rows.multiValued { entries = try sum(rowTotals) }
        else if !columns.multiValued { entries = try sum(columnTotals) }
        else { entries = try noisy(counts.entries) }
        return ValueTable(dimensions: counts.dimensions, cells: cells, rowTotals: rowTotals, columnTotals: columnTotals, entries: entries, mode: .noisy)
    }
}
