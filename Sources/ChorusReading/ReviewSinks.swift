import ChorusCore
import ChorusCrypto
import ChorusFormat
import ChorusSystem

#if canImport(Glibc)
import Glibc
#endif

/// Where reviewed entries go: each entry becomes one record (the bytes of its output), and records
/// are written in the random order the spool gives them back.
protocol ReviewSink: Sendable {
    func record(answers: AnswersText, story: UnsafeRawBufferPointer?) -> [UInt8]
    func write(_ record: UnsafeRawBufferPointer) throws
    func finish() throws
}

extension ReviewSink {
    /// The readable block of one entry, laid out by the questionnaire its answers name.
    fileprivate func text(answers: AnswersText, story: UnsafeRawBufferPointer?, questionnaires: [[UInt8]: Schema]) -> String {
        ReviewText.block(answers: answers, story: story.map { String(decoding: $0, as: UTF8.self) }, schema: questionnaires[answers.questionnaire])
    }
}

/// One JSON object per story, or readable blocks, on one stream, written in chunks of 64 KiB. A
/// failed write (a full disk behind a redirection, a closed pipe) stops the review.
final class StreamSink: ReviewSink, @unchecked Sendable {
    let fd: Int32
    let format: ReviewFormat
    let questionnaires: [[UInt8]: Schema]
    private var buffer: [UInt8] = []
    private static let chunk = 64 << 10

    init(fd: Int32, format: ReviewFormat, questionnaires: [[UInt8]: Schema]) {
        self.fd = fd
        self.format = format
        self.questionnaires = questionnaires
        buffer.reserveCapacity(Self.chunk)
    }

    func record(answers: AnswersText, story: UnsafeRawBufferPointer?) -> [UInt8] {
        switch format {
        case .jsonl: return ReviewJSON.line(answers: answers, story: story)
        case .text: return Array(("==========================================================================\n" + text(answers: answers, story: story, questionnaires: questionnaires) + "\n").utf8)
        }
    }

    func write(_ record: UnsafeRawBufferPointer) throws {
        buffer.append(contentsOf: record)
        if buffer.count >= Self.chunk { try flush() }
    }

    func finish() throws { try flush() }

    private func flush() throws {
        defer { secureZero(&buffer) ; buffer.removeAll(keepingCapacity: true) }
        do {
            try buffer.withUnsafeBytes { (b) in try Posix.writeAll(fd, b) }
        } catch {
            throw SystemError(SystemError.kind(of: Errno.code(of: error)), "cannot write the output: \(SystemError.reason(Errno.code(of: error)))", errno: Errno.code(of: error))
        }
    }
}

/// One 0600 file per story, with a random name, in a new 0700 folder.
struct FolderSink: ReviewSink {
    let path: String
    let format: ReviewFormat
    let questionnaires: [[UInt8]: Schema]

    init(path: String, format: ReviewFormat, questionnaires: [[UInt8]: Schema]) throws {
        self.path = path
        self.format = format
        self.questionnaires = questionnaires
        if mkdir(path, 0o700) != 0 {
            let e = errno
            guard e == EEXIST else { throw SystemError(.cannotCreate, "cannot create folder \(Posix.shown(path)): \(SystemError.reason(e))", errno: e) }
            guard case let .success(st) = Posix.statPath(path), Posix.isDirectory(st), !Posix.isLink(path) else {
                throw SystemError(.cannotCreate, "\(Posix.shown(path)) exists and is not a folder")
            }
            guard let names = try? Posix.listDirectory(path: path), names.isEmpty else {
                throw SystemError(.cannotCreate, "\(Posix.shown(path)) already exists and is not empty; give a new folder so no story is mixed with other files")
            }
        }
        // mkdir's mode is filtered by the umask, and an existing empty folder keeps its own: set it.
        guard chmod(path, 0o700) == 0 else {
            let e = errno
            throw SystemError(.cannotCreate, "cannot make \(Posix.shown(path)) private (mode 0700): \(SystemError.reason(e))", errno: e)
        }
    }

    func record(answers: AnswersText, story: UnsafeRawBufferPointer?) -> [UInt8] {
        switch format {
        case .jsonl: return ReviewJSON.line(answers: answers, story: story)
        case .text: return Array(text(answers: answers, story: story, questionnaires: questionnaires).utf8)
        }
    }

    func write(_ record: UnsafeRawBufferPointer) throws {
        let name = Hex.encode(Random.bytes(12)) + (format == .jsonl ? ".json" : ".txt")
        try DurableFile.createExclusive(path: path + "/" + name, contents: Array(record))
    }

    func finish() throws {}
}
