import Foundation
import Testing
@testable import ChorusStats

/// The default schema's fields, as the CLI will build them.
enum Schema {
    static let kind = try! StatsField(id: "kind", label: "Kind", values: [
        "verbal", "non-verbal", "physical", "sexual-assault", "rape", "online", "quid-pro-quo", "stalking", "other",
    ], multiValued: true)
    static let setting = try! StatsField(id: "setting", label: "Setting", values: [
        "workplace", "education", "entertainment", "healthcare", "hospitality", "public-space", "online", "home", "other",
    ])
    static let role = try! StatsField(id: "perpetrator-role", label: "Perpetrator role", values: [
        "supervisor", "colleague", "client-or-customer", "teacher-or-coach", "partner-or-ex", "family", "acquaintance",
        "stranger", "other", "prefer-not-to-say",
    ])
    static let reported = try! StatsField(id: "reported", label: "Reported", values: ["yes", "no", "prefer-not-to-say"])
    static let year = try! StatsField.year(years: 1950...2026)
}

@Suite struct TabulationTests {
    static func record(_ answers: [String: [String]], month: String = "2025-03") -> StatsRecord {
        StatsRecord(answers: answers, arrivalMonth: month)
    }

    @Test func countsOneFieldWithNotAnswered() throws {
        let f = try StatsField(id: "reported", label: "Reported", values: ["yes", "no"], optional: true)
        var t = try Tabulator(by: [f])
        for a in [["yes"], ["no"], ["no"], [], ["no"]] { try t.add(Self.record(a.isEmpty ? [:] : ["reported": a])) }
        let c = try t.counts()
        #expect(c.dimensions[0].values == ["yes", "no", nil])
        #expect(c.cells == [1, 3, 1])
        #expect(c.entries == 5)
        #expect(t.entryCount == 5)
    }

    @Test func requiredFieldHasNoNotAnsweredCategory() throws {
        var t = try Tabulator(by: [Schema.setting])
        try t.add(Self.record(["setting": ["home"]]))
        let c = try t.counts()
        #expect(c.dimensions[0].values.count == 9)
        #expect(!c.dimensions[0].values.contains(nil))
        #expect(c.cells[7] == 1 && c.cells.reduce(0, +) == 1)
    }

    @Test func multiValuedCountsOncePerChosenValue() throws {
        var t = try Tabulator(by: [Schema.kind])
        try t.add(Self.record(["kind": ["verbal", "online"]]))
        try t.add(Self.record(["kind": ["verbal"]]))
        let c = try t.counts()
        #expect(c.cells[0] == 2 && c.cells[5] == 1)
        #expect(c.cells.reduce(0, +) == 3)
        #expect(c.entries == 2)
        #expect(c.dimensions[0].multiValued && c.dimensions[0].maxChoices == 9)
    }

    @Test func twoFieldsCountCellsAndTotals() throws {
        var t = try Tabulator(by: [Schema.kind, Schema.setting])
        try t.add(Self.record(["kind": ["verbal", "physical"], "setting": ["workplace"]]))
        try t.add(Self.record(["kind": ["verbal"], "setting": ["education"]]))
        let c = try t.counts()
        #expect(c.count(row: 0, column: 0) == 1)  // verbal, workplace
        #expect(c.count(row: 2, column: 0) == 1)  // physical, workplace
        #expect(c.count(row: 0, column: 1) == 1)  // verbal, education
        #expect(c.rowTotals[0] == 2 && c.rowTotals[2] == 1)
        #expect(c.columnTotals[0] == 1 && c.columnTotals[1] == 1)
        #expect(c.entries == 2)
    }

    @Test func badRecordsThrowAndCountNothing() throws {
        var t = try Tabulator(by: [Schema.kind, Schema.setting])
        let bad: [([String: [String]], StatsError)] = [
            (["kind": ["verbal"]], .missingAnswer(field: "setting")),
            (["kind": ["verbal"], "setting": ["mars"]], .unknownValue(field: "setting", value: "mars", allowed: [
                "workplace", "education", "entertainment", "healthcare", "hospitality", "public-space", "online", "home", "other"])),
            (["kind": ["verbal"], "setting": ["home", "online"]], .invalidAnswer(field: "setting", reason: "it takes one value, not 2")),
            (["kind": ["verbal", "verbal"], "setting": ["home"]], .invalidAnswer(field: "kind", reason: "a value is given twice")),
        ]
        for (answers, error) in bad {
            #expect(throws: error) { try t.add(Self.record(answers)) }
        }
        #expect(throws: StatsError.invalidMonth("2025-13")) { try t.add(Self.record(["kind": ["verbal"], "setting": ["home"]], month: "2025-13")) }
        #expect(t.entryCount == 0)
        #expect(try t.counts().entries == 0)
    }

    /// A damaged entry's text is never echoed in a message (it may be private, or escape codes).
    @Test func errorsDoNotEchoWhatTheEntrySaid() throws {
        var t = try Tabulator(by: [Schema.setting])
        let hostile = "\u{1B}]0;owned\u{07}secret-answer"
        for record in [Self.record(["setting": [hostile]]), Self.record(["setting": ["home"]], month: hostile)] {
            do {
                try t.add(record)
                Issue.record("accepted")
            } catch let error as StatsError {
                #expect(!error.description.contains("secret-answer"))
                #expect(!error.description.contains("\u{1B}"))
            }
        }
    }

    @Test func invalidGroupingsAndFieldsAreRefused() throws {
        #expect(throws: StatsError.self) { try Tabulator(by: []) }
        #expect(throws: StatsError.self) { try Tabulator(by: [Schema.setting, Schema.setting]) }
        #expect(throws: StatsError.self) { try Tabulator(by: [Schema.setting, Schema.role, Schema.kind]) }
        #expect(throws: StatsError.self) { try StatsField(id: "x", label: "X", values: []) }
        #expect(throws: StatsError.self) { try StatsField(id: "x", label: "X", values: ["a", "a"]) }
        #expect(throws: StatsError.self) { try StatsField(id: "", label: "X", values: ["a"]) }
        #expect(throws: StatsError.self) { try StatsField.year(years: 0...2000) }
    }

    @Test func yearIsBinnedOverTheDeclaredRange() throws {
        var t = try Tabulator(by: [Schema.year])
        for y in ["1950", "1954", "1955", "2019", "2026"] { try t.add(Self.record(["year": [y]])) }
        try t.add(Self.record([:]))
        #expect(throws: StatsError.self) { try t.add(Self.record(["year": ["1949"]])) }
        #expect(throws: StatsError.self) { try t.add(Self.record(["year": ["20x9"]])) }
        #expect(throws: StatsError.self) { try t.add(Self.record(["year": ["+2019"]])) }
        let c = try t.counts()
        let labels = c.dimensions[0].values
        #expect(labels.first == "1950-1954")
        #expect(labels[labels.count - 2] == "2025-2026")
        #expect(labels.last == .some(nil))
        #expect(labels.count == 17)
        #expect(c.cells[0] == 2 && c.cells[1] == 1 && c.cells[13] == 1 && c.cells[15] == 1 && c.cells[16] == 1)
        #expect(!c.dimensions[0].rangeFromData)
    }

    @Test func arrivalMonthsComeFromTheDataUnlessFixed() throws {
        var t = try Tabulator(by: [StatsField.arrivalMonth()])
        for m in ["2025-03", "2025-01", "2025-03"] { try t.add(Self.record([:], month: m)) }
        let c = try t.counts()
        #expect(c.dimensions[0].values == ["2025-01", "2025-02", "2025-03"])
        #expect(c.cells == [1, 0, 2])
        #expect(c.dimensions[0].rangeFromData)

        let fixed = StatsField.arrivalMonth(range: try YearMonth(parsing: "2024-12")...YearMonth(parsing: "2025-04"))
        var u = try Tabulator(by: [fixed])
        try u.add(Self.record([:], month: "2025-03"))
        #expect(throws: StatsError.self) { try u.add(Self.record([:], month: "2025-05")) }
        let d = try u.counts()
        #expect(d.dimensions[0].values == ["2024-12", "2025-01", "2025-02", "2025-03", "2025-04"])
        #expect(!d.dimensions[0].rangeFromData)
    }

    @Test func noEntriesGiveAnEmptyTable() throws {
        let c = try Tabulator(by: [StatsField.arrivalMonth(), Schema.setting]).counts()
        #expect(c.entries == 0 && c.cells.isEmpty)
        let report = try Disclosure.publish(c, policy: DisclosurePolicy())
        #expect(report.outcome == .fewerThanMinimum)
    }

    /// Partial tables filled on several threads and merged equal one filled sequentially, in
    /// any merge order.
    @Test func mergeOfConcurrentPartialsEqualsSequential() async throws {
        var rng = SplitMix64(seed: 7)
        let settings = ["workplace", "education", "online", "home"]
        let kinds = ["verbal", "physical", "online", "stalking"]
        let records: [StatsRecord] = (0..<2000).map { _ in
            var k = Set([kinds[rng.int(0...3)]])
            if rng.int(0...2) == 0 { k.insert(kinds[rng.int(0...3)]) }
            return Self.record(["kind": k.sorted(), "setting": [settings[rng.int(0...3)]]], month: "2025-0\(rng.int(1...9))")
        }
        let fields = [Schema.kind, Schema.setting]
        var sequential = try Tabulator(by: fields)
        for r in records { try sequential.add(r) }

        let parts = try await withThrowingTaskGroup(of: Tabulator.self) { group in
            for p in 0..<4 {
                let slice = Array(records[(p * 500)..<((p + 1) * 500)])
                group.addTask {
                    var t = try Tabulator(by: fields)
                    for r in slice { try t.add(r) }
                    return t
                }
            }
            var out: [Tabulator] = []
            for try await t in group { out.append(t) }
            return out
        }
        var merged = try Tabulator(by: fields)
        for p in parts.reversed() { try merged.merge(p) }
        #expect(try merged.counts() == sequential.counts())
        #expect(merged.entryCount == 2000)
        #expect(throws: StatsError.mismatchedMerge) { try merged.merge(Tabulator(by: [Schema.setting])) }
    }
}

@Suite struct BinningTests {
    @Test func fiveYearBinsAlignedOnMultiplesOfFive() {
        let b = YearBinning.bins(1950...2026)
        #expect(b.labels.count == 16)
        #expect(b.labels.prefix(2) == ["1950-1954", "1955-1959"])
        #expect(b.labels.last == "2025-2026")
        #expect(b.index(of: 1950) == 0 && b.index(of: 1954) == 0 && b.index(of: 1955) == 1 && b.index(of: 2026) == 15)
        #expect(b.index(of: 1949) == nil && b.index(of: 2027) == nil)
        let odd = YearBinning.bins(1952...1960)
        #expect(odd.labels == ["1952-1954", "1955-1959", "1960"])
    }

    @Test func decadesWhenTheRangeSpansMoreThanACentury() {
        let b = YearBinning.bins(1900...2026)
        #expect(b.labels.first == "1900-1909")
        #expect(b.labels.last == "2020-2026")
        #expect(b.labels.count == 13)
    }

    @Test func monthsThenQuartersThenYears() throws {
        let m = MonthBinning.bins(try YearMonth(parsing: "2024-01")...YearMonth(parsing: "2025-12"))
        #expect(m.labels.count == 24 && m.labels.first == "2024-01" && m.labels.last == "2025-12")
        let q = MonthBinning.bins(try YearMonth(parsing: "2024-02")...YearMonth(parsing: "2026-02"))
        #expect(q.labels.first == "2024-Q1" && q.labels.last == "2026-Q1" && q.labels.count == 9)
        #expect(q.index(of: try YearMonth(parsing: "2024-02").index) == 0)
        #expect(q.index(of: try YearMonth(parsing: "2024-04").index) == 1)
        let y = MonthBinning.bins(try YearMonth(parsing: "2015-01")...YearMonth(parsing: "2025-06"))
        #expect(y.labels.first == "2015" && y.labels.last == "2025" && y.labels.count == 11)
    }

    @Test func monthParsingIsStrict() {
        for bad in ["2025-3", "2025-00", "2025-13", "25-03", "2025/03", "2025-03 ", "", "０２０２-03", "0000-01"] {
            #expect(throws: StatsError.self) { try YearMonth(parsing: bad) }
        }
        #expect((try? YearMonth(parsing: "2025-03"))?.description == "2025-03")
    }
}
