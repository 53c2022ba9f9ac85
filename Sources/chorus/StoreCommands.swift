import ArgumentParser
import ChorusCore
import ChorusCrypto
import ChorusFormat

#if canImport(Glibc)
import Glibc
#endif

struct InitCommand: ChorusCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create a directory store.",
        discussion: "Creates the store's folders (mode 0700) and its configuration: the questionnaire (the built-in one, or --schema FILE) and the largest story accepted. On an existing store it changes nothing."
    )

    @Option(help: "The store folder to create.")
    var store: String

    @Option(help: "A questionnaire in JSON (docs/FORMAT.md 7.2) instead of the built-in one.")
    var schema: String?

    @Option(name: .customLong("max-story-bytes"), help: "The largest story accepted, in bytes (default 65536).")
    var maxStoryBytes: Int = Story.defaultMaxBytes

    func validate() throws {
        guard (1 ... StoreConfig.maxStoryBytesLimit).contains(maxStoryBytes) else {
            throw ValidationError("--max-story-bytes must be 1 to \(StoreConfig.maxStoryBytesLimit)")
        }
    }

    func execute() throws {
        let questionnaire = try schema.map { try Schema.load(path: $0) } ?? Schema.builtIn
        if try Store.initialize(at: store, schema: questionnaire, maxStoryBytes: maxStoryBytes) {
            printErr("created the store \(shownPath(store)) (\(questionnaire.fields.count) questions, stories up to \(maxStoryBytes) bytes)")
        } else {
            printErr("\(shownPath(store)) is already a Chorus store; nothing was changed")
        }
    }
}

struct SubmitCommand: ChorusCommand {
    static let configuration = CommandConfiguration(
        commandName: "submit",
        abstract: "Seal a story and its answers, and print a receipt.",
        discussion: """
            The story is read from --file, else from standard input when it is not a terminal, else typed \
            at a prompt after the questions. It is never taken from the command line. It is sealed to the \
            recipients' public keys before anything is written; stdout then carries exactly one line, the \
            receipt, which is the only way to withdraw the story later.
            """
    )

    @Option(help: "The store to submit into.")
    var store: String?

    @Option(help: "Write the envelope to this new file instead (to carry and `chorus import` later).")
    var out: String?

    @Option(help: "A recipient's .pub file or a folder of them (repeatable; default ./Keys).")
    var recipients: [String] = []

    @Option(name: .customLong("answer"), help: "An answer, FIELD=VALUE (repeatable; FIELD=V1,V2 for several values).")
    var answers: [String] = []

    @Option(help: "Read the story from this file.")
    var file: String?

    @Option(help: "With --out: the questionnaire (JSON) to check answers against (default: the built-in one).")
    var schema: String?

    @Argument(parsing: .allUnrecognized, help: .hidden)
    var stray: [String] = []

    func validate() throws {
        if !stray.isEmpty {
            throw ValidationError("chorus never takes a story on the command line (it would stay in shell history and be visible to other users); use --file FILE, a pipe, or the prompt")
        }
        guard (store == nil) != (out == nil) else { throw ValidationError("say where the envelope goes: --store DIR or --out FILE (one of them)") }
        if store != nil && schema != nil { throw ValidationError("--schema goes with --out; a store has its own questionnaire") }
    }

    func execute() throws {
        // Where it goes, and the questionnaire that applies.
        let target: Store? = try store.map { try Store.open(at: $0) }
        let questionnaire = try target?.config.schema ?? schema.map { try Schema.load(path: $0) } ?? Schema.builtIn
        let maxStory = target?.config.maxStoryBytes ?? Story.defaultMaxBytes
        if let out, access(out, F_OK) == 0 { throw ChorusError(.cannotCreate, "\(shownPath(out)) already exists; chorus never overwrites a file") }

        // Who can open it.
        let keys = try KeyFiles.loadRecipients(recipients.isEmpty ? ["Keys"] : recipients)
        guard !keys.isEmpty else {
            throw ChorusError.usage("no public keys found in \(recipients.isEmpty ? "./Keys" : recipients.map(shownPath).joined(separator: ", ")); give --recipients with at least one reviewer key")
        }
        guard keys.contains(where: { $0.role == .reviewer }) else {
            throw ChorusError.usage("no reviewer key among the recipients (\(keys.count) analyst key(s)); a story sealed only to analysts could never be read")
        }
        guard keys.count <= EnvelopeFormat.maxStanzas else {
            throw ChorusError.usage("\(keys.count) recipients is more than the \(EnvelopeFormat.maxStanzas) an envelope can hold")
        }

        let now = UTCMonth.now()
        let submission: Submission
        if let file {
            let answers = try questionnaire.answers(from: self.answers, arrivalMonth: now.month, currentYear: now.year)
            submission = try Submission(answers: answers, story: readStory(path: file, maxBytes: maxStory), maxBytes: maxStory)
        } else if !Terminal.stdinIsTerminal {
            let answers = try questionnaire.answers(from: self.answers, arrivalMonth: now.month, currentYear: now.year)
            submission = try Submission(answers: answers, story: Story.read(fileDescriptor: 0, maxBytes: maxStory), maxBytes: maxStory)
        } else {
            let session = try Questionnaire(schema: questionnaire, arrivalMonth: now.month, currentYear: now.year, maxStoryBytes: maxStory)
            submission = try session.run(on: StandardQuestionnaireTerminal(input: 0, output: 2), given: self.answers)
        }

        let receipt = Receipt.generate()
        let envelope = try EnvelopeSealer.seal(id: receipt.entryID, answers: submission.answers.encoded(), story: submission.story, recipients: keys)
        if let target {
            switch try target.publish(envelope: envelope) {
            case .published: break
            case .duplicate, .withdrawn:
                throw ChorusError(.software, "an entry with this receipt's id already exists (a one-in-2^128 event); nothing was written, please submit again")
            }
        } else if let out {
            try DurableFile.createExclusive(path: out, contents: envelope)
        }
        printOut(receipt.text)
        printErr("Your story is sealed\(target != nil ? " and stored" : " into \(shownPath(out!))"). The line above is your receipt: it is shown only once.")
        printErr("Keep it somewhere private. With it, and only with it, you can withdraw your story later (chorus withdraw).")
    }

    private func readStory(path: String, maxBytes: Int) throws -> SecretBytes {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let e = errno
            if e == ENOENT || e == ENOTDIR { throw ChorusError.noInput("story file \(shownPath(path)) does not exist") }
            throw ChorusError(e == EACCES ? .permission : .ioError, "cannot open story file \(shownPath(path)): \(String(cString: strerror(e)))")
        }
        defer { close(fd) }
        return try Story.read(fileDescriptor: fd, maxBytes: maxBytes, source: path)
    }
}

extension Submission {
    /// A submission from answers already checked and a story read from a file or a pipe.
    init(answers: AnswersText, story: consuming SecretBytes, maxBytes: Int) throws {
        let info = try Story.validate(story, maxBytes: maxBytes)
        self.init(answers: answers, story: story, storyInfo: info)
    }
}

/// The current month and year in UTC: the only time information sealed with a story.
enum UTCMonth {
    static func now() -> (month: String, year: Int) {
        var t = time(nil)
        var parts = tm()
        gmtime_r(&t, &parts)
        let year = Int(parts.tm_year) + 1900, month = Int(parts.tm_mon) + 1
        return (String(format4(year)) + "-" + (month < 10 ? "0" : "") + String(month), year)
    }

    private static func format4(_ y: Int) -> String {
        let s = String(y)
        return String(repeating: "0", count: max(0, 4 - s.count)) + s
    }
}

struct WithdrawCommand: ChorusCommand {
    static let configuration = CommandConfiguration(
        commandName: "withdraw",
        abstract: "Withdraw a story with its receipt.",
        discussion: "The receipt is read from standard input, or asked for on the terminal (never from the command line). The entry is removed from the inbox if it is there, and a tombstone is recorded so that batches already closed skip it in review and stats."
    )

    @Option(help: "The store the story was submitted to.")
    var store: String

    @Argument(parsing: .allUnrecognized, help: .hidden)
    var stray: [String] = []

    func validate() throws {
        if !stray.isEmpty { throw ValidationError("the receipt is never taken from the command line; pipe it in or type it at the prompt") }
    }

    func execute() throws {
        let target = try Store.open(at: store)
        let text: String
        if Terminal.stdinIsTerminal {
            guard let typed = try Terminal.readSecret(prompt: "Receipt (input hidden): ") else {
                throw ChorusError.usage("no terminal to ask for the receipt; pipe it into standard input")
            }
            text = typed.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
        } else {
            // Into guarded memory: the receipt is the key to withdrawing a story.
            let bytes = try readSecret(fd: 0, limit: 1024, path: "from standard input", what: "receipt")
            text = bytes.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
        }
        let receipt = try Receipt.parse(text)
        switch try target.withdraw(id: receipt.entryID) {
        case .removedFromInbox:
            printErr("withdrawn: the story was removed from the store's inbox, and a tombstone keeps any copy out of review and counts")
        case .tombstonedInBatch:
            printErr("withdrawn: the story was already in a closed batch; a tombstone now keeps it out of review and counts, and travels with the next batch")
        case .alreadyWithdrawn:
            printErr("this story was already withdrawn; nothing more to do")
        case let .notFound(unreadable):
            printErr("chorus: error: no story with this receipt is in this store's inbox or its batches\(unreadable > 0 ? " (\(unreadable) batch(es) could not be searched)" : "")")
            printErr("chorus: a tombstone was recorded anyway, so a batch carried elsewhere that holds it will skip it once it meets this store's next batch")
            throw ExitCode(ExitStatus.noInput.rawValue)
        }
    }
}

struct ImportCommand: ChorusCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import envelopes made with `submit --out` into a store.",
        discussion: "Each file's structure is checked (no key is needed); good envelopes are stored durably under their id, exact duplicates are skipped, and each bad file is reported by name while the rest go on (exit 65)."
    )

    @Option(help: "The store to import into.")
    var store: String

    @Argument(help: "Envelope files.")
    var files: [String]

    func validate() throws {
        if files.isEmpty { throw ValidationError("give at least one envelope file to import") }
    }

    /// swift-argument-parser takes time quadratic in the number of values of an array argument (each
    /// value merges the origins of all the values before it): 10,000 envelope paths took 4 s to parse.
    /// For `import`, every envelope path after the first is taken out of `arguments` before parsing and
    /// returned, in order, to be appended to `files` after: the parser still sees the options, `--`,
    /// and one path (so its checks and messages are unchanged). Paths are the arguments that are not
    /// options (`-…`) or the value of `--store`, and everything after `--`.
    static func setAsideFiles(_ arguments: inout [String]) -> [String] {
        guard arguments.first == "import" else { return [] }
        var kept = ["import"], files: [String] = []
        var i = 1, keptOnePath = false
        while i < arguments.count {
            let a = arguments[i]
            if a == "--" {
                let rest = arguments[(i + 1)...]
                kept.append(a)
                if !keptOnePath, let first = rest.first {
                    kept.append(first)
                    files += rest.dropFirst()
                } else {
                    files += rest
                }
                break
            }
            if a == "--store" {
                kept.append(a)
                if i + 1 < arguments.count { kept.append(arguments[i + 1]) }
                i += 2
                continue
            }
            if a.hasPrefix("-") || !keptOnePath {
                kept.append(a)
                if !a.hasPrefix("-") { keptOnePath = true }
            } else {
                files.append(a)
            }
            i += 1
        }
        arguments = kept
        return files
    }

    func execute() throws {
        let target = try Store.open(at: store)
        var imported = 0, duplicates = 0, withdrawn = 0, bad = 0
        var worst = ExitStatus.success
        for path in files {
            do {
                let bytes = try readSmallFile(path, limit: EnvelopeFormat.maximumLength, what: "envelope")
                switch try target.publish(envelope: bytes, removingLeftovers: false) {
                case .published: imported += 1
                case .duplicate: duplicates += 1; printErr("\(shownPath(path)): already in the store; skipped")
                case .withdrawn: withdrawn += 1; printErr("\(shownPath(path)): this entry was withdrawn; skipped")
                }
            } catch let e as ChorusError {
                bad += 1
                printErr("chorus: error: \(shownPath(path)): \(e.message)")
                if e.status == .ioError || e.status == .permission { worst = e.status } else if worst == .success { worst = e.status }
            }
        }
        target.removeLeftovers()
        printErr("imported \(imported), skipped \(duplicates) duplicate(s) and \(withdrawn) withdrawn, \(bad) bad")
        if worst != .success { throw ExitCode(worst.rawValue) }
    }
}

struct BatchCommand: ChorusCommand {
    static let configuration = CommandConfiguration(
        commandName: "batch",
        abstract: "Close the inbox into one batch file and print its path.",
        discussion: "Entries are shuffled, so arrival order is not kept; every tombstone known so far travels with the batch. The batch is written durably, and only then are its entries removed from the inbox."
    )

    @Option(help: "The store whose inbox to close.")
    var store: String

    @Option(help: "Write the batch to this new file instead of the store's batches/ folder.")
    var out: String?

    func execute() throws {
        let target = try Store.open(at: store)
        let closing = try target.closeBatch(out: out)
        for problem in closing.keptInInbox { warn("left in the inbox: \(problem)") }
        if closing.withdrawnRemoved > 0 { printErr("removed \(closing.withdrawnRemoved) withdrawn entr\(closing.withdrawnRemoved == 1 ? "y" : "ies") from the inbox") }
        guard let path = closing.path else {
            printErr("the inbox is empty; no batch was written")
            if !closing.keptInInbox.isEmpty { throw ExitCode(ExitStatus.dataError.rawValue) }
            return
        }
        printOut(path)
        printErr("closed \(closing.entryCount) entr\(closing.entryCount == 1 ? "y" : "ies") into the batch")
        if !closing.keptInInbox.isEmpty { throw ExitCode(ExitStatus.dataError.rawValue) }
    }
}

/// A user-given path made safe to quote in a message (see `displaySafe`).
func shownPath(_ path: String) -> String { displaySafe(path, limit: 200) }
