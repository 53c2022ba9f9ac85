/// The entries of one release, kept as the joint audit (``JointAudit``) needs them: for each
/// entry, its category in every field any table of the release is grouped by.
///
/// One population per release: every table of a run is counted from the entries recorded here,
/// so a filter (such as a fixed range of arrival months) applies to all of them, and the
/// audit's model of "everything published" is the model of one set of entries.
///
/// Memory: one 64-bit code per entry and field (8 MB for a million entries and one field).
public struct PopulationRecorder: Sendable {
    /// The distinct fields of the release, in the order first named.
    public let fields: [StatsField]
    /// One one-field tabulator per field, for its checks of an answer (never filled).
    private let tabulators: [Tabulator]
    /// Per entry, per field: a single-valued field's raw code (value index, year, month index,
    /// or −1 for not answered); a multi-valued field's bit mask of value indices (0 for not
    /// answered).
    private var codes: [Int64] = []
    public private(set) var count = 0

    public init(fields: [StatsField]) throws {
        var seen = Set<String>()
        let distinct = fields.filter { seen.insert($0.id).inserted }
        self.fields = distinct
        tabulators = try distinct.map { try Tabulator(by: [$0]) }
    }

    /// Records one entry in every field, or throws without recording anything (the same
    /// checks as ``Tabulator/add(_:)``). Only raw codes are kept; the tables' own tabulators bin
    /// them at the end (``categories(binnedBy:)``), so nothing is counted twice.
    public mutating func add(_ record: StatsRecord) throws {
        let month = try YearMonth(parsing: record.arrivalMonth)
        let before = codes.count
        do {
            for (d, t) in tabulators.enumerated() {
                let raw = try t.rawCodes(field: 0, record: record, month: month)
                if fields[d].multiValued {
                    codes.append(raw == [-1] ? 0 : raw.reduce(Int64(0)) { $0 | Int64(bitPattern: UInt64(1) << UInt64($1)) })
                } else {
                    codes.append(Int64(raw[0]))
                }
            }
        } catch {
            codes.removeSubrange(before...)
            throw error
        }
        count += 1
    }

    /// The recorded entries by category, binned as `tables` (tabulators of the same entries that
    /// between them group by every recorded field) bin them: the same categories the tables show.
    public func categories(binnedBy tables: [Tabulator]) throws -> PopulationCategories {
        let maps = try fields.map { field -> (CountTable.Dimension, (Int) -> Int?) in
            guard let t = tables.first(where: { $0.fields.contains { $0.id == field.id } }), let d = t.fields.firstIndex(where: { $0.id == field.id }) else {
                throw StatsError.inconsistentCounts("no table groups by '\(field.id)'")
            }
            return try t.categories(d)
        }
        let f = fields.count
        var out = [UInt64](repeating: 0, count: codes.count)
        for i in 0..<count {
            for d in 0..<f {
                let raw = codes[i * f + d]
                if fields[d].multiValued {
                    out[i * f + d] = UInt64(bitPattern: raw)
                } else {
                    guard let c = maps[d].1(Int(raw)) else { throw StatsError.inconsistentCounts("an answer of '\(fields[d].id)' has no category") }
                    out[i * f + d] = UInt64(c)
                }
            }
        }
        return PopulationCategories(dimensions: maps.map(\.0), codes: out, count: count)
    }
}

/// Entries by category: for a single-valued field the index of its category, for a multi-valued
/// one the bit mask of its chosen categories (0: the "not answered" category).
public struct PopulationCategories: Sendable {
    public let dimensions: [CountTable.Dimension]
    let codes: [UInt64]
    public let count: Int

    /// A population given directly by categories (tests, and the reference audit).
    public init(dimensions: [CountTable.Dimension], codes: [UInt64], count: Int) {
        self.dimensions = dimensions
        self.codes = codes
        self.count = count
    }

    func code(_ entry: Int, _ field: Int) -> UInt64 { codes[entry * dimensions.count + field] }

    /// The same entries with only the fields `ids` (in this population's order): the audit's
    /// model holds only the fields of the tables it audits.
    public func keeping(_ ids: Set<String>) -> PopulationCategories {
        let kept = dimensions.indices.filter { ids.contains(dimensions[$0].fieldID) }
        guard kept.count < dimensions.count else { return self }
        var out: [UInt64] = []
        out.reserveCapacity(count * kept.count)
        for e in 0..<count { for f in kept { out.append(code(e, f)) } }
        return PopulationCategories(dimensions: kept.map { dimensions[$0] }, codes: out, count: count)
    }

    /// Whether a combination of codes (one per field) lies in `category` of `field`.
    func holds(_ combo: [UInt64], field: Int, category: Int) -> Bool {
        let d = dimensions[field]
        guard d.multiValued else { return combo[field] == UInt64(category) }
        if category == d.notAnsweredIndex { return combo[field] == 0 }
        return category < 64 && (combo[field] >> UInt64(category)) & 1 == 1
    }

    /// The categories of `field` a combination lies in (several for a multi-valued field).
    func categoriesOf(_ combo: [UInt64], field: Int) -> [Int] {
        let d = dimensions[field]
        guard d.multiValued else { return [Int(combo[field])] }
        if combo[field] == 0 { return d.notAnsweredIndex.map { [$0] } ?? [] }
        return (0..<min(64, d.values.count)).filter { (combo[field] >> UInt64($0)) & 1 == 1 }
    }
}
