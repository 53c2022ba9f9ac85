import Foundation
import Testing
import ChorusCore
import ChorusCrypto
import ChorusFormat
import ChorusStats
import ChorusStore
import ChorusSystem
import ChorusTestSupport
@testable import ChorusReading

#if canImport(Glibc)
import Glibc
#endif

/// A store with entries sealed here (no binary), for the review and stats runs.
struct RunFixture {
    let dir = ScratchDir()
    let store: Store
    let reviewer: UnlockedKey
    let analyst: UnlockedKey
    let recipients: [RecipientKey]

    init() throws {
        store = try makeStore(dir)
        let r = try makeKey("rev", .reviewer), a = try makeKey("ana", .analyst)
        reviewer = try unlock(r.file)
        analyst = try unlock(a.file)
        recipients = [r.recipient, a.recipient]
    }

    static func answers(setting: String = "home", month: String = "2026-01", extra: [String: [String]] = [:]) throws -> [UInt8] {
        var fields: [String: [String]] = ["setting": [setting], "kind": ["other"], "perpetrator-role": ["other"], "reported": ["no"],
                                          "consent": ["counts-only"]]
        for (k, v) in extra { fields[k] = v }
        return try AnswersText(arrivalMonth: month, questionnaire: Schema.builtIn.digest, fields: fields).encoded()
    }

    func seal(_ story: String, answers: [UInt8]) throws -> [UInt8] {
        try EnvelopeSealer.seal(id: Random.bytes(32), answers: answers, story: SecretBytes(copying: Array(story.utf8)), recipients: recipients)
    }

    /// The JSON lines a review run wrote to a file, parsed.
    static func jsonLines(_ path: String) throws -> [[String: Any]] {
        let text = String(decoding: readFile(path) ?? [], as: UTF8.self)
        return try text.split(separator: "\n").map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        }
    }

    /// Runs a review of `sources` into a file and returns its lines.
    func review(_ sources: [String], keys: [UnlockedKey], spoolMemoryLimit: Int = ShuffledSpool.defaultMemoryLimit,
                temporaryFolder: String? = nil) throws -> (ReviewResult, [[String: Any]]) {
        let out = dir.sub("review-\(UUID().uuidString).jsonl")
        let fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        #expect(fd >= 0)
        defer { close(fd) }
        var run = ReviewRun(keys: keys, format: .jsonl, destination: .stream(fd: fd))
        run.spoolMemoryLimit = spoolMemoryLimit
        run.temporaryFolder = temporaryFolder
        let result = try run.run(try EntrySources(paths: sources))
        return (result, try Self.jsonLines(out))
    }
}

/// Spearman's rho between the positions shown and 0 ..< n.
func spearman(_ positions: [Int]) -> Double {
    let n = Double(positions.count)
    let d2 = positions.enumerated().map { Double(($0.offset - $0.element) * ($0.offset - $0.element)) }.reduce(0, +)
    return 1 - 6 * d2 / (n * (n * n - 1))
}

@Suite struct ReviewRunTests {
    /// More than the spool holds in memory: in a store's inbox, the envelopes and their sealed keys go
    /// through an unnamed temporary file, every story comes out once, in an order that does not follow
    /// the inbox, and the temporary folder is left empty; a folder that cannot take the file is one
    /// sentence. In a batch file, review keeps only where each entry is and reads it again from the
    /// batch, so it needs no temporary file at all.
    @Test func moreThanMemoryGoesThroughASealedTemporaryFileOrIsReadAgain() throws {
        let fx = try RunFixture()
        let answers = try RunFixture.answers()
        let filler = String(repeating: "a longer story, \"quoted\" and\ton lines\n", count: 40)
        var envelopes: [[UInt8]] = []
        for i in 0 ..< 300 {
            let e = try fx.seal("big \(i)\n\(filler)", answers: answers)
            envelopes.append(e)
            try fx.store.publish(envelope: e, removingLeftovers: false)
        }
        let batch = fx.dir.sub("big.batch")
        try BatchWriter.create(path: batch, recipients: try fx.store.requireSignedRecipients(), entryCount: envelopes.count) { encoder in
            for e in envelopes { try encoder.append(envelope: e) }
        }
        let tmp = fx.dir.sub("tmp")
        #expect(mkdir(tmp, 0o700) == 0)

        func check(_ lines: [[String: Any]], _ what: String) throws {
            let stories = lines.compactMap { $0["story"] as? String }
            #expect(stories.count == 300 && stories.allSatisfy { $0.hasSuffix(filler) }, "\(what)")
            let positions = try stories.map { s -> Int in try #require(Int(s.dropFirst("big ".count).prefix { $0 != "\n" })) }
            #expect(positions.sorted() == Array(0 ..< 300), "\(what)")
        }
        // In name order, the inbox is not in the order sealed; what matters is that nothing shows the
        // order read: compare with the order the run reads the inbox in.
        let readOrder = try fx.store.listInbox().entries
        let (result, lines) = try fx.review([fx.store.path], keys: [fx.reviewer], spoolMemoryLimit: 64 << 10, temporaryFolder: tmp)
        try check(lines, "inbox")
        #expect(result.summary.opened == 300 && !result.summary.hasProblems)
        #expect(names(in: tmp).isEmpty)
        let ids = envelopes.map { Hex.encode($0[EnvelopeFormat.Offset.id ..< EnvelopeFormat.Offset.id + 32]) }
        let shown = lines.map { line -> Int in
            let story = line["story"] as! String
            let sealedAs = Int(story.dropFirst("big ".count).prefix { $0 != "\n" })!
            return readOrder.firstIndex(of: ids[sealedAs])!
        }
        #expect(abs(spearman(shown)) < 0.35, "the order shown follows the order read")

        expectFailure(SystemError.self, .io, ["temporary file", "TMPDIR"]) {
            _ = try fx.review([fx.store.path], keys: [fx.reviewer], spoolMemoryLimit: 64 << 10, temporaryFolder: fx.dir.sub("no-such-folder"))
        }
        // The batch: no temporary file needed at all.
        let (fromBatch, batchLines) = try fx.review([batch], keys: [fx.reviewer], spoolMemoryLimit: 64 << 10,
                                                    temporaryFolder: fx.dir.sub("no-such-folder"))
        try check(batchLines, "batch")
        #expect(fromBatch.summary.opened == 300)
    }

    /// A long batch written in a known order: the order shown must not follow it. Spearman's rho of a
    /// uniform order of 400 has a standard deviation of 0.05; |rho| >= 0.3 happens with p < 1e-8 per
    /// run. (Releasing at random from a window of 64 entries, say, gives rho around 0.7.)
    @Test func theOrderShownDoesNotFollowTheBatch() throws {
        let fx = try RunFixture()
        let answers = try RunFixture.answers()
        let envelopes = try (0 ..< 400).map { try fx.seal("ordered \($0)", answers: answers) }
        let batch = fx.dir.sub("ordered.batch")
        try BatchWriter.create(path: batch, recipients: try fx.store.requireSignedRecipients(), entryCount: envelopes.count) { encoder in
            for e in envelopes { try encoder.append(envelope: e) }
        }
        var orders: [[Int]] = []
        for _ in 0 ..< 2 {
            let (_, lines) = try fx.review([batch], keys: [fx.reviewer])
            let positions = try lines.map { l -> Int in try #require(Int((l["story"] as! String).dropFirst("ordered ".count))) }
            #expect(positions.sorted() == Array(0 ..< 400))
            #expect(abs(spearman(positions)) < 0.3, "the order shown follows the batch order")
            orders.append(positions)
        }
        #expect(orders[0] != orders[1])
    }

    @Test func analystKeysShowAnswersOnlyAndUnusedKeysAreNamed() throws {
        let fx = try RunFixture()
        for i in 0 ..< 3 { try fx.store.publish(envelope: try fx.seal("story \(i)", answers: try RunFixture.answers())) }
        let (analystOnly, lines) = try fx.review([fx.store.path], keys: [fx.analyst])
        #expect(lines.count == 3 && lines.allSatisfy { $0["story"] is NSNull })
        #expect(analystOnly.openedByAnalystOnly == 0 && analystOnly.unusedKeys.isEmpty)

        let stranger = try unlock(try makeKey("stranger", .reviewer).file)
        let (both, withStories) = try fx.review([fx.store.path], keys: [stranger, fx.reviewer])
        #expect(withStories.compactMap { $0["story"] as? String }.sorted() == ["story 0", "story 1", "story 2"])
        #expect(both.unusedKeys == [0], "the stranger's key opens nothing and is named")
        #expect(!both.summary.hasProblems)

        // An entry sealed to the analyst only, read with reviewer and analyst keys: answers, no story.
        let onlyAnalyst = try EnvelopeSealer.seal(id: Random.bytes(32), answers: try RunFixture.answers(), story: SecretBytes(copying: [0x41]),
                                                  recipients: [fx.recipients[1]])
        try fx.store.publish(envelope: onlyAnalyst)
        let (mixed, mixedLines) = try fx.review([fx.store.path], keys: [fx.reviewer, fx.analyst])
        #expect(mixed.openedByAnalystOnly == 1 && mixedLines.count == 4)
    }
}

@Suite struct StatsRunTests {
    static let settings = Schema.builtIn.field("setting")!.values!

    /// With K = 1 every count is published as it is: the run's tables must then be exactly what a
    /// plain count of the answers gives, whatever the sources (inbox and batch), on every core.
    @Test func countsAreWhatAPlainCountGives() throws {
        let fx = try RunFixture()
        var expected: [String: Int] = [:]
        var rng = SystemRandomNumberGenerator()
        var batchEntries: [[UInt8]] = []
        for i in 0 ..< 120 {
            let setting = Self.settings[Int.random(in: 0 ..< 4, using: &rng)]
            expected[setting, default: 0] += 1
            let e = try fx.seal("s\(i)", answers: try RunFixture.answers(setting: setting))
            if i % 2 == 0 { try fx.store.publish(envelope: e) } else { batchEntries.append(e) }
        }
        let batch = fx.dir.sub("half.batch")
        try BatchWriter.create(path: batch, recipients: try fx.store.requireSignedRecipients(), entryCount: batchEntries.count) { encoder in
            for e in batchEntries { try encoder.append(envelope: e) }
        }
        let sources = try EntrySources(paths: [fx.store.path, batch])
        let plan = try StatsPlan(sources: sources, tables: ["setting"], months: nil, noisy: false)
        var run = StatsRun(plan: plan, keys: [fx.analyst], policy: try DisclosurePolicy(minCount: 1, allowUnsafeSmallCells: true))
        run.workers = 3
        let result = try run.run(sources)
        guard case let .published(p) = try #require(result.reports.first).outcome else {
            Issue.record("not published")
            return
        }
        for (i, setting) in Self.settings.enumerated() { #expect(p.cells[i] == .exact(expected[setting] ?? 0), "\(setting)") }
        #expect(p.entries == .exact(120))
        #expect(result.otherQuestionnaire == 0 && result.outsideMonths == 0 && !result.summary.hasProblems)
    }

    @Test func answersThatDoNotFitAndMonthsOutsideTheRangeAreCounted() throws {
        let fx = try RunFixture()
        for _ in 0 ..< 6 { try fx.store.publish(envelope: try fx.seal("s", answers: try RunFixture.answers(month: "2026-02"))) }
        try fx.store.publish(envelope: try fx.seal("s", answers: try RunFixture.answers(month: "2026-05")))
        try fx.store.publish(envelope: try fx.seal("s", answers: try RunFixture.answers(extra: ["setting": ["the-moon"]])))
        let sources = try EntrySources(paths: [fx.store.path])
        let months = try StatsPlan.monthRange("2026-01..2026-03")
        let plan = try StatsPlan(sources: sources, tables: ["arrival-month", "setting"], months: months, noisy: false)
        #expect(plan.tables.count == 2)
        let result = try StatsRun(plan: plan, keys: [fx.analyst], policy: try DisclosurePolicy(minCount: 2)).run(sources)
        #expect(result.summary.problems == [Auditor.answersNotFitting: 1])
        #expect(result.outsideMonths == 1)
        #expect(result.reports.count == 2)
    }

    @Test func thePlanRefusesWhatCannotBeCountedBeforeAnyKeyIsNeeded() throws {
        let fx = try RunFixture()
        let sources = try EntrySources(paths: [fx.store.path])
        expectFailure(ReadingError.self, .invalidRequest, ["--by nope", "no such field", "setting"]) {
            _ = try StatsPlan(sources: sources, tables: ["nope"], months: nil, noisy: false)
        }
        expectFailure(ReadingError.self, .invalidRequest, ["two different fields"]) {
            _ = try StatsPlan(sources: sources, tables: ["setting,setting"], months: nil, noisy: false)
        }
        expectFailure(ReadingError.self, .invalidRequest, ["needs a fixed range"]) {
            _ = try StatsPlan(sources: sources, tables: ["arrival-month"], months: nil, noisy: true)
        }
        expectFailure(ReadingError.self, .invalidRequest, ["--months must be"]) { _ = try StatsPlan.monthRange("2026-05..2026-01") }
        expectFailure(ReadingError.self, .invalidRequest, ["--months must be"]) { _ = try StatsPlan.monthRange("2026-05...2026-06") }
        let all = try StatsPlan(sources: sources, tables: [], months: nil, noisy: false)
        #expect(all.tables.map { $0.map(\.id) } == Schema.builtIn.fields.map { [$0.id] })
    }
}
