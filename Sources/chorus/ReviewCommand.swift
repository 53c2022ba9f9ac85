import ArgumentParser
import ChorusCore
import ChorusCrypto
import ChorusFormat
import Foundation

#if canImport(Glibc)
import Glibc
#endif

struct ReviewCommand: ChorusCommand {
    static let configuration = CommandConfiguration(
        commandName: "review",
        abstract: "Open batches or stores with a key and show the stories.",
        discussion: """
            Every entry the key(s) can open is shown, in a random order, with no entry id, file name or \
            position that reflects arrival. Stories marked counts-only are shown but flagged: do not \
            quote them. Entries that cannot be opened are counted and skipped (exit 65 after all good \
            output). With --out, each story goes into its own 0600 file with a random name in a new \
            0700 folder, and nothing is printed.
            """
    )

    @OptionGroup var keyOptions: KeyOptions

    @Argument(help: "Batch files and store folders.")
    var sources: [String]

    @Option(help: "text (readable blocks) or jsonl (one JSON object per story).")
    var format: String = "text"

    @Option(help: "Write one file per story into this new folder instead of stdout.")
    var out: String?

    func validate() throws {
        if keyOptions.keys.isEmpty { throw ValidationError("give the secret key to open the entries with: --key FILE") }
        if sources.isEmpty { throw ValidationError("give at least one batch file or store folder") }
        guard ["text", "jsonl"].contains(format) else { throw ValidationError("--format must be text or jsonl") }
    }

    func execute() throws {
        let keys = try keyOptions.unlock()
        let entrySources = try EntrySources(paths: sources)
        if !keys.contains(where: { $0.role == .reviewer }) {
            printErr("chorus: the key(s) given are analyst keys: stories need a reviewer key, so only answers are shown")
        }
        let schema = entrySources.sources.compactMap(\.schema).first
        let sink: ReviewSink = try out.map { try FolderSink(path: $0, format: format, schema: schema) } ?? StreamSink(format: format, schema: schema)
        let spool = ShuffledSpool()
        let progress = ProgressLine(verb: "opened")
        let auditor = Auditor(keys: keys, sections: .answersVerifyingStory)
        // First pass, on every core: each entry's stanza is opened, its MAC, answers and story tag are
        // checked, and the spool takes the stanza's keys (sealed) with where to find the envelope again
        // (its place in a batch file), or the envelope itself (already encrypted) for an inbox entry.
        // Copies are recognised here, as in stats.
        let batchFiles = BatchFileTable()
        var summary = try auditor.run(entrySources, progress: { progress.update($0) }, prepare: { entry, envelope in
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
                throw ChorusError(.software, "an entry was opened without its stanza")
            }
        }, consume: { record in
            try spool.add(record)
        })
        // Second pass, in a uniformly random order, a window at a time on every core: each story is
        // decrypted and formatted (once), then written. An entry whose story turns out to be invalid
        // inside (only its sender could make one) is counted as a problem here.
        var failures: [String: Int] = [:]
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
        }
        summary.problems.merge(failures, uniquingKeysWith: +)
        try sink.finish()
        progress.finish()
        if let out { printErr("wrote \(summary.opened) entr\(summary.opened == 1 ? "y" : "ies") into \(out)") }
        for line in summary.problemLines { printErr("chorus: \(line)") }
        // With reviewer keys given, an entry is opened through an analyst stanza only when none of
        // them is among its recipients: its story cannot be shown. Say so.
        if keys.contains(where: { $0.role == .reviewer }) {
            let byAnalyst = keys.indices.filter { keys[$0].role == .analyst }.map { summary.openedByKey[$0] }.reduce(0, +)
            if byAnalyst > 0 {
                printErr("chorus: warning: \(byAnalyst) entr\(byAnalyst == 1 ? "y was" : "ies were") opened with an analyst key only (none of the reviewer keys given is \(byAnalyst == 1 ? "its recipient" : "their recipient")), so \(byAnalyst == 1 ? "its story is" : "their stories are") not shown")
            }
        }
        let unused = try reportUnusedKeys(keys, summary, sources: entrySources)
        if summary.hasProblems || unused { throw ExitCode(ExitStatus.dataError.rawValue) }
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

/// The clear part of review's spool record: where to read an envelope again (a batch file's number,
/// the offset and length of the envelope in it), or the envelope itself.
enum EnvelopeReference {
    static let whole: UInt8 = 0, inBatch: UInt8 = 1

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
        guard let tag = reference.first else { throw ChorusError(.software, "an empty entry reference") }
        if tag == whole { return Array(reference.dropFirst()) }
        guard tag == inBatch, reference.count == 17 else { throw ChorusError(.software, "a malformed entry reference") }
        let number = UInt32(littleEndian: reference.loadUnaligned(fromByteOffset: 1, as: UInt32.self))
        let offset = UInt64(littleEndian: reference.loadUnaligned(fromByteOffset: 5, as: UInt64.self))
        let length = UInt32(littleEndian: reference.loadUnaligned(fromByteOffset: 13, as: UInt32.self))
        guard let file = files.file(number) else { throw ChorusError(.software, "an entry reference to an unknown batch") }
        return try file.read(offset: Int(offset), length: Int(length))
    }
}

/// Where reviewed entries go: each entry becomes one record (the bytes of its output), and records
/// are written in the random order the spool gives them back.
protocol ReviewSink: Sendable {
    func record(answers: AnswersText, story: UnsafeRawBufferPointer?) -> [UInt8]
    func write(_ record: UnsafeRawBufferPointer) throws
    func finish() throws
}

extension ReviewSink {
    fileprivate func text(answers: AnswersText, story: UnsafeRawBufferPointer?, schema: Schema?) -> String {
        ReviewText.block(answers: answers, story: story.map { String(decoding: $0, as: UTF8.self) }, schema: schema)
    }
}

/// One JSON object per story, or readable blocks, on stdout, written in chunks of 64 KiB. A failed
/// write (a full disk behind a redirection, a closed pipe) stops the review with exit 74.
final class StreamSink: ReviewSink, @unchecked Sendable {
    let format: String
    let schema: Schema?
    private var buffer: [UInt8] = []
    private static let chunk = 64 << 10

    init(format: String, schema: Schema?) {
        self.format = format
        self.schema = schema
        buffer.reserveCapacity(Self.chunk)
    }

    func record(answers: AnswersText, story: UnsafeRawBufferPointer?) -> [UInt8] {
        format == "jsonl" ? ReviewJSON.line(answers: answers, story: story)
            : Array(("==========================================================================\n" + text(answers: answers, story: story, schema: schema) + "\n").utf8)
    }

    func write(_ record: UnsafeRawBufferPointer) throws {
        buffer.append(contentsOf: record)
        if buffer.count >= Self.chunk { try flush() }
    }

    func finish() throws { try flush() }

    private func flush() throws {
        defer { secureZero(&buffer) ; buffer.removeAll(keepingCapacity: true) }
        try buffer.withUnsafeBytes { try writeOutput($0) }
    }

    private func writeOutput(_ bytes: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < bytes.count {
            let n = posixWrite(1, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                let e = n < 0 ? errno : EIO
                throw ChorusError(e == EACCES || e == EPERM || e == EROFS ? .permission : .ioError,
                                  "cannot write the output: \(String(cString: strerror(e)))")
            }
            done += n
        }
    }
}

/// One 0600 file per story, with a random name, in a new 0700 folder.
struct FolderSink: ReviewSink {
    let path: String
    let format: String
    let schema: Schema?

    init(path: String, format: String, schema: Schema?) throws {
        self.path = path
        self.format = format
        self.schema = schema
        if mkdir(path, 0o700) != 0 {
            let e = errno
            guard e == EEXIST else { throw ChorusError(.cannotCreate, "cannot create folder \(path): \(String(cString: strerror(e)))") }
            var st = stat()
            guard lstat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else { throw ChorusError(.cannotCreate, "\(path) exists and is not a folder") }
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: path), names.isEmpty else {
                throw ChorusError(.cannotCreate, "\(path) already exists and is not empty; give a new folder so no story is mixed with other files")
            }
        }
        // mkdir's mode is filtered by the umask, and an existing empty folder keeps its own: set it.
        guard chmod(path, 0o700) == 0 else {
            throw ChorusError(.cannotCreate, "cannot make \(path) private (mode 0700): \(String(cString: strerror(errno)))")
        }
    }

    func record(answers: AnswersText, story: UnsafeRawBufferPointer?) -> [UInt8] {
        format == "jsonl" ? ReviewJSON.line(answers: answers, story: story) : Array(text(answers: answers, story: story, schema: schema).utf8)
    }

    func write(_ record: UnsafeRawBufferPointer) throws {
        let name = Hex.encode(Random.bytes(12)) + (format == "jsonl" ? ".json" : ".txt")
        try DurableFile.createExclusive(path: path + "/" + name, contents: Array(record))
    }

    func finish() throws {}
}


/// write(2), named apart from the sinks' own `write`.
private func posixWrite(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.write(fd, p, n)
    #else
    return Darwin.write(fd, p, n)
    #endif
}
