import Foundation
import Testing
import ChorusCore
import ChorusCrypto
import ChorusFormat
import ChorusSystem
import ChorusTestSupport
@testable import ChorusStore

#if canImport(Glibc)
import Glibc
#endif

@Suite("Store: many writers at once")
struct StoreConcurrencyTests {
    @Test("8 threads x 25 envelopes: every one is in the inbox, whole, once; tmp/ is empty")
    func manyPublishers() throws {
        let dir = ScratchDir()
        let store = try makeStore(dir)
        let envelopes = (0 ..< 200).map { _ in fakeEnvelope() }
        let outcomes = Collector<PublishOutcome>()
        let failures = Collector<String>()
        onThreads(8) { t in
            for i in 0 ..< 25 {
                do { outcomes.append(try store.publish(envelope: envelopes[t * 25 + i])) } catch { failures.append("\(error)") }
            }
        }
        #expect(failures.all.isEmpty)
        #expect(outcomes.all.count == 200 && outcomes.all.allSatisfy { $0 == .published })
        let inbox = names(in: store.path + "/inbox")
        #expect(inbox == envelopes.map { Hex.encode(envelopeID($0)) }.sorted())
        for e in envelopes { #expect(readFile(store.path + "/inbox/" + Hex.encode(envelopeID(e))) == e) }
        #expect(names(in: store.path + "/tmp").isEmpty)
    }

    @Test("8 threads publishing the same envelope: exactly one publishes, the others see a duplicate")
    func sameEnvelope() throws {
        let dir = ScratchDir()
        let store = try makeStore(dir)
        let envelope = fakeEnvelope()
        let outcomes = Collector<PublishOutcome>()
        onThreads(8) { _ in
            if let o = try? store.publish(envelope: envelope) { outcomes.append(o) }
        }
        #expect(outcomes.all.count == 8)
        #expect(outcomes.all.filter { $0 == .published }.count == 1)
        #expect(outcomes.all.filter { $0 == .duplicate }.count == 7)
        #expect(names(in: store.path + "/inbox") == [Hex.encode(envelopeID(envelope))])
        #expect(names(in: store.path + "/tmp").isEmpty)
    }

    @Test("publishing while batches are closed (separate Store handles, as separate processes would): nothing is lost or doubled")
    func publishDuringBatches() throws {
        let dir = ScratchDir()
        let path = try makeStore(dir).path
        let envelopes = (0 ..< 120).map { _ in fakeEnvelope() }
        let batches = Collector<String>()
        let failures = Collector<String>()
        onThreads(6) { t in
            do {
                let store = try Store.open(at: path)
                if t < 4 {
                    for i in 0 ..< 30 { try store.publish(envelope: envelopes[t * 30 + i]) }
                } else {
                    for _ in 0 ..< 6 {
                        if let p = try store.closeBatch().path { batches.append(p) }
                    }
                }
            } catch {
                failures.append("\(error)")
            }
        }
        #expect(failures.all.isEmpty)
        var found: [[UInt8]] = []
        for b in batches.all {
            let r = try readBatch(b)
            #expect(r.summary.isIntact)
            found += r.envelopes
        }
        for n in names(in: path + "/inbox") { found.append(try #require(readFile(path + "/inbox/" + n))) }
        #expect(found.count == 120)
        #expect(Set(found) == Set(envelopes))
        #expect(names(in: path + "/tmp").isEmpty)
    }

    @Test("withdrawals racing batch closing: every withdrawn entry ends up tombstoned and never released")
    func withdrawDuringBatches() throws {
        let dir = ScratchDir()
        let store = try makeStore(dir)
        let envelopes = (0 ..< 40).map { _ in fakeEnvelope() }
        for e in envelopes { try store.publish(envelope: e) }
        let withdrawn = Array(envelopes.prefix(20))
        let outcomes = Collector<WithdrawOutcome>()
        onThreads(3) { t in
            if t == 0 {
                for _ in 0 ..< 4 { _ = try? store.closeBatch() }
            } else {
                for e in withdrawn[(t - 1) * 10 ..< t * 10] {
                    if let o = try? store.withdraw(id: envelopeID(e)) { outcomes.append(o) }
                }
            }
        }
        #expect(outcomes.all.count == 20)
        #expect(outcomes.all.allSatisfy { $0 == .removedFromInbox || $0 == .tombstonedInBatch })
        var released: [[UInt8]] = []
        _ = try EntrySources(paths: [store.path]).forEach { item in
            if case let .envelope(e) = item { released.append(e.bytes) }
        }
        #expect(Set(released) == Set(envelopes.suffix(20)))
    }
}
