/// Small-cell and complementary suppression.
///
/// ## What the reader knows
///
/// A published table shows the number of entries, and each cell and each row and column total
/// either exactly or hidden behind one of two marks, chosen by the hidden number's value only:
/// - `<K` for a number below K. Every number from 1 to K-1 is hidden this way (primary
///   suppression). A 0 is normally shown as 0 (a zero is not a person), but may also be hidden
///   as `<K` to protect another cell, so `<K` means "0 to K-1" — which is also why K = 2 is
///   still meaningful: `<2` is "0 or 1", not "exactly 1".
/// - `x` for a number of K or more hidden to protect a `<K` (complementary suppression).
///
/// The reader also knows every relation between the numbers: a single-valued field's counts add
/// up to their total; a multi-valued field's counts cover it (at least the total in sum; each
/// count plus "not answered" at most the total; see ``CountTable``); a noisy total noised on its
/// own relates to nothing; and when a field's categories come from the data (arrival months
/// without a fixed range) its first and last categories are not empty.
///
/// ## What is guaranteed
///
/// Every hidden number — cell or total, `<K` or `x` — takes at least two different values among
/// the non-negative integer tables consistent with everything above. So no `<K` can be worked out
/// exactly from the totals, the published cells, the other hidden cells' bounds or the zeros.
///
/// ## Zeros and totals
///
/// A published zero is exact knowledge: it removes an unknown, so a small cell whose row is
/// otherwise zeros and published equals its row total. The reader model includes every
/// published zero, so such a cell is only ever protected through a hidden total or another row.
/// Zeros are shown by default because they single no one out, but they can tell what a whole
/// small group did not answer; step 4 hides them where that costs nothing, and `<K` therefore
/// has to mean "0 to K-1".
///
/// ## How
///
/// The table is a flow network. Two fields: source → row node (row total) → column node (cell)
/// → sink (column total) → source (number of entries). One field: source → sink (each cell),
/// sink → source (entries). The sum relations are flow conservation; the gap of each
/// multi-valued "covers" relation is a slack arc of unknown non-negative flow (of unknown sign
/// for a noisy total noised on its own), routed through a hub node. A hidden number may move
/// within its mark's bounds; a published one may not. Pushing one unit round a closed walk of
/// such moves gives another table satisfying every sum relation. The covers relations' upper
/// bounds ("count + not answered <= total") are not flow constraints, but each involves only
/// arcs at one node, so a simple cycle changes it only through the two arcs it uses there: the
/// search forbids turns at a node that would break one, and every walk found is then checked
/// exactly (new values within the marks' bounds, every upper bound kept) before it counts as a
/// witness. A hidden number with such a witness walk takes a second value. This is the graph
/// criterion of cell suppression (Gusfield, *A graph theoretic approach to statistical data
/// security*, SIAM J. Comput. 1988), made exact with integer bounds.
///
/// 1. Primary: every number from 1 to K-1 is hidden. (A two-field table's totals start out as
///    its one-field tables hide them, and no other total may be hidden; the number of entries
///    is never hidden: see ``Disclosure/hiddenPattern(_:minCount:)``.)
/// 2. Complementary: while some hidden number has no witness walk among hidden numbers, find the
///    cheapest closed walk through it in the network where published numbers may be hidden at a
///    cost (1 for a zero cell, 2 + value for another cell, far more for a total) and hide the
///    published numbers on it; failing a walk, a bounded search for a sum of cycles
///    (``WitnessSearch``). Hiding only widens what the reader must consider, so a protected
///    number stays protected.
/// 3. If a hidden number has no witness even with every number that may be hidden hidden, the
///    table is withheld: always safe, and (the tests check) in practice only when no pattern
///    could protect it.
/// 4. Small groups: in a row or column whose total is under K (fewer than K people), a zero
///    shown as 0 tells the reader what none of them answered ("all of the 3 in healthcare named
///    a supervisor"). Each such zero is hidden as `<K` when the hidden numbers already give it a
///    second value; otherwise (rarely) it stays 0 — a known limit.
///
/// Ties are broken by position, so the result depends only on the numbers. The tests check the
/// guarantee independently by brute force over every consistent table.
struct Suppressor {
    /// The published numbers an arc stands for.
    enum Item: Hashable, Sendable {
        case cell(Int)
        case row(Int)
        case column(Int)
        case entries
    }

    struct Arc {
        let from: Int
        let to: Int
        let value: Int
        /// Nil for a slack arc, which is never published.
        let item: Item?
        /// A slack of unknown sign (a noisy total noised on its own).
        let free: Bool
        /// The reader knows this number is not 0.
        let knownPositive: Bool
        /// The cost of hiding it.
        let cost: Int
    }

    /// An upper bound "Σ lhs − rhs <= 0" of a covers relation; every arc in it meets `node`.
    struct Coupling {
        let node: Int
        /// Arc to coefficient (+1 for a count, −1 for the total).
        let coefficients: [Int: Int]
        /// rhs − Σ lhs today.
        let slack: Int
    }

    /// One step of a walk: an arc, pushed up (+1, from → to) or down (−1, to → from).
    private struct Step: Hashable {
        let arc: Int
        let up: Bool
        var delta: Int { up ? 1 : -1 }
    }

    private(set) var arcs: [Arc] = []
    private var incident: [[Int]] = []
    private var couplings: [Coupling] = []
    private var couplingsAt: [[Int]] = []
    private(set) var hidden: [Bool] = []
    private let minCount: Int
    private var witnessConstraints: [WitnessSearch.Constraint] = []

    /// Numbers hidden from the start (a two-field table's totals, as the one-field tables hide
    /// them).
    private let preset: Set<Item>
    /// Numbers that may not be hidden beyond `preset`.
    private let locked: [Bool]

    /// Builds the network of `table` for threshold `minCount` (>= 2). `preset` numbers start
    /// hidden; `locked` ones are never hidden unless in `preset`.
    init(_ table: ValueTable, minCount: Int, preset: Set<Item> = [], locked: Set<Item> = [.entries]) {
        self.minCount = minCount
        self.preset = preset
        var builder = NetworkBuilder(table: table)
        builder.build()
        arcs = builder.arcs
        couplings = builder.couplings
        incident = Array(repeating: [], count: builder.nodeCount)
        couplingsAt = Array(repeating: [], count: builder.nodeCount)
        for (i, a) in arcs.enumerated() {
            incident[a.from].append(i)
            incident[a.to].append(i)
        }
        for (i, c) in couplings.enumerated() { couplingsAt[c.node].append(i) }
        hidden = arcs.map { $0.item == nil }
        self.locked = arcs.map { a in a.item.map { locked.contains($0) && !preset.contains($0) } ?? false }
        witnessConstraints = Self.witnessConstraints(arcs, incident, couplings)
    }

    /// The hidden numbers, or nil when the table cannot be protected (withheld).
    mutating func run() -> Set<Item>? {
        var isProtected = arcs.map { $0.item == nil }
        for i in arcs.indices {
            guard let item = arcs[i].item else { continue }
            if (arcs[i].value >= 1 && arcs[i].value < minCount) || preset.contains(item) { hidden[i] = true }
        }
        var i = 0
        while i < arcs.count {
            guard hidden[i], !isProtected[i] else { i += 1; continue }
            if protects(i) { isProtected[i] = true; i += 1; continue }
            // A walk or a change vector found here is a verified witness: once its numbers are
            // hidden, `i` has a second value.
            if let walk = cheapestWalk(through: i, hiddenOnly: false) {
                for step in walk { hidden[step.arc] = true }
            } else if let change = witnessChange(for: i, allowPublished: true) {
                for (arc, d) in change.enumerated() where d != 0 { hidden[arc] = true }
            } else {
                return nil
            }
            isProtected[i] = true
            i = 0
        }
        hideZerosOfSmallGroups()
        return Set(arcs.indices.filter { hidden[$0] }.compactMap { arcs[$0].item })
    }

    // MARK: Residual network

    /// The reader's bounds of an arc's number once hidden (its mark decides them).
    private func bounds(_ a: Arc) -> (lo: Int, hi: Int) {
        guard a.item != nil else { return a.free ? (Int.min, Int.max) : (0, Int.max) }
        return a.value < minCount ? (a.knownPositive ? 1 : 0, minCount - 1) : (minCount, Int.max)
    }

    private func canMove(_ s: Step) -> Bool {
        let a = arcs[s.arc], b = bounds(a)
        return s.up ? a.value < b.hi : a.value > b.lo
    }

    private func tail(_ s: Step) -> Int { s.up ? arcs[s.arc].from : arcs[s.arc].to }
    private func head(_ s: Step) -> Int { s.up ? arcs[s.arc].to : arcs[s.arc].from }

    /// Whether passing through `node` from step `a` to step `b` keeps every upper bound there.
    private func turnAllowed(_ a: Step, _ b: Step, at node: Int) -> Bool {
        for ci in couplingsAt[node] {
            let c = couplings[ci]
            let change = (c.coefficients[a.arc] ?? 0) * a.delta + (c.coefficients[b.arc] ?? 0) * b.delta
            if change > c.slack { return false }
        }
        return true
    }

    /// Exact check that pushing one unit round `walk` gives a table the reader must consider.
    private func isWitness(_ walk: [Step]) -> Bool {
        var change: [Int: Int] = [:]
        for s in walk { change[s.arc, default: 0] += s.delta }
        for (arc, d) in change where d != 0 {
            let a = arcs[arc], b = bounds(a)
            let (v, o) = a.value.addingReportingOverflow(d)
            if o || v < b.lo || v > b.hi { return false }
        }
        for c in couplings {
            let total = c.coefficients.reduce(0) { $0 + $1.value * (change[$1.key] ?? 0) }
            if total > c.slack { return false }
        }
        return change[walk[0].arc, default: 0] != 0
    }

    /// Whether hidden arc `e` has a witness among hidden arcs only: a closed walk, or failing
    /// that a sum of cycles found by ``WitnessSearch``.
    func protects(_ e: Int) -> Bool {
        cheapestWalk(through: e, hiddenOnly: true) != nil || witnessChange(for: e, allowPublished: false) != nil
    }

    /// Small changes of the arcs (see ``WitnessSearch``) that change `e` and give a table the
    /// reader must consider; published arcs may change only when `allowPublished`.
    private func witnessChange(for e: Int, allowPublished: Bool) -> [Int]? {
        var lo: [Int] = [], hi: [Int] = []
        for (i, a) in arcs.enumerated() {
            if i == e || hidden[i] || (allowPublished && !locked[i]) {
                let b = bounds(a)
                lo.append(b.lo == Int.min ? -2 : max(-2, b.lo - a.value))
                hi.append(b.hi == Int.max ? 2 : min(2, b.hi - a.value))
            } else {
                lo.append(0)
                hi.append(0)
            }
        }
        var search = WitnessSearch(variableCount: arcs.count, constraints: witnessConstraints, budget: Self.witnessBudget)
        for d in [1, -1] where lo[e] <= d && d <= hi[e] {
            var l = lo, h = hi
            l[e] = d
            h[e] = d
            if let found = search.solve(lo: l, hi: h) { return found }
        }
        return nil
    }

    /// Search nodes one ``WitnessSearch`` may visit.
    static let witnessBudget = 4000

    /// Conservation at every node and every covers upper bound, over arc changes.
    private static func witnessConstraints(_ arcs: [Arc], _ incident: [[Int]], _ couplings: [Coupling]) -> [WitnessSearch.Constraint] {
        var out: [WitnessSearch.Constraint] = []
        for node in incident.indices {
            let terms = incident[node].map { WitnessSearch.Term(variable: $0, coefficient: arcs[$0].to == node ? 1 : -1) }
            out.append(.init(terms: terms, isEquality: true, rhs: 0))
        }
        for c in couplings {
            out.append(.init(terms: c.coefficients.sorted { $0.key < $1.key }.map { .init(variable: $0.key, coefficient: $0.value) },
                             isEquality: false, rhs: c.slack))
        }
        return out
    }

    /// The cheapest closed walk through `e` (each way round), hidden arcs costing nothing and
    /// published ones their cost, that is a witness; nil when none is found.
    private func cheapestWalk(through e: Int, hiddenOnly: Bool) -> [Step]? {
        var best: (cost: Int, walk: [Step])?
        for up in [true, false] {
            let first = Step(arc: e, up: up)
            guard canMove(first), let found = cheapestReturn(after: first, hiddenOnly: hiddenOnly) else { continue }
            if best == nil || found.cost < best!.cost { best = found }
        }
        return best?.walk
    }

    /// Dijkstra over steps (a step's neighbours are the steps leaving its head by an allowed
    /// turn) from `first` back to its tail; ties go to the lower step index.
    private func cheapestReturn(after first: Step, hiddenOnly: Bool) -> (cost: Int, walk: [Step])? {
        let index = { (s: Step) in s.arc * 2 + (s.up ? 0 : 1) }
        let step = { (i: Int) in Step(arc: i / 2, up: i % 2 == 0) }
        var dist = Array(repeating: Int.max, count: arcs.count * 2)
        var previous = Array(repeating: -1, count: arcs.count * 2)
        var done = Array(repeating: false, count: arcs.count * 2)
        var heap = MinHeap()
        dist[index(first)] = 0
        heap.push(0, index(first))
        let goal = tail(first)
        while let (d, si) = heap.pop() {
            guard !done[si], d == dist[si] else { continue }
            done[si] = true
            let s = step(si)
            let node = head(s)
            if node == goal, turnAllowed(s, first, at: node) {
                var walk: [Step] = []
                var cur = si
                while cur != index(first) { walk.append(step(cur)); cur = previous[cur] }
                let candidate = [first] + walk.reversed()
                if isWitness(candidate) { return (d, candidate) }
            }
            for b in incident[node] where b != first.arc && (hidden[b] || (!hiddenOnly && !locked[b])) {
                for up in [true, false] {
                    let next = Step(arc: b, up: up)
                    guard tail(next) == node, canMove(next), turnAllowed(s, next, at: node) else { continue }
                    let w = hidden[b] ? 0 : arcs[b].cost
                    let nd = d > Int.max - w ? Int.max : d + w
                    let ni = index(next)
                    if nd < dist[ni] {
                        dist[ni] = nd
                        previous[ni] = si
                        heap.push(nd, ni)
                    }
                }
            }
        }
        return nil
    }

    /// Step 4: hides the zeros of rows and columns whose total is under K when they have a
    /// witness already; repeats while that changes something.
    private mutating func hideZerosOfSmallGroups() {
        var candidates: [Int] = []
        for (i, a) in arcs.enumerated() where hidden[i] && a.value > 0 && a.value < minCount {
            guard let item = a.item else { continue }
            let node: Int
            switch item {
            case .row: node = a.to  // a row's cells leave its node
            case .column: node = a.from  // a column's cells enter its node
            default: continue
            }
            for c in incident[node] {
                guard case .cell = arcs[c].item, arcs[c].value == 0, !hidden[c], !candidates.contains(c) else { continue }
                candidates.append(c)
            }
        }
        var changed = true
        while changed {
            changed = false
            for c in candidates where !hidden[c] {
                hidden[c] = true
                if protects(c) { changed = true } else { hidden[c] = false }
            }
        }
    }
}
