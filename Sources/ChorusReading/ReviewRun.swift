import ChorusCore
import ChorusCrypto
import ChorusFormat
import ChorusStore
import ChorusSystem
import Foundation

/// The formats of `chorus review`.
public enum ReviewFormat: String, CaseIterable, Sendable {
    /// Readable blocks, one per story.
    case text
    /// One JSON object per story (`ReviewJSON`).
    case jsonl
}

/// Where `chorus review` writes.
public enum ReviewDestination: Sendable {
    /// One stream (a file descriptor, stdout by default), written in chunks of 64 KiB.
    case stream(fd: Int32)
    /// One 0600 file per story, with a random name, in a new 0700 folder.
    case folder(path: String)
}

/// What a review run did: counts only, never an id or a file name.
public struct ReviewResult: Sendable {
    /// What reading and opening found (with the entries whose story turned out bad moved to problems).
    public var summary: AuditSummary
    /// Entries opened through an analyst stanza only although reviewer keys were given (their story
    /// is not shown).
    public var openedByAnalystOnly: Int
    /// The keys (by position) that are a recipient of no entry in the sources.
    public var unusedKeys: [Int]
}

/// `chorus review` as a library type: opens every entry of some sources with the given keys and
/// writes each one (answers and, for reviewer keys, the story) in a uniformly random order, with no
/// id, file name or position that reflects arrival.
///
/// Two passes (docs/FORMAT.md 8). First, on every core, each entry's stanza is opened, its MAC,
/// answers and story tag are checked, and a `ShuffledSpool` takes the stanza's keys (sealed) with
/// where to find the envelope again (its place in a batch file), or the envelope itself (already
/// encrypted) for an inbox entry. Copies are recognised here, as in stats. Then, in a uniformly
/// random order, a window at a time on every core, each story is decrypted and formatted (once) and
/// written. An entry whose story turns out to be invalid inside (only its sender could make one) is
/// counted as a problem then.
public struct ReviewRun {
    public let keys: [UnlockedKey]
    public let format: ReviewFormat
    public let destination: ReviewDestination
    /// Memory the spool may use before it moves to an unnamed temporary file.
    public var spoolMemoryLimit = ShuffledSpool.defaultMemoryLimit
    /// Where that file goes ($TMPDIR, else /tmp, by default).
    public var temporaryFolder: String? = nil
    /// Threads that open entries.
    public var workers = Auditor.defaultWorkers
    /// Called (serially) with the number of entries opened so far, and later written so far.
    public var progress: (@Sendable (_ phase: ReviewPhase, _ count: Int) -> Void)? = nil

    public enum ReviewPhase: Sendable { case opening, writing }

    public init(keys: [UnlockedKey], format: ReviewFormat, destination: ReviewDestination) {
        self.keys = keys
        self.format = format
        self.destination = destination
    }

    /// Runs the review of `sources`. Throws for I/O errors and an unusable destination; bad entries
    /// are counted in the result, never thrown.
    public func run(_ sources: EntrySources) throws -> ReviewResult {
        let questionnaires = sources.questionnaires
        let sink: ReviewSink
        switch destination {
        case let .stream(fd): sink = StreamSink(fd: fd, format: format, questionnaires: questionnaires)
        case let .folder(path): sink = try FolderSink(path: path, format: format, questionnaires: questionnaires)
        }
        let spool = ShuffledSpool(memoryLimit: spoolMemoryLimit, temporaryFolder: temporaryFolder)
        let auditor = Auditor(keys: keys, sections: .answersVerifyingStory, workers: workers)
        let batchFiles = BatchFileTable()
        let progress = self.progress
        var opening: (@Sendable (Int) -> Void)? = nil
        if let progress { opening = { n in progress(.opening, n) } }
        var summary = try auditor.run(sources, progress: opening, prepare: { (entry: borrowing OpenedEnvelope, envelope: SourceEnvelope) throws -> [UInt8] in
            // The secret part: the key's index (2 bytes) and the stanza's plaintext, in wiped memory.
            switch entry.stanza {
            case .some(let stanza):
                var secret = SecretBytes(count: 2 + stanza.count)
                secret.withUnsafeMutableBytes { s in
                    s[0] = UInt8(truncatingIfNeeded: entry.keyIndex)
                    s[1] = UInt8(truncatingIfNeeded: entry.keyIndex >> 8)
                    stanza.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: s[2...]).copyMemory(from: $0) }
                }
                let clear = EnvelopeReference.make(envelope, files: batchFiles)
                return secret.withUnsafeBytes { s in clear.withUnsafeBytes { spool.seal(secret: s, clear: $0) } }
            case .none:
                throw ReadingError(.bug, "an entry was opened without its stanza")
            }
        }, consume: { (record: consuming [UInt8]) throws in
            try spool.add(record)
        })
        var failures: [String: Int] = [:]
        var written = 0
        try spool.drain(threads: auditor.workers, open: { secret, reference in
            let keyIndex = Int(secret[0]) | Int(secret[1]) << 8
            let stanza = SecretBytes(copying: UnsafeRawBufferPointer(rebasing: secret[2...]))
            let envelope: [UInt8]
            do {
                envelope = try EnvelopeReference.envelope(reference, files: batchFiles)
            } catch {
                return ReviewRecord(bytes: [], fatal: error)
            }
            do throws(EnvelopeError) {
                let entry = try EnvelopeOpener.reopen(envelope, stanza: stanza, keyIndex: keyIndex, sections: .storyIfAvailable)
                switch entry.story {
                case .some(let story): return ReviewRecord(bytes: story.withUnsafeBytes { sink.record(answers: entry.answers, story: $0) })
                case .none: return ReviewRecord(bytes: sink.record(answers: entry.answers, story: nil))
                }
            } catch {
                return ReviewRecord(bytes: [], failure: error.kind, keyIndex: keyIndex)
            }
        }) { record in
            if let fatal = record.fatal { throw fatal }
            if let kind = record.failure {
                failures[kind, default: 0] += 1
                if summary.openedByKey.indices.contains(record.keyIndex) { summary.openedByKey[record.keyIndex] -= 1 }
                summary.opened -= 1
                return
            }
            try record.bytes.withUnsafeBytes { try sink.write($0) }
            secureZero(&record.bytes)
            written += 1
            progress?(.writing, written)
        }
        summary.problems.merge(failures, uniquingKeysWith: +)
        try sink.finish()
        // With reviewer keys given, an entry is opened through an analyst stanza only when none of
        // them is among its recipients: its story cannot be shown.
        var byAnalyst = 0
        if keys.contains(where: { $0.role == .reviewer }) {
            byAnalyst = keys.indices.filter { keys[$0].role == .analyst }.map { summary.openedByKey[$0] }.reduce(0, +)
        }
        let unused = try auditor.unusedKeys(summary, sources: sources)
        return ReviewResult(summary: summary, openedByAnalystOnly: byAnalyst, unusedKeys: unused)
    }
}

/// One entry's output, or why its story could not be shown (`failure`: the entry is bad; `fatal`: a
/// batch file could not be read again, which stops the review).
struct ReviewRecord: Sendable {
    var bytes: [UInt8]
    var failure: String? = nil
    var keyIndex = 0
    var fatal: Error? = nil
}

/// The batch files that review reads again in its second pass, numbered as they come. At most
/// `limit` stay open (each holds a file descriptor); the entries of further batches are kept whole.
final class BatchFileTable: @unchecked Sendable {
    private let lock = NSLock()
    private var files: [BatchFileHandle] = []
    private var numbers: [ObjectIdentifier: UInt32] = [:]
    static let limit = 256

    /// The number of `file`, or nil once `limit` files are taken.
    func number(of file: BatchFileHandle) -> UInt32? {
        lock.lock(); defer { lock.unlock() }
        if let n = numbers[ObjectIdentifier(file)] { return n }
        guard files.count < Self.limit else { return nil }
        files.append(file)
        let n = UInt32(files.count - 1)
        numbers[ObjectIdentifier(file)] = n
        return n
    }

    func file(_ number: UInt32) -> BatchFileHandle? {
        lock.lock(); defer { lock.unlock() }
        return Int(number) < files.count ? files[Int(number)] : nil
    }
}

/// The clear part of review's spool record: where to read an envelope again, or the envelope
/// itself. `u8 tag` then, for `inBatch`, `u32 batch number ‖ u64 offset ‖ u32 length` (little-endian,
/// this process only), or, for `whole`, the envelope.
enum EnvelopeReference {
    static let whole: UInt8 = 0, inBatch: UInt8 = 1
    static let numberOffset = 1, offsetOffset = 5, lengthOffset = 13
    static let inBatchLength = lengthOffset + 4

    static func make(_ envelope: SourceEnvelope, files: BatchFileTable) -> [UInt8] {
        if let (file, offset) = envelope.batchPosition, let number = files.number(of: file) {
            var out = [inBatch]
            withUnsafeBytes(of: number.littleEndian) { out += $0 }
            withUnsafeBytes(of: UInt64(offset).littleEndian) { out += $0 }
            withUnsafeBytes(of: UInt32(envelope.bytes.count).littleEndian) { out += $0 }
            return out
        }
        return [whole] + envelope.bytes
    }

    static func envelope(_ reference: UnsafeRawBufferPointer, files: BatchFileTable) throws -> [UInt8] {
        guard let tag = reference.first else { throw ReadingError(.bug, "an empty entry reference") }
        if tag == whole { return Array(reference.dropFirst()) }
        guard tag == inBatch, reference.count == inBatchLength else { throw ReadingError(.bug, "a malformed entry reference") }
        let number = UInt32(littleEndian: reference.loadUnaligned(fromByteOffset: numberOffset, as: UInt32.self))
        let offset = UInt64(littleEndian: reference.loadUnaligned(fromByteOffset: offsetOffset, as: UInt64.self))
        let length = UInt32(littleEndian: reference.loadUnaligned(fromByteOffset: lengthOffset, as: UInt32.self))
        guard let file = files.file(number) else { throw ReadingError(.bug, "an entry reference to an unknown batch") }
        return try file.read(offset: Int(offset), length: Int(length))
    }
}
