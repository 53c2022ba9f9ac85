@testable import ChorusCore
import ChorusCrypto
import ChorusFormat
import Foundation
import Testing

@Suite struct AuditorTests {
    func seal(_ story: String, to recipients: [RecipientKey], id: [UInt8] = Receipt.generate().entryID, setting: String = "home") throws -> [UInt8] {
        let answers = try AnswersText(arrivalMonth: "2026-11", fields: ["setting": [setting], "consent": ["counts-only"]]).encoded()
        return try EnvelopeSealer.seal(id: id, answers: answers, story: SecretBytes(copying: Array(story.utf8)), recipients: recipients)
    }

    /// Runs the auditor and returns the summary and the (sorted) stories it handed out.
    func audit(_ paths: [String], keys: [UnlockedKey], workers: Int, sections: EnvelopeOpener.Sections = .storyIfAvailable) throws -> (AuditSummary, [String]) {
        let collected = LockedBox<[String]>([])
        let summary = try Auditor(keys: keys, sections: sections, workers: workers, queueCapacity: 3).run(try EntrySources(paths: paths)) { entry in
            let story = entry.hasStory ? String(decoding: entry.story!.revealedBytes(), as: UTF8.self) : "answers:" + (entry.answers.fields["setting"]?[0] ?? "")
            collected.mutate { $0.append(story) }
        }
        return (summary, collected.value.sorted())
    }

    @Test func aForgedCopyOfAnIdDoesNotHideTheRealEntry() throws {
        let dir = try ScratchDir()
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
        let dir = try ScratchDir()
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
        let dir = try ScratchDir()
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
        let dir = try ScratchDir()
        let store = try makeStore(dir)
        let (rf, rr) = try makeKey("rev", .reviewer)
        let (of, _) = try makeKey("other", .reviewer)
        _ = try store.publish(envelope: try seal("s", to: [rr]))
        let (summary, _) = try audit([store.path], keys: [try unlock(rf), try unlock(of)], workers: 2)
        #expect(summary.openedByKey == [1, 0])
    }

    @Test func aConsumerErrorStopsTheRun() throws {
        let dir = try ScratchDir()
        let store = try makeStore(dir)
        let (rf, rr) = try makeKey("rev", .reviewer)
        for i in 0 ..< 20 { _ = try store.publish(envelope: try seal("story \(i)", to: [rr])) }
        struct Full: Error {}
        #expect(throws: Full.self) {
            _ = try Auditor(keys: [try unlock(rf)], sections: .answersOnly, workers: 2, queueCapacity: 2).run(try EntrySources(paths: [store.path])) { _ in throw Full() }
        }
    }
}

final class LockedBox<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: T
    init(_ v: T) { stored = v }
    var value: T { lock.lock(); defer { lock.unlock() }; return stored }
    func mutate(_ f: (inout T) -> Void) { lock.lock(); f(&stored); lock.unlock() }
}
