/// Counts entries by one or two fields, streaming.
///
/// Records are added one at a time and forgotten: the tabulator keeps one counter per raw
/// category (per value, per year, per month present) and per pair of raw categories, never
/// anything per record, so its memory depends on the number of cells and not on the number of
/// records. Several threads each fill their own tabulator and ``merge(_:)`` them at the end; a
/// `Tabulator` is a value type and `Sendable`.
///
/// A record that does not fit the fields (a value the schema does not allow, a missing required
/// answer, two values to a single-valued field, one value twice, a malformed arrival month even
/// when not grouped by it) throws and is not counted at
/// all, so the caller can report it and go on with the rest.
///
/// ```swift
/// var t = try Tabulator(by: [setting, role])
/// for record in records { try t.add(record) }
/// let counts = try t.counts()
/// let result = try Disclosure.publish(counts, policy: try DisclosurePolicy(minCount: 5))
/// ```
public struct Tabulator: Sendable {
    /// The grouping fields: rows, then columns.
    public let fields: [StatsField]
    /// The number of records counted.
    public private(set) var entryCount = 0

    /// Per field: raw category code to the number of entries in it.
    private var margins: [[Int: Int]]
    /// Two fields only: pair of raw codes to the number of entries in both.
    private var pairs: [Pair: Int] = [:]
    /// Per categorical field: value to its index.
    private let valueIndex: [[String: Int]]

    private struct Pair: Hashable, Sendable { let row: Int, column: Int }
    /// The raw code of "not answered"; real codes (value indices, years, month indices) are >= 0.
    private static let notAnswered = -1

    /// A tabulator grouping by one field, or two distinct fields (rows, then columns).
    public init(by fields: [StatsField]) throws {
        guard (1...2).contains(fields.count) else { throw StatsError.invalidGrouping("give one or two fields, not \(fields.count)") }
        if fields.count == 2, fields[0].id == fields[1].id {
            throw StatsError.invalidGrouping("field '\(fields[0].id)' is given twice")
        }
        self.fields = fields
        margins = Array(repeating: [:], count: fields.count)
        valueIndex = fields.map { field in
            guard case let .categorical(values) = field.kind else { return [:] }
            return Dictionary(uniqueKeysWithValues: values.enumerated().map { ($1, $0) })
        }
    }

    /// Counts one record, or throws without counting anything.
    public mutating func add(_ record: StatsRecord) throws {
        // Every record must carry a valid arrival month, grouped by or not.
        let month = try YearMonth(parsing: record.arrivalMonth)
        // Every code is worked out (and may throw) before anything is counted.
        let rows = try rawCodes(field: 0, record: record, month: month)
        guard fields.count == 2 else {
            entryCount += 1
            for code in rows { margins[0][code, default: 0] += 1 }
            return
        }
        let columns = try rawCodes(field: 1, record: record, month: month)
        entryCount += 1
        for code in rows { margins[0][code, default: 0] += 1 }
        for code in columns { margins[1][code, default: 0] += 1 }
        for a in rows {
            for b in columns { pairs[Pair(row: a, column: b), default: 0] += 1 }
        }
    }

    /// Convenience for ``add(_:)``.
    public mutating func add(answers: [String: [String]], arrivalMonth: String) throws {
        try add(StatsRecord(answers: answers, arrivalMonth: arrivalMonth))
    }

    /// Adds the counts of a tabulator over the same fields (for example one filled by another
    /// thread). Merging is associative and commutative.
    public mutating func merge(_ other: Tabulator) throws {
        guard other.fields == fields else { throw StatsError.mismatchedMerge }
        entryCount += other.entryCount
        for d in margins.indices { margins[d].merge(other.margins[d], uniquingKeysWith: +) }
        pairs.merge(other.pairs, uniquingKeysWith: +)
    }

    /// The raw category codes one record counts in for field `d`.
    func rawCodes(field d: Int, record: StatsRecord, month: YearMonth) throws -> [Int] {
        let field = fields[d]
        switch field.kind {
        case let .categorical(values):
            let answers = record.answers[field.id] ?? []
            if answers.isEmpty {
                guard field.optional else { throw StatsError.missingAnswer(field: field.id) }
                return [Self.notAnswered]
            }
            guard field.multiValued || answers.count == 1 else {
                throw StatsError.invalidAnswer(field: field.id, reason: "it takes one value, not \(answers.count)")
            }
            // Answers are usually a handful of values: compared pairwise, no set is built per record.
            let repeated = answers.count > 16 ? Set(answers).count != answers.count
                : answers.indices.contains { i in answers[..<i].contains(answers[i]) }
            if repeated { throw StatsError.invalidAnswer(field: field.id, reason: "a value is given twice") }
            return try answers.map { value in
                guard let i = valueIndex[d][value] else { throw StatsError.unknownValue(field: field.id, value: value, allowed: values) }
                return i
            }
        case let .year(range):
            let answers = record.answers[field.id] ?? []
            if answers.isEmpty {
                guard field.optional else { throw StatsError.missingAnswer(field: field.id) }
                return [Self.notAnswered]
            }
            guard answers.count == 1 else {
                throw StatsError.invalidAnswer(field: field.id, reason: "it takes one year, not \(answers.count)")
            }
            let text = answers[0]
            guard text.utf8.count == 4, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let year = Int(text), range.contains(year) else {
                throw StatsError.unknownValue(field: field.id, value: text, allowed: ["a year from \(range.lowerBound) to \(range.upperBound)"])
            }
            return [year]
        case let .arrivalMonth(range):
            if let range, !range.contains(month) { throw StatsError.invalidMonth(record.arrivalMonth) }
            return [month.index]
        }
    }

    /// The categories of field `d` and the function from raw code to category index.
    func categories(_ d: Int) throws -> (CountTable.Dimension, (Int) -> Int?) {
        let field = fields[d]
        let na: [String?] = field.optional ? [nil] : []
        func dimension(_ labels: [String?], fromData: Bool = false) throws -> CountTable.Dimension {
            try CountTable.Dimension(fieldID: field.id, label: field.label, values: labels,
                                     multiValued: field.multiValued, rangeFromData: fromData)
        }
        switch field.kind {
        case let .categorical(values):
            let n = values.count
            return (try dimension(values + na), { $0 == Self.notAnswered ? (field.optional ? n : nil) : $0 })
        case let .year(range):
            let bins = YearBinning.bins(range)
            let n = bins.labels.count
            return (try dimension(bins.labels + na), { $0 == Self.notAnswered ? (field.optional ? n : nil) : bins.index(of: $0) })
        case let .arrivalMonth(fixed):
            let present = margins[d].keys
            let range: ClosedRange<YearMonth>?
            if let fixed { range = fixed } else if let lo = present.min(), let hi = present.max() {
                range = YearMonth(index: lo)...YearMonth(index: hi)
            } else { range = nil }
            guard let range else { return (try dimension([], fromData: fixed == nil), { _ in nil }) }
            let bins = MonthBinning.bins(range)
            return (try dimension(bins.labels, fromData: fixed == nil), { bins.index(of: $0) })
        }
    }

    /// The binned counts so far.
    public func counts() throws -> CountTable {
        let dims = try fields.indices.map { try categories($0) }
        func dense(_ d: Int) throws -> [Int] {
            var out = Array(repeating: 0, count: dims[d].0.values.count)
            for (code, n) in margins[d] {
                guard let i = dims[d].1(code) else { throw StatsError.inconsistentCounts("a category of '\(fields[d].id)' has no bin") }
                out[i] += n
            }
            return out
        }
        if fields.count == 1 {
            return try CountTable(dimension: dims[0].0, counts: try dense(0), entries: entryCount)
        }
        let r = dims[0].0.values.count, c = dims[1].0.values.count
        var cells = Array(repeating: Array(repeating: 0, count: c), count: r)
        for (pair, n) in pairs {
            guard let i = dims[0].1(pair.row), let j = dims[1].1(pair.column) else {
                throw StatsError.inconsistentCounts("a pair of categories has no bin")
            }
            cells[i][j] += n
        }
        return try CountTable(rows: dims[0].0, columns: dims[1].0, cells: cells,
                              rowTotals: try dense(0), columnTotals: try dense(1), entries: entryCount)
    }
}
