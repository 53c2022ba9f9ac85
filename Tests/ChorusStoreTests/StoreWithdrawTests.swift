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

@Suite("Store: withdrawal")
struct StoreWithdrawTests {
    @Test("an entry in the inbox is removed and tombstoned; the other entries stay")
    func removedFromInbox() throws {
        let dir = ScratchDir()
        let store = try makeStore(dir)
        let mine = fakeEnvelope(), other = fakeEnvelope()
        try store.publish(envelope: mine)
        try store.publish(envelope: other)
        #expect(try store.withdraw(id: envelopeID(mine)) == .removedFromInbox)
        #expect(names(in: store.path + "/inbox") == [Hex.encode(envelopeID(other))])
        #expect(try store.tombstones() == [envelopeID(mine)])
    }

    @Test("an entry already in a batch of this store is tombstoned, carried by the next batch and skipped by readers")
    func inBatch() throws {
        let dir = ScratchDir()
        let store = try makeStore(dir)
        let mine = fakeEnvelope(), other = fakeEnvelope()
        try store.publish(envelope: mine)
        try store.publish(envelope: other)
        let first = try #require(try store.closeBatch().path)
        #expect(try store.withdraw(id: envelopeID(mine)) == .tombstonedInBatch)
        #expect(try store.tombstones() == [envelopeID(mine)])

        // The next batch carries the tombstone, so a reader given only the two batch files skips it.
        let late = fakeEnvelope()
        try store.publish(envelope: late)
        let second = try #require(try store.closeBatch().path)
        #expect(try readBatch(second).tombstones == [envelopeID(mine)])
        var released: [[UInt8]] = []
        let summary = try EntrySources(paths: [first, second]).forEach { item in
            if case let .envelope(e) = item { released.append(e.bytes) }
        }
        #expect(Set(released) == [other, late])
        #expect(summary.withdrawn == 1)
    }

    @Test("withdrawing twice says it was already withdrawn")
    func alreadyWithdrawn() throws {
        let dir = ScratchDir()
        let store = try makeStore(dir)
        let mine = fakeEnvelope()
        try store.publish(envelope: mine)
        #expect(try store.withdraw(id: envelopeID(mine)) == .removedFromInbox)
        #expect(try store.withdraw(id: envelopeID(mine)) == .alreadyWithdrawn)
    }

    @Test("a tombstone left by an interrupted withdrawal still removes the entry from the inbox")
    func interruptedWithdrawal() throws {
        let dir = ScratchDir()
        let store = try makeStore(dir)
        let mine = fakeEnvelope()
        try store.publish(envelope: mine)
        try store.addTombstone(id: envelopeID(mine)) // crash before the unlink
        #expect(try store.withdraw(id: envelopeID(mine)) == .alreadyWithdrawn)
        #expect(names(in: store.path + "/inbox").isEmpty)
    }

    @Test("an unknown id is tombstoned anyway, in case a batch carried away holds it")
    func notFound() throws {
        let dir = ScratchDir()
        let store = try makeStore(dir)
        try store.publish(envelope: fakeEnvelope())
        _ = try store.closeBatch()
        try store.publish(envelope: fakeEnvelope())
        let unknown = Random.bytes(32)
        #expect(try store.withdraw(id: unknown) == .notFound(unreadableBatches: 0))
        #expect(try store.hasTombstone(id: unknown))
        #expect(names(in: store.path + "/inbox").count == 1)
    }

    @Test("a damaged batch that cannot be searched is counted, not hidden")
    func unreadableBatch() throws {
        let dir = ScratchDir()
        let store = try makeStore(dir)
        try store.publish(envelope: fakeEnvelope())
        let batch = try #require(try store.closeBatch().path)
        let bytes = try #require(readFile(batch))
        _ = unlink(batch)
        writeFile(batch, Array(bytes.prefix(10)))
        #expect(try store.withdraw(id: Random.bytes(32)) == .notFound(unreadableBatches: 1))
    }

    @Test("an entry batched with --out (carried away) is reported as not found here, and tombstoned")
    func carriedAway() throws {
        let dir = ScratchDir()
        let store = try makeStore(dir)
        let mine = fakeEnvelope()
        try store.publish(envelope: mine)
        _ = try store.closeBatch(out: dir.sub("usb.batch"))
        #expect(try store.withdraw(id: envelopeID(mine)) == .notFound(unreadableBatches: 0))
        #expect(try store.hasTombstone(id: envelopeID(mine)))
    }
}
