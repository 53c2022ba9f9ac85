import ChorusTestSupport
import Testing
@testable import ChorusStats

/// The joint audit against an independent reader (``JointReference``: the full joint table and
/// GLPK's integer programming, with no restriction), over random small releases.
@Suite struct JointAuditTests {
    struct Release: CustomStringConvertible {
        var fields: [StatsField]
        var records: [StatsRecord]
        var tables: [[StatsField]]
        var k: Int
        var description: String {
            "\(fields.count) fields \(fields.map { "\($0.id)\($0.multiValued ? "*" : "")\($0.optional ? "?" : "")" }), \(records.count) entries, K \(k), tables \(tables.map { $0.map(\.id).joined(separator: "×") })"
        }
    }

    static func randomRelease(_ rng: inout SplitMix64) throws -> Release {
        let fieldCount = rng.int(2...3)
        var fields: [StatsField] = []
        var multi = false
        for f in 0..<fieldCount {
            let isMulti = !multi && rng.int(0...3) == 0
            multi = multi || isMulti
            let n = isMulti ? rng.int(2...3) : rng.int(2...5)
            fields.append(try StatsField(id: "f\(f)", label: "F\(f)", values: (0..<n).map { "v\($0)" }, multiValued: isMulti,
                                         optional: rng.int(0...4) == 0))
        }
        let entries = rng.int(8...60)
        let concentrated = rng.int(0...1) == 0
        var records: [StatsRecord] = []
        for _ in 0..<entries {
            var answers: [String: [String]] = [:]
            for field in fields {
                guard case let .categorical(values) = field.kind else { continue }
                if field.optional, rng.int(0...5) == 0 { continue }
                func pick() -> String {
                    if concentrated {
                        // Most entries in the first value or two, a few elsewhere.
                        let r = rng.int(0...9)
                        return values[r < 6 ? 0 : (r < 8 ? min(1, values.count - 1) : rng.int(0...(values.count - 1)))]
                    }
                    return values[rng.int(0...(values.count - 1))]
                }
                if field.multiValued {
                    var chosen = Set([pick()])
                    if rng.int(0...2) == 0 { chosen.insert(pick()) }
                    answers[field.id] = values.filter(chosen.contains)
                } else {
                    answers[field.id] = [pick()]
                }
            }
            records.append(StatsRecord(answers: answers, arrivalMonth: "2026-0\(rng.int(1...3))"))
        }
        var all: [[StatsField]] = fields.map { [$0] }
        for a in fields.indices { for b in fields.indices where a < b { all.append([fields[a], fields[b]]) } }
        let tables: [[StatsField]]
        switch rng.int(0...2) {
        case 0: tables = all
        case 1: tables = all.filter { $0.count == 2 }
        default:
            let n = rng.int(1...all.count)
            tables = Array(all.shuffled(using: &rng).prefix(n))
        }
        return Release(fields: fields, records: records, tables: tables, k: rng.int(3...5))
    }

    /// Counts and protects `release` as `chorus stats` does: each table alone, then (with
    /// `joint`) the audit of them all.
    static func publish(_ release: Release, joint: Bool) throws -> (reports: [StatsReport], counts: [CountTable], population: PopulationCategories, summary: JointAudit.Summary) {
        var recorder = try PopulationRecorder(fields: release.tables.flatMap { $0 })
        var tabulators = try release.tables.map { try Tabulator(by: $0) }
        for r in release.records {
            try recorder.add(r)
            for i in tabulators.indices { try tabulators[i].add(r) }
        }
        let counts = try tabulators.map { try $0.counts() }
        let policy = try DisclosurePolicy(minCount: release.k)
        let alone = try counts.map { try Disclosure.publish($0, policy: policy) }
        let population = try recorder.categories(binnedBy: tabulators)
        guard joint else { return (alone, counts, population, JointAudit.Summary()) }
        let (reports, summary) = JointAudit.protect(Array(zip(counts, alone)), population: population, minCount: release.k)
        return (reports, counts, population, summary)
    }

    static let seed: UInt64 = 0x10_1A7_A0D1

    @Test(arguments: 0..<4)
    func everyHiddenNumberOfEveryReleaseHoldsUnderTheFullJointTable(batch: Int) throws {
        let seed = Self.seed + UInt64(batch)
        print("JointAuditTests seed \(String(seed, radix: 16)) (batch \(batch))")
        var rng = SplitMix64(seed: seed)
        var changed = 0, checkedNumbers = 0, withheld = 0
        for trial in 0..<60 {
            let release = try Self.randomRelease(&rng)
            let published = try Self.publish(release, joint: true)
            if published.summary.hidden > 0 || published.summary.withheld > 0 { changed += 1 }
            withheld += published.summary.withheld
            #expect(!published.summary.timedOut, "seed \(seed) trial \(trial): \(release)")
            let check = JointReference.violations(reports: published.reports, k: release.k)
            checkedNumbers += check.checked
            #expect(check.found.isEmpty, "seed \(String(seed, radix: 16)) trial \(trial): \(release): \(check.found)")
            // The audit only ever hides more: what it shows is what the table alone showed.
            let alone = try Self.publish(release, joint: false).reports
            for (a, b) in zip(alone, published.reports) {
                if case let .published(x) = a.outcome, case let .published(y) = b.outcome {
                    for (u, v) in zip(x.cells + x.rowTotals + x.columnTotals, y.cells + y.rowTotals + y.columnTotals) where !v.isSuppressed {
                        #expect(u == v, "seed \(seed) trial \(trial): a number changed")
                    }
                }
            }
        }
        print("JointAuditTests batch \(batch): \(checkedNumbers) hidden numbers checked, \(changed) of 60 releases changed by the audit, \(withheld) tables withheld")
        #expect(checkedNumbers > 100)
    }

    /// Without the joint audit, the same reader does find numbers it can pin in some releases: the
    /// reference is not blind, and the audit is needed.
    @Test func tablesProtectedOneByOneLeakTogether() throws {
        var rng = SplitMix64(seed: Self.seed)
        var leaking = 0
        for _ in 0..<120 {
            let release = try Self.randomRelease(&rng)
            let published = try Self.publish(release, joint: false)
            let check = JointReference.violations(reports: published.reports, k: release.k)
            if !check.found.isEmpty { leaking += 1 }
        }
        print("JointAuditTests: \(leaking) of 120 releases protected table by table break the rule")
        #expect(leaking > 0)
    }

    /// Three fields and their three cross-tabs, answers concentrated: the intruder's case.
    @Test func threePairwiseTablesOfEighteenEntries() throws {
        let setting = try StatsField(id: "setting", label: "Setting", values: ["workplace", "education", "healthcare"])
        let role = try StatsField(id: "role", label: "Role", values: ["supervisor", "colleague", "stranger"])
        let reported = try StatsField(id: "reported", label: "Reported", values: ["yes", "no"])
        let rows: [(String, String, String, Int)] = [
            ("workplace", "supervisor", "no", 5), ("workplace", "colleague", "no", 3), ("education", "supervisor", "yes", 4),
            ("education", "colleague", "no", 3), ("healthcare", "stranger", "yes", 2), ("workplace", "stranger", "yes", 1),
        ]
        var records: [StatsRecord] = []
        for (s, r, p, n) in rows {
            for _ in 0..<n { records.append(StatsRecord(answers: ["setting": [s], "role": [r], "reported": [p]], arrivalMonth: "2026-01")) }
        }
        #expect(records.count == 18)
        let release = Release(fields: [setting, role, reported], records: records,
                              tables: [[setting], [role], [reported], [setting, role], [setting, reported], [role, reported]], k: 5)
        let published = try Self.publish(release, joint: true)
        let check = JointReference.violations(reports: published.reports, k: 5)
        #expect(check.found.isEmpty, "\(check.found)")
        #expect(check.checked > 0)
    }

    /// At the time limit the audit publishes less, never more: every table with a hidden number it
    /// has not proven is withheld (here the limit is over before it starts).
    @Test func atTheTimeLimitUnprovenTablesAreWithheld() throws {
        var rng = SplitMix64(seed: Self.seed ^ 0x7171)
        var timedOut = 0
        for _ in 0..<20 {
            let release = try Self.randomRelease(&rng)
            let (alone, counts, population, _) = try Self.publish(release, joint: false)
            let (reports, summary) = JointAudit.protect(Array(zip(counts, alone)), population: population, minCount: release.k,
                                                        timeLimitMilliseconds: 0)
            let anyHidden = alone.contains { $0.allCounts.contains(where: \.isSuppressed) }
            if anyHidden {
                #expect(summary.timedOut)
                timedOut += 1
            }
            for (a, r) in zip(alone, reports) where a.allCounts.contains(where: \.isSuppressed) {
                guard case .withheld = r.outcome else { Issue.record("a table with hidden numbers was published unproven: \(release)"); continue }
            }
            #expect(JointReference.violations(reports: reports, k: release.k).found.isEmpty)
        }
        #expect(timedOut > 0)
    }

    /// A hidden number no entry can move out of is never published as hidden: its table goes.
    @Test func aHiddenNumberWithNoWitnessIsWithheld() throws {
        // K = 2: "<2" is 0 or 1, a range of 1: no witness can make it 2 apart, so the table of a
        // single entry in a cell is withheld.
        let f = try StatsField(id: "f", label: "F", values: ["a", "b"])
        let records = [StatsRecord(answers: ["f": ["a"]], arrivalMonth: "2026-01")] + Array(repeating: StatsRecord(answers: ["f": ["b"]], arrivalMonth: "2026-01"), count: 6)
        let published = try Self.publish(Release(fields: [f], records: records, tables: [[f]], k: 2), joint: true)
        guard case .withheld = published.reports[0].outcome else {
            Issue.record("expected the table to be withheld, got \(published.reports[0].outcome)")
            return
        }
        #expect(published.summary.withheld == 1)
    }

    @Test func theSolverFindsOptimaAndReportsInfeasibility() {
        var p = IntegerProgram()
        let x = p.addVariable(lo: 0, hi: 10), y = p.addVariable(lo: 0, hi: 10)
        p.rows.append(.init(terms: [(x, 2), (y, 2)], lo: 7, hi: 9))  // 2x + 2y = 8: x + y = 4
        #expect(p.solve(objective: [(x, 1)], maximize: true, timeLimitMilliseconds: 1000) == .optimal([4, 0]))
        var q = IntegerProgram()
        let z = q.addVariable(lo: 0, hi: 3)
        q.rows.append(.init(terms: [(z, 2)], lo: 3, hi: 3))  // 2z = 3 has no integer solution
        #expect(q.solve(objective: [(z, 1)], timeLimitMilliseconds: 1000) == .infeasible)
        #expect(!q.isSolution([1]))
    }
}
