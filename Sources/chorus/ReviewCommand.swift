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
        // An entry is opened by the first of its stanzas that some key opens: with reviewer and analyst
        // keys together, an analyst stanza may come first and the story stays closed. Say so.
        if keys.contains(where: { $0.role == .reviewer }) {
            let byAnalyst = keys.indices.filter { keys[$0].role == .analyst }.map { summary.openedByKey[$0] }.reduce(0, +)
            if byAnalyst > 0 {
                printErr("chorus: warning: \(byAnalyst) entr\(byAnalyst == 1 ? "y was" : "ies were") opened with an analyst key, so \(byAnalyst == 1 ? "its story is" : "their stories are") not shown; give the reviewer key(s) without the analyst key to read them")
            }
        }
        let unused = try reportUnusedKeys(keys, summary, sources: entrySources)
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
        }
        // mkdir's mode is filtered by the umask, and an existing empty folder keeps its own: set it.
        guard chmod(path, 0o700) == 0 else {
            throw ChorusError(.cannotCreate, "cannot make \(path) private (mode 0700): \(String(cString: strerror(errno)))")
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
    /// `story` is `null` (not left out) when the key opened the answers only, so every line has the
    /// same keys.
    struct Line: Encodable {
        let arrival: String
        let answers: [String: [String]]
        let quotable: Bool
        let story: String?

        enum CodingKeys: String, CodingKey { case arrival, answers, quotable, story }

        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(arrival, forKey: .arrival)
            try c.encode(answers, forKey: .answers)
            try c.encode(quotable, forKey: .quotable)
            try c.encode(story, forKey: .story)
        }
    }

    static func line(answers: AnswersText, story: String?) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let line = Line(arrival: answers.arrivalMonth, answers: answers.fields, quotable: !ReviewText.isCountsOnly(answers), story: story)
        return String(decoding: try encoder.encode(line), as: UTF8.self)
    }
}

/// Holds the opened entries and releases them in a uniformly random order at the end, so the output
/// order follows neither the order in the sources (an inbox is listed in the file system's order, which
/// on tmpfs or btrfs is the order of arrival) nor the order in which threads finished. Memory is bounded:
/// past `maxHeldBytes` of stories and answers (tens of thousands of typical stories), a random held
/// entry is released whenever a new one comes in.
final class Shuffler: @unchecked Sendable {
    private var pending: [(AnswersText, String?, Int)] = []
    private var heldBytes = 0
    private let maxHeldBytes: Int
    private let sink: ReviewSink
    private let schema: Schema?

    init(sink: ReviewSink, schema: Schema?, maxHeldBytes: Int = 64 << 20) {
        self.sink = sink
        self.schema = schema
        self.maxHeldBytes = maxHeldBytes
    }

    func add(answers: AnswersText, story: [UInt8]?) throws {
        let size = (story?.count ?? 0) + AnswersText.maxBytes / 8 + 64
        pending.append((answers, story.map { String(decoding: $0, as: UTF8.self) }, size))
        heldBytes += size
        while heldBytes > maxHeldBytes && pending.count > 1 { try release() }
    }

    private func release() throws {
        let i = Int(Random.uniform(UInt32(pending.count)))
        pending.swapAt(i, pending.count - 1)
        let (a, s, size) = pending.removeLast()
        heldBytes -= size
        try sink.write(answers: a, story: s, schema: schema)
    }

    func flush() throws {
        while !pending.isEmpty { try release() }
    }
}
