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

// Hostile stores and user-given files (issue "Hardening", item 3), beyond StoreTests and
// BatchHostileTests: FIFOs that would block a reader, sparse files whose size is cheap, and the
// sentences for a full or read-only file system.

/// Runs `body` on its own thread. If it has not returned after `hangLimit` seconds it is blocked (on
/// a FIFO): every FIFO in `fifos` is then opened for writing and closed, which unblocks the reader,
/// and the hang is recorded as a failure. A hang guard, not a timing check.
func withoutHanging<T: Sendable>(fifos: [String], hangLimit: Double = 60, sourceLocation: SourceLocation = #_sourceLocation,
                                 _ body: @escaping @Sendable () throws -> T) throws -> T {
    let result = Collector<Result<T, any Error>>()
    let done = DispatchSemaphore(value: 0)
    Thread {
        result.append(Result { try body() })
        done.signal()
    }.start()
    if done.wait(timeout: .now() + hangLimit) == .timedOut {
        Issue.record("blocked on a FIFO for \(Int(hangLimit)) s", sourceLocation: sourceLocation)
        for f in fifos {
            let fd = open(f, O_WRONLY | O_NONBLOCK | O_CLOEXEC)
            if fd >= 0 { close(fd) }
        }
        done.wait()
    }
    return try result.all[0].get()
}

@Suite("Hostile stores and files")
struct HostileStoreTests {
    @Test("FIFOs planted as an entry, a batch, a tombstone, a leftover or the config never block a reader")
    func fifosInAStore() throws {
        let dir = ScratchDir()
        let store = try makeStore(dir)
        let good = fakeEnvelope()
        try store.publish(envelope: good)
        let planted = [store.path + "/inbox/" + Hex.encode(Random.bytes(32)), store.path + "/batches/" + Hex.encode(Random.bytes(16)) + ".batch",
                       store.path + "/tombstones/" + Hex.encode(Random.bytes(32)), store.path + "/tmp/leftover"]
        for f in planted { #expect(mkfifo(f, 0o600) == 0) }
        let path = store.path
        let report = try withoutHanging(fifos: planted) { try StoreVerifier.verify(store: path) }
        #expect(report.inboxEntries == 1)
        #expect(report.problems.contains { $0.contains("inbox/") && $0.contains("not a regular file") }, "\(report.problems)")
        #expect(report.problems.contains { $0.contains("batches/") && $0.contains("not a regular file") }, "\(report.problems)")
        #expect(report.problems.contains { $0.contains("tombstones/") && $0.contains("not a tombstone") }, "\(report.problems)")
        let released = try withoutHanging(fifos: planted) { () -> Int in
            var n = 0
            _ = try EntrySources(paths: [path]).forEach { if case .envelope = $0 { n += 1 } }
            return n
        }
        #expect(released == 1)
        let closing = try withoutHanging(fifos: planted) { try Store.open(at: path).closeBatch() }
        #expect(closing.entryCount == 1)
        #expect(closing.keptInInbox.contains { $0.contains("not a regular file") })
        for f in planted { #expect(lstatOf(f).map { $0.st_mode & S_IFMT == S_IFIFO } == true, "\(f) was replaced") }

        // The configuration itself.
        let other = try makeStore(dir, name: "other")
        #expect(unlink(other.path + "/chorus-store.json") == 0 && mkfifo(other.path + "/chorus-store.json", 0o600) == 0)
        let otherPath = other.path
        let refused = try withoutHanging(fifos: [otherPath + "/chorus-store.json"]) { () -> StoreError? in
            do { _ = try Store.open(at: otherPath); return nil } catch let e as StoreError { return e }
        }
        #expect(refused?.kind == .notAStore && refused?.message.contains("not a regular file") == true, "\(String(describing: refused))")
    }

    @Test("a FIFO given where an envelope, a public key, a secret key or a schema is expected is refused at once; a passphrase may come through a pipe")
    func userGivenFifos() throws {
        let dir = ScratchDir()
        let fifo = dir.sub("fifo")
        #expect(mkfifo(fifo, 0o600) == 0)
        let calls: [(String, @Sendable () throws -> Void)] = [
            ("envelope", { _ = try InputFile.read(fifo, limit: EnvelopeFormat.maximumLength, what: "envelope") }),
            ("public key", { _ = try KeyFiles.loadRecipients([fifo]) }),
            ("secret key", { _ = try KeyFiles.readSecretKeyFile(fifo) }),
            ("schema", { _ = try Schema.load(path: fifo) }),
        ]
        for (what, call) in calls {
            let error = try withoutHanging(fifos: [fifo]) { () -> SystemError? in
                do { try call(); return nil } catch let e as SystemError { return e }
            }
            #expect(error?.kind == .notARegularFile, "\(what): \(String(describing: error))")
            #expect(error?.message.contains("not a regular file") == true, "\(what): \(String(describing: error))")
        }

        // A passphrase through a FIFO (as with --passphrase-file <(pass show chorus)) waits for its writer.
        Thread {
            let fd = open(fifo, O_WRONLY | O_CLOEXEC)
            _ = "from a pipe\n".withCString { write(fd, $0, 12) }
            close(fd)
        }.start()
        let passphrase = try withoutHanging(fifos: []) { () -> [UInt8] in try Passphrase.read(file: fifo).revealedBytes() }
        #expect(passphrase == Array("from a pipe".utf8))
    }

    @Test("a passphrase file is read into guarded memory, first line only, CR LF or LF")
    func passphraseInGuardedMemory() throws {
        let dir = ScratchDir()
        for (text, expected) in [("one line\n", "one line"), ("dos line\r\nsecond", "dos line"), ("no newline", "no newline")] {
            writeFile(dir.sub("p"), Array(text.utf8))
            let p = try Passphrase.read(file: dir.sub("p"))
            let guarded = p.isGuarded
            #expect(guarded, "the passphrase is in ordinary memory")
            #expect(p.revealedBytes() == Array(expected.utf8))
            #expect(unlink(dir.sub("p")) == 0)
        }
    }

    @Test("a sparse multi-gigabyte file planted in the inbox or given as a batch is judged by its size, before anything is allocated")
    func sparseFiles() throws {
        let dir = ScratchDir()
        let store = try makeStore(dir)
        let name = Hex.encode(Random.bytes(32))
        let entry = store.path + "/inbox/" + name
        writeFile(entry, Array(fakeEnvelope().prefix(50)))
        #expect(truncate(entry, 5 << 30) == 0)
        guard case let .invalid(problem) = try store.readInboxEntry(name: name) else {
            Issue.record("a 5 GB file was read as an entry")
            return
        }
        #expect(problem.contains("larger than any envelope can be"))

        // 2^32 - 1 tombstones fit a 137 GB file, which takes no disk space when it is sparse: the
        // reader must not reserve memory for them by the declared count (it used to ask for 34 GB).
        let document = handDocument
        let batch = dir.sub("sparse.batch")
        writeFile(batch, Array("CHORUS-B".utf8) + [BatchFormat.version] + [UInt8](repeating: 0, count: 8) + [0xff, 0xff, 0xff, 0xff]
            + BigEndian.bytes(UInt32(document.count)) + document)
        #expect(truncate(batch, off_t(BatchFormat.Offset.document + document.count + 32 * Int(UInt32.max) + 32)) == 0)
        expectFailure(StoreError.self, .invalidBatch, ["sparse.batch", "strictly ascending"]) { _ = try BatchReader(path: batch) }
        let report = try StoreVerifier.verify(batchFile: batch)
        #expect(report.batchesBad == 1)
    }

    @Test("a full disk or a read-only store is one sentence that says what was left, never a temporary file's name")
    func fileSystemSentences() {
        for (code, kind, reason) in [(ENOSPC, SystemError.Kind.noSpace, "no space left on device"), (EROFS, .readOnly, "read-only"),
                                     (EDQUOT, .noSpace, "quota")] {
            expectFailure(SystemError.self, kind, ["cannot store the submission in s", reason, "; nothing was stored"]) {
                try SystemError.explaining("store the submission in s", "nothing was stored") { throw SystemError.call("write", "s/tmp/0123.tmp", code) }
            }
        }
        // Other errors pass through unchanged.
        let other = StoreError(.invalidEntry, "not a file-system error")
        expectFailure(StoreError.self, .invalidEntry, ["not a file-system error"]) { try SystemError.explaining("x", "y") { throw other } }
        let message = expectFailure(SystemError.self, .noSpace, ["no space left"]) {
            try SystemError.explaining("store the submission in s", "nothing was stored") { throw SystemError.call("write", "s/tmp/0123.tmp", ENOSPC) }
        }
        #expect(message?.contains(".tmp") == false)
    }
}
