// libFuzzer target: BatchReader (FORMAT.md 6) over a whole batch file. BatchReader reads a path, so
// each input is written to one file in /dev/shm (memory, not disk), reused by every run.
import ChorusCore
import ChorusStore
import ChorusCrypto
import ChorusFormat
import FuzzSupport

#if canImport(Glibc)
import Glibc
#endif

let scratchPath: String = {
    let dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp"
    let path = "\(dir)/chorus-fuzz-batch-\(getpid())"
    atexit { unlink("/dev/shm/chorus-fuzz-batch-\(getpid())"); unlink("/tmp/chorus-fuzz-batch-\(getpid())") }
    return path
}()

func writeScratch(_ bytes: UnsafeRawBufferPointer) {
    let fd = open(scratchPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    Fuzz.check(fd >= 0, "cannot create \(scratchPath)")
    var done = 0
    while done < bytes.count {
        let n = write(fd, bytes.baseAddress! + done, bytes.count - done)
        Fuzz.check(n > 0, "cannot write \(scratchPath)")
        done += n
    }
    close(fd)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    writeScratch(UnsafeRawBufferPointer(start: data, count: size))
    let reader: BatchReader
    do { reader = try BatchReader(path: scratchPath) } catch { return 0 }

    Fuzz.check(reader.header.entriesOffset <= size, "header accepted past the file size")
    Fuzz.check(reader.tombstones.count == reader.header.tombstoneCount, "tombstone count differs")
    // The signed recipients document (FORMAT.md 7.3) is exactly the C bytes the header declares,
    // and what was accepted parses again as the same document.
    Fuzz.check(reader.recipients.bytes.count == reader.header.documentLength, "recipients document length differs from the header")
    Fuzz.check((try? SignedRecipients.parse(reader.recipients.bytes, source: "fuzz")) == reader.recipients, "an accepted recipients document does not parse again")
    for (a, b) in zip(reader.tombstones, reader.tombstones.dropFirst()) { Fuzz.check(a.lexicographicallyPrecedes(b), "tombstones out of order") }
    var seen = 0
    // An intact batch must be exactly what a writer makes from what was read (nothing skipped).
    var rebuilt = BatchFormat.header(entryCount: reader.header.entryCount, document: reader.recipients.bytes, tombstones: reader.tombstones)
    do {
        let summary = try reader.forEach { entry in
            seen += 1
            if case let .envelope(e) = entry {
                Fuzz.check(e.layout.totalLength == e.bytes.count, "entry layout disagrees with its bytes")
                Fuzz.check(e.index == seen, "entry index \(e.index) at position \(seen)")
                rebuilt += BatchFormat.entryPrefix(length: e.bytes.count) + e.bytes
            }
        }
        if summary.isIntact {
            rebuilt += BLAKE2b.hash(rebuilt, outputLength: BatchFormat.hashLength)
            Fuzz.check(rebuilt.elementsEqual(UnsafeRawBufferPointer(start: data, count: size)), "an intact batch does not rebuild the same bytes")
        }
        Fuzz.check(summary.envelopes + summary.badEntries + summary.unreadEntries == summary.declaredEntries,
                   "entries do not add up: \(summary)")
        Fuzz.check(seen == summary.envelopes + summary.badEntries, "\(seen) entries seen, summary says \(summary)")
        let after = try reader.next()
        Fuzz.check(after == nil, "next() after the end returned an entry")
    } catch {
        Fuzz.check(false, "BatchReader threw after init on a regular in-memory file: \(error)")
    }
    return 0
}
