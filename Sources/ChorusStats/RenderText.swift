extension StatsReport {
    /// Aligned text for a terminal: a title, the table (labels left, numbers right, a totals row
    /// and, for two fields, a totals column, hidden numbers as `<K` or `x`), then the notes.
    ///
    /// ```
    /// Entries by Setting
    ///
    /// Setting     Entries
    /// ----------  -------
    /// workplace        12
    /// education        <5
    /// ----------  -------
    /// All              15
    /// ```
    public func textTable() -> String {
        var lines = [title, ""]
        lines.append(entriesSummary)
        if case let .published(p) = outcome {
            lines.append("")
            var rows = gridRows(p)
            // A one-field table shows each count's share of the entries beside it.
            if dimensions.count == 1 {
                rows[0].append("Share")
                for i in 0..<rowCount { rows[i + 1].append(Self.share(p.cells[i], of: p.entries)) }
                rows[rowCount + 1].append(Self.share(p.entries, of: p.entries))
            }
            lines += Self.grid(rows: rows, totalsFrom: rowCount + 1)
        }
        lines.append("")
        lines += notes.map { "Note: " + $0 }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The table as rows of strings: header, one row per category, the totals row.
    func gridRows(_ p: PublishedCounts) -> [[String]] {
        let rows = dimensions[0]
        var out: [[String]] = []
        if dimensions.count == 1 {
            out.append([rows.label, "Entries"])
            for (i, v) in rows.values.enumerated() { out.append([Self.categoryLabel(v), Self.mark(p.cells[i])]) }
            out.append([Self.allLabel, Self.mark(p.entries)])
            return out
        }
        let columns = dimensions[1]
        let c = columnCount
        out.append(["\(rows.label) \\ \(columns.label)"] + columns.values.map(Self.categoryLabel) + [Self.allLabel])
        for (i, v) in rows.values.enumerated() {
            out.append([Self.categoryLabel(v)] + (0..<c).map { Self.mark(p.cells[i * c + $0]) } + [Self.mark(p.rowTotals[i])])
        }
        out.append([Self.allLabel] + p.columnTotals.map(Self.mark) + [Self.mark(p.entries)])
        return out
    }

    /// Lays out `rows` in columns two spaces apart, the first left-aligned and the others
    /// right-aligned, with a rule under the header and above row `totalsFrom`.
    static func grid(rows: [[String]], totalsFrom: Int) -> [String] {
        guard let width = rows.first?.count else { return [] }
        let widths = (0..<width).map { j in rows.map { $0[j].count }.max() ?? 0 }
        func line(_ cells: [String]) -> String {
            var out = ""
            for (j, cell) in cells.enumerated() {
                let padding = String(repeating: " ", count: widths[j] - cell.count)
                if j == 0 { out += cell + padding } else { out += "  " + padding + cell }
            }
            while out.hasSuffix(" ") { out.removeLast() }
            return out
        }
        let rule = line(widths.map { String(repeating: "-", count: $0) })
        var out: [String] = []
        for (i, row) in rows.enumerated() {
            if i == totalsFrom { out.append(rule) }
            out.append(line(row))
            if i == 0 { out.append(rule) }
        }
        return out
    }
}
