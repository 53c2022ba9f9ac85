@testable import ChorusStats

/// An independent reader of a whole release: the full joint table over every field of the
/// release (every combination of categories, every subset of a multi-valued field's values) as
/// integer unknowns, every published number of every table as an equation, every hidden one as
/// its mark's range, and GLPK's integer programming for the smallest and largest value of each
/// hidden number. It shares nothing with ``JointAudit`` but the thin GLPK wrapper: no restricted
/// model, no witnesses, no sampling. Only for small releases (the joint table must fit).
struct JointReference {
    struct Finding: CustomStringConvertible {
        let table: Int
        let item: String
        let truth: Int
        let lo: Int
        let hi: Int
        var description: String { "table \(table) \(item): true \(truth), a reader finds \(lo)...\(hi)" }
    }

    /// The hidden numbers of `reports` that break the rule (0 or at least K possible, and a
    /// range of at least 2), and the number of hidden numbers checked.
    static func violations(reports: [StatsReport], counts: [CountTable], dimensions: [CountTable.Dimension], k: Int) -> (found: [Finding], checked: Int) {
        // Every combination: per field, its possible codes (a category index, or a mask).
        var choices: [[UInt64]] = []
        for d in dimensions {
            if d.multiValued {
                let n = d.values.count - (d.notAnsweredIndex == nil ? 0 : 1)
                let masks = (1 ..< (UInt64(1) << UInt64(n))).map { $0 }
                choices.append((d.notAnsweredIndex == nil ? [] : [0]) + masks)
            } else {
                choices.append((0..<d.values.count).map(UInt64.init))
            }
        }
        var combos: [[UInt64]] = [[]]
        for c in choices { combos = combos.flatMap { prefix in c.map { prefix + [$0] } } }
        func holds(_ combo: [UInt64], _ f: Int, _ cat: Int) -> Bool {
            let d = dimensions[f]
            guard d.multiValued else { return combo[f] == UInt64(cat) }
            if cat == d.notAnsweredIndex { return combo[f] == 0 }
            return (combo[f] >> UInt64(cat)) & 1 == 1
        }
        var program = IntegerProgram()
        for _ in combos { _ = program.addVariable() }
        var hidden: [(row: Int, table: Int, item: String, truth: Int)] = []
        func constrain(_ conditions: [(Int, Int)], _ shown: PublishedCount, truth: Int, table: Int, item: String, edge: Bool) {
            let vars = combos.indices.filter { v in conditions.allSatisfy { holds(combos[v], $0.0, $0.1) } }
            let row: IntegerProgram.Row
            switch shown {
            case let .exact(x): row = .init(terms: vars.map { ($0, 1) }, lo: Double(x), hi: Double(x))
            case let .fewerThan(kk):
                row = .init(terms: vars.map { ($0, 1) }, lo: edge ? 1 : 0, hi: Double(kk - 1))
                hidden.append((program.rows.count, table, item, truth))
            case let .atLeast(kk):
                row = .init(terms: vars.map { ($0, 1) }, lo: Double(kk), hi: nil)
                hidden.append((program.rows.count, table, item, truth))
            }
            program.rows.append(row)
        }
        let index = Dictionary(dimensions.enumerated().map { ($1.fieldID, $0) }, uniquingKeysWith: { a, _ in a })
        for (t, report) in reports.enumerated() {
            guard case let .published(p) = report.outcome else { continue }
            let dims = counts[t].dimensions
            let f = index[dims[0].fieldID]!
            func edge(_ d: CountTable.Dimension, _ i: Int) -> Bool { d.rangeFromData && (i == 0 || i == d.values.count - 1) }
            constrain([], p.entries, truth: counts[t].entries, table: t, item: "entries", edge: false)
            if dims.count == 1 {
                for i in p.cells.indices { constrain([(f, i)], p.cells[i], truth: counts[t].cells[i], table: t, item: "cell \(i)", edge: edge(dims[0], i)) }
            } else {
                let g = index[dims[1].fieldID]!
                let c = counts[t].columnCount
                for i in 0..<counts[t].rowCount {
                    constrain([(f, i)], p.rowTotals[i], truth: counts[t].rowTotals[i], table: t, item: "row \(i)", edge: edge(dims[0], i))
                    for j in 0..<c {
                        constrain([(f, i), (g, j)], p.cells[i * c + j], truth: counts[t].cells[i * c + j], table: t, item: "cell \(i),\(j)", edge: false)
                    }
                }
                for j in 0..<c { constrain([(g, j)], p.columnTotals[j], truth: counts[t].columnTotals[j], table: t, item: "column \(j)", edge: edge(dims[1], j)) }
            }
        }
        var found: [Finding] = []
        for h in hidden {
            let objective = program.rows[h.row].terms
            func bound(_ maximize: Bool) -> Int? {
                switch program.solve(objective: objective, maximize: maximize, timeLimitMilliseconds: 20_000) {
                case let .optimal(x): return objective.reduce(0) { $0 + x[$1.variable] }
                default: return nil
                }
            }
            guard let lo = bound(false), let hi = bound(true) else {
                found.append(Finding(table: h.table, item: h.item + " (solver gave no optimum)", truth: h.truth, lo: -1, hi: -1))
                continue
            }
            if !((lo == 0 || hi >= k) && hi - lo >= 2) { found.append(Finding(table: h.table, item: h.item, truth: h.truth, lo: lo, hi: hi)) }
        }
        return (found, hidden.count)
    }
}
