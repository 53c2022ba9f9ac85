import ArgumentParser
import ChorusCore
import ChorusCrypto
import ChorusFormat
import ChorusIntake
import ChorusStore
import ChorusSystem

#if canImport(Glibc)
import Glibc
#endif

struct SubmitCommand: ChorusCommand {
    static let configuration = CommandConfiguration(
        commandName: "submit",
        abstract: "Seal a story and its answers, and print a receipt.",
        discussion: """
            The story is read from --file, else from standard input when it is not a terminal, else typed \
            at a prompt after the questions. It is never taken from the command line. It is sealed, before \
            anything is written, to the recipients the organisation signed for the store (checked against \
            the organisation key pinned for it), or with --recipients to keys given by hand; the \
            recipients are shown first. stdout then carries exactly one line, the receipt, which is the \
            only way to withdraw the story later.

            At a terminal the story may also be written in your text editor ($VISUAL, else $EDITOR), in a \
            0600 file in a new 0700 folder in memory ($XDG_RUNTIME_DIR or /dev/shm), which is overwritten \
            and removed, with anything the editor left beside it, once the editor is closed. Only editors \
            that can be kept from writing backup, swap, undo or history files elsewhere are offered: nano, \
            vim, neovim and emacs (run with the options that say so); another editor only with \
            CHORUS_EDITOR_IS_SAFE=1 in the environment.
            """
    )

    @Option(help: "The store to submit into.")
    var store: String?

    @Option(help: "Write the envelope to this new file instead (to carry and `chorus import` later).")
    var out: String?

    @Option(help: "Send the envelope to the intake server at this address instead (chorus serve; sealed here, only the sealed envelope is sent).")
    var to: String?

    @Option(help: "With --to: the SOCKS proxy to reach it through, as socks5h://HOST:PORT (Tor: socks5h://127.0.0.1:9050).")
    var proxy: String?

    @Option(help: "Seal to these keys instead: a .pub file, a folder of them, or a signed recipients file (repeatable; needed with --out).")
    var recipients: [String] = []

    @OptionGroup var organisation: OrganisationOptions

    @Option(name: .customLong("answer"), help: "An answer, FIELD=VALUE (repeatable; FIELD=V1,V2 for several values).")
    var answers: [String] = []

    @Option(help: "Read the story from this file.")
    var file: String?

    @Option(help: "With --out: the questionnaire (JSON) to check answers against (default: the built-in one).")
    var schema: String?

    @Argument(help: .hidden)
    var stray: [String] = []

    static let storyRefusal = "the story is never taken from the command line (it would stay in shell history and be visible to other users); use --file FILE, a pipe, or the prompt"

    func validate() throws {
        if SecretArguments.onlyNamingAnUnknownOption { return }
        if !stray.isEmpty {
            throw ValidationError(Self.storyRefusal)
        }
        guard [store, out, to].compactMap({ $0 }).count == 1 else {
            throw ValidationError("say where the envelope goes: --store DIR, --to URL or --out FILE (one of them)")
        }
        if proxy != nil && to == nil { throw ValidationError("--proxy goes with --to") }
        if to != nil && !recipients.isEmpty { throw ValidationError("--recipients cannot go with --to: the server hands out the store's signed recipients, checked against the organisation key") }
        if store != nil && schema != nil { throw ValidationError("--schema goes with --out; a store has its own questionnaire") }
        if to != nil && schema != nil { throw ValidationError("--schema goes with --out; the server's store has its own questionnaire") }
        if out != nil && recipients.isEmpty {
            throw ValidationError("with --out, say whom to seal to: --recipients with the store's signed recipients file (chorus-recipients.signed) or public keys")
        }
    }

    func execute() throws {
        // Where it goes, the questionnaire that applies, and who can open it.
        let target: Store? = try store.map { try Store.open(at: $0) }
        let remote = try to.map { try Remote(to: $0, proxy: proxy) }
        defer { remote?.close() }
        let fetched = try remote?.recipients()
        let maxStory = target?.config.maxStoryBytes ?? fetched?.maxStoryBytes ?? Story.defaultMaxBytes
        if let out, access(out, F_OK) == 0 { throw SystemError(.alreadyExists, "\(shownPath(out)) already exists; chorus never overwrites a file") }
        var signed: SignedRecipients? = try target?.requireSignedRecipients() ?? fetched?.signed
        var keys: [RecipientKey] = []
        var byHand: [String] = []
        for path in recipients {
            if let doc = try signedRecipientsFile(path) {
                guard signed == nil || signed!.document.store == doc.document.store else {
                    throw CoreError(.invalidRecipients, "\(shownPath(path)) holds the recipients of another store (\(doc.document.store))")
                }
                signed = signed ?? doc
                keys += doc.document.recipients
            } else {
                byHand.append(path)
            }
        }
        let recordPin = try signed.map { try organisation.trust([$0], forSealing: true) }
        if !byHand.isEmpty { keys += try KeyFiles.loadRecipients(byHand) }
        if recipients.isEmpty, let signed { keys = signed.document.recipients }
        var seen = Set<RecipientKey>()
        keys = keys.filter { seen.insert($0).inserted }
        guard !keys.isEmpty else {
            throw CoreError(.invalidRecipients, "no public keys found in \(recipients.map(shownPath).joined(separator: ", ")); give --recipients with at least one reviewer key")
        }
        guard keys.contains(where: { $0.role == .reviewer }) else {
            throw CoreError(.invalidRecipients, "no reviewer key among the recipients (\(keys.count) analyst key(s)); a story sealed only to analysts could never be read")
        }
        guard keys.count <= EnvelopeFormat.maxStanzas else {
            throw CoreError(.invalidRecipients, "\(keys.count) recipients is more than the \(EnvelopeFormat.maxStanzas) an envelope can hold")
        }
        if signed != nil && schema != nil { throw CommandError(.usage, "--schema cannot go with signed recipients: they name their own questionnaire") }
        let questionnaire = try signed?.document.current ?? schema.map { try Schema.load(path: $0) } ?? Schema.builtIn
        sayRecipients(keys, signedBy: byHand.isEmpty ? signed?.document : nil)

        let now = UTCDate.now()
        let submission: Submission
        if let file {
            let answers = try questionnaire.answers(from: self.answers, arrivalMonth: now.monthText, currentYear: now.year)
            submission = try Submission(answers: answers, story: readStory(path: file, maxBytes: maxStory), maxBytes: maxStory)
        } else if !Terminal.stdinIsTerminal {
            let answers = try questionnaire.answers(from: self.answers, arrivalMonth: now.monthText, currentYear: now.year)
            submission = try Submission(answers: answers, story: Story.read(fileDescriptor: 0, maxBytes: maxStory), maxBytes: maxStory)
        } else {
            let session = try Questionnaire(schema: questionnaire, arrivalMonth: now.monthText, currentYear: now.year, maxStoryBytes: maxStory,
                                            recipients: keys)
            var editor: StoryEditor?
            switch StoryEditor.fromEnvironment() {
            case let .offered(safe): editor = safe
            case let .refused(why): warn(why)
            case .none: break
            }
            // The questionnaire talks to the person at the terminal: on stderr when it is that
            // terminal, else on /dev/tty, so that the story's echo and its first and last lines never
            // land in a file stderr was sent to.
            let tty = Terminal.stderrIsTerminal ? nil : Terminal.openTTY()
            let terminal = StandardQuestionnaireTerminal(input: 0, output: tty?.raw ?? 2, editor: editor)
            defer { terminal.finish() }
            submission = try session.run(on: terminal, given: self.answers)
        }

        let receipt = Receipt.generate()
        let envelope = try EnvelopeSealer.seal(id: receipt.entryID, answers: submission.answers.encoded(), story: submission.story, recipients: keys)
        if let target {
            switch try target.publish(envelope: envelope) {
            case .published: break
            case .duplicate, .withdrawn:
                throw CoreError(.bug, "an entry with this receipt's id already exists (a one-in-2^128 event); nothing was written, please submit again")
            }
        } else if let remote {
            try remote.send(envelope, askToRetry: Terminal.stdinIsTerminal)
        } else if let out {
            // Times zeroed, as in a store: a copied file must not carry when it was made.
            try DurableFile.createExclusive(path: out, contents: envelope, zeroTimes: true)
        }
        printOut(receipt.text)
        // Sealed and stored: only now is the organisation key pinned (a failed submit leaves nothing
        // behind). The receipt is out first: a pin that cannot be written must not cost it.
        do { try recordPin?() } catch { printErr("chorus: warning: the organisation key could not be pinned (\(sentence(for: error))); it will be checked again next time") }
        printErr(SubmitterText.sealed(into: out.map(shownPath)))
        printErr(SubmitterText.keepTheReceipt)
    }

    /// The signed recipients in the file `path`, or nil when it is not such a file (a .pub or a folder).
    private func signedRecipientsFile(_ path: String) throws -> SignedRecipients? {
        guard case let .success(st) = Posix.statPath(path), Posix.isRegular(st) else { return nil }
        let bytes = try InputFile.read(path, limit: RecipientsDocument.maxBytes, what: "recipients file")
        guard bytes.starts(with: Array("{\"format\":\"\(RecipientsDocument.formatName)\"".utf8)) else { return nil }
        return try SignedRecipients.parse(bytes, source: shownPath(path))
    }

    private func readStory(path: String, maxBytes: Int) throws -> SecretBytes {
        let fd: OwnedFD
        do {
            fd = try InputFile.open(path, what: "story file", nonBlocking: false)
        } catch let error as SystemError where error.kind == .permissionDenied {
            throw SystemError(.permissionDenied, "cannot open story file \(shownPath(path)): \(SystemError.reason(EACCES))", errno: EACCES)
        }
        return try Story.read(fileDescriptor: fd.raw, maxBytes: maxBytes, source: path)
    }
}

extension Submission {
    /// A submission from answers already checked and a story read from a file or a pipe.
    init(answers: AnswersText, story: consuming SecretBytes, maxBytes: Int) throws {
        let info = try Story.validate(story, maxBytes: maxBytes)
        self.init(answers: answers, story: story, storyInfo: info)
    }
}
