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
        let sink: ReviewSink = try out.map { try FolderSink(path: $0, format: format) } ?? StreamSink(format: format)
        let shuffler = Shuffler(sink: sink, schema: schema)
        let progress = ProgressLine(verb: "opened")
        let auditor = Auditor(keys: keys, sections: .storyIfAvailable)
        let summary = try auditor.run(entrySources, progress: { progress.update($0) }) { entry in
            try shuffler.add(answers: entry.answers, story: entry.story?.revealedBytes())
        }
        try shuffler.flush()
        progress.finish()
        if let out { printErr("wrote \(summary.opened) entr\(summary.opened == 1 ? "y" : "ies") into \(out)") }
        for line in summary.problemLines { printErr("chorus: \(line)") }
        let unused = reportUnusedKeys(keys, summary)
        if summary.hasProblems || unused { throw ExitCode(ExitStatus.dataError.rawValue) }
    }
}

/// Where reviewed entries go.
protocol ReviewSink: Sendable {
    func write(answers: AnswersText, story: String?, schema: Schema?) throws
}

/// One JSON object per story, or readable blocks, on stdout.
struct StreamSink: ReviewSink {
    let format: String

    func write(answers: AnswersText, story: String?, schema: Schema?) throws {
        let text = format == "jsonl" ? try ReviewJSON.line(answers: answers, story: story) + "\n"
            : "==========================================================================\n" + ReviewText.block(answers: answers, story: story, schema: schema) + "\n"
        Terminal.writeAll(1, text)
    }
}

/// One 0600 file per story, with a random name, in a new 0700 folder.
struct FolderSink: ReviewSink {
    let path: String
    let format: String

    init(path: String, format: String) throws {
        self.path = path
        self.format = format
        if mkdir(path, 0o700) != 0 {
            let e = errno
            guard e == EEXIST else { throw ChorusError(.cannotCreate, "cannot create folder \(path): \(String(cString: strerror(e)))") }
            var st = stat()
            guard lstat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else { throw ChorusError(.cannotCreate, "\(path) exists and is not a folder") }
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: path), names.isEmpty else {
                throw ChorusError(.cannotCreate, "\(path) already exists and is not empty; give a new folder so no story is mixed with other files")
            }
            chmod(path, 0o700)
        }
    }

    func write(answers: AnswersText, story: String?, schema: Schema?) throws {
        let name = Hex.encode(Random.bytes(12)) + (format == "jsonl" ? ".json" : ".txt")
        let text = format == "jsonl" ? try ReviewJSON.line(answers: answers, story: story) + "\n"
            : ReviewText.block(answers: answers, story: story, schema: schema)
        try DurableFile.createExclusive(path: path + "/" + name, contents: Array(text.utf8))
    }
}

enum ReviewJSON {
    struct Line: Encodable {
        let arrival: String
        let answers: [String: [String]]
        let quotable: Bool
        let story: String?
    }

    static func line(answers: AnswersText, story: String?) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let line = Line(arrival: answers.arrivalMonth, answers: answers.fields, quotable: !ReviewText.isCountsOnly(answers), story: story)
        return String(decoding: try encoder.encode(line), as: UTF8.self)
    }
}

/// Keeps up to `capacity` opened entries and releases a random one whenever full, so the output order
/// follows neither the order in the sources nor the order in which threads finished.
final class Shuffler: @unchecked Sendable {
    private var pending: [(AnswersText, String?)] = []
    private let capacity: Int
    private let sink: ReviewSink
    private let schema: Schema?

    init(sink: ReviewSink, schema: Schema?, capacity: Int = 64) {
        self.sink = sink
        self.schema = schema
        self.capacity = capacity
    }

    func add(answers: AnswersText, story: [UInt8]?) throws {
        pending.append((answers, story.map { String(decoding: $0, as: UTF8.self) }))
        if pending.count >= capacity { try release() }
    }

    private func release() throws {
        let i = Int(Random.uniform(UInt32(pending.count)))
        pending.swapAt(i, pending.count - 1)
        let (a, s) = pending.removeLast()
        try sink.write(answers: a, story: s, schema: schema)
    }

    func flush() throws {
        while !pending.isEmpty { try release() }
    }
}
