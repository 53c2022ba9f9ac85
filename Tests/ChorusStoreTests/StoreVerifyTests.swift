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

@Suite("Store: verify and reading sources")
struct StoreVerifyTests {
    @Test("a healthy store verifies clean, with the right counts")
    func clean() throws {
        let dir = ScratchDir()
        let store = try makeStore(dir)
        for _ in 0 ..< 5 { try store.publish(envelope: fakeEnvelope()) }
        _ = try store.closeBatch()
        for _ in 0 ..< 3 { try store.publish(envelope: fakeEnvelope()) }
        try store.addTombstone(id: Random.bytes(32))
        let r = try StoreVerifier.verify(source: store.path)
        #expect(r.isClean, "\(r.problems)")
        #expect(r.inboxEntries == 3 && r.inboxBad == 0)
        #expect(r.batchesOK == 1 && r.batchesBad == 0 && r.batchEntries == 5)
        #expect(r.tombstones == 1 && r.leftovers == 0 && r.unexpected == 0)
    }

    @Test("verify names every problem file in one sentence and never shows content")
    func problems() throws {
        let dir = ScratchDir()
        let store = try makeStore(dir)
        for _ in 0 ..< 4 { try store.publish(envelope: fakeEnvelope()) }
        let batch = try #require(try store.closeBatch().path)
        var bytes = try #require(readFile(batch))
        bytes[bytes.count / 2] ^= 1
        _ = unlink(batch)
        writeFile(batch, bytes)
        _ = chmod(batch, 0o600)
        var times = [timespec(tv_sec: 0, tv_nsec: 0), timespec(tv_sec: 0, tv_nsec: 0)]
        _ = utimensat(AT_FDCWD, batch, &times, 0)

        let secret = Array("MY SECRET STORY".utf8)
        let badName = Hex.encode(Random.bytes(32))
        writeFile(store.path + "/inbox/" + badName, secret)
        let good = fakeEnvelope()
        try store.publish(envelope: good)
        let goodPath = store.path + "/inbox/" + Hex.encode(envelopeID(good))
        _ = chmod(goodPath, 0o644)
        writeFile(store.path + "/stray.txt", [1])
        writeFile(store.path + "/tmp/leftover", [1])
        writeFile(store.path + "/tombstones/not-an-id", [1])

        let r = try StoreVerifier.verify(store: store.path)
        #expect(r.inboxEntries == 1 && r.inboxBad == 1)
        #expect(r.batchesBad == 1 && r.batchesOK == 0)
        #expect(r.leftovers == 1 && r.unexpected == 2 && r.tombstones == 0)
        #expect(!r.isClean)
        let all = r.problems.joined(separator: "\n")
        #expect(all.contains(badName))
        #expect(all.contains("does not match its checksum"))
        #expect(all.contains("stray.txt") && all.contains("not-an-id"))
        #expect(all.contains("open to other users (mode 644)"))
        #expect(!all.contains("MY SECRET"))
        #expect(r.problems.allSatisfy { !$0.contains("\n") })
    }

    @Test("a link planted in batches/ or tombstones/ is reported and never followed")
    func plantedLinks() throws {
        let dir = ScratchDir()
        let store = try makeStore(dir)
        try store.publish(envelope: fakeEnvelope())
        let real = try #require(try store.closeBatch(out: dir.sub("elsewhere.batch")).path)
        let linkName = Hex.encode(Random.bytes(16)) + ".batch"
        #expect(symlink(real, store.path + "/batches/" + linkName) == 0)
        #expect(symlink(dir.sub("nowhere"), store.path + "/tombstones/" + Hex.encode(Random.bytes(32)) + "x") == 0)

        #expect(try store.listBatches().batches.isEmpty)
        expectFailure(StoreError.self, .invalidBatch, ["symbolic link"]) { _ = try store.openBatch(name: linkName) }
        let r = try StoreVerifier.verify(store: store.path)
        #expect(r.batches.isEmpty && r.unexpected == 2)
        #expect(r.problems.contains { $0.contains(linkName) && $0.contains("symbolic link") })
        var seen = 0
        _ = try EntrySources(paths: [store.path]).forEach { _ in seen += 1 }
        #expect(seen == 0)
    }

    @Test("verify reports file times that reveal arrival")
    func times() throws {
        let dir = ScratchDir()
        let store = try makeStore(dir)
        let e = fakeEnvelope()
        try store.publish(envelope: e)
        #expect(utimensat(AT_FDCWD, store.path + "/inbox/" + Hex.encode(envelopeID(e)), nil, 0) == 0) // now
        let r = try StoreVerifier.verify(store: store.path)
        #expect(r.problems.contains { $0.contains("modification time") })
    }

    @Test("verify of a batch file: good, damaged, not a batch; a missing file throws")
    func batchFiles() throws {
        let dir = ScratchDir()
        let good = handBatch(entries: [fakeEnvelope(), fakeEnvelope()])
        writeFile(dir.sub("good.batch"), good)
        var bad = good
        bad[bad.count - 1] ^= 1
        writeFile(dir.sub("bad.batch"), bad)
        writeFile(dir.sub("foreign"), Array("hello".utf8) + [UInt8](repeating: 0, count: 100))

        let g = try StoreVerifier.verify(source: dir.sub("good.batch"))
        #expect(g.isClean && g.batchesOK == 1 && g.batchEntries == 2)
        let b = try StoreVerifier.verify(batchFile: dir.sub("bad.batch"))
        #expect(!b.isClean && b.batchesBad == 1 && b.batchEntries == 2)
        let f = try StoreVerifier.verify(batchFile: dir.sub("foreign"))
        #expect(f.batchesBad == 1 && f.problems.count == 1 && f.problems[0].contains("not a valid Chorus batch"))
        expectFailure(SystemError.self, .notFound, ["does not exist"]) { _ = try StoreVerifier.verify(source: dir.sub("missing")) }
    }

    @Test("reading sources: store inbox and batches plus a carried batch, tombstones from every source, each entry once, no ids in messages")
    func sources() throws {
        let dir = ScratchDir()
        let store = try makeStore(dir)
        let a = (0 ..< 4).map { _ in fakeEnvelope() }
        for e in a { try store.publish(envelope: e) }
        let carried = dir.sub("carried.batch")
        _ = try store.closeBatch(out: carried)
        let b = (0 ..< 3).map { _ in fakeEnvelope() }
        for e in b { try store.publish(envelope: e) }
        _ = try store.closeBatch()
        let c = (0 ..< 2).map { _ in fakeEnvelope() }
        for e in c { try store.publish(envelope: e) }
        // Withdraw one carried-away entry: its tombstone lives only in the store.
        #expect(try store.withdraw(id: envelopeID(a[0])) == .notFound(unreadableBatches: 0))
        let badName = Hex.encode(Random.bytes(32))
        writeFile(store.path + "/inbox/" + badName, Random.bytes(5000))

        let sources = try EntrySources(paths: [store.path, carried])
        #expect(sources.sources.map(\.kind) == [.store, .batch])
        #expect(sources.sources.allSatisfy { $0.recipients?.document.current == .builtIn })
        #expect(sources.tombstones == [envelopeID(a[0])])
        var released: [[UInt8]] = [], bad: [String] = []
        let summary = try sources.forEach { item in
            switch item {
            case let .envelope(e): released.append(e.bytes)
            case let .bad(problem): bad.append(problem)
            }
        }
        #expect(Set(released) == Set(a.dropFirst() + b + c) && released.count == 8)
        #expect(summary.withdrawn == 1 && summary.bad == 1 && summary.envelopes == 8)
        #expect(bad.count == 1 && !bad[0].contains(badName))

        expectFailure(SystemError.self, .notFound, ["does not exist"]) { _ = try EntrySources(paths: [dir.sub("nothing")]) }
    }
}
