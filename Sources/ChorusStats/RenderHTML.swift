import ChorusSystem

extension StatsReport {
    /// One self-contained HTML page: no script, no external file or font, inline CSS with a
    /// print stylesheet, and a Content-Security-Policy that forbids loading anything, so even a
    /// mistake in escaping could not run code or call home. It holds the summary, the table
    /// (hidden numbers as `<K` / `x` with an explanation for screen readers), one bar chart per
    /// field as inline SVG (hidden numbers drawn as hatched bars labelled `<K` or `x`, each chart
    /// with a title and a description), and the notes. Every string from the data (labels,
    /// values) is escaped for HTML.
    public func html() -> String {
        Self.page(title: title, sections: [htmlSection(heading: 1, idPrefix: "")])
    }

    /// One page holding several reports (`--by a --by a,b`), each in its own section.
    public static func html(_ reports: [StatsReport], title: String = "Chorus counts") -> String {
        page(title: title, sections: ["<h1>\(escape(title))</h1>"]
             + reports.enumerated().map { "<section>\n" + $1.htmlSection(heading: 2, idPrefix: "t\($0 + 1)-") + "\n</section>" })
    }

    /// The summary, table, charts and notes, with headings from level `heading`.
    private func htmlSection(heading h: Int, idPrefix: String) -> String {
        var body: [String] = []
        body.append("<h\(h)>\(Self.escape(title))</h\(h)>")
        body.append("<p class=\"summary\">\(Self.escape(entriesSummary))</p>")
        if case let .published(p) = outcome {
            body.append(htmlTable(p))
            body += charts(p, idPrefix: idPrefix)
        }
        body.append("<div class=\"notes\">\n<h\(h + 1)>Notes</h\(h + 1)>\n<ul>\n"
                    + notes.map { "<li>\(Self.escape($0))</li>" }.joined(separator: "\n") + "\n</ul>\n</div>")
        return body.joined(separator: "\n")
    }

    private static func page(title: String, sections: [String]) -> String {
        """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="referrer" content="no-referrer">
        <title>\(escape(title))</title>
        <style>
        \(css)
        </style>
        </head>
        <body>
        <main>
        \(sections.joined(separator: "\n"))
        </main>
        </body>
        </html>

        """
    }

    static let css = """
    body{font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:#1b1b1b;background:#fff;max-width:64rem;margin:2rem auto;padding:0 1rem}
    h1{font-size:1.6rem;margin:0 0 .5rem}
    h2{font-size:1.3rem;margin:2rem 0 .5rem}
    section+section>h2{margin-top:2.5rem;padding-top:1rem;border-top:1px solid #d0d0d0}
    h3{font-size:1.05rem;margin:1.25rem 0 .5rem}
    .visually-hidden{position:absolute;width:1px;height:1px;margin:-1px;padding:0;border:0;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
    .table-wrap{max-width:100%;overflow-x:auto;margin:1rem 0}
    table{border-collapse:collapse}
    th,td{padding:.3rem .75rem;border-bottom:1px solid #d0d0d0}
    th{text-align:left;font-weight:600}
    thead th{border-bottom:2px solid #555;vertical-align:bottom}
    td{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
    .total{font-weight:700;background:#f3f3f3}
    td.suppressed{font-style:italic;color:#333;background:repeating-linear-gradient(135deg,#f4f4f4 0 4px,#d4d4d4 4px 6px)}
    td.suppressed abbr{text-decoration:none;background:#fff;padding:0 .2em;border-radius:2px}
    table.crosstab{font-size:.9rem}
    table.crosstab th,table.crosstab td{padding:.25rem .5rem}
    table.crosstab thead th.col{text-align:left;vertical-align:bottom;padding:.4rem .25rem}
    table.crosstab thead th.col span{writing-mode:vertical-rl;transform:rotate(180deg);white-space:nowrap;display:inline-block}
    table.crosstab thead th.corner{vertical-align:bottom;min-width:9rem}
    th.corner .columns{display:block;text-align:right;font-weight:400;color:#444}
    th.corner .rows{display:block;margin-top:.5rem}
    .legend{font-size:.9rem;color:#333;margin:.25rem 0 1rem}
    .swatch{display:inline-block;width:1.6em;height:1em;vertical-align:-.15em;border:1px solid #8a8a8a;margin-right:.3em;background:repeating-linear-gradient(135deg,#f4f4f4 0 4px,#d4d4d4 4px 6px)}
    figure{margin:1.5rem 0}
    figcaption{font-size:.9rem;color:#444}
    svg{max-width:100%;height:auto}
    .notes{font-size:.92rem;color:#333}
    td.suppressed,.swatch,.total{-webkit-print-color-adjust:exact;print-color-adjust:exact}
    @page{margin:15mm}
    @media print{
    body{max-width:none;margin:0;padding:0;font-size:10.5pt;color:#000}
    section+section>h2{border-top:none;padding-top:0;margin-top:0}
    .table-wrap{overflow:visible}
    table.crosstab{font-size:8.5pt}
    td.suppressed{color:#000}
    table,figure,.legend{break-inside:avoid}
    h2,h3{break-after:avoid}
    section+section{break-before:page}
    }
    """

    /// Escapes `&`, `<`, `>`, `"` and `'` for HTML text and attribute values.
    static func escape(_ s: String) -> String { htmlEscaped(s) }

    private static func htmlCell(_ c: PublishedCount, total: Bool = false) -> String {
        let cls = [total ? "total" : nil, c.isSuppressed ? "suppressed" : nil].compactMap { $0 }
        let attr = cls.isEmpty ? "" : " class=\"\(cls.joined(separator: " "))\""
        let text = c.isSuppressed ? "<abbr title=\"\(escape(spoken(c)))\">\(escape(mark(c)))</abbr>" : escape(mark(c))
        return "<td\(attr)>\(text)</td>"
    }

    private func htmlTable(_ p: PublishedCounts) -> String {
        let rows = dimensions[0]
        var out = ["<div class=\"table-wrap\">", "<table\(dimensions.count == 2 ? " class=\"crosstab\"" : "")>",
                   "<caption class=\"visually-hidden\">\(Self.escape(title))</caption>", "<thead>"]
        if dimensions.count == 1 {
            out.append("<tr><th scope=\"col\">\(Self.escape(rows.label))</th><th scope=\"col\">Entries</th><th scope=\"col\">Share</th></tr>")
            out.append("</thead>")
            out.append("<tbody>")
            for (i, v) in rows.values.enumerated() {
                out.append("<tr><th scope=\"row\">\(Self.escape(Self.categoryLabel(v)))</th>\(Self.htmlCell(p.cells[i]))<td>\(Self.share(p.cells[i], of: p.entries))</td></tr>")
            }
        } else {
            // Column headings are turned on their side so that a table of many categories fits the page.
            let columns = dimensions[1]
            let c = columnCount
            out.append("<tr><th scope=\"col\" class=\"corner\"><span class=\"columns\">\(Self.escape(columns.label))<span aria-hidden=\"true\"> →</span></span>"
                       + "<span class=\"rows\">\(Self.escape(rows.label))<span aria-hidden=\"true\"> ↓</span></span></th>"
                       + columns.values.map { "<th scope=\"col\" class=\"col\"><span>\(Self.escape(Self.categoryLabel($0)))</span></th>" }.joined()
                       + "<th scope=\"col\" class=\"col total\"><span>\(Self.allLabel)</span></th></tr>")
            out.append("</thead>")
            out.append("<tbody>")
            for (i, v) in rows.values.enumerated() {
                out.append("<tr><th scope=\"row\">\(Self.escape(Self.categoryLabel(v)))</th>"
                           + (0..<c).map { Self.htmlCell(p.cells[i * c + $0]) }.joined()
                           + Self.htmlCell(p.rowTotals[i], total: true) + "</tr>")
            }
        }
        out.append("</tbody>")
        out.append("<tfoot>")
        let totals = dimensions.count == 1 ? [] : p.columnTotals
        out.append("<tr class=\"total\"><th scope=\"row\">\(Self.allLabel)</th>"
                   + totals.map { Self.htmlCell($0, total: true) }.joined() + Self.htmlCell(p.entries, total: true)
                   + (dimensions.count == 1 ? "<td class=\"total\">\(Self.share(p.entries, of: p.entries))</td>" : "") + "</tr>")
        out.append("</tfoot>")
        out.append("</table>")
        out.append("</div>")
        if let legend = legend(p) { out.append(legend) }
        return out.joined(separator: "\n")
    }

    /// A key to the hatched cells, under a table that has any.
    private func legend(_ p: PublishedCounts) -> String? {
        let all = p.cells + p.rowTotals + p.columnTotals + [p.entries]
        var parts: [String] = []
        if all.contains(where: { if case .fewerThan = $0 { return true } else { return false } }) {
            parts.append("\"<\(minCount)\" is fewer than \(minCount), possibly none")
        }
        if all.contains(where: { if case .atLeast = $0 { return true } else { return false } }) {
            parts.append("\"x\" is \(minCount) or more, hidden so that no \"<\(minCount)\" can be worked out from the totals")
        }
        guard !parts.isEmpty else { return nil }
        return "<p class=\"legend\"><span class=\"swatch\" aria-hidden=\"true\"></span>Hatched cells are hidden counts: "
            + Self.escape(parts.joined(separator: "; ")) + ".</p>"
    }

    /// One chart per field: the cells of a one-field table; the row and the column totals of a
    /// two-field one.
    private func charts(_ p: PublishedCounts, idPrefix: String) -> [String] {
        if dimensions.count == 1 { return [chart(id: idPrefix + "chart-1", dimension: dimensions[0], counts: p.cells)] }
        return [chart(id: idPrefix + "chart-1", dimension: dimensions[0], counts: p.rowTotals),
                chart(id: idPrefix + "chart-2", dimension: dimensions[1], counts: p.columnTotals)]
    }

    /// A horizontal bar chart as inline SVG. Bar lengths are integers computed from the
    /// published numbers only; a hidden number is drawn as a hatched bar as long as K (`<K`:
    /// at most that; `x`: at least that) with its mark as label, never as a guess.
    private func chart(id: String, dimension: PublishedDimension, counts: [PublishedCount]) -> String {
        let labelWidth = 200, barWidth = 360, valueWidth = 60, rowHeight = 26, top = 8
        let width = labelWidth + barWidth + valueWidth
        let height = top * 2 + rowHeight * max(1, counts.count)
        let scale = max(1, counts.map { c -> Int in
            switch c {
            case let .exact(n): return n
            case let .fewerThan(k), let .atLeast(k): return k
            }
        }.max() ?? 1)
        let heading = "Entries by \(dimension.label)"
        let description = zip(dimension.values, counts).map { "\(Self.categoryLabel($0)): \(Self.spoken($1))" }.joined(separator: "; ")
        var svg = [
            "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-labelledby=\"\(id)-title \(id)-desc\" width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\" font-family=\"system-ui, sans-serif\" font-size=\"13\">",
            "<title id=\"\(id)-title\">\(Self.escape(heading))</title>",
            "<desc id=\"\(id)-desc\">\(Self.escape(description))</desc>",
            "<defs><pattern id=\"\(id)-hatch\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\"><rect width=\"6\" height=\"6\" fill=\"#e4e4e4\"/><line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"#8a8a8a\" stroke-width=\"2\"/></pattern></defs>",
        ]
        for (i, (value, count)) in zip(dimension.values, counts).enumerated() {
            let y = top + i * rowHeight
            let label = Self.categoryLabel(value)
            let shown = label.count > 28 ? String(label.prefix(27)) + "…" : label
            let length: Int
            let fill: String
            switch count {
            case let .exact(n):
                let cap = Int.max / barWidth
                length = min(n, cap) * barWidth / min(scale, cap)
                fill = "#3a6ea5"
            case let .fewerThan(k), let .atLeast(k):
                length = k * barWidth / max(scale, k)
                fill = "url(#\(id)-hatch)"
            }
            let stroke = count.isSuppressed ? " stroke=\"#8a8a8a\"" : ""
            svg.append("<g><title>\(Self.escape(label)): \(Self.escape(Self.spoken(count)))</title>"
                       + "<text x=\"\(labelWidth - 8)\" y=\"\(y + 17)\" text-anchor=\"end\">\(Self.escape(shown))</text>"
                       + "<rect x=\"\(labelWidth)\" y=\"\(y + 4)\" width=\"\(length)\" height=\"\(rowHeight - 8)\" fill=\"\(fill)\"\(stroke)/>"
                       + "<text x=\"\(labelWidth + length + 6)\" y=\"\(y + 17)\"\(count.isSuppressed ? " font-style=\"italic\"" : "")>\(Self.escape(Self.mark(count)))</text></g>")
        }
        svg.append("</svg>")
        let caption = Self.escape(heading) + (dimension.multiValued ? " (an entry counts once for each value it chose)" : "")
            + (counts.contains(where: \.isSuppressed) ? ". Hatched bars are hidden counts." : ".")
        return "<figure>\n" + svg.joined(separator: "\n") + "\n<figcaption>\(caption)</figcaption>\n</figure>"
    }
}
