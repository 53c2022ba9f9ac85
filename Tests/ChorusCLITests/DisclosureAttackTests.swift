import ChorusCore
import ChorusCrypto
import ChorusFormat
import ChorusTestSupport
import Foundation
import Testing

/// The intruder's attacks on what `chorus stats` publishes, run through the binary: differencing
/// within one run, integer programming over the tables of one run, and differencing across runs.
/// Each must find nothing.
@Suite struct DisclosureAttackTests {
    /// Seals an entry with the given arrival month to the store's signed recipients (Keys/), and
    /// imports it, as an envelope made elsewhere would arrive.
    static func importEntry(_ cli: CLI, month: String, _ fields: [String: [String]], name: String) throws {
        var all: [String: [String]] = ["kind": ["verbal"], "setting": ["workplace"], "perpetrator-role": ["supervisor"], "reported": ["no"],
                                       "consent": ["counts-only"]]
        for (k, v) in fields { all[k] = v }
        let answers = try AnswersText(arrivalMonth: month, questionnaire: Schema.builtIn.digest, fields: all).encoded()
        let keys = try KeyFiles.loadRecipients([cli.path("Keys")])
        let envelope = try EnvelopeSealer.seal(id: Random.bytes(32), answers: answers, story: SecretBytes(copying: Array("a story".utf8)), recipients: keys)
        try cli.write(name, bytes: envelope)
        let r = try cli.run(["import", "--store", "store", name])
        #expect(r.status == 0, "\(r)")
    }

    static func stats(_ cli: CLI, _ args: [String], releases: String = "releases") throws -> Run {
        try cli.run(["stats", "--key", "ana.key", "--passphrase-file", "pass", "--releases", releases] + args)
    }

    /// The published tables of `--format json` output, as the reader sees them.
    static func readerView(_ r: Run) throws -> (fields: [JointReference.Field], tables: [JointReference.Table], k: Int) {
        let json = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8))
        let objects: [[String: Any]]
        if let list = json as? [[String: Any]] { objects = list } else { objects = [try #require(json as? [String: Any])] }
        var fields: [JointReference.Field] = []
        var tables: [JointReference.Table] = []
        var k = 0
        func mark(_ any: Any?) throws -> JointReference.Mark {
            let o = try #require(any as? [String: Any])
            if let n = o["count"] as? Int { return .exact(n) }
            if let n = o["fewer_than"] as? Int { return .fewerThan(n) }
            return .atLeast(try #require(o["at_least"] as? Int))
        }
        for o in objects {
            k = try #require((o["parameters"] as? [String: Any])?["min_count"] as? Int)
            let fs = try #require(o["fields"] as? [[String: Any]])
            for f in fs {
                let id = try #require(f["id"] as? String)
                let values = try #require(f["values"] as? [Any])
                if !fields.contains(where: { $0.id == id }) {
                    fields.append(.init(id: id, categories: values.count, multiValued: f["multi_valued"] as? Bool ?? false,
                                        notAnswered: values.last is NSNull ? values.count - 1 : nil,
                                        categoriesFromData: f["categories_from_data"] as? Bool ?? false))
                }
            }
            guard o["outcome"] as? String == "published" else { continue }
            let ids = fs.compactMap { $0["id"] as? String }
            let cells: [JointReference.Mark]
            if ids.count == 1 {
                cells = try (try #require(o["cells"] as? [Any])).map(mark)
            } else {
                cells = try (try #require(o["cells"] as? [[Any]])).flatMap { try $0.map(mark) }
            }
            tables.append(.init(fields: ids, cells: cells,
                                rowTotals: try ((o["row_totals"] as? [Any]) ?? []).map(mark),
                                columnTotals: try ((o["column_totals"] as? [Any]) ?? []).map(mark),
                                entries: try mark(o["entries"])))
        }
        return (fields, tables, k)
    }

    /// One run, `--months` for October only, and one entry from November: every table of the
    /// run counts the same October entries, so the setting table minus the arrival-month ×
    /// setting table is zero everywhere, and the November entry's answers appear nowhere.
    @Test func oneRunWithMonthsGivesNoEntryAway() throws {
        let cli = try CLI.withStore()
        let settings = ["workplace", "workplace", "workplace", "education", "education", "education", "workplace", "education",
                        "workplace", "education", "workplace", "education"]
        for (i, s) in settings.enumerated() { try Self.importEntry(cli, month: "2026-10", ["setting": [s]], name: "oct\(i)") }
        try Self.importEntry(cli, month: "2026-11", ["setting": ["healthcare"], "perpetrator-role": ["stranger"]], name: "nov")
        var args = ["store", "--months", "2026-10..2026-10", "--format", "json"]
        for f in ["setting", "perpetrator-role"] { args += ["--by", f, "--by", "arrival-month,\(f)"] }
        let r = try Self.stats(cli, args)
        #expect(r.status == 0, "\(r)")
        #expect(r.stderr.contains("fewer than 5 entries arrived outside --months 2026-10..2026-10 and are counted in no table"), "\(r.stderr)")
        let tables = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]])
        #expect(tables.count == 4)
        for t in tables { #expect((t["entries"] as? [String: Int]) == ["count": 12], "\(t)") }
        // The intruder's subtraction: the one-field table against the cross-tab's column totals.
        for pair in [(0, 1), (2, 3)] {
            let single = tables[pair.0]["cells"] as? [[String: Int]]
            let columns = tables[pair.1]["column_totals"] as? [[String: Int]]
            #expect(single != nil && single! == columns!, "\(single ?? []) vs \(columns ?? [])")
        }
        let view = try Self.readerView(r)
        #expect(JointReference.violations(fields: view.fields, tables: view.tables, k: view.k).found.isEmpty)
        // Every report says what it covers.
        for t in tables {
            let release = try #require(t["release"] as? [String: Any])
            #expect(release["number"] as? Int == 1 && release["first_month"] as? String == "2026-10" && release["last_month"] as? String == "2026-10")
        }
        let text = try Self.stats(cli, ["store", "--months", "2026-10..2026-10", "--by", "setting"])
        #expect(text.status == 0, "\(text)")
        #expect(withoutDates(text.stdout).contains("Note: Release 2 of DATE: entries that arrived in 2026-10; minimum count K = 5."), "\(text.stdout)")
    }

    /// Setting, role and reported and their three cross-tabs of 18 entries with concentrated
    /// answers: the reader's integer programs over the full joint table pin no hidden number.
    @Test func threePairwiseTablesOfEighteenEntries() throws {
        let cli = try CLI.withStore()
        try Self.eighteenEntries(cli)
        var args = ["store", "--format", "json"]
        for f in ["setting", "perpetrator-role", "reported"] { args += ["--by", f] }
        args += ["--by", "setting,perpetrator-role", "--by", "setting,reported", "--by", "perpetrator-role,reported"]
        let r = try Self.stats(cli, args)
        #expect(r.status == 0, "\(r)")
        let view = try Self.readerView(r)
        #expect(view.tables.count >= 3, "most tables are still published")
        let check = JointReference.violations(fields: view.fields, tables: view.tables, k: view.k)
        #expect(check.found.isEmpty, "\(check.found)")
        #expect(check.checked > 0)
    }

    /// The same three cross-tabs, one per run, of exactly the same entries: each release is
    /// audited with the tables the earlier ones published, so the three together pin nothing either.
    @Test func threePairwiseTablesInThreeRunsOfTheSameEntries() throws {
        let cli = try CLI.withStore()
        try Self.eighteenEntries(cli)
        var fields: [JointReference.Field] = []
        var tables: [JointReference.Table] = []
        var k = 0
        for spec in ["setting,perpetrator-role", "setting,reported", "perpetrator-role,reported"] {
            let r = try Self.stats(cli, ["store", "--by", spec, "--format", "json"])
            #expect(r.status == 0, "\(r)")
            let view = try Self.readerView(r)
            for f in view.fields where !fields.contains(where: { $0.id == f.id }) { fields.append(f) }
            tables += view.tables
            k = view.k
        }
        let check = JointReference.violations(fields: fields, tables: tables, k: k)
        #expect(check.found.isEmpty, "\(check.found)")
        #expect(check.checked > 0)
    }

    static func eighteenEntries(_ cli: CLI) throws {
        let rows: [(String, String, String, Int)] = [
            ("workplace", "supervisor", "no", 5), ("workplace", "colleague", "no", 3), ("education", "supervisor", "yes", 4),
            ("education", "colleague", "no", 3), ("healthcare", "stranger", "yes", 2), ("workplace", "stranger", "yes", 1),
        ]
        var n = 0
        for (s, p, rep, count) in rows {
            for _ in 0..<count {
                try importEntry(cli, month: "2026-10", ["setting": [s], "perpetrator-role": [p], "reported": [rep]], name: "e\(n)")
                n += 1
            }
        }
    }

    /// Counting the store, then its batch without the one entry still in the inbox: the second
    /// release is refused, and nothing of it is shown.
    @Test func storeThenBatchIsRefused() throws {
        let cli = try CLI.withStore()
        for i in 0..<12 { try cli.submit("story \(i)") }
        let batch = try cli.run(["batch", "--store", "store"]).stdout.trimmingCharacters(in: .newlines)
        try cli.submit("the one still in the inbox", answers: ["--answer", "kind=rape", "--answer", "setting=healthcare",
                                                               "--answer", "perpetrator-role=family", "--answer", "reported=yes",
                                                               "--answer", "consent=quote-anonymously"])
        let store = try Self.stats(cli, ["store", "--by", "setting"])
        #expect(store.status == 0, "\(store)")
        let alone = try Self.stats(cli, [batch, "--by", "setting"])
        #expect(alone.status == 77, "\(alone)")
        #expect(alone.stdout.isEmpty)
        #expect(alone.stderr.contains("differ from those of release 1 (") && alone.stderr.contains("by only 1 entry"), "\(alone.stderr)")
        #expect(alone.stderr.contains("wait until at least 4 more entries have arrived or left"))
        // The store again (the same entries): allowed, and the batch with tables of other fields.
        #expect(try Self.stats(cli, ["store", "--by", "setting"]).status == 0)
        #expect(try Self.stats(cli, [batch, "--by", "consent"]).status == 0)
    }

    /// Counting before and after a withdrawal: the second release is refused.
    @Test func beforeAndAfterAWithdrawalIsRefused() throws {
        let cli = try CLI.withStore()
        for i in 0..<12 { try cli.submit("story \(i)") }
        let receipt = try cli.submit("to withdraw", answers: ["--answer", "kind=stalking", "--answer", "setting=online",
                                                              "--answer", "perpetrator-role=stranger", "--answer", "reported=no",
                                                              "--answer", "consent=counts-only"])
        #expect(try Self.stats(cli, ["store", "--by", "setting", "--by", "kind"]).status == 0)
        #expect(try cli.run(["withdraw", "--store", "store"], stdin: receipt).status == 0)
        let after = try Self.stats(cli, ["store", "--by", "kind"])
        #expect(after.status == 77, "\(after)")
        #expect(after.stdout.isEmpty)
        #expect(after.stderr.contains("by only 1 entry"), "\(after.stderr)")
        // A log kept elsewhere knows nothing: the guard protects an honest analyst, not against one
        // who moves or edits the log (SECURITY.md says so).
        #expect(try Self.stats(cli, ["store", "--by", "kind"], releases: "elsewhere").status == 0)
    }

    /// Under --epsilon no exact count appears anywhere: not in the notes about entries left out,
    /// not in the counts of entries that could not be read.
    @Test func noExactCountBesideNoise() throws {
        let cli = try CLI.withStore()
        for i in 0..<8 { try Self.importEntry(cli, month: "2026-10", [:], name: "oct\(i)") }
        for i in 0..<3 { try Self.importEntry(cli, month: "2026-11", [:], name: "nov\(i)") }
        try cli.write("store/inbox/" + String(repeating: "ab", count: 32), "junk")
        let r = try Self.stats(cli, ["store", "--by", "arrival-month", "--months", "2026-10..2026-10", "--epsilon", "0.5"])
        #expect(r.status == 65, "\(r)")
        let notes = r.problems.filter { !$0.contains("privacy budget:") && !$0.contains("first use of store") }
        #expect(notes.contains { $0.contains("some entries arrived outside --months") }, "\(r.stderr)")
        #expect(notes.contains { $0.contains("some entries: not a valid envelope") }, "\(r.stderr)")
        for line in notes { #expect(digitRuns(in: line.replacingOccurrences(of: "2026-10..2026-10", with: "")).isEmpty, "\(line)") }
        #expect(r.stderr.contains("the least any of them has left is 0.5 of 1"))
    }
}
