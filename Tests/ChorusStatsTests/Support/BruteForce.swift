@testable import ChorusStats

/// An independent check of a published table: it rebuilds, from the published report alone,
/// every relation a reader knows (sums, covers relations of multi-valued fields, the bounds each
/// mark implies, the non-empty first and last categories of data-derived ranges) as plain linear
/// constraints, and searches the non-negative integer tables satisfying them. It shares no code
/// with the suppression algorithm (no flow network, no cycles).
struct BruteForce {
    enum Relation { case eq, le, ge }
    struct Constraint {
        var terms: [(variable: Int, coefficient: Int)]
        var relation: Relation
        var rhs: Int
    }

    /// Index of each published number: cells, then row totals, column totals, entries.
    let variableCount: Int
    var lo: [Int]
    var hi: [Int]
    var constraints: [Constraint] = []
    /// The hidden variables.
    var hiddenVariables: [Int] = []
    /// Problems with the report itself (a wrong mark, a shown small number, …).
    var problems: [String] = []
    let truth: [Int]
    let names: [String]

    /// `truth`: the numbers the report was made from (cells, row totals, column totals, entries
    /// in the report's layout). `noisy`: the report is a noisy one (totals over multi-valued
    /// fields relate to nothing).
    init(report: StatsReport, truthCells: [Int], truthRows: [Int], truthColumns: [Int], truthEntries: Int, noisy: Bool) {
        guard case let .published(p) = report.outcome else { preconditionFailure("not a published table") }
        let k = report.minCount
        let r = report.rowCount, c = report.columnCount
        let twoD = report.dimensions.count == 2
        let shown = p.cells + p.rowTotals + p.columnTotals + [p.entries]
        truth = truthCells + truthRows + truthColumns + [truthEntries]
        precondition(shown.count == truth.count)
        variableCount = shown.count
        let cellVar = { (i: Int, j: Int) in i * c + j }
        let rowVar = { (i: Int) in r * c + i }
        let colVar = { (j: Int) in r * c + (twoD ? r : 0) + j }
        let entriesVar = variableCount - 1
        var names = (0..<r).flatMap { i in (0..<c).map { j in "cell(\(i),\(j))" } }
        if twoD { names += (0..<r).map { "row(\($0))" } + (0..<c).map { "column(\($0))" } }
        names.append("entries")
        self.names = names

        // Every hidden number is at most the largest true number plus K: a finite window that
        // holds the truth, so any second value found is a real second value.
        let cap = (truth.max() ?? 0) + 2 * k
        lo = Array(repeating: 0, count: variableCount)
        hi = Array(repeating: 0, count: variableCount)
        for (v, mark) in shown.enumerated() {
            switch mark {
            case let .exact(x):
                lo[v] = x; hi[v] = x
                if x != truth[v] { problems.append("\(names[v]) shows \(x) but is \(truth[v])") }
                if x >= 1 && x < k { problems.append("\(names[v]) shows the small number \(x)") }
            case let .fewerThan(m):
                lo[v] = 0; hi[v] = m - 1
                if m != k || truth[v] >= k { problems.append("\(names[v]) is marked <\(m) but is \(truth[v])") }
                hiddenVariables.append(v)
            case let .atLeast(m):
                lo[v] = m; hi[v] = cap
                if m != k || truth[v] < k { problems.append("\(names[v]) is marked x (>= \(m)) but is \(truth[v])") }
                hiddenVariables.append(v)
            }
        }

        // Data-derived ranges: the reader knows the first and last categories are not empty.
        for (d, dim) in report.dimensions.enumerated() where dim.rangeFromData && !dim.values.isEmpty {
            let n = dim.values.count
            for i in Set([0, n - 1]) {
                let v = twoD ? (d == 0 ? rowVar(i) : colVar(i)) : cellVar(i, 0)
                lo[v] = max(lo[v], 1)
            }
        }

        /// The relation of a group of counts (categories of `dim`) to their parent.
        func relate(_ children: [Int], _ parent: Int, _ dim: PublishedDimension) {
            if !dim.multiValued {
                constraints.append(Constraint(terms: children.map { ($0, 1) } + [(parent, -1)], relation: .eq, rhs: 0))
                return
            }
            if noisy { return }
            constraints.append(Constraint(terms: children.map { ($0, 1) } + [(parent, -1)], relation: .ge, rhs: 0))
            let na = dim.values.last.map { $0 == nil } == true ? children.count - 1 : nil
            for (k, child) in children.enumerated() where k != na {
                var terms = [(child, 1), (parent, -1)]
                if let na { terms.append((children[na], 1)) }
                constraints.append(Constraint(terms: terms, relation: .le, rhs: 0))
            }
        }
        let rows = report.dimensions[0]
        if !twoD {
            relate((0..<r).map { cellVar($0, 0) }, entriesVar, rows)
        } else {
            let columns = report.dimensions[1]
            for i in 0..<r { relate((0..<c).map { cellVar(i, $0) }, rowVar(i), columns) }
            for j in 0..<c { relate((0..<r).map { cellVar($0, j) }, colVar(j), rows) }
            relate((0..<r).map(rowVar), entriesVar, rows)
            relate((0..<c).map(colVar), entriesVar, columns)
        }
        for (i, t) in truth.enumerated() where t >= 1 && t < k && !hiddenVariables.contains(i) {
            problems.append("\(names[i]) = \(t) is not hidden")
        }
        if !satisfies(truth) { problems.append("the true table breaks the reader's constraints (the model is wrong)") }
    }

    func satisfies(_ x: [Int]) -> Bool {
        for v in 0..<variableCount where x[v] < lo[v] || x[v] > hi[v] { return false }
        for c in constraints {
            let s = c.terms.reduce(0) { $0 + $1.coefficient * x[$1.variable] }
            switch c.relation {
            case .eq: if s != c.rhs { return false }
            case .le: if s > c.rhs { return false }
            case .ge: if s < c.rhs { return false }
            }
        }
        return true
    }

    /// Bounds propagation to a fixpoint; false when some domain becomes empty.
    private func propagate(_ lo: inout [Int], _ hi: inout [Int]) -> Bool {
        var changed = true
        while changed {
            changed = false
            for c in constraints {
                var minSum = 0, maxSum = 0
                for (v, a) in c.terms {
                    minSum += a > 0 ? a * lo[v] : a * hi[v]
                    maxSum += a > 0 ? a * hi[v] : a * lo[v]
                }
                if c.relation != .ge && minSum > c.rhs { return false }
                if c.relation != .le && maxSum < c.rhs { return false }
                for (v, a) in c.terms {
                    let otherMin = minSum - (a > 0 ? a * lo[v] : a * hi[v])
                    let otherMax = maxSum - (a > 0 ? a * hi[v] : a * lo[v])
                    // a·x <= rhs - otherMin (eq, le); a·x >= rhs - otherMax (eq, ge); |a| = 1.
                    if c.relation != .ge {
                        let bound = c.rhs - otherMin
                        if a > 0, bound < hi[v] { hi[v] = bound; changed = true }
                        if a < 0, -bound > lo[v] { lo[v] = -bound; changed = true }
                    }
                    if c.relation != .le {
                        let bound = c.rhs - otherMax
                        if a > 0, bound > lo[v] { lo[v] = bound; changed = true }
                        if a < 0, -bound < hi[v] { hi[v] = -bound; changed = true }
                    }
                    if lo[v] > hi[v] { return false }
                }
            }
        }
        return true
    }

    /// Whether some integer table satisfies every constraint within the domains.
    private func solvable(_ lo: [Int], _ hi: [Int]) -> Bool {
        var lo = lo, hi = hi
        guard propagate(&lo, &hi) else { return false }
        var pick = -1
        for v in 0..<variableCount where lo[v] < hi[v] && (pick < 0 || hi[v] - lo[v] < hi[pick] - lo[pick]) { pick = v }
        if pick < 0 { return satisfies(lo) }
        for value in lo[pick]...hi[pick] {
            var l = lo, h = hi
            l[pick] = value; h[pick] = value
            if solvable(l, h) { return true }
        }
        return false
    }

    /// Whether variable `v` can take a value other than its true one.
    func hasSecondValue(_ v: Int) -> Bool {
        let t = truth[v]
        if lo[v] <= t - 1 {
            var h = hi; h[v] = t - 1
            if solvable(lo, h) { return true }
        }
        if t + 1 <= hi[v] {
            var l = lo; l[v] = t + 1
            if solvable(l, hi) { return true }
        }
        return false
    }

    /// Every value `v` takes over all consistent tables (within the window).
    func feasibleValues(_ v: Int) -> [Int] {
        (lo[v]...hi[v]).filter { value in
            var l = lo, h = hi
            l[v] = value; h[v] = value
            return solvable(l, h)
        }
    }

    /// The hidden numbers a reader can pin down exactly, plus the report's other problems.
    func leaks() -> [String] {
        problems + hiddenVariables.filter { !hasSecondValue($0) }.map { "\(names[$0]) = \(truth[$0]) is determined" }
    }
}

extension BruteForce {
    /// Checks a report made from exact `counts`.
    init(report: StatsReport, counts: CountTable) {
        self.init(report: report, truthCells: counts.cells, truthRows: counts.rowTotals,
                  truthColumns: counts.columnTotals, truthEntries: counts.entries, noisy: false)
    }
}

/// A small, fast, seeded generator for reproducible tests (SplitMix64). Not for real noise.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func int(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(uniform(below: UInt64(range.count)))
    }
}
