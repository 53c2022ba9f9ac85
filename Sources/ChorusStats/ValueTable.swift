/// The numbers about to be published (exact counts, or noisy ones) with the structure that
/// relates them; what suppression works on.
struct ValueTable: Sendable, Equatable {
    enum Mode: Sendable, Equatable {
        /// Exact counts: a multi-valued field's counts *cover* their parent (see ``CountTable``).
        case exact
        /// Noisy counts: a total summed from noisy cells equals that sum; a total noised on its
        /// own (the parent of a multi-valued field's counts) bears no known relation to them.
        case noisy
    }

    let dimensions: [CountTable.Dimension]
    let cells: [Int]
    let rowTotals: [Int]
    let columnTotals: [Int]
    let entries: Int
    let mode: Mode

    var rowCount: Int { dimensions[0].values.count }
    var columnCount: Int { dimensions.count == 2 ? dimensions[1].values.count : 1 }
    var isTwoDimensional: Bool { dimensions.count == 2 }

    init(exact counts: CountTable) {
        dimensions = counts.dimensions
        cells = counts.cells
        rowTotals = counts.rowTotals
        columnTotals = counts.columnTotals
        entries = counts.entries
        mode = .exact
    }

    init(dimensions: [CountTable.Dimension], cells: [Int], rowTotals: [Int], columnTotals: [Int], entries: Int, mode: Mode) {
        self.dimensions = dimensions
        self.cells = cells
        self.rowTotals = rowTotals
        self.columnTotals = columnTotals
        self.entries = entries
        self.mode = mode
    }

    /// The same table with rows and columns swapped.
    var transposed: ValueTable {
        let r = rowCount, c = columnCount
        var t: [Int] = []
        t.reserveCapacity(cells.count)
        for j in 0..<c {
            for i in 0..<r { t.append(cells[i * c + j]) }
        }
        return ValueTable(dimensions: dimensions.reversed(), cells: t, rowTotals: columnTotals, columnTotals: rowTotals, entries: entries, mode: mode)
    }
}
