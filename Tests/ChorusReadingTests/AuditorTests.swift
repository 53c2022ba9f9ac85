import Foundation
import Testing
import ChorusCore
import ChorusCrypto
import ChorusFormat
import ChorusStore
import ChorusSystem
import ChorusTestSupport
@testable import ChorusReading

@Suite struct AuditorTests {
    func seal(_ story: String, to recipients: [RecipientKey], id: [UInt8] = Receipt.generate().entryID, setting: String = "home") throws -> [UInt8] {
        let answers = try builtInAnswers(["setting": [setting]])
        return try EnvelopeSealer.seal(id: id, answers: answers, story: SecretBytes(copying: Array(story.utf8)), recipients: recipients)
    }

    /// Runs the auditor and returns the summary and the (sorted) stories it handed out.
    func audit(_ paths: [String], keys: [UnlockedKey], workers: Int, sections: EnvelopeOpener.Sections = .storyIfAvailable) throws -> (AuditSummary, [String]) {
        let collected = Shared<[String]>([])
        let summary = try Auditor(keys: keys, sections: sections, workers: workers, queueCapacity: 3).run(try EntrySources(paths: paths)) { entry in
            let story = entry.hasStory ? String(decoding: entry.story!.revealedBytes(), as: UTF8.self) : "answers:" + (entry.answers.fields["setting"]?[0] ?? "")
            collected.mutate { $0.append(story) }
        }
        return (summary, collected.value.sorted())
    }

    @Test func aForgedCopyOfAnIdDoesNotHideTheRealEntry() throws {
        let dir = ScratchDir()
        let store = try makeStore(dir)
        let (rf, rr) = try makeKey("rev", .reviewer)
        let key = try unlock(rf)
        let real = try seal("the real story", to: [rr])
        #expect(try store.publish(envelope: real) == .published)
        _ = try store.closeBatch()
        // An attacker who can read the store plants an envelope with the same id in the inbox,
        // which readers meet before the batches.
        let forged = fakeEnvelope(id: envelopeID(real))
        #expect(try store.publish(envelope: forged) == .published)
        let (summary, stories) = try audit([store.path], keys: [key], workers: 2)
        #expect(stories == ["the real story"])
        #expect(summary.opened == 1)
        #expect(summary.badEntries == 1)
        #expect(summary.hasProblems)
    }

    @Test func copiesAreCountedOnce() throws {
        let dir = ScratchDir()
        let store = try makeStore(dir)
        let (rf, rr) = try makeKey("rev", .reviewer)
        for i in 0 ..< 4 { _ = try store.publish(envelope: try seal("story \(i)", to: [rr])) }
        let batch = try #require(try store.closeBatch().path)
        // The same batch twice, and the store that holds it.
        let (summary, stories) = try audit([store.path, batch, batch], keys: [try unlock(rf)], workers: 3)
        #expect(stories == (0 ..< 4).map { "story \($0)" })
        #expect(summary.opened == 4)
        #expect(summary.duplicates == 8)
        #expect(!summary.hasProblems)
    }

    @Test func parallelAndSequentialAgreeWithBadEntriesMixedIn() throws {
        let dir = ScratchDir()
        let store = try makeStore(dir)
        let (rf, rr) = try makeKey("rev", .reviewer)
        let (_, other) = try makeKey("other", .reviewer)
        for i in 0 ..< 30 { _ = try store.publish(envelope: try seal("story \(i)", to: [rr], setting: i % 3 == 0 ? "home" : "workplace")) }
        for i in 0 ..< 5 { _ = try store.publish(envelope: try seal("not for us \(i)", to: [other])) }
        for _ in 0 ..< 4 { _ = try store.publish(envelope: fakeEnvelope()) }
        var tampered = try seal("tampered", to: [rr])
        tampered[tampered.count - 100] ^= 1
        _ = try store.publish(envelope: tampered)
        let key = try unlock(rf)
        let sequential = try audit([store.path], keys: [key], workers: 1)
        for workers in [2, 4, 8] {
            let parallel = try audit([store.path], keys: [key], workers: workers)
            #expect(parallel.0 == sequential.0)
            #expect(parallel.1 == sequential.1)
        }
        #expect(sequential.0.opened == 30)
        #expect(sequential.0.problems == ["not-recipient": 9, "section-auth-failed": 1])
        let answersOnly = try audit([store.path], keys: [key], workers: 4, sections: .answersOnly)
        // Ten of the thirty, and the tampered one, whose story section is not decrypted when only
        // answers are asked for.
        #expect(answersOnly.1.filter { $0 == "answers:home" }.count == 11)
        #expect(answersOnly.0.opened == 31)
    }

    @Test func aKeyThatOpensNothingIsVisibleInTheSummary() throws {
        let dir = ScratchDir()
        let store = try makeStore(dir)
        let (rf, rr) = try makeKey("rev", .reviewer)
        let (of, _) = try makeKey("other", .reviewer)
        _ = try store.publish(envelope: try seal("s", to: [rr]))
        let (summary, _) = try audit([store.path], keys: [try unlock(rf), try unlock(of)], workers: 2)
        #expect(summary.openedByKey == [1, 0])
    }

    @Test func aConsumerErrorStopsTheRun() throws {
        let dir = ScratchDir()
        let store = try makeStore(dir)
        let (rf, rr) = try makeKey("rev", .reviewer)
        for i in 0 ..< 20 { _ = try store.publish(envelope: try seal("story \(i)", to: [rr])) }
        struct Full: Error {}
        #expect(throws: Full.self) {
            _ = try Auditor(keys: [try unlock(rf)], sections: .answersOnly, workers: 2, queueCapacity: 2).run(try EntrySources(paths: [store.path])) { _ in throw Full() }
        }
    }
}

/// The parallel path (several workers, copies recognised through the temporary file) against the
/// sequential one (one worker, copies in memory), on a batch written with `BatchWriter` that mixes
/// good entries with every kind of bad one.
@Suite struct AuditorParallelCountTests {
    /// What a run counted: the summary, and entries by `setting` (answers that do not fit the schema
    /// apart, as `chorus stats` does).
    struct Counts: Equatable {
        var summary: AuditSummary
        var bySetting: [String: Int]
        var rejected: Int
    }

    func count(_ paths: [String], key: UnlockedKey, workers: Int, memoryLimit: Int, queue: Int) throws -> Counts {
        let acceptor = AnswersAcceptor(schema: .builtIn)
        let tally = Shared<([String: Int], Int)>(([:], 0))
        let auditor = Auditor(keys: [key], sections: .answersOnly, workers: workers, queueCapacity: queue, copyMemoryLimit: memoryLimit)
        let summary = try auditor.run(try EntrySources(paths: paths)) { entry in
            let accepted = acceptor.accepts(entry.answers)
            let setting = entry.answers.fields["setting"]?.first ?? "-"
            tally.mutate { if accepted { $0.0[setting, default: 0] += 1 } else { $0.1 += 1 } }
        }
        return Counts(summary: summary, bySetting: tally.value.0, rejected: tally.value.1)
    }

    @Test func parallelCountsEqualSequentialCountsOnAGeneratedBatch() throws {
        let dir = ScratchDir()
        let (af, analyst) = try makeKey("analyst", .analyst)
        let (_, reviewer) = try makeKey("rev", .reviewer)
        let (_, stranger) = try makeKey("other", .reviewer)
        let settings = Schema.builtIn.field("setting")!.values!
        func seal(_ i: Int, setting: String? = nil, to recipients: [RecipientKey]) throws -> [UInt8] {
            let s = setting ?? settings[(i * 7 + i / 3) % settings.count]
            let answers = try AnswersText(arrivalMonth: "2026-0\(1 + i % 9)", questionnaire: Schema.builtIn.digest, fields: [
                "kind": ["verbal"], "setting": [s], "perpetrator-role": ["colleague"], "reported": ["no"], "consent": ["counts-only"],
            ]).encoded()
            return try EnvelopeSealer.seal(id: Receipt.generate().entryID, answers: answers,
                                           story: SecretBytes(copying: Array("story \(i)".utf8)), recipients: recipients)
        }
        var entries: [[UInt8]] = []
        var expected: [String: Int] = [:]
        for i in 0 ..< 240 {
            let e = try seal(i, to: i % 2 == 0 ? [reviewer, analyst] : [analyst, reviewer])
            entries.append(e)
            expected[settings[(i * 7 + i / 3) % settings.count], default: 0] += 1
            if i % 20 == 0 { entries.append(e) } // an exact copy: counted once
            if i % 30 == 0 { entries.append(fakeEnvelope(id: envelopeID(e))) } // a forgery with a real id: hides nothing
        }
        for i in 0 ..< 9 { entries.append(try seal(1000 + i, to: [stranger])) } // not for this key
        for i in 0 ..< 6 { // the answers section altered
            var e = try seal(2000 + i, to: [analyst])
            e[e.count - 4096 - 16 - 100] ^= 1
            entries.append(e)
        }
        for i in 0 ..< 5 { // the header altered
            var e = try seal(3000 + i, to: [analyst])
            e[20] ^= 1 // a byte of the id: only the MAC notices
            entries.append(e)
        }
        for i in 0 ..< 7 { entries.append(try seal(4000 + i, setting: "mars", to: [analyst])) } // not in the questionnaire
        var shuffled = entries
        shuffled.shuffle()
        let batch = dir.sub("mixed.batch")
        try BatchWriter.create(path: batch, recipients: handRecipients, entryCount: shuffled.count) { encoder in
            for e in shuffled { try encoder.append(envelope: e) }
        }
        let key = try unlock(af)
        let sequential = try count([batch], key: key, workers: 1, memoryLimit: 1 << 20, queue: 256)
        #expect(sequential.bySetting == expected)
        #expect(sequential.rejected == 0, "the auditor hands out only answers that fit their questionnaire")
        #expect(sequential.summary.opened == 240)
        #expect(sequential.summary.duplicates == 12)
        #expect(sequential.summary.problems == ["not-recipient": 9 + 8, "section-auth-failed": 6, "header-mac-mismatch": 5,
                                                "answers-not-fitting": 7])
        for workers in [2, 3, 8] {
            for memoryLimit in [1, 16, 1 << 20] {
                let parallel = try count([batch], key: key, workers: workers, memoryLimit: memoryLimit, queue: workers == 3 ? 5 : 256)
                #expect(parallel == sequential, "workers \(workers), memory limit \(memoryLimit)")
            }
        }
        // The same batch twice: every entry of the second is a copy.
        let twice = try count([batch, batch], key: key, workers: 4, memoryLimit: 8, queue: 64)
        #expect(twice.bySetting == expected)
        #expect(twice.summary.duplicates == 12 + 240 + 12)
    }

    @Test func theCopyFilterIsExactInMemoryAndOnDisk() throws {
        var values = Set<UInt64>()
        var rng = SystemRandomNumberGenerator()
        while values.count < 20_000 { values.insert(rng.next()) }
        let list = Array(values)
        for limit in [64, 100_000] {
            let filter = CopyFilter(memoryLimit: limit)
            for v in list { #expect(try filter.insert(v)) }
            #expect(filter.usesFile == (limit == 64))
            for v in list.shuffled().prefix(5000) { #expect(try !filter.insert(v)) }
            var fresh = 0
            while fresh < 1000 {
                let v = rng.next() as UInt64
                guard v > 1, !values.contains(v) else { continue }
                #expect(try filter.insert(v))
                fresh += 1
            }
        }
    }
}
