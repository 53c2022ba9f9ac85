extension StatsReport {
    /// RFC 4180 CSV (CRLF line ends; a field holding a comma, a quote, CR or LF is quoted, quotes
    /// doubled), one rectangular table and nothing else: a header row, one row per category, the
    /// totals row last (and for two fields the totals column last), hidden numbers as `<K` or `x`.
    /// A report with no table (fewer than K entries, or withheld) has the header and the totals row
    /// only, its other fields empty. The notes are not in it (`chorus stats` writes them to stderr
    /// with CSV; JSON carries them).
    public func csv() -> String {
        Self.csvRecords(csvGrid())
    }

    /// Several reports as one long table: `table,row,column,count`, one record per published
    /// number (`All` for a total, `column` empty in a one-field table).
    public static func csvLong(_ reports: [StatsReport]) -> String {
        var records: [[String]] = [["table", "row", "column", "count"]]
        for r in reports {
            let rows = r.dimensions[0]
            let two = r.dimensions.count == 2
            switch r.outcome {
            case let .published(p):
                let c = r.columnCount
                for (i, v) in rows.values.enumerated() {
                    if two {
                        for (j, w) in r.dimensions[1].values.enumerated() {
                            records.append([r.title, categoryLabel(v), categoryLabel(w), mark(p.cells[i * c + j])])
                        }
                        records.append([r.title, categoryLabel(v), allLabel, mark(p.rowTotals[i])])
                    } else {
                        records.append([r.title, categoryLabel(v), "", mark(p.cells[i])])
                    }
                }
                if two {
                    for (j, w) in r.dimensions[1].values.enumerated() { records.append([r.title, allLabel, categoryLabel(w), mark(p.columnTotals[j])]) }
                }
                records.append([r.title, allLabel, two ? allLabel : "", mark(p.entries)])
            case .fewerThanMinimum:
                records.append([r.title, allLabel, two ? allLabel : "", "<\(r.minCount)"])
            case let .withheld(entries):
                records.append([r.title, allLabel, two ? allLabel : "", String(entries)])
            }
        }
        return csvRecords(records)
    }

    /// The grid of `csv()`.
    func csvGrid() -> [[String]] {
        if case let .published(p) = outcome { return gridRows(p) }
        let total: String
        switch outcome {
        case .fewerThanMinimum: total = "<\(minCount)"
        case let .withheld(entries): total = String(entries)
        case .published: total = ""
        }
        guard dimensions.count == 2 else { return [[dimensions[0].label, "Entries"], [Self.allLabel, total]] }
        let columns = dimensions[1]
        let header = ["\(dimensions[0].label) \\ \(columns.label)"] + columns.values.map(Self.categoryLabel) + [Self.allLabel]
        return [header, [Self.allLabel] + Array(repeating: "", count: columns.values.count) + [total]]
    }

    static func csvRecords(_ records: [[String]]) -> String {
        records.map { $0.map(csvField).joined(separator: ",") + "\r\n" }.joined()
    }

    /// One RFC 4180 field.
    static func csvField(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\r" || $0 == "\n" || $0 == "\r\n" }) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
