import Foundation
import Testing
import ChorusCore
import ChorusCrypto
import ChorusTestSupport

/// `chorus` at a real terminal: a pseudo-terminal made by util-linux `script`, which copies our pipe
/// into the terminal's input and the terminal's output back to us. Each step waits until the screen
/// shows what a person would wait for before typing.
final class TerminalSession: @unchecked Sendable {
    private let process = Process()
    private let input = Pipe()
    private let screenData = Shared(Data())
    private let reader = DispatchGroup()
    /// How far `expect` has read: each expectation looks only at what came after the previous one.
    private var seen = 0

    init(_ cli: CLI, _ command: String, env: [String: String] = [:]) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/script")
        process.arguments = ["-q", "-e", "-c", command, "/dev/null"]
        process.currentDirectoryURL = URL(fileURLWithPath: cli.dir)
        process.environment = chorusEnvironment(in: cli.dir, env)
        let out = Pipe()
        process.standardOutput = out
        process.standardError = out
        process.standardInput = input
        try process.run()
        reader.enter()
        let data = screenData
        DispatchQueue.global().async { [reader] in
            while true {
                let chunk = out.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                data.mutate { $0.append(chunk) }
            }
            reader.leave()
        }
    }

    /// Everything the terminal showed so far.
    var screen: String { String(decoding: screenData.value, as: UTF8.self) }

    /// Waits until `text` appears on the screen after what earlier expectations saw.
    @discardableResult
    func expect(_ text: String, timeout: Double = 60, sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        var pollsAfterExit = 0
        while Date() < deadline {
            let now = Array(screenData.value)
            if let range = now[min(seen, now.count)...].firstRange(of: Array(text.utf8)) {
                seen = range.upperBound
                return true
            }
            if !process.isRunning {
                pollsAfterExit += 1
                if pollsAfterExit > 50 { break }  // half a second for the last output, then give up
            }
            usleep(10_000)
        }
        Issue.record("the terminal never showed \(text.debugDescription); it showed:\n\(screen.suffix(3000))", sourceLocation: sourceLocation)
        return false
    }

    func type(_ text: String) {
        try? input.fileHandleForWriting.write(contentsOf: Data(text.utf8))
    }

    /// Closes the input and waits for the command to end (a minute at most: then it is killed, and
    /// that is an issue); its exit status.
    func finish(sourceLocation: SourceLocation = #_sourceLocation) -> Int32 {
        try? input.fileHandleForWriting.close()
        let deadline = Date().addingTimeInterval(60)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning {
            Issue.record("the command did not end; it showed:\n\(screen.suffix(2000))", sourceLocation: sourceLocation)
            kill(-process.processIdentifier, SIGKILL)
            process.terminate()
        }
        process.waitUntilExit()
        reader.wait()
        return process.terminationStatus
    }
}

@Suite struct InteractiveCLITests {
    static let receiptPattern = try! NSRegularExpression(pattern: "[0-9A-Z]{4}(-[0-9A-Z]{4}){6}")

    static var haveScript: Bool {
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/script") { return true }
        Issue.record("util-linux script is needed to drive a pseudo-terminal")
        return false
    }

    /// Answers the six questions of the built-in questionnaire: kind 1 and 3; setting 1; role 1;
    /// year skipped; reported 2; consent 1.
    /// `chorus submit --store store` at a terminal, the questions answered, waiting for the story.
    static func submitUpToTheStory(_ cli: CLI) throws -> TerminalSession {
        let t = try TerminalSession(cli, "\(CLI.binary) submit --store store")
        answerTheQuestions(t)
        t.expect("Ctrl-D")
        return t
    }

    static func answerTheQuestions(_ t: TerminalSession) {
        for (n, reply) in ["1,3", "1", "1", "", "2", "1"].enumerated() {
            t.expect("(\(n + 1) of 6)")
            t.expect("> ")
            t.type(reply + "\n")
        }
    }

    /// The only entry of `store`, opened by the reviewer key.
    static func reviewed(_ cli: CLI, _ store: String = "store") throws -> [String: Any] {
        let r = try cli.run(["review", "--key", "rev.key", "--passphrase-file", "pass", "--format", "jsonl", store])
        #expect(r.status == 0, "\(r)")
        let lines = r.stdout.split(separator: "\n").filter { $0.hasPrefix("{\"") && $0.contains("\"story\"") }
        try #require(lines.count == 1, "\(r)")
        return try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as! [String: Any]
    }

    @Test func asksEachQuestionThenSealsAfterConfirmation() throws {
        guard Self.haveScript else { return }
        let cli = try CLI.withStore()
        let t = try Self.submitUpToTheStory(cli)
        t.type("first line of the story\nsecond line\n\u{04}")
        t.expect("Please check everything before it is sealed:")
        t.expect("it begins: \"first line of the story\"")
        t.expect("it ends:   \"second line\"")
        t.expect("It will be sealed so that only these 2 keys can open it:")
        t.expect("What would you like to do?")
        #expect(t.screen.contains("rev (reviewer, fingerprint "))
        #expect(t.screen.contains("ana (analyst, fingerprint "))
        t.type("1\n")
        let status = t.finish()
        let screen = t.screen
        #expect(status == 0, "\(screen)")
        #expect(Self.receiptPattern.firstMatch(in: screen, range: NSRange(screen.startIndex..., in: screen)) != nil, "\(screen)")
        #expect(cli.allFiles(under: cli.path("store/inbox")).count == 1)

        let obj = try Self.reviewed(cli)
        #expect(obj["story"] as? String == "first line of the story\nsecond line\n")
        let answers = obj["answers"] as! [String: [String]]
        #expect(answers["kind"] == ["physical", "verbal"])
        #expect(answers["setting"] == ["workplace"])
        #expect(answers["reported"] == ["no"])
        #expect(answers["year"] == nil)
    }

    /// With stderr sent to a file, the questions, the story's echo and its first and last lines are
    /// on the terminal, never in that file: only the sentences after sealing are.
    @Test func withStderrInAFileTheStoryStaysOnTheTerminal() throws {
        guard Self.haveScript else { return }
        let cli = try CLI.withStore()
        let t = try TerminalSession(cli, "\(CLI.binary) submit --store store 2>err.log")
        Self.answerTheQuestions(t)
        t.expect("Ctrl-D")
        t.type("words that must stay off the disk\n\u{04}")
        t.expect("it begins: \"words that must stay off the disk\"")
        t.expect("What would you like to do?")
        t.type("1\n")
        #expect(t.finish() == 0, "\(t.screen.suffix(2000))")
        let log = String(decoding: try cli.read("err.log"), as: UTF8.self)
        #expect(!log.contains("must stay off") && !log.contains("(1 of 6)"), "\(log)")
        #expect(log.contains("The line above is your receipt"), "\(log)")
    }

    /// A terminal in its usual mode keeps 4095 bytes of a line and drops the rest without a word:
    /// a pasted paragraph must be sealed whole.
    @Test func aPastedLineOf20000CharactersIsSealedByteForByte() throws {
        guard Self.haveScript else { return }
        let cli = try CLI.withStore()
        let t = try Self.submitUpToTheStory(cli)
        let pattern = Array("It happened at the office, ça suffit; ")
        let line = String((0 ..< 20_000).map { pattern[$0 % pattern.count] })
        #expect(line.count == 20_000)
        t.type(line + "\u{04}")
        t.expect("(Your story has ended: 20000 characters.)")
        t.expect("What would you like to do?")
        t.type("1\n")
        let status = t.finish()
        #expect(status == 0, "\(t.screen.suffix(2000))")
        let obj = try Self.reviewed(cli)
        let story = obj["story"] as? String ?? ""
        #expect(Array(story.utf8) == Array(line.utf8), "sealed \(story.utf8.count) bytes of \(line.utf8.count)")
    }

    @Test func declineThenChangeOneAnswerThenSubmitWithoutRetyping() throws {
        guard Self.haveScript else { return }
        let cli = try CLI.withStore()
        let t = try Self.submitUpToTheStory(cli)
        t.type("a story typed only once\n\u{04}")
        t.expect("What would you like to do?")
        // Discard, then think better of it.
        t.type("4\n")
        t.expect("Discard your answers and your story?")
        t.type("\n")
        t.expect("Nothing was discarded.")
        t.expect("What would you like to do?")
        // A wrong key at the menu is told once, without the whole menu again.
        t.type("7\n")
        t.expect("Please enter 1, 2, 3 or 4.")
        // Change "Did you report it" (question 5) from no to yes.
        t.type("2\n")
        t.expect("Which answer would you like to change?")
        t.type("5\n")
        t.expect("(5 of 6)")
        t.expect("> ")
        t.type("1\n")
        t.expect("5) Did you report it: yes")
        t.expect("What would you like to do?")
        t.type("1\n")
        let status = t.finish()
        #expect(status == 0, "\(t.screen.suffix(3000))")
        #expect(t.screen.components(separatedBy: "What would you like to do?").count - 1 == 3)
        let obj = try Self.reviewed(cli)
        #expect(obj["story"] as? String == "a story typed only once\n")
        let answers = obj["answers"] as! [String: [String]]
        #expect(answers["reported"] == ["yes"])
        #expect(answers["kind"] == ["physical", "verbal"])
    }

    @Test func aStoryOverTheLimitIsKeptAndOfferedForEditing() throws {
        guard Self.haveScript else { return }
        let cli = try CLI()
        try cli.makeKeys()
        try cli.initStore("store", extra: ["--max-story-bytes", "100"])
        let t = try TerminalSession(cli, "\(CLI.binary) submit --store store")
        Self.answerTheQuestions(t)
        t.expect("up to 100 bytes")
        t.type(String(repeating: "y", count: 150) + "\n\u{04}")
        t.expect("Your story cannot be sent as it is: the story is 151 bytes, more than this store's limit of 100 bytes")
        t.expect("3) Write the story again")
        t.type("1\n")
        t.expect("Your story cannot be sent yet")
        t.type("3\n")
        t.expect("Ctrl-D")
        t.type("short enough now\n\u{04}")
        t.expect("it begins: \"short enough now\"")
        t.expect("What would you like to do?")
        t.type("1\n")
        let status = t.finish()
        #expect(status == 0, "\(t.screen.suffix(3000))")
        #expect(try Self.reviewed(cli)["story"] as? String == "short enough now\n")
    }

    @Test func discardAsksOnceMoreThenWritesNothing() throws {
        guard Self.haveScript else { return }
        let cli = try CLI.withStore()
        let t = try Self.submitUpToTheStory(cli)
        t.type("a story I decide not to send\n\u{04}")
        t.expect("What would you like to do?")
        t.type("4\n")
        t.expect("Discard your answers and your story?")
        t.type("yes\n")
        let status = t.finish()
        #expect(status == 64, "\(t.screen)")
        #expect(t.screen.contains("discarded as you asked; nothing was written"))
        #expect(cli.allFiles(under: cli.path("store/inbox")).isEmpty)
        #expect(cli.allFiles(under: cli.path("store/tmp")).isEmpty)
    }

    /// A fake editor that writes a line into the story file, leaves a backup beside it (as many editors
    /// do) and notes where it was run and the modes it saw.
    static func fakeEditor(_ cli: CLI) throws -> String {
        let path = cli.path("fake-editor")
        try cli.write("fake-editor", """
            #!/bin/sh
            for f; do file="$f"; done
            stat -c '%a %n' "$(dirname "$file")" "$file" >> "\(cli.path("editor.log"))"
            [ -t 0 ] && [ -t 1 ] && [ -t 2 ] && echo "on a terminal" >> "\(cli.path("editor.tty"))"
            printf 'written in the editor, line %s\n' "$(($(wc -l < "$file") + 1))" >> "$file"
            cp "$file" "$file~"
            """)
        chmod(path, 0o755)
        return path
    }

    @Test func theEditorWritesInAPrivateMemoryFolderAndLeavesNothingBehind() throws {
        guard Self.haveScript else { return }
        let cli = try CLI.withStore()
        // A private folder in memory stands for the user's $XDG_RUNTIME_DIR.
        let runtime = "/dev/shm/chorus-test-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: runtime, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        defer { try? FileManager.default.removeItem(atPath: runtime) }
        let editor = try Self.fakeEditor(cli)
        // stdout to a file (the receipt) and stderr to another: the editor still runs on the terminal.
        let t = try TerminalSession(cli, "\(CLI.binary) submit --store store >receipt.txt 2>err.log",
                                    env: ["VISUAL": editor, "XDG_RUNTIME_DIR": runtime, "CHORUS_EDITOR_IS_SAFE": "1"])
        Self.answerTheQuestions(t)
        t.expect("How would you like to write your story?")
        t.expect("2) Write it in your text editor (fake-editor)")
        t.type("2\n")
        t.expect("it begins: \"written in the editor, line 1\"")
        t.expect("3) Edit the story (in fake-editor)")
        t.type("3\n")  // the editor opens again on what was written
        t.expect("it ends:   \"written in the editor, line 2\"")
        t.expect("What would you like to do?")
        t.type("1\n")
        let status = t.finish()
        #expect(status == 0, "\(t.screen.suffix(3000))")
        #expect(try Self.reviewed(cli)["story"] as? String == "written in the editor, line 1\nwritten in the editor, line 2\n")
        // The editor ran twice, each time on a 0600 file in a new 0700 folder inside the runtime folder.
        let log = String(decoding: try cli.read("editor.log"), as: UTF8.self).split(separator: "\n")
        #expect(log.count == 4, "\(log)")
        for (k, line) in log.enumerated() {
            #expect(line.hasPrefix(k % 2 == 0 ? "700 \(runtime)/chorus-" : "600 \(runtime)/chorus-"), "\(line)")
        }
        #expect(String(decoding: try cli.read("editor.tty"), as: UTF8.self) == "on a terminal\non a terminal\n")
        #expect(String(decoding: try cli.read("receipt.txt"), as: UTF8.self).count == 35, "only the receipt in stdout")
        // Nothing is left: not the story, not the editor's backup, not the folder.
        #expect(try FileManager.default.contentsOfDirectory(atPath: runtime).isEmpty)
    }

    /// The editors Chorus knows are run with the options that keep them from writing backup, swap,
    /// undo or history files: a stand-in of the same name records the arguments it was given.
    @Test(arguments: [
        ("nano", "--restricted"),
        ("vim", "-n -i NONE -c set nobackup nowritebackup noundofile"),
        ("nvim", "-n -i NONE -c set nobackup nowritebackup noundofile"),
        ("emacs", "-nw -Q --eval (setq make-backup-files nil auto-save-default nil create-lockfiles nil)"),
    ])
    func aKnownEditorGetsTheOptionsThatKeepItFromLeavingCopies(_ name: String, _ options: String) throws {
        guard Self.haveScript else { return }
        let cli = try CLI.withStore()
        let runtime = "/dev/shm/chorus-test-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: runtime, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        defer { try? FileManager.default.removeItem(atPath: runtime) }
        try FileManager.default.createDirectory(atPath: cli.path("bin"), withIntermediateDirectories: false)
        try cli.write("bin/\(name)", """
            #!/bin/sh
            for f; do file="$f"; done
            printf '%s\\n' "$*" > "\(cli.path("args.log"))"
            printf 'written in %s\n' "$(basename "$0")" > "$file"
            """)
        chmod(cli.path("bin/\(name)"), 0o755)
        let path = cli.path("bin") + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        let t = try TerminalSession(cli, "\(CLI.binary) submit --store store", env: ["VISUAL": name, "PATH": path, "XDG_RUNTIME_DIR": runtime])
        Self.answerTheQuestions(t)
        t.expect("2) Write it in your text editor (\(name))")
        t.type("2\n")
        t.expect("it begins: \"written in \(name)\"")
        t.expect("What would you like to do?")
        t.type("1\n")
        #expect(t.finish() == 0, "\(t.screen.suffix(2000))")
        let args = String(decoding: try cli.read("args.log"), as: UTF8.self)
        #expect(args.hasPrefix(options + " \(runtime)/chorus-"), "\(args)")
        #expect(args.hasSuffix("/story.txt\n"), "\(args)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: runtime).isEmpty)
    }

    @Test func anEditorNotKnownToBeSafeIsNotOffered() throws {
        guard Self.haveScript else { return }
        let cli = try CLI.withStore()
        let editor = try Self.fakeEditor(cli)
        let t = try TerminalSession(cli, "\(CLI.binary) submit --store store", env: ["VISUAL": editor, "EDITOR": editor])
        t.expect("your editor (fake-editor) is not offered: chorus cannot make sure it keeps no backup or swap file")
        Self.answerTheQuestions(t)
        t.expect("Ctrl-D")
        t.type("typed, not edited\n\u{04}")
        t.expect("3) Write the story again")
        t.type("1\n")
        #expect(t.finish() == 0)
        #expect(!t.screen.contains("How would you like to write your story?"))
        #expect(access(cli.path("editor.log"), F_OK) != 0)
    }

    /// Ctrl-C while the reader edits the line itself gives the terminal its own mode back (line
    /// editing and echo) before chorus ends, and nothing is written.
    @Test func ctrlCGivesTheTerminalBackItsModeAndWritesNothing() throws {
        guard Self.haveScript else { return }
        let cli = try CLI.withStore()
        // The shell ignores Ctrl-C (and so would chorus, but it sets its own handler), then shows the mode.
        let t = try TerminalSession(cli, "trap '' INT; \(CLI.binary) submit --store store; echo \"status=$?\"; stty -a")
        Self.answerTheQuestions(t)
        t.expect("Ctrl-D")
        t.type("half a story")
        t.expect("half a story")
        t.type("\u{03}")
        t.expect("status=130")
        t.expect("speed")
        _ = t.finish()
        let mode = t.screen.components(separatedBy: "status=130").last ?? ""
        #expect(mode.contains(" icanon") && mode.contains(" echo ") && !mode.contains("-icanon") && !mode.contains("-echo "), "\(mode)")
        #expect(cli.allFiles(under: cli.path("store/inbox")).isEmpty)
    }

    // MARK: Retries where a person can mistype

    @Test func keygenStatesThePassphraseRulesAndAllowsThreeTries() throws {
        guard Self.haveScript else { return }
        let cli = try CLI.withStore()
        let t = try TerminalSession(cli, "\(CLI.binary) keygen --name kim --secret-out kim.key --public-out kim.pub --kdf-cost test-only")
        t.expect("at least 8 characters")
        t.expect("New passphrase for the secret key: ")
        t.type("short\n")
        t.expect("That passphrase is 5 characters; it must be at least 8. Please try again (2 tries left).")
        t.expect("New passphrase for the secret key: ")
        t.type("long enough one\n")
        t.expect("Same passphrase again: ")
        t.type("long enough two\n")
        t.expect("The two passphrases differ. Please try again (1 try left).")
        t.expect("New passphrase for the secret key: ")
        t.type("the right one\n")
        t.expect("Same passphrase again: ")
        t.type("the right one\n")
        let status = t.finish()
        #expect(status == 0, "\(t.screen)")
        #expect(access(cli.path("kim.key"), F_OK) == 0)
        // The passphrase kept is the one typed twice: it unlocks the key.
        try cli.write("kim-pass", "the right one\n")
        let r = try cli.run(["review", "--key", "kim.key", "--passphrase-file", "kim-pass", "store"])
        #expect(r.status == 0 && r.stderr.contains("kim.key uses test-only passphrase costs"), "\(r)")  // said once unlocked
    }

    @Test func threeTriesAtAWrongPassphraseThenExit77() throws {
        guard Self.haveScript else { return }
        let cli = try CLI.withStore()
        try cli.submit("a story to review")
        // Wrong, then right: the review goes on.
        let t = try TerminalSession(cli, "\(CLI.binary) review --key rev.key --format jsonl store")
        t.expect("Passphrase for rev.key: ")
        t.type("not it\n")
        t.expect("Wrong passphrase. Please try again (2 tries left).")
        t.expect("Passphrase for rev.key: ")
        t.type("a passphrase for tests\n")
        t.expect("a story to review")
        #expect(t.finish() == 0, "\(t.screen)")
        // Three wrong ones: exit 77.
        let w = try TerminalSession(cli, "\(CLI.binary) review --key rev.key --format jsonl store")
        for left in [2, 1] {
            w.expect("Passphrase for rev.key: ")
            w.type("wrong \(left)\n")
            w.expect("Please try again (\(left) \(left == 1 ? "try" : "tries") left).")
        }
        w.expect("Passphrase for rev.key: ")
        w.type("wrong again\n")
        w.expect("wrong passphrase")
        #expect(w.finish() == 77, "\(w.screen)")
    }

    @Test func aReceiptWithATypoIsReadBackInGroupsAndAskedAgain() throws {
        guard Self.haveScript else { return }
        let cli = try CLI.withStore()
        let receipt = try cli.submit("a story to withdraw")
        var typo = Array(receipt)
        typo[5] = typo[5] == "A" ? "B" : "A"
        let t = try TerminalSession(cli, "\(CLI.binary) withdraw --store store")
        t.expect("It is shown as you type; run with --hide-receipt")
        t.expect("Receipt: ")
        t.type(String(typo).replacingOccurrences(of: "-", with: "").lowercased() + "\n")
        t.expect("You typed:  \(String(typo))")
        t.expect("Please try again (2 tries left).")
        t.expect("Receipt: ")
        t.type(receipt.lowercased().replacingOccurrences(of: "-", with: " ") + "\n")
        t.expect("Your story is withdrawn")
        #expect(t.finish() == 0, "\(t.screen)")
        #expect(cli.allFiles(under: cli.path("store/inbox")).isEmpty)
    }

    @Test func aHiddenReceiptIsNeverShownAndThreeTyposEndWithdraw() throws {
        guard Self.haveScript else { return }
        let cli = try CLI.withStore()
        let receipt = try cli.submit("a story to keep")
        var typo = Array(receipt)
        typo[0] = typo[0] == "A" ? "B" : "A"
        let t = try TerminalSession(cli, "\(CLI.binary) withdraw --hide-receipt --store store")
        for left in [2, 1] {
            t.expect("Receipt (not shown): ")
            t.type(String(typo) + "\n")
            t.expect("Please try again (\(left) \(left == 1 ? "try" : "tries") left).")
        }
        t.expect("Receipt (not shown): ")
        t.type(String(typo) + "\n")
        let status = t.finish()
        #expect(status == 65, "\(t.screen)")
        #expect(!t.screen.contains(String(typo)) && !t.screen.contains(String(typo.prefix(9))), "\(t.screen)")
        #expect(!t.screen.contains("You typed"))
        #expect(cli.allFiles(under: cli.path("store/inbox")).count == 1)
    }

    // MARK: Progress on a terminal

    /// `count` envelopes sealed here to the store's recipients and imported in one run.
    static func importMany(_ cli: CLI, _ count: Int) throws {
        let keys = try KeyFiles.loadRecipients([cli.path("Keys")])
        try FileManager.default.createDirectory(atPath: cli.path("many"), withIntermediateDirectories: false)
        let story = SecretBytes(copying: Array("one of many".utf8))
        for i in 0 ..< count {
            let envelope = try EnvelopeSealer.seal(id: Receipt.generate().entryID, answers: try builtInAnswers(), story: story, recipients: keys)
            try cli.write("many/\(i).env", bytes: envelope)
        }
        let r = try cli.run(["import", "--store", "store"] + (0 ..< count).map { "many/\($0).env" })
        #expect(r.status == 0, "\(r)")
    }

    @Test func batchAndReviewIntoAFolderShowProgressOnATerminalOnly() throws {
        guard Self.haveScript else { return }
        let cli = try CLI.withStore()
        try Self.importMany(cli, 1200)
        let t = try TerminalSession(cli, "\(CLI.binary) batch --store store")
        t.expect("\rbatched 1")
        t.expect("closed 1200 entries into the batch")
        #expect(t.finish() == 0, "\(t.screen.suffix(1000))")
        let w = try TerminalSession(cli, "\(CLI.binary) review --key rev.key --passphrase-file pass --out stories store")
        w.expect("\ropened 1")
        w.expect("\rwrote 1")
        w.expect("wrote 1200 entries into stories")
        #expect(w.finish() == 0, "\(w.screen.suffix(1000))")
        // Without a terminal: no progress, nothing but the sentences.
        let quiet = try cli.run(["review", "--key", "rev.key", "--passphrase-file", "pass", "--out", "again", "store"])
        #expect(quiet.status == 0, "\(quiet)")
        #expect(!quiet.stderr.contains("\r") && !quiet.stderr.contains("opened 1") && !quiet.stderr.contains("\u{1B}"), "\(quiet)")
    }
}

