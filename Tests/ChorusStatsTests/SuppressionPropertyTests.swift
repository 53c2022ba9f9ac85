import Testing
@testable import ChorusStats

/// Property tests: many random small groupings filled by simulated entries. Each two-field table
/// is published together with the one-field tables of its fields and with its transpose, as a
/// reader could get them all; the brute-force reader of `BruteForce` must find no hidden number
/// it can determine, and every withheld table must really be unprotectable.
@Suite struct SuppressionPropertyTests {
    /// A report of `counts` that hides every cell (by its mark), the totals as `totals` says
    /// (nil: all of them), and shows the number of entries: the most protection any allowed
    /// pattern can give. If a small number is determined even here, withholding was right.
    static func mostHidden(_ counts: CountTable, minCount k: Int, rowTotals: [PublishedCount]? = nil,
                           columnTotals: [PublishedCount]? = nil) -> StatsReport {
        func mark(_ x: Int) -> PublishedCount { x < k ? .fewerThan(k) : .atLeast(k) }
        return StatsReport(
            dimensions: counts.dimensions.map(PublishedDimension.init), minCount: k, noise: nil,
            outcome: .published(PublishedCounts(
                cells: counts.cells.map(mark), rowTotals: rowTotals ?? counts.rowTotals.map(mark),
                columnTotals: columnTotals ?? counts.columnTotals.map(mark), entries: .exact(counts.entries))))
    }

    static func counts(_ fields: [StatsField], _ records: [StatsRecord]) throws -> CountTable {
        var t = try Tabulator(by: fields)
        for r in records { try t.add(r) }
        return try t.counts()
    }

    /// Whether some small number is determined in `report` (made from `counts`).
    static func someSmallIsDetermined(_ report: StatsReport, _ counts: CountTable) -> Bool {
        let reader = BruteForce(report: report, counts: counts)
        let k = report.minCount
        return reader.hiddenVariables.contains { reader.truth[$0] >= 1 && reader.truth[$0] < k && !reader.hasSecondValue($0) }
    }

    struct Tally: CustomStringConvertible {
        var published = 0, suppressed = 0, complements = 0, withheld = 0, tooFew = 0
        var description: String { "published \(published), with suppression \(suppressed), with x \(complements), withheld \(withheld), too few \(tooFew)" }
    }

    @Test(arguments: 0..<6)
    func randomTablesLeakNothing(batch: Int) throws {
        var rng = SplitMix64(seed: 0xC40C_5EED + UInt64(batch))
        var tally = Tally()
        for _ in 0..<200 {
            let c = RandomTables.make(&rng)
            let k = c.minCount
            let counts = try Self.counts(c.fields, c.records)
            let report = Tables.publish(counts, k: k)
            let context = "\(c.description): cells \(counts.cells) rows \(counts.rowTotals) columns \(counts.columnTotals) entries \(counts.entries)"

            // The one-field tables and the transpose a reader could hold as well.
            var singles: [StatsReport] = []
            if c.fields.count == 2 {
                singles = try c.fields.map { Tables.publish(try Self.counts([$0], c.records), k: k) }
                let transposed = Tables.publish(try Self.counts(c.fields.reversed(), c.records), k: k)
                #expect(Self.transpose(transposed) == report.outcome, "\(context)")
            }

            switch report.outcome {
            case .fewerThanMinimum:
                #expect(counts.entries < k, "\(context)")
                for s in singles { #expect(s.outcome == .fewerThanMinimum) }
                tally.tooFew += 1
            case let .withheld(entries):
                #expect(entries == counts.entries)
                if singles.isEmpty {
                    #expect(Self.someSmallIsDetermined(Self.mostHidden(counts, minCount: k), counts), "withheld needlessly: \(context)")
                } else if case let .published(a) = singles[0].outcome, case let .published(b) = singles[1].outcome {
                    let most = Self.mostHidden(counts, minCount: k, rowTotals: a.cells, columnTotals: b.cells)
                    #expect(Self.someSmallIsDetermined(most, counts), "withheld needlessly: \(context)")
                } else {
                    // A one-field table is withheld: its numbers are this table's totals.
                    #expect(singles.contains { if case .withheld = $0.outcome { return true } else { return false } }, "\(context)")
                }
                tally.withheld += 1
            case let .published(p):
                tally.published += 1
                let all = p.cells + p.rowTotals + p.columnTotals + [p.entries]
                if all.contains(where: { $0.isSuppressed }) { tally.suppressed += 1 }
                if all.contains(where: { if case .atLeast = $0 { return true } else { return false } }) { tally.complements += 1 }
                #expect(p.entries == .exact(counts.entries))
                let leaks = BruteForce(report: report, counts: counts).leaks()
                #expect(leaks.isEmpty, "\(context): \(leaks)")
                // The totals are the one-field tables, hidden the same way: the reader gains
                // nothing by putting the tables side by side.
                for (d, single) in singles.enumerated() {
                    guard case let .published(s) = single.outcome else {
                        Issue.record("a one-field table is not published but the two-field one is: \(context)")
                        continue
                    }
                    #expect((d == 0 ? p.rowTotals : p.columnTotals) == s.cells, "\(context)")
                    #expect(s.entries == p.entries)
                }
            }
        }
        print("batch \(batch): \(tally)")
        // The generator must exercise suppression, or this test proves nothing.
        #expect(tally.published > 50 && tally.suppressed > 30 && tally.complements > 10, "\(tally)")
    }

    /// The outcome of a transposed two-field report, transposed back.
    static func transpose(_ r: StatsReport) -> StatsReport.Outcome {
        guard case let .published(p) = r.outcome else { return r.outcome }
        let rows = r.rowCount, columns = r.columnCount
        var cells: [PublishedCount] = []
        for j in 0..<columns {
            for i in 0..<rows { cells.append(p.cells[i * columns + j]) }
        }
        return .published(PublishedCounts(cells: cells, rowTotals: p.columnTotals, columnTotals: p.rowTotals, entries: p.entries))
    }
}
