import Foundation

/// The audit of everything one release publishes, taken together.
///
/// Each table is first protected on its own (``Disclosure``). A reader holds all the tables of a
/// release, though, and every number of every table is a count of the same entries: the
/// setting × role, setting × reported and role × reported tables are three views of one
/// three-way table, and an integer program over that table can pin a hidden cell that each
/// table alone leaves open. The audit takes the reader's view: the unknown is the joint table
/// of the entries over every field of the release, and every published number (cells, totals,
/// the number of entries) is a linear equation on it; every hidden one a range (`<K`: 0 to
/// K−1, `x`: K or more).
///
/// ## The rule
///
/// For every hidden number, among the non-negative integer joint tables consistent with
/// everything published, the smallest and largest values it takes must allow 0 or a value of
/// at least K (a reader can never conclude "between 1 and K−1"), and differ by at least 2.
///
/// ## How it is proven
///
/// By witnesses: integer joint tables found by GLPK's integer programming (``IntegerProgram``),
/// each checked exactly in integers, each consistent with everything published. The true
/// entries are one. A hidden number passes when the values it takes in the witnesses found
/// satisfy the rule; the reader's true range contains them, so it satisfies the rule too. The
/// programs search a restricted set of joint tables: the entries of the hidden numbers (all of
/// those of a number below K, a sample of those of a larger one) may each move to another
/// category of one field, and every other entry stays where it is. A restriction can only miss
/// witnesses, never invent one, so it costs utility (more hiding) and never safety.
///
/// ## When a hidden number fails
///
/// An integer program finds the cheapest set of published numbers whose hiding lets a witness
/// exist (a zero cell costs 1, another cell 2 plus its value, a total far more), they are hidden,
/// and everything is audited again. Failing that, every table the number appears in is
/// withheld. Hiding and withholding only widen what the reader must consider, so witnesses
/// found before stay witnesses. When the time limit is reached, every table that still has an
/// unproven hidden number is withheld: the audit publishes less, never more.
public enum JointAudit {
    /// The default limit on the audit's time.
    public static let defaultTimeLimitMilliseconds = 60_000

    /// What the audit changed.
    public struct Summary: Sendable, Equatable {
        /// Numbers the audit hid beyond each table's own protection.
        public var hidden = 0
        /// Tables the audit withheld.
        public var withheld = 0
        /// The time limit was reached (and the tables still unproven withheld).
        public var timedOut = false
        /// Integer programs solved.
        public var programs = 0
        /// The audit's time, in milliseconds.
        public var milliseconds = 0

        public init() {}
    }

    /// A condition on one field: the entry lies in `category`.
    struct Condition: Hashable, Comparable {
        let field: Int
        let category: Int
        static func < (a: Condition, b: Condition) -> Bool { (a.field, a.category) < (b.field, b.category) }
    }

    /// Protects `tables` (each table's exact counts and its report protected alone) as one
    /// release of `population`, for threshold `k`. Noisy reports are not audited (the noise
    /// protects them, and their numbers do not satisfy exact relations); neither is K below 2.
    ///
    /// `earlier`: tables already published from exactly these entries (earlier releases of the
    /// same population, as the release log kept them). They are part of what the reader holds, so
    /// they are audited with the new tables, but they cannot change: only the new tables hide more
    /// or are withheld, and only the new tables' reports are returned.
    public static func protect(_ tables: [(counts: CountTable, report: StatsReport)], earlier: [(counts: CountTable, report: StatsReport)] = [],
                               population: PopulationCategories, minCount k: Int,
                               timeLimitMilliseconds: Int = defaultTimeLimitMilliseconds) -> (reports: [StatsReport], summary: Summary) {
        guard k >= 2, tables.allSatisfy({ $0.report.noise == nil }) else { return (tables.map(\.report), Summary()) }
        let start = Date()
        var audit = Audit(tables: earlier + tables, earlier: earlier.count, population: population, minCount: k, timeLimit: timeLimitMilliseconds)
        audit.run()
        var summary = audit.summary
        summary.milliseconds = Int(Date().timeIntervalSince(start) * 1000)
        return (Array(audit.rewritten().dropFirst(earlier.count)), summary)
    }

    /// One run of the audit.
    struct Audit {
        let tables: [(counts: CountTable, report: StatsReport)]
        let population: PopulationCategories
        let k: Int
        let deadline: Date
        var summary = Summary()

        /// The distinct published numbers, by their conditions (none: the number of entries).
        var predicates: [[Condition]] = []
        /// Number by key (``key(_:)``).
        var index: [Int: Int] = [:]
        var value: [Int] = []
        var hiddenAlone: [Bool] = []
        var knownPositive: [Bool] = []
        /// Per number: the (table, item) places it is shown.
        var places: [[(table: Int, item: Suppressor.Item)]] = []
        var extra = Set<Int>()
        var withheld = Set<Int>()
        /// Tables 0 ..< locked were published before: they never change.
        var locked = 0
        /// Numbers an earlier release showed exactly (they can never be hidden now), and numbers it
        /// hid (the new tables hide them too).
        var shownBefore = Set<Int>()
        var hiddenBefore = Set<Int>()
        /// Per number: the smallest and largest value seen in a witness.
        var seen: [(lo: Int, hi: Int)] = []
        /// Field pairs some table crosses.
        var pairs = Set<[Int]>()
        /// The distinct combinations of categories and how many entries have each, in a fixed
        /// order (so the audit depends on the numbers only, never on the order entries were read).
        var groups: [(combo: [UInt64], count: Int)] = []

        init(tables: [(counts: CountTable, report: StatsReport)], earlier earlierCount: Int = 0, population: PopulationCategories, minCount: Int, timeLimit: Int) {
            self.tables = tables
            locked = earlierCount
            self.population = population
            k = minCount
            deadline = Date().addingTimeInterval(Double(max(0, timeLimit)) / 1000)
            let fieldOf = Dictionary(population.dimensions.enumerated().map { ($1.fieldID, $0) }, uniquingKeysWith: { a, _ in a })
            for (t, table) in tables.enumerated() {
                guard case let .published(shown) = table.report.outcome else { continue }
                let dims = table.counts.dimensions
                guard let f = fieldOf[dims[0].fieldID] else { continue }
                func add(_ conditions: [Condition], _ v: Int, _ mark: PublishedCount, _ item: Suppressor.Item, edge: Bool = false) {
                    let key = conditions.sorted()
                    let packed = Self.key(key)
                    let i: Int
                    if let found = index[packed] { i = found } else {
                        i = predicates.count
                        index[packed] = i
                        predicates.append(key)
                        value.append(v)
                        hiddenAlone.append(true)
                        knownPositive.append(false)
                        places.append([])
                        seen.append((v, v))
                    }
                    // A number shown exactly in any table is known.
                    if !mark.isSuppressed { hiddenAlone[i] = false }
                    if t < earlierCount { if mark.isSuppressed { hiddenBefore.insert(i) } else { shownBefore.insert(i) } }
                    if edge { knownPositive[i] = true }
                    places[i].append((t, item))
                }
                func isEdge(_ d: CountTable.Dimension, _ i: Int) -> Bool { d.rangeFromData && (i == 0 || i == d.values.count - 1) }
                add([], table.counts.entries, shown.entries, .entries)
                if dims.count == 1 {
                    for i in table.counts.cells.indices {
                        add([Condition(field: f, category: i)], table.counts.cells[i], shown.cells[i], .cell(i), edge: isEdge(dims[0], i))
                    }
                } else {
                    guard let g = fieldOf[dims[1].fieldID] else { continue }
                    pairs.insert([min(f, g), max(f, g)])
                    let c = table.counts.columnCount
                    for i in 0..<table.counts.rowCount {
                        add([Condition(field: f, category: i)], table.counts.rowTotals[i], shown.rowTotals[i], .row(i), edge: isEdge(dims[0], i))
                        for j in 0..<c {
                            add([Condition(field: f, category: i), Condition(field: g, category: j)], table.counts.cells[i * c + j],
                                shown.cells[i * c + j], .cell(i * c + j))
                        }
                    }
                    for j in 0..<c {
                        add([Condition(field: g, category: j)], table.counts.columnTotals[j], shown.columnTotals[j], .column(j), edge: isEdge(dims[1], j))
                    }
                }
            }
            var counted: [[UInt64]: Int] = [:]
            let f = population.dimensions.count
            for e in 0..<population.count {
                counted[(0..<f).map { population.code(e, $0) }, default: 0] += 1
            }
            groups = counted.map { ($0.key, $0.value) }.sorted { $0.combo.lexicographicallyPrecedes($1.combo) }
            // What an earlier release of these entries hid, a new table does not show.
            for p in hiddenBefore where !shownBefore.contains(p) && !hiddenAlone[p] {
                hiddenAlone[p] = true
                carried.insert(p)
            }
        }

        /// Numbers hidden because an earlier release hid them.
        var carried = Set<Int>()

        func isHidden(_ p: Int) -> Bool { hiddenAlone[p] || extra.contains(p) }

        /// Shown in a table that is still published.
        func isActive(_ p: Int) -> Bool { places[p].contains { !withheld.contains($0.table) } }

        /// The bounds a reader gives a hidden number from its mark (nil: no upper bound).
        func markBounds(_ p: Int) -> (lo: Int, hi: Int?) {
            let lo = value[p] < k ? 0 : k
            return (knownPositive[p] ? max(lo, 1) : lo, value[p] < k ? k - 1 : nil)
        }

        func isProven(_ p: Int) -> Bool {
            let s = seen[p]
            return (s.lo == 0 || s.hi >= k) && s.hi - s.lo >= 2
        }

        /// The key of a number with these conditions: 0 for none, one packed condition, or two.
        static func key(_ conditions: [Condition]) -> Int {
            conditions.reduce(0) { $0 << 20 | code($1.field, $1.category) }
        }

        static func code(_ field: Int, _ category: Int) -> Int { field * 1024 + category + 1 }

        /// Every published number a combination of categories counts in (active or not).
        func numbers(of combo: [UInt64]) -> [Int] {
            var out: [Int] = []
            let f = population.dimensions.count
            let cats = (0..<f).map { population.categoriesOf(combo, field: $0) }
            if let p = index[0] { out.append(p) }
            for a in 0..<f {
                for c in cats[a] {
                    if let p = index[Self.code(a, c)] { out.append(p) }
                }
            }
            for pair in pairs {
                for c1 in cats[pair[0]] {
                    let high = Self.code(pair[0], c1) << 20
                    for c2 in cats[pair[1]] {
                        if let p = index[high | Self.code(pair[1], c2)] { out.append(p) }
                    }
                }
            }
            return out
        }

        /// The combinations one entry of `combo` may move to: another category of one field.
        func neighbours(of combo: [UInt64], fields only: Set<Int>? = nil) -> [[UInt64]] {
            var out: [[UInt64]] = []
            for (f, d) in population.dimensions.enumerated() where only?.contains(f) ?? true {
                if d.multiValued {
                    let values = min(64, d.values.count - (d.notAnsweredIndex == nil ? 0 : 1))
                    for b in 0..<values {
                        var c = combo
                        c[f] ^= UInt64(1) << UInt64(b)
                        if c[f] != 0 || d.notAnsweredIndex != nil { out.append(c) }
                    }
                    if d.notAnsweredIndex != nil, combo[f] != 0 {
                        var c = combo
                        c[f] = 0
                        out.append(c)
                    }
                } else {
                    for b in 0..<d.values.count where UInt64(b) != combo[f] {
                        var c = combo
                        c[f] = UInt64(b)
                        out.append(c)
                    }
                }
            }
            return out
        }

        /// The restricted integer program of the reader's view (see the type's documentation):
        /// one integer variable per combination of categories that some entry which may move has
        /// or may move to. It only grows during an audit.
        struct Model {
            var program = IntegerProgram()
            var combos: [[UInt64]] = []
            var variable: [[UInt64]: Int] = [:]
            /// The true value of each variable (entries of that combination that may move).
            var truth: [Int] = []
            /// Per number: its variables and its value from the entries that stay.
            var terms: [[Int]] = []
            var fixed: [Int] = []
            /// Per number: its row in the program, if any variable counts in it.
            var row: [Int?] = []
            /// Entries that may move, per combination, and in all.
            var taken: [[UInt64]: Int] = [:]
            var total = 0

            func value(_ p: Int, _ x: [Int]) -> Int { fixed[p] + terms[p].reduce(0) { $0 + x[$1] } }
        }

        static let maxMovable = 1500
        static let maxVariables = 30_000

        /// Lets a sample of the entries of `numbers` move: every entry of a number for which
        /// `all` holds, up to `quota` of each other one.
        /// With `pruned`, an entry may move only to a combination that counts in some hidden number
        /// it did not count in before (a move that only enters shown numbers needs another move
        /// out of each, which is rare; leaving such moves out makes the programs far smaller).
        /// With `fields`, an entry may move only to another category of one of those fields.
        func extend(_ m: inout Model, from numbers: [Int], quota perNumber: Int, pruned: Bool, fields: Set<Int>? = nil, all: (Int) -> Bool) {
            let wanted = Set(numbers)
            guard !wanted.isEmpty else { return }
            var quota: [Int: Int] = [:]
            for p in numbers { quota[p] = perNumber }
            var added: [[UInt64]] = []
            for g in groups where m.total < Self.maxMovable {
                let hits = self.numbers(of: g.combo).filter(wanted.contains)
                guard !hits.isEmpty else { continue }
                let left = g.count - (m.taken[g.combo] ?? 0)
                let take = hits.contains(where: all) ? left : min(left, hits.map { quota[$0] ?? 0 }.max() ?? 0)
                let n = min(take, Self.maxMovable - m.total)
                guard n > 0 else { continue }
                for h in hits { quota[h] = max(0, (quota[h] ?? 0) - n) }
                m.taken[g.combo, default: 0] += n
                m.total += n
                addVariable(&m, g.combo, truth: n)
                added.append(g.combo)
            }
            outer: for combo in added {
                let before = pruned ? Set(self.numbers(of: combo)) : []
                for c in neighbours(of: combo, fields: fields) {
                    if m.combos.count >= Self.maxVariables { break outer }
                    if pruned, m.variable[c] == nil, !self.numbers(of: c).contains(where: { !before.contains($0) && isActive($0) && isHidden($0) }) { continue }
                    addVariable(&m, c, truth: 0)
                }
            }
            refresh(&m)
        }

        func addVariable(_ m: inout Model, _ combo: [UInt64], truth: Int) {
            if m.terms.isEmpty {
                m.terms = Array(repeating: [], count: predicates.count)
                m.fixed = value
                m.row = Array(repeating: nil, count: predicates.count)
            }
            let v: Int
            if let found = m.variable[combo] {
                v = found
                m.truth[v] += truth
            } else {
                v = m.program.addVariable(lo: 0, hi: 0)
                m.variable[combo] = v
                m.combos.append(combo)
                m.truth.append(truth)
                for p in numbers(of: combo) { m.terms[p].append(v) }
            }
            if truth > 0 { for p in numbers(of: combo) { m.fixed[p] -= truth } }
        }

        /// Sets every row's bounds from what is published now: an equation for a shown number,
        /// the mark's range for a hidden one, nothing for a number no published table shows.
        func refresh(_ m: inout Model) {
            for v in m.program.upper.indices { m.program.upper[v] = Double(m.total) }
            for p in predicates.indices where !m.terms[p].isEmpty {
                let lo: Double?, hi: Double?
                if !isActive(p) {
                    lo = nil
                    hi = nil
                } else if isHidden(p) {
                    let b = markBounds(p)
                    lo = Double(b.lo - m.fixed[p])
                    hi = b.hi.map { Double($0 - m.fixed[p]) }
                } else {
                    lo = Double(value[p] - m.fixed[p])
                    hi = lo
                }
                if let r = m.row[p] {
                    m.program.rows[r].lo = lo
                    m.program.rows[r].hi = hi
                    m.program.rows[r].terms = m.terms[p].map { ($0, 1) }
                } else {
                    m.row[p] = m.program.rows.count
                    m.program.rows.append(.init(terms: m.terms[p].map { ($0, 1) }, lo: lo, hi: hi))
                }
            }
        }

        /// Widens the seen ranges with a checked solution.
        mutating func record(_ x: [Int], _ m: Model) {
            for p in predicates.indices where isActive(p) {
                let v = m.value(p, x)
                seen[p] = (min(seen[p].lo, v), max(seen[p].hi, v))
            }
        }

        var timeLeft: Int { Int(deadline.timeIntervalSinceNow * 1000) }

        mutating func solve(_ program: IntegerProgram, objective: [(variable: Int, coefficient: Double)], maximize: Bool, timeLimit: Int = 10_000) -> [Int]? {
            guard timeLeft > 0 else { return nil }
            summary.programs += 1
            switch program.solve(objective: objective, maximize: maximize, timeLimitMilliseconds: min(timeLeft, timeLimit)) {
            case let .optimal(x), let .feasible(x): return program.isSolution(x) ? x : nil
            case .infeasible, .unknown: return nil
            }
        }

        /// The ranges a target for `p` may ask for, to make it pass: first 0, then a value 2 from
        /// what has been seen.
        func targets(_ p: Int) -> [(lo: Int, hi: Int?)] {
            let b = markBounds(p), s = seen[p]
            var out: [(lo: Int, hi: Int?)] = []
            if !(s.lo == 0 || s.hi >= k) {
                if b.lo == 0 { out.append((0, 0)) }
                return out
            }
            if s.hi - 2 >= b.lo { out.append((b.lo, s.hi - 2)) }
            if b.hi.map({ s.lo + 2 <= $0 }) ?? true { out.append((s.lo + 2, b.hi)) }
            return out
        }

        /// The cheapest published numbers to hide so that a witness moves `p` into `target`,
        /// with the witness; nil when none is found (within 2 s). First lets a few entries of the shown numbers
        /// beside `p` move too.
        mutating func cheapestHiding(for p: Int, target: (lo: Int, hi: Int?), _ m: inout Model, withinFields: Bool = true) -> (numbers: [Int], witness: [Int])? {
            // The shown numbers beside `p` in its own tables: the same fields, one condition different
            // (another category of a one-field table, another cell of the same row or column).
            let mine = predicates[p]
            let related = predicates.indices.filter { q in
                let other = predicates[q]
                guard isActive(q), !isHidden(q), other.count == mine.count, !other.isEmpty,
                      other.map(\.field) == mine.map(\.field) else { return false }
                return zip(other, mine).filter { $0 != $1 }.count == 1
            }
            // They move within the fields of `p`'s table: the cycles that widen it run there.
            extend(&m, from: related, quota: 3, pruned: false, fields: withinFields ? Set(mine.map(\.field)) : nil, all: { _ in false })
            guard let r = m.row[p] else { return nil }
            var program = m.program
            var objective: [(variable: Int, coefficient: Double)] = []
            var switches: [(number: Int, z: Int)] = []
            let total = Double(m.total)
            // Only numbers of the tables `p` is shown in may be hidden for it: a smaller program,
            // and hiding stays where the reader looks for `p`.
            let tablesOfP = Set(places[p].map(\.table))
            for q in predicates.indices where isActive(q) && !isHidden(q) && !predicates[q].isEmpty && !shownBefore.contains(q) {
                guard let row = m.row[q], places[q].contains(where: { tablesOfP.contains($0.table) }) else { continue }
                let up = value[q] == 0 ? Double(k - 1) : total
                let down = value[q] == 0 ? 0 : Double(max(0, value[q] - k))
                let z = program.addVariable(lo: 0, hi: 1)
                let plus = program.addVariable(lo: 0, hi: up)
                let minus = program.addVariable(lo: 0, hi: down)
                program.rows[row].terms += [(plus, -1), (minus, 1)]
                program.rows.append(.init(terms: [(plus, 1), (z, -up)], lo: nil, hi: 0))
                program.rows.append(.init(terms: [(minus, 1), (z, -down)], lo: nil, hi: 0))
                let cost = predicates[q].count == 1 ? 1000 + value[q] : (value[q] == 0 ? 1 : 2 + value[q])
                objective.append((z, Double(cost)))
                switches.append((q, z))
            }
            program.rows[r].lo = Double(target.lo - m.fixed[p])
            program.rows[r].hi = target.hi.map { Double($0 - m.fixed[p]) }
            guard let x = solve(program, objective: objective, maximize: false, timeLimit: 2_000) else { return nil }
            let chosen = switches.filter { x[$0.z] == 1 }.map(\.number)
            return (chosen, Array(x[0..<m.combos.count]))
        }

        /// Withholds the new tables `p` is shown in; when it is shown only in earlier ones, the new
        /// tables on its fields, and failing those every new table. Returns false when nothing was
        /// left to withhold.
        @discardableResult
        mutating func withhold(tablesOf p: Int) -> Bool {
            let fresh = tables.indices.filter { $0 >= locked && !withheld.contains($0) }
            let fields = Set(predicates[p].map(\.field))
            let fieldIDs = Set(fields.map { population.dimensions[$0].fieldID })
            var chosen = fresh.filter { t in places[p].contains { $0.table == t } }
            if chosen.isEmpty { chosen = fresh.filter { t in tables[t].counts.dimensions.contains { fieldIDs.contains($0.fieldID) } } }
            if chosen.isEmpty { chosen = fresh }
            for t in chosen {
                withheld.insert(t)
                summary.withheld += 1
            }
            return !chosen.isEmpty
        }

        func unproven() -> [Int] { predicates.indices.filter { isActive($0) && isHidden($0) && !isProven($0) } }

        mutating func run() {
            var m = Model()
            let hidden = predicates.indices.filter { isActive($0) && isHidden($0) }
            extend(&m, from: hidden, quota: 2 * k + 4, pruned: true, all: { value[$0] < k })
            // Two programs first that move every unproven number at once, down and then up: one
            // witness often proves many.
            for maximize in [false, true] {
                let open = unproven()
                guard !open.isEmpty, timeLeft > 0 else { break }
                let objective = open.compactMap { m.row[$0] }.flatMap { m.program.rows[$0].terms }
                if let x = solve(m.program, objective: objective, maximize: maximize) { record(x, m) }
            }
            rounds: while true {
                let open = unproven()
                if open.isEmpty { return }
                if timeLeft <= 0 { break rounds }
                refresh(&m)
                for p in open where !isProven(p) {
                    guard let r = m.row[p] else {
                        // No entry may move in or out of it: its value is known. Withhold.
                        if !withhold(tablesOf: p) { return }
                        continue rounds
                    }
                    let objective = m.program.rows[r].terms
                    for maximize in [false, true] where !isProven(p) {
                        guard let x = solve(m.program, objective: objective, maximize: maximize) else {
                            if timeLeft <= 0 { break rounds }
                            continue
                        }
                        record(x, m)
                    }
                    if isProven(p) { continue }
                    if timeLeft <= 0 { break rounds }
                    var fixedUp = false
                    // In a small release entries may move in any field; in a large one only within the
                    // number's fields (smaller programs, found in time).
                    let attempts = targets(p).map { ($0, population.count > 2000) }
                    for (target, within) in attempts {
                        // On a copy: a large model grown for a search that finds nothing would only slow the rest.
                        var trial = m
                        if let found = cheapestHiding(for: p, target: target, &trial, withinFields: within) {
                            for q in found.numbers where extra.insert(q).inserted { summary.hidden += 1 }
                            // The witness satisfies everything published once `found.numbers` are hidden.
                            record(found.witness, trial)
                            m = trial
                            fixedUp = true
                            break
                        }
                        // A small release keeps what the search grew: more entries that may move serve the
                        // next numbers.
                        if population.count <= 2000 { m = trial }
                        if timeLeft <= 0 { break rounds }
                    }
                    if !fixedUp, !withhold(tablesOf: p) { return }
                    continue rounds
                }
            }
            summary.timedOut = true
            for p in unproven() where isActive(p) && !withhold(tablesOf: p) { break }
        }

        /// The reports as published after the audit.
        func rewritten() -> [StatsReport] {
            var marks: [Int: [Suppressor.Item: PublishedCount]] = [:]
            for p in predicates.indices {
                let shown: PublishedCount = isHidden(p) ? (value[p] < k ? .fewerThan(k) : .atLeast(k)) : .exact(value[p])
                for place in places[p] { marks[place.table, default: [:]][place.item] = shown }
            }
            var jointly: [Int: Int] = [:]
            for p in extra.union(carried) { for place in places[p] { jointly[place.table, default: 0] += 1 } }
            return tables.enumerated().map { t, table in
                let r = table.report
                guard case let .published(old) = r.outcome else { return r }
                if withheld.contains(t) {
                    var out = StatsReport(dimensions: r.dimensions, minCount: r.minCount, noise: r.noise, outcome: .withheld(entries: table.counts.entries))
                    out.withheldJointly = true
                    return out
                }
                let m = marks[t] ?? [:]
                let counts = PublishedCounts(
                    cells: old.cells.indices.map { m[.cell($0)] ?? old.cells[$0] },
                    rowTotals: old.rowTotals.indices.map { m[.row($0)] ?? old.rowTotals[$0] },
                    columnTotals: old.columnTotals.indices.map { m[.column($0)] ?? old.columnTotals[$0] },
                    entries: m[.entries] ?? old.entries)
                var out = StatsReport(dimensions: r.dimensions, minCount: r.minCount, noise: r.noise, outcome: .published(counts))
                out.jointlyHidden = jointly[t] ?? 0
                return out
            }
        }
    }
}
