@testable import ChorusStats

/// An independent reader of a whole release: the full joint table over every field of the
/// release (every combination of categories, every subset of a multi-valued field's values) as
/// integer unknowns, every published number of every table as an equation, every hidden one as
/// its mark's range, and GLPK's integer programming for the smallest and largest value of each
/// hidden number. It shares nothing with `JointAudit` but the thin GLPK wrapper: no restricted
/// model, no witnesses, no sampling. It reads only what was published (`Table`s, made from
/// reports or from `chorus stats --format json`). Only for small releases (the joint table
/// must fit).
public struct JointReference {
    public struct Field {
        public let id: String
        public let categories: Int
        public let multiValued: Bool
        /// The index of the "not answered" category, if shown.
        public let notAnswered: Int?
        public let categoriesFromData: Bool
        public init(id: String, categories: Int, multiValued: Bool, notAnswered: Int?, categoriesFromData: Bool) {
            self.id = id
            self.categories = categories
            self.multiValued = multiValued
            self.notAnswered = notAnswered
            self.categoriesFromData = categoriesFromData
        }
    }

    /// One published number: exact, or hidden with the bounds its mark gives.
    public enum Mark: Equatable {
        case exact(Int)
        case fewerThan(Int)
        case atLeast(Int)
    }

    public struct Table {
        /// One or two field ids.
        public let fields: [String]
        public let cells: [Mark]
        public let rowTotals: [Mark]
        public let columnTotals: [Mark]
        public let entries: Mark
        public init(fields: [String], cells: [Mark], rowTotals: [Mark], columnTotals: [Mark], entries: Mark) {
            self.fields = fields
            self.cells = cells
            self.rowTotals = rowTotals
            self.columnTotals = columnTotals
            self.entries = entries
        }
    }

    public struct Finding: CustomStringConvertible {
        public let table: Int
        public let item: String
        public let lo: Int
        public let hi: Int
        public var description: String { "table \(table) \(item): a reader finds \(lo)...\(hi)" }
    }

    /// The hidden numbers that break the rule (0 or at least K possible, and a range of at least
    /// 2), and the number of hidden numbers checked.
    public static func violations(fields: [Field], tables: [Table], k: Int) -> (found: [Finding], checked: Int) {
        var choices: [[UInt64]] = []
        for d in fields {
            if d.multiValued {
                let n = d.categories - (d.notAnswered == nil ? 0 : 1)
                choices.append((d.notAnswered == nil ? [] : [0]) + (1 ..< (UInt64(1) << UInt64(n))).map { $0 })
            } else {
                choices.append((0..<d.categories).map(UInt64.init))
            }
        }
        var combos: [[UInt64]] = [[]]
        for c in choices { combos = combos.flatMap { prefix in c.map { prefix + [$0] } } }
        func holds(_ combo: [UInt64], _ f: Int, _ cat: Int) -> Bool {
            let d = fields[f]
            guard d.multiValued else { return combo[f] == UInt64(cat) }
            if cat == d.notAnswered { return combo[f] == 0 }
            return (combo[f] >> UInt64(cat)) & 1 == 1
        }
        var program = IntegerProgram()
        for _ in combos { _ = program.addVariable() }
        var hidden: [(row: Int, table: Int, item: String)] = []
        func constrain(_ conditions: [(Int, Int)], _ shown: Mark, table: Int, item: String, edge: Bool) {
            let vars = combos.indices.filter { v in conditions.allSatisfy { holds(combos[v], $0.0, $0.1) } }
            let terms = vars.map { (variable: $0, coefficient: 1.0) }
            switch shown {
            case let .exact(x): program.rows.append(.init(terms: terms, lo: Double(x), hi: Double(x)))
            case let .fewerThan(kk):
                hidden.append((program.rows.count, table, item))
                program.rows.append(.init(terms: terms, lo: edge ? 1 : 0, hi: Double(kk - 1)))
            case let .atLeast(kk):
                hidden.append((program.rows.count, table, item))
                program.rows.append(.init(terms: terms, lo: Double(kk), hi: nil))
            }
        }
        let index = Dictionary(fields.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { a, _ in a })
        for (t, table) in tables.enumerated() {
            let f = index[table.fields[0]]!
            func edge(_ d: Int, _ i: Int) -> Bool { fields[d].categoriesFromData && (i == 0 || i == fields[d].categories - 1) }
            constrain([], table.entries, table: t, item: "entries", edge: false)
            if table.fields.count == 1 {
                for i in table.cells.indices { constrain([(f, i)], table.cells[i], table: t, item: "cell \(i)", edge: edge(f, i)) }
            } else {
                let g = index[table.fields[1]]!
                let c = fields[g].categories
                for i in 0..<fields[f].categories {
                    constrain([(f, i)], table.rowTotals[i], table: t, item: "row \(i)", edge: edge(f, i))
                    for j in 0..<c { constrain([(f, i), (g, j)], table.cells[i * c + j], table: t, item: "cell \(i),\(j)", edge: false) }
                }
                for j in 0..<c { constrain([(g, j)], table.columnTotals[j], table: t, item: "column \(j)", edge: edge(g, j)) }
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
                found.append(Finding(table: h.table, item: h.item + " (no optimum found)", lo: -1, hi: -1))
                continue
            }
            if !((lo == 0 || hi >= k) && hi - lo >= 2) { found.append(Finding(table: h.table, item: h.item, lo: lo, hi: hi)) }
        }
        return (found, hidden.count)
    }
}

extension JointReference {
    /// The reader's view of reports `chorus stats` made (published ones only).
    public static func violations(reports: [StatsReport], k: Int) -> (found: [Finding], checked: Int) {
        var fields: [Field] = []
        var tables: [Table] = []
        func mark(_ p: PublishedCount) -> Mark {
            switch p {
            case let .exact(n): return .exact(n)
            case let .fewerThan(n): return .fewerThan(n)
            case let .atLeast(n): return .atLeast(n)
            }
        }
        for r in reports {
            for d in r.dimensions where !fields.contains(where: { $0.id == d.fieldID }) {
                fields.append(Field(id: d.fieldID, categories: d.values.count, multiValued: d.multiValued,
                                    notAnswered: d.values.last == .some(nil) ? d.values.count - 1 : nil, categoriesFromData: d.rangeFromData))
            }
            guard case let .published(p) = r.outcome else { continue }
            tables.append(Table(fields: r.dimensions.map(\.fieldID), cells: p.cells.map(mark), rowTotals: p.rowTotals.map(mark),
                                columnTotals: p.columnTotals.map(mark), entries: mark(p.entries)))
        }
        return violations(fields: fields, tables: tables, k: k)
    }
}
