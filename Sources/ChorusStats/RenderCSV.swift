extension StatsReport {
    /// RFC 4180 CSV (CRLF line ends; a field holding a comma, a quote, CR or LF is quoted, quotes
    /// doubled). The table comes first — header row, one row per category, the totals row last
    /// (and for two fields the totals column last), hidden numbers as `<K` or `x` — then an empty
    /// line and the notes, one per record. A report with no table has only the summary and notes.
    public func csv() -> String {
        var records: [[String]] = []
        if case let .published(p) = outcome {
            records += gridRows(p)
            records.append([])
        }
        records.append([entriesSummary])
        records += notes.map { [$0] }
        return records.map { $0.map(Self.csvField).joined(separator: ",") + "\r\n" }.joined()
    }

    /// One RFC 4180 field.
    static func csvField(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\r" || $0 == "\n" || $0 == "\r\n" }) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
