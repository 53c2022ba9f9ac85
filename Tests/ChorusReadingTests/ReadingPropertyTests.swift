import Foundation
import PropertyBased
import Testing
import ChorusCore
import ChorusCrypto
import ChorusFormat
import ChorusStore
import ChorusSystem
import ChorusTestSupport
@testable import ChorusReading

/// Fast paths against plain references, on random inputs drawn from fixed seeds (see `checkProperty`):
/// the parallel auditor against a loop that opens each envelope in turn, and the review spool against
/// a plain shuffle (the same records, once each, in memory or spilled).
@Suite struct ReadingPropertyTests {
    /// Keys made once: two reviewers, an analyst and a stranger (test-only costs).
    static let keys: (reviewer: UnlockedKey, second: UnlockedKey, analyst: UnlockedKey, stranger: UnlockedKey,
                      recipients: [RecipientKey]) = {
        let r = try! makeKey("rev", .reviewer), s = try! makeKey("rev2", .reviewer)
        let a = try! makeKey("ana", .analyst), x = try! makeKey("stranger", .reviewer)
        return (try! unlock(r.file), try! unlock(s.file), try! unlock(a.file), try! unlock(x.file), [r.recipient, s.recipient, a.recipient, x.recipient])
    }()

    /// One envelope of a random source: to whom it is sealed, what happens to it.
    struct Item: Sendable, CustomStringConvertible {
        /// Indices into the recipients: 0 reviewer, 1 second reviewer, 2 analyst, 3 stranger.
        var recipients: [Int]
        var setting: Int
        /// 0 as is, 1 a copy of the previous item, 2 a forgery carrying the previous item's id,
        /// 3 one flipped byte, 4 withdrawn (a tombstone in the store).
        var fate: Int
        var inBatch: Bool
        var description: String { "to \(recipients) setting \(setting) fate \(fate) batch \(inBatch)" }
    }

    struct Run: Sendable {
        var items: [Item]
        var workers: Int
        var queue: Int
        var copyMemory: Int
        var keys: Int
    }

    static let recipients = Gen.int(in: 0 ... 3).array(of: 1 ... 3).map { Array(Set($0)).sorted() }
    static let items = zip(recipients, Gen.int(in: 0 ... 8), Gen.int(in: 0 ... 9), Gen.bool)
        .map { Item(recipients: $0, setting: $1, fate: $2, inBatch: $3) }.array(of: 0 ... 40)
    static let runs = zip(items, Gen.int(in: 1 ... 4), Gen.int(in: 1 ... 20), Gen.int(in: 1 ... 8), Gen.int(in: 0 ... 2))
        .map { Run(items: $0, workers: $1, queue: $2, copyMemory: $3, keys: $4) }

    @Test func theAuditorCountsWhatAPlainLoopCounts() async throws {
        let settings = Schema.builtIn.field("setting")!.values!
        await checkProperty(seed: "BaVlrgTCVGnsoD5GebWe3RmkT7rbDgfiSmnSs2dD83s=", count: 25, input: Self.runs) { run in
            let dir = ScratchDir()
            let store = try makeStore(dir)
            var inbox: [[UInt8]] = [], batch: [[UInt8]] = [], tombstones: [[UInt8]] = []
            var all: [[UInt8]] = []
            for item in run.items {
                let answers = try AnswersText(arrivalMonth: "2026-03", questionnaire: Schema.builtIn.digest, fields: [
                    "kind": ["verbal"], "setting": [settings[item.setting]], "perpetrator-role": ["other"],
                    "reported": ["no"], "consent": ["counts-only"],
                ]).encoded()
                var envelope = try EnvelopeSealer.seal(id: Random.bytes(32), answers: answers, story: SecretBytes(copying: Array("s".utf8)),
                                                       recipients: item.recipients.map { Self.keys.recipients[$0] })
                if let previous = all.last {
                    switch item.fate {
                    case 1: envelope = previous
                    case 2: envelope.replaceSubrange(EnvelopeFormat.Offset.id ..< EnvelopeFormat.Offset.id + 32,
                                                     with: previous[EnvelopeFormat.Offset.id ..< EnvelopeFormat.Offset.id + 32])
                    default: break
                    }
                }
                if item.fate == 3 { envelope[envelope.count / 2] ^= 0x10 }
                if item.fate == 4 { tombstones.append(Array(envelope[EnvelopeFormat.Offset.id ..< EnvelopeFormat.Offset.id + 32])) }
                all.append(envelope)
                // An inbox holds one file per id; what would collide goes into the batch.
                let id = Hex.encode(envelope[EnvelopeFormat.Offset.id ..< EnvelopeFormat.Offset.id + 32])
                if item.inBatch || inbox.contains(where: { Hex.encode($0[EnvelopeFormat.Offset.id ..< EnvelopeFormat.Offset.id + 32]) == id }) {
                    batch.append(envelope)
                } else {
                    inbox.append(envelope)
                }
            }
            for e in inbox { try store.publish(envelope: e) }
            for t in tombstones { try store.addTombstone(id: t) }
            let batchPath = dir.sub("carried.batch")
            try BatchWriter.create(path: batchPath, recipients: try store.requireSignedRecipients(), entryCount: batch.count) { encoder in
                for e in batch { try encoder.append(envelope: e) }
            }
            let keys = [[Self.keys.reviewer], [Self.keys.analyst, Self.keys.reviewer], [Self.keys.second, Self.keys.analyst]][run.keys]

            // The reference: every envelope of the sources in turn, on this thread.
            let withdrawn = Set(tombstones)
            var opened = 0, duplicates = 0, gone = 0
            var problems: [String: Int] = [:]
            var seen = Set<[UInt8]>()
            var settingsSeen: [String: Int] = [:]
            for e in inbox + batch {
                if withdrawn.contains(Array(e[EnvelopeFormat.Offset.id ..< EnvelopeFormat.Offset.id + 32])) { gone += 1; continue }
                do throws(EnvelopeError) {
                    let entry = try EnvelopeOpener.open(e, keys: keys, sections: .answersOnly)
                    if seen.insert(entry.id + entry.mac).inserted {
                        opened += 1
                        settingsSeen[entry.answers.fields["setting"]![0], default: 0] += 1
                    } else {
                        duplicates += 1
                    }
                } catch {
                    problems[error.kind, default: 0] += 1
                }
            }

            let counted = Shared<[String: Int]>([:])
            let auditor = Auditor(keys: keys, sections: .answersOnly, workers: run.workers, queueCapacity: run.queue, copyMemoryLimit: run.copyMemory)
            let summary = try auditor.run(try EntrySources(paths: [store.path, batchPath])) { entry in
                let setting = entry.answers.fields["setting"]![0]
                counted.mutate { $0[setting, default: 0] += 1 }
            }
            #expect(summary.opened == opened, "\(run.items)")
            #expect(summary.duplicates == duplicates, "\(run.items)")
            #expect(summary.withdrawn == gone, "\(run.items)")
            #expect(summary.problems == problems, "\(run.items)")
            #expect(summary.openedByKey.reduce(0, +) == opened)
            #expect(counted.value == settingsSeen, "\(run.items)")
        }
    }

    struct Records: Sendable {
        var sizes: [Int]
        var clear: Int
        var memoryLimit: Int
        var threads: Int
    }

    static let records = zip(Gen.int(in: 0 ... 3000).array(of: 0 ... 200), Gen.int(in: 0 ... 200),
                             Gen<Int?>.element(of: [0, 1024, 64 << 10, 1 << 26]), Gen.int(in: 1 ... 3))
        .map { Records(sizes: $0, clear: $1, memoryLimit: $2 ?? 0, threads: $3) }

    @Test func theSpoolGivesBackWhatAPlainShuffleWould() async throws {
        await checkProperty(seed: "q3cOjOOf1oIKRX6Jk0rmAv31F6R0TyKgQv2oA4lxV0w=", count: 30, input: Self.records) { c in
            let dir = ScratchDir()
            let spool = ShuffledSpool(memoryLimit: c.memoryLimit, temporaryFolder: dir.path)
            let input = c.sizes.enumerated().map { i, n in (secret: Array("\(i):".utf8) + [UInt8](repeating: UInt8(i & 0xff), count: n),
                                                            clear: [UInt8](repeating: UInt8((i * 7) & 0xff), count: c.clear)) }
            for r in input {
                try spool.add(r.secret.withUnsafeBytes { s in r.clear.withUnsafeBytes { spool.seal(secret: s, clear: $0) } })
            }
            var out: [[UInt8]] = []
            try spool.drain(threads: c.threads, open: { secret, clear in Array(secret) + [0xFF] + Array(clear) }) { out.append($0) }
            // A plain shuffle of the same records is a permutation of them: so must the spool's order be.
            var rng = SystemRandom()
            let reference = input.map { $0.secret + [0xFF] + $0.clear }.shuffled(using: &rng)
            let byBytes: ([UInt8], [UInt8]) -> Bool = { $0.lexicographicallyPrecedes($1) }
            #expect(out.sorted(by: byBytes) == reference.sorted(by: byBytes), "\(c.sizes.count) records, limit \(c.memoryLimit)")
            #expect(names(in: dir.path).isEmpty, "a temporary file was left with a name")
        }
    }
}
