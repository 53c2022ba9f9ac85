import Testing
@testable import ChorusStats

/// Hand-written cases: the patterns naive rules get wrong, the edge cases, and exact results for
/// tables small enough to reason about by hand (the reasoning is in each test).
@Suite struct SuppressionTests {
    private func expectSafe(_ report: StatsReport, _ counts: CountTable, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(BruteForce(report: report, counts: counts).leaks() == [], sourceLocation: sourceLocation)
    }

    // MARK: One field

    /// The 3 alone would be total − 12 − 0 − 9. Hiding the zero as well costs least (a zero is
    /// no one): the reader then knows only that the two add up to 3.
    @Test func oneFieldHidesTheSmallCellAndTheCheapestPartner() {
        let t = Tables.oneField([12, 3, 0, 9])
        let r = Tables.publish(t)
        #expect(Tables.cellMarks(r) == ["12", "<5", "<5", "9"])
        #expect(Tables.published(r)?.entries == .exact(24))
        let reader = BruteForce(report: r, counts: t)
        #expect(reader.feasibleValues(1) == [0, 1, 2, 3])
        #expect(reader.leaks() == [])
    }

    /// Two hidden 4s with K = 5 add up to 8, and "<5" caps each at 4: both are 4. The naive
    /// "at least two hidden" rule leaks; a third cell (the 30, as x) must go.
    @Test func twoHiddenCellsAtTheirBoundStillLeak() {
        let t = Tables.oneField([4, 4, 30])
        #expect(BruteForce(report: Tables.naive(t, k: 5, hide: [0, 1]), counts: t).leaks().count == 2)
        let r = Tables.publish(t)
        #expect(Tables.cellMarks(r) == ["<5", "<5", "x"])
        expectSafe(r, t)
    }

    /// Two categories of 4 with K = 5 and 8 entries: any pattern gives both away (the number of
    /// entries is always shown, since every table shows it), so the table is withheld; hiding
    /// every cell indeed leaks.
    @Test func twoSmallCategoriesAloneAreWithheld() {
        let t = Tables.oneField([4, 4])
        #expect(Tables.publish(t).outcome == .withheld(entries: 8))
        #expect(BruteForce(report: Tables.naive(t, k: 5, hide: [0, 1]), counts: t).leaks().count == 2)
    }

    /// K = 2: "<2" means 0 or 1, so pairing the 1 with the zero protects it.
    @Test func minimumCountTwo() {
        let t = Tables.oneField([1, 5, 0])
        let r = Tables.publish(t, k: 2)
        #expect(Tables.cellMarks(r) == ["<2", "5", "<2"])
        expectSafe(r, t)
    }

    /// Two entries in two categories with K = 2: "<2" twice and 2 or more entries give both
    /// away, and so would any other pattern. The table is withheld, and hiding everything
    /// indeed leaks.
    @Test func withheldWhenNoPatternProtects() {
        let t = Tables.oneField([1, 1])
        #expect(Tables.publish(t, k: 2).outcome == .withheld(entries: 2))
        let everything = Tables.naive(t, k: 2, hide: [0, 1, 2])
        #expect(!BruteForce(report: everything, counts: t).leaks().isEmpty)
    }

    /// K above every cell: all cells hidden, and the total of 9 over three cells of at most 4
    /// still leaves each one free.
    @Test func minimumCountAboveEveryCell() {
        let t = Tables.oneField([3, 3, 3])
        let r = Tables.publish(t)
        #expect(Tables.cellMarks(r) == ["<5", "<5", "<5"])
        #expect(Tables.published(r)?.entries == .exact(9))
        expectSafe(r, t)
    }

    @Test func fewerThanKEntriesPublishesNothingElse() throws {
        let t = Tables.oneField([1, 0, 3])
        let r = Tables.publish(t)
        #expect(r.outcome == .fewerThanMinimum)
        #expect(r.textTable().contains("Fewer than 5 entries"))
        #expect(!r.json().contains("\"cells\""))
        #expect(Tables.publish(Tables.oneField([0, 0, 0]), k: 2).outcome == .fewerThanMinimum)
        #expect(Tables.publish(Tables.twoFields([[0, 0], [0, 0]])).outcome == .fewerThanMinimum)
    }

    @Test func tablesWithoutSmallCellsArePublishedWhole() {
        let t = Tables.twoFields([[5, 0], [7, 12]])
        let r = Tables.publish(t)
        #expect(Tables.published(r)?.cells == [.exact(5), .exact(0), .exact(7), .exact(12)])
        #expect(Tables.published(r)?.entries == .exact(24))
        #expect(Tables.cellMarks(Tables.publish(Tables.oneField([9]))) == ["9"])
    }

    /// Arrival months taken from the data: the reader knows the first one is not empty, so the
    /// zero next to the 1 no longer helps (1 + 0 would be pinned at 1 + 0), and the 12 goes.
    @Test func dataDerivedEndsAreKnownNotEmpty() {
        let t = Tables.oneField([1, 0, 12], fromData: true)
        #expect(!BruteForce(report: Tables.naive(t, k: 5, hide: [0, 1]), counts: t).leaks().isEmpty)
        let r = Tables.publish(t)
        #expect(Tables.cellMarks(r) == ["<5", "0", "x"])
        expectSafe(r, t)
    }

    /// A multi-valued field: the counts cover the entries rather than add up to them, so a
    /// hidden count is not pinned by the total and needs no partner.
    @Test func multiValuedCountsNeedNoPartnerWhenTheCoverLeavesRoom() throws {
        let kind = Tables.dimension("kind", ["verbal", "physical", "online"], multi: true)
        let t = try CountTable(dimension: kind, counts: [6, 1, 3], entries: 6)
        let r = Tables.publish(t)
        #expect(Tables.cellMarks(r) == ["6", "<5", "<5"])
        expectSafe(r, t)
    }

    // MARK: Two fields

    /// The classic: every row and column with a hidden cell has two, yet the 2×2 block of 4s
    /// is pinned by its row and column totals (each pair adds up to 8, each is at most 4).
    @Test func twoPerRowAndColumnIsNotEnough() {
        let t = Tables.twoFields([[4, 4, 20], [4, 4, 20], [10, 10, 10]])
        let naive = Tables.naive(t, k: 5, hide: [0, 1, 3, 4])
        #expect(BruteForce(report: naive, counts: t).leaks().count == 4)
        expectSafe(Tables.publish(t), t)
    }

    /// Row a0 has 3 entries: its cell and its total are hidden, and a naive rule pairs them with
    /// cells of row a1 and column b1. But the row totals add up to the published number of
    /// entries, so the hidden row total is 63 − 30 − 30 = 3 — the grand total gives it away. A
    /// second row total must be hidden.
    @Test func aHiddenTotalLeaksThroughTheGrandTotal() {
        let t = Tables.twoFields([[3, 0, 0], [10, 10, 10], [10, 10, 10]])
        // cells 0..8, row totals 9..11, column totals 12..14, entries 15.
        let naive = Tables.naive(t, k: 5, hide: [0, 1, 3, 4, 9])
        #expect(BruteForce(report: naive, counts: t).leaks().contains("row(0) = 3 is determined"))
        let r = Tables.publish(t)
        let p = Tables.published(r)!
        #expect(p.rowTotals[0] == .fewerThan(5))
        #expect(p.rowTotals.filter { $0.isSuppressed }.count >= 2)
        expectSafe(r, t)
    }

    /// A row of fewer than 5 people: besides its small cells, its zero is hidden too when the
    /// hidden cells around already give it a second value, so the table does not say what
    /// none of them answered.
    @Test func zerosOfASmallGroupAreHiddenWhenFree() {
        let t = Tables.twoFields([[2, 0, 1], [10, 3, 9], [11, 9, 14]])
        let r = Tables.publish(t)
        let p = Tables.published(r)!
        #expect(p.cells[0..<3].allSatisfy { $0.isSuppressed })
        #expect(p.rowTotals[0] == .fewerThan(5))
        expectSafe(r, t)
    }

    @Test func oneRowAndOneColumn() {
        for t in [Tables.twoFields([[3, 10, 12]]), Tables.twoFields([[3], [10], [12]]), Tables.twoFields([[2, 2, 1]])] {
            let r = Tables.publish(t)
            if case .published = r.outcome { expectSafe(r, t) }
            else { #expect(Bool(false), "\(t.cells) was not published") }
        }
    }

    /// A multi-valued field against a single-valued one (kind by setting), built from entries.
    @Test func multiValuedAgainstSingleValued() throws {
        var tab = try Tabulator(by: [Schema.kind, Schema.setting])
        let rows: [([String], String, Int)] = [
            (["verbal"], "workplace", 9), (["verbal", "physical"], "workplace", 4), (["online"], "online", 7),
            (["verbal", "online"], "online", 2), (["physical"], "healthcare", 1), (["stalking"], "home", 6),
        ]
        for (kinds, setting, n) in rows {
            for _ in 0..<n { try tab.add(StatsRecord(answers: ["kind": kinds, "setting": [setting]], arrivalMonth: "2025-01")) }
        }
        let t = try tab.counts()
        let r = Tables.publish(t)
        #expect(Tables.published(r)?.entries == .exact(29))
        expectSafe(r, t)
    }

    // MARK: Policy and determinism

    @Test func unsafeMinimumCountsNeedTheFlag() throws {
        #expect(throws: StatsError.self) { try DisclosurePolicy(minCount: 1) }
        #expect(throws: StatsError.self) { try DisclosurePolicy(minCount: 0, allowUnsafeSmallCells: true) }
        #expect(throws: StatsError.self) { try DisclosurePolicy(minCount: -3) }
        #expect(try DisclosurePolicy().minCount == 5)
        let unsafe = try DisclosurePolicy(minCount: 1, allowUnsafeSmallCells: true)
        let r = try Disclosure.publish(Tables.oneField([1, 0, 3]), policy: unsafe)
        #expect(Tables.cellMarks(r) == ["1", "0", "3"])
        #expect(r.notes.first?.contains("can single out") == true)
    }

    @Test func publishingIsDeterministic() {
        let t = Tables.twoFields([[4, 4, 20, 1], [4, 4, 20, 0], [10, 10, 10, 2]])
        #expect(Tables.publish(t) == Tables.publish(t))
        #expect(Tables.publish(t).html() == Tables.publish(t).html())
    }
}
