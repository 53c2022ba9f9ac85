/// The output formats of `chorus stats --format`.
public enum ReportFormat: String, CaseIterable, Sendable {
    /// Aligned text for a terminal.
    case table
    /// Machine-readable JSON.
    case json
    /// RFC 4180 CSV.
    case csv
    /// One self-contained HTML page with the table and bar charts.
    case html
}

extension StatsReport {
    /// The report in `format`. Deterministic: the same report always gives the same text.
    /// Nothing in it identifies an entry: only field labels, category values from the schema,
    /// published numbers and parameters.
    public func rendered(as format: ReportFormat) -> String {
        switch format {
        case .table: return textTable()
        case .json: return json()
        case .csv: return csv()
        case .html: return html()
        }
    }

    /// Several reports in one output (`--by setting --by setting,perpetrator-role`): text
    /// tables one after another, one long CSV table with a `table` column (``csvLong(_:)``), a JSON
    /// array of the reports' objects (always an array, even of one), one HTML page with a section each.
    public static func rendered(_ reports: [StatsReport], as format: ReportFormat) -> String {
        switch format {
        case .table: return reports.map { $0.textTable() }.joined(separator: "\n")
        case .csv: return csvLong(reports)
        case .json: return JSONValue.array(reports.map(\.jsonValue)).text() + "\n"
        case .html: return html(reports)
        }
    }

    /// "Entries by Setting" or "Entries by Setting and Perpetrator role": each question's short
    /// label (``PublishedDimension/shortLabel``).
    public var title: String {
        "Entries by " + dimensions.map(\.shortLabel).joined(separator: " and ")
    }

    /// `count` as a share of the entries, "31%", when both are shown exactly; else "".
    static func share(_ count: PublishedCount, of entries: PublishedCount) -> String {
        guard case let .exact(n) = count, case let .exact(total) = entries, total > 0 else { return "" }
        return String(Int((Double(n) * 100 / Double(total)).rounded())) + "%"
    }

    /// The label of a category (`nil` is "not answered").
    static func categoryLabel(_ value: String?) -> String { value ?? "(not answered)" }

    /// The label of the totals row and column.
    static let allLabel = "All"

    /// Short text of a published number: `12`, `<5`, `x`.
    static func mark(_ c: PublishedCount) -> String {
        switch c {
        case let .exact(n): return String(n)
        case let .fewerThan(k): return "<\(k)"
        case .atLeast: return "x"
        }
    }

    /// Words for a published number, for screen readers and chart descriptions.
    static func spoken(_ c: PublishedCount) -> String {
        switch c {
        case let .exact(n): return String(n)
        case let .fewerThan(k): return "fewer than \(k) (hidden)"
        case let .atLeast(k): return "\(k) or more (hidden)"
        }
    }

    /// Every published number.
    var allCounts: [PublishedCount] {
        guard case let .published(p) = outcome else { return [] }
        return p.cells + p.rowTotals + p.columnTotals + [p.entries]
    }

    /// One line about the number of entries.
    public var entriesSummary: String {
        switch outcome {
        case .fewerThanMinimum: return "Fewer than \(minCount) entries: nothing else is published."
        case let .withheld(entries): return "\(entries) \(noise == nil ? "" : "(noisy) ")entries. The table is withheld."
        case let .published(p):
            switch p.entries {
            case let .exact(n): return "\(n) \(noise == nil ? "" : "(noisy) ")\(n == 1 ? "entry" : "entries")."
            case let .atLeast(k): return "\(k) or more entries (the exact number is hidden to protect small counts)."
            case let .fewerThan(k): return "Fewer than \(k) entries."
            }
        }
    }

    /// The footnotes every format carries: the threshold, the marks used, noise, multi-valued
    /// fields, data-derived categories, and why a table is withheld.
    public var notes: [String] {
        var out: [String] = []
        let k = minCount
        if let release {
            var line = release.number.map { "Release \($0) of \(release.date)" } ?? "Made \(release.date)"
            if let p = release.period { line += p.first == p.last ? ": entries that arrived in \(p.first)" : ": entries that arrived from \(p.first) to \(p.last)" }
            line += "; minimum count K = \(k)"
            if let noise { line += "; epsilon \(noise.epsilon) for this table" }
            out.append(line + ".")
        }
        switch outcome {
        case .fewerThanMinimum:
            out.append("With fewer than \(k) entries every count could single someone out, so only that is published.")
        case .withheld where withheldJointly:
            out.append("The table is withheld: together with the other tables of this release, some count under \(k) could be narrowed down too far however its cells were hidden. Publish it alone, or with fewer tables.")
        case .withheld:
            out.append("The table is withheld: however its cells are hidden, some count under \(k) could be worked out from the others. Try grouping by fewer or coarser fields.")
        case .published:
            if k >= 2 {
                out.append("Counts under \(k) are hidden and shown as \"<\(k)\" (fewer than \(k), possibly none).")
            } else {
                out.append("No count is hidden: the minimum count is \(k), which can single out one entry.")
            }
            if allCounts.contains(where: { if case .atLeast = $0 { return true } else { return false } }) {
                out.append("\"x\" marks a count of \(k) or more hidden so that no \"<\(k)\" can be worked out from the totals.")
            }
            if jointlyHidden > 0 {
                out.append("\(jointlyHidden) of the hidden numbers \(jointlyHidden == 1 ? "is" : "are") hidden so that, with the other tables of this release, no count under \(k) can be narrowed down.")
            }
        }
        if let noise {
            var line = "The numbers are noisy: differential privacy with epsilon = \(noise.epsilon) (sensitivity \(noise.sensitivity)). Every count has random noise added, negative results are shown as 0, and totals are sums of the noisy counts"
            let independent = dimensions.contains(where: \.multiValued)
            line += independent ? ", except totals over a multi-valued field, which carry their own noise." : "."
            out.append(line)
        }
        for d in dimensions where d.multiValued {
            out.append("\(d.label): an entry may choose several values and counts once for each, so these counts add up to more than the number of entries.")
        }
        for d in dimensions where d.rangeFromData {
            out.append("\(d.label): the categories run from the first to the last one with entries.")
        }
        return out
    }
}
