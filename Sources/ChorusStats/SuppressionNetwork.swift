/// Lays out the flow network of a ``ValueTable``; see ``Suppressor`` for the meaning.
struct NetworkBuilder {
    let table: ValueTable
    var arcs: [Suppressor.Arc] = []
    var couplings: [Suppressor.Coupling] = []
    var nodeCount = 0
    private var arcOf: [Suppressor.Item: Int] = [:]

    init(table: ValueTable) { self.table = table }

    /// The cost of hiding a number: cells by value (zeros nearly free), totals far dearer than
    /// any set of cells, the number of entries dearest.
    private func cost(_ item: Suppressor.Item, _ value: Int) -> Int {
        let scale = table.cells.count + 2
        let base = value < Int.max / 2 ? value + 1 : Int.max / 2
        switch item {
        case .cell: return value == 0 ? 1 : base + 1  // 2 + value
        case .row, .column: return base > Int.max / (4 * scale) ? Int.max / 4 : base * scale * 2
        case .entries: return Int.max / 2
        }
    }

    private mutating func add(_ from: Int, _ to: Int, _ value: Int, _ item: Suppressor.Item, knownPositive: Bool = false) {
        arcOf[item] = arcs.count
        arcs.append(.init(from: from, to: to, value: value, item: item, free: false, knownPositive: knownPositive, cost: cost(item, value)))
    }

    private mutating func slack(_ from: Int, _ to: Int, _ value: Int) {
        arcs.append(.init(from: from, to: to, value: value, item: nil, free: table.mode == .noisy, knownPositive: false, cost: 0))
    }

    /// Records "Σ lhs <= rhs" (a covers relation's upper bound), checked at `node`, where all
    /// its arcs meet.
    private mutating func coupling(_ lhs: [Suppressor.Item], _ rhs: Suppressor.Item, at node: Int) {
        var coefficients: [Int: Int] = [arcOf[rhs]!: -1]
        for item in lhs { coefficients[arcOf[item]!] = 1 }
        let slack = arcs[arcOf[rhs]!].value - lhs.reduce(0) { $0 + arcs[arcOf[$1]!].value }
        couplings.append(.init(node: node, coefficients: coefficients, slack: slack))
    }

    /// Couplings of a covers relation: children (one per category of `dim`) within `parent`.
    private mutating func cover(_ dim: CountTable.Dimension, children: (Int) -> Suppressor.Item, parent: Suppressor.Item, at node: Int) {
        guard dim.multiValued, table.mode == .exact else { return }
        let na = dim.notAnsweredIndex
        for k in dim.values.indices where k != na {
            coupling([children(k)] + (na.map { [children($0)] } ?? []), parent, at: node)
        }
    }

    private func isEdge(_ dim: CountTable.Dimension, _ i: Int) -> Bool {
        dim.rangeFromData && (i == 0 || i == dim.values.count - 1)
    }

    mutating func build() {
        let rows = table.dimensions[0]
        let r = table.rowCount
        if !table.isTwoDimensional {
            // 0 = source, 1 = sink.
            nodeCount = 2
            for i in 0..<r { add(0, 1, table.cells[i], .cell(i), knownPositive: isEdge(rows, i)) }
            add(1, 0, table.entries, .entries)
            if rows.multiValued { slack(1, 0, table.cells.reduce(0, +) - table.entries) }
            cover(rows, children: { .cell($0) }, parent: .entries, at: 0)
            return
        }
        let columns = table.dimensions[1]
        let c = table.columnCount
        // 0 = source, 1 = sink, 2 = hub, 3 ..< 3+r rows, 3+r ..< 3+r+c columns.
        nodeCount = 3 + r + c
        let row = { 3 + $0 }, column = { 3 + r + $0 }
        add(1, 0, table.entries, .entries)
        for i in 0..<r { add(0, row(i), table.rowTotals[i], .row(i), knownPositive: isEdge(rows, i)) }
        for i in 0..<r {
            for j in 0..<c { add(row(i), column(j), table.cells[i * c + j], .cell(i * c + j)) }
        }
        for j in 0..<c { add(column(j), 1, table.columnTotals[j], .column(j), knownPositive: isEdge(columns, j)) }
        let cells = table.cells
        let rowSum = { (i: Int) in (0..<c).reduce(0) { $0 + cells[i * c + $1] } }
        let columnSum = { (j: Int) in (0..<r).reduce(0) { $0 + cells[$1 * c + j] } }
        if columns.multiValued {
            for i in 0..<r { slack(2, row(i), rowSum(i) - table.rowTotals[i]) }
            slack(1, 2, table.columnTotals.reduce(0, +) - table.entries)
        }
        if rows.multiValued {
            for j in 0..<c { slack(column(j), 2, columnSum(j) - table.columnTotals[j]) }
            slack(2, 0, table.rowTotals.reduce(0, +) - table.entries)
        }
        for i in 0..<r { cover(columns, children: { .cell(i * c + $0) }, parent: .row(i), at: row(i)) }
        for j in 0..<c { cover(rows, children: { .cell($0 * c + j) }, parent: .column(j), at: column(j)) }
        cover(rows, children: { .row($0) }, parent: .entries, at: 0)
        cover(columns, children: { .column($0) }, parent: .entries, at: 1)
    }
}

/// A binary min-heap of (priority, value), ties broken by the smaller value.
struct MinHeap {
    private var items: [(Int, Int)] = []

    private static func less(_ a: (Int, Int), _ b: (Int, Int)) -> Bool { a.0 < b.0 || (a.0 == b.0 && a.1 < b.1) }

    mutating func push(_ priority: Int, _ value: Int) {
        items.append((priority, value))
        var i = items.count - 1
        while i > 0 {
            let p = (i - 1) / 2
            guard Self.less(items[i], items[p]) else { break }
            items.swapAt(i, p)
            i = p
        }
    }

    mutating func pop() -> (Int, Int)? {
        guard !items.isEmpty else { return nil }
        let top = items[0]
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < items.count, Self.less(items[l], items[m]) { m = l }
                if r < items.count, Self.less(items[r], items[m]) { m = r }
                if m == i { break }
                items.swapAt(i, m)
                i = m
            }
        }
        return top
    }
}
