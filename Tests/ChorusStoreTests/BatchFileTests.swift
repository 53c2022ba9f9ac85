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

@Suite("Batch files: closing and reading")
struct BatchFileTests {
    /// Parses a batch byte by byte as FORMAT.md 6 says, independently of `BatchReader`.
    static func parseBySpec(_ b: [UInt8]) -> (document: [UInt8], tombstones: [[UInt8]], entries: [[UInt8]])? {
        func u(_ at: Int, _ n: Int) -> UInt64 { b[at ..< at + n].reduce(0) { $0 << 8 | UInt64($1) } }
        guard b.count >= 57, Array(b[0 ..< 8]) == Array("CHORUS-B".utf8), b[8] == 2 else { return nil }
        let e = Int(u(9, 8)), t = Int(u(17, 4)), c = Int(u(21, 4))
        var at = 25
        let document = Array(b[at ..< at + c]); at += c
        var tombstones: [[UInt8]] = []
        for _ in 0 ..< t { tombstones.append(Array(b[at ..< at + 32])); at += 32 }
        var entries: [[UInt8]] = []
        for _ in 0 ..< e {
            let n = Int(u(at, 4)); at += 4
            entries.append(Array(b[at ..< at + n])); at += n
        }
        guard at == b.count - 32, Array(b[at...]) == BLAKE2b.hash(Array(b[..<at])) else { return nil }
        return (document, tombstones, entries)
    }

    @Test("round trip: every entry exactly once, shuffled, with the signed recipients, the sorted tombstones and the checksum")
    func roundTrip() throws {
        let dir = ScratchDir()
        let store = try makeStore(dir)
        var published: [[UInt8]] = []
        for i in 0 ..< 40 {
            let e = fakeEnvelope(stanzas: 1 + i % 4, answers: i % 3 == 0 ? 512 : 256, story: i % 5 == 0 ? 8192 : 4096)
            try store.publish(envelope: e)
            published.append(e)
        }
        let withdrawn = (0 ..< 3).map { _ in Random.bytes(32) }
        for t in withdrawn { try store.addTombstone(id: t) }

        let closing = try store.closeBatch()
        let path = try #require(closing.path)
        #expect(closing.entryCount == 40 && closing.keptInInbox.isEmpty && closing.withdrawnRemoved == 0)
        let name = String(path.split(separator: "/").last!)
        #expect(path == store.path + "/batches/" + name && Store.isBatchName(name))
        #expect(names(in: store.path + "/inbox").isEmpty)
        #expect(names(in: store.path + "/tmp").isEmpty)
        #expect(permissions(path) == 0o600)
        #expect(lstatOf(path)?.st_mtim.tv_sec == 0)

        // Byte for byte as the spec says.
        let bytes = try #require(readFile(path))
        let spec = try #require(Self.parseBySpec(bytes))
        #expect(spec.document == (try store.requireSignedRecipients()).bytes)
        #expect(spec.tombstones == withdrawn.sorted { $0.lexicographicallyPrecedes($1) })
        #expect(spec.entries.count == 40 && Set(spec.entries) == Set(published))
        // Shuffled: neither in arrival order nor in name order (each has probability 1/40!).
        #expect(spec.entries != published)
        #expect(spec.entries.map(envelopeID) != published.map(envelopeID).sorted { $0.lexicographicallyPrecedes($1) })

        // And through the streaming reader.
        let read = try readBatch(path)
        #expect(read.envelopes == spec.entries)
        #expect(read.bad.isEmpty)
        #expect(read.tombstones == spec.tombstones)
        #expect(read.summary.isIntact && read.summary.hashMatches && read.summary.envelopes == 40)
        #expect(try BatchReader(path: path).recipients.document.current == .builtIn)
    }

    @Test("an entry read again by its offset is the bytes read the first time; past the end is an error")
    func readAgainByOffset() throws {
        let dir = ScratchDir()
        let store = try makeStore(dir)
        for i in 0 ..< 12 { try store.publish(envelope: fakeEnvelope(stanzas: 1 + i % 3, answers: 256, story: i % 4 == 0 ? 8192 : 4096)) }
        let path = try #require(try store.closeBatch().path)
        let reader = try BatchReader(path: path)
        var entries: [BatchEnvelope] = []
        try reader.forEach { entry in
            if case let .envelope(e) = entry { entries.append(e) }
        }
        #expect(entries.count == 12)
        for e in entries {
            #expect(try reader.file.read(offset: e.offset, length: e.bytes.count) == e.bytes)
        }
        let size = try #require(readFile(path)).count
        expectFailure(StoreError.self, .changedWhileReading) { _ = try reader.file.read(offset: size - 10, length: 100) }
    }

    @Test("two batches of the same entries are shuffled differently")
    func shuffledEachTime() throws {
        let dir = ScratchDir()
        let a = try makeStore(dir, name: "a"), b = try makeStore(dir, name: "b")
        let envelopes = (0 ..< 30).map { _ in fakeEnvelope() }
        for e in envelopes { try a.publish(envelope: e); try b.publish(envelope: e) }
        let pa = try #require(try a.closeBatch().path), pb = try #require(try b.closeBatch().path)
        let ra = try readBatch(pa).envelopes, rb = try readBatch(pb).envelopes
        #expect(Set(ra) == Set(rb) && ra != rb)
    }

    @Test("an empty inbox writes nothing")
    func emptyInbox() throws {
        let dir = ScratchDir()
        let store = try makeStore(dir)
        let closing = try store.closeBatch()
        #expect(closing.path == nil && closing.entryCount == 0)
        #expect(names(in: store.path + "/batches").isEmpty && names(in: store.path + "/tmp").isEmpty)
        #expect(try store.closeBatch(out: dir.sub("x.batch")).path == nil)
        #expect(!FileManager.default.fileExists(atPath: dir.sub("x.batch")))
    }

    @Test("--out writes a new file there and never overwrites; a refused batch leaves the inbox as it was")
    func outFile() throws {
        let dir = ScratchDir()
        let store = try makeStore(dir)
        let envelopes = (0 ..< 5).map { _ in fakeEnvelope() }
        for e in envelopes { try store.publish(envelope: e) }
        writeFile(dir.sub("taken.batch"), [1, 2, 3])
        expectFailure(SystemError.self, .alreadyExists, ["already exists"]) { _ = try store.closeBatch(out: dir.sub("taken.batch")) }
        #expect(readFile(dir.sub("taken.batch")) == [1, 2, 3])
        #expect(names(in: store.path + "/inbox").count == 5)
        expectFailure(SystemError.self, .cannotCreate, ["does not exist"]) { _ = try store.closeBatch(out: dir.sub("nope/x.batch")) }
        #expect(names(in: store.path + "/inbox").count == 5)

        let closing = try store.closeBatch(out: dir.sub("carry.batch"))
        #expect(closing.path == dir.sub("carry.batch") && closing.entryCount == 5)
        #expect(Set(try readBatch(dir.sub("carry.batch")).envelopes) == Set(envelopes))
        #expect(permissions(dir.sub("carry.batch")) == 0o600)
        #expect(names(in: dir.path) == ["carry.batch", "store", "taken.batch"])
        #expect(names(in: store.path + "/inbox").isEmpty && names(in: store.path + "/batches").isEmpty)
    }

    @Test("bad inbox files are not batched: they stay in the inbox and are reported by name")
    func badEntriesStay() throws {
        let dir = ScratchDir()
        let store = try makeStore(dir)
        let good = (0 ..< 4).map { _ in fakeEnvelope() }
        for e in good { try store.publish(envelope: e) }
        let inbox = store.path + "/inbox/"
        let garbageName = Hex.encode(Random.bytes(32))
        writeFile(inbox + garbageName, Random.bytes(6000))
        let misnamed = fakeEnvelope()
        let misnamedName = Hex.encode(Random.bytes(32))
        writeFile(inbox + misnamedName, misnamed)
        let truncated = fakeEnvelope()
        writeFile(inbox + Hex.encode(envelopeID(truncated)), Array(truncated.dropLast(10)))
        writeFile(inbox + "notes.txt", [1])

        let closing = try store.closeBatch()
        #expect(closing.entryCount == 4)
        #expect(closing.keptInInbox.count == 4)
        for n in [garbageName, misnamedName, Hex.encode(envelopeID(truncated)), "notes.txt"] {
            #expect(closing.keptInInbox.contains { $0.contains(n) }, "\(n) is reported")
        }
        #expect(Set(try readBatch(try #require(closing.path)).envelopes) == Set(good))
        #expect(names(in: store.path + "/inbox") == [garbageName, misnamedName, Hex.encode(envelopeID(truncated)), "notes.txt"].sorted())
    }

    @Test("withdrawn entries found in the inbox are removed, not batched")
    func withdrawnNotBatched() throws {
        let dir = ScratchDir()
        let store = try makeStore(dir)
        let keep = fakeEnvelope(), gone = fakeEnvelope()
        try store.publish(envelope: keep)
        try store.publish(envelope: gone)
        try store.addTombstone(id: envelopeID(gone)) // a withdrawal that crashed before the unlink
        let closing = try store.closeBatch()
        #expect(closing.entryCount == 1 && closing.withdrawnRemoved == 1)
        let read = try readBatch(try #require(closing.path))
        #expect(read.envelopes == [keep] && read.tombstones == [envelopeID(gone)])
        #expect(names(in: store.path + "/inbox").isEmpty)
    }

    @Test("crash states: an entry in both the inbox and a batch is released once; a half-written batch in tmp/ is never read")
    func crashStates() throws {
        let dir = ScratchDir()
        let store = try makeStore(dir)
        let envelopes = (0 ..< 6).map { _ in fakeEnvelope() }
        for e in envelopes { try store.publish(envelope: e) }
        let batch = try #require(try store.closeBatch().path)
        // A crash after the batch was published but before the inbox was emptied.
        for e in envelopes.prefix(3) { writeFile(store.path + "/inbox/" + Hex.encode(envelopeID(e)), e) }
        // A crash while writing the next batch.
        let bytes = try #require(readFile(batch))
        writeFile(store.path + "/tmp/" + Hex.encode(Random.bytes(16)) + ".tmp", Array(bytes.prefix(bytes.count / 2)))

        var released: [[UInt8]] = []
        let summary = try EntrySources(paths: [store.path]).forEach { item in
            if case let .envelope(e) = item { released.append(e.bytes) }
        }
        // The copies are released too (the auditor recognises copies after decryption).
        #expect(released.count == 9 && Set(released) == Set(envelopes))
        #expect(summary.envelopes == 9 && summary.problems.isEmpty)

        // The next batch takes the three again; readers still see each entry once.
        let second = try #require(try store.closeBatch().path)
        #expect(names(in: store.path + "/tmp").isEmpty)
        released = []
        _ = try EntrySources(paths: [store.path, batch, second]).forEach { item in
            if case let .envelope(e) = item { released.append(e.bytes) }
        }
        // The store's two batches, and both given again: every entry, copies included (the auditor
        // recognises copies after decryption).
        #expect(Set(released) == Set(envelopes) && released.count == 2 * (6 + 3))
    }

    struct Crash: Error {}

    @Test("a crash at any step of closing a batch loses nothing: each entry is in the inbox, a complete batch, or both",
          arguments: [Store.BatchCheckpoint.written, .published, .removed(count: 1), .removed(count: 6), .removed(count: 12)])
    func crashWhileClosing(at point: Store.BatchCheckpoint) throws {
        let dir = ScratchDir()
        let store = try makeStore(dir)
        let envelopes = (0 ..< 12).map { _ in fakeEnvelope() }
        for e in envelopes { try store.publish(envelope: e) }
        #expect(throws: Crash.self) {
            _ = try store.closeBatch(out: nil) { if $0 == point { throw Crash() } }
        }
        var onDisk: [[UInt8]] = []
        for n in names(in: store.path + "/inbox") { onDisk.append(try #require(readFile(store.path + "/inbox/" + n))) }
        for n in names(in: store.path + "/batches") {
            let r = try readBatch(store.path + "/batches/" + n)
            #expect(r.summary.isIntact)
            onDisk += r.envelopes
        }
        #expect(Set(onDisk) == Set(envelopes))
        if point == .written { #expect(names(in: store.path + "/batches").isEmpty && onDisk.count == 12) }

        // Readers see every entry (copies are recognised later, after decryption); the next batch
        // picks up what the crash left in the inbox.
        func released() throws -> [[UInt8]] {
            var out: [[UInt8]] = []
            _ = try EntrySources(paths: [store.path]).forEach { if case let .envelope(e) = $0 { out.append(e.bytes) } }
            return out
        }
        #expect(Set(try released()) == Set(envelopes))
        _ = try store.closeBatch()
        #expect(names(in: store.path + "/inbox").isEmpty && names(in: store.path + "/tmp").isEmpty)
        let after = try released()
        #expect(after.count == onDisk.count && Set(after) == Set(envelopes))
    }

    @Test("the streaming reader can hand envelopes to other threads")
    func readerAcrossThreads() throws {
        let dir = ScratchDir()
        let store = try makeStore(dir)
        let envelopes = (0 ..< 24).map { _ in fakeEnvelope() }
        for e in envelopes { try store.publish(envelope: e) }
        let path = try #require(try store.closeBatch().path)
        let reader = try BatchReader(path: path)
        let ids = Collector<[UInt8]>()
        let group = DispatchGroup()
        let summary = try reader.forEach { entry in
            guard case let .envelope(e) = entry else { return }
            DispatchQueue.global().async(group: group) { ids.append(Array(e.bytes[9 ..< 41])) }
        }
        group.wait()
        #expect(summary.isIntact)
        #expect(Set(ids.all) == Set(envelopes.map(envelopeID)) && ids.all.count == 24)
    }
}
