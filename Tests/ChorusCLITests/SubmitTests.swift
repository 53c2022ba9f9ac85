import Foundation
import Testing

@Suite struct SubmitCLITests {
    @Test func fromStdinPrintsOnlyTheReceipt() throws {
        let cli = try CLI.withStore()
        let r = try cli.run(["submit", "--store", "store"] + CLI.answers, stdin: "my story\n")
        #expect(r.status == 0, "\(r)")
        let lines = r.stdout.split(separator: "\n")
        #expect(lines.count == 1)
        #expect(lines[0].count == 34 && lines[0].split(separator: "-").count == 7)
        #expect(r.stderr.contains("receipt"))
        #expect(cli.allFiles(under: cli.path("store/inbox")).count == 1)
    }

    @Test func fromFileAndToOutThenImport() throws {
        let cli = try CLI.withStore()
        try cli.write("story.txt", "a story from a file")
        let r = try cli.run(["submit", "--out", "env.chorus", "--recipients", "Keys", "--file", "story.txt"] + CLI.answers)
        #expect(r.status == 0, "\(r)")
        let again = try cli.run(["submit", "--out", "env.chorus", "--recipients", "Keys", "--file", "story.txt"] + CLI.answers)
        #expect(again.status == 73, "never overwrites")
        let imp = try cli.run(["import", "--store", "store", "env.chorus"])
        #expect(imp.status == 0, "\(imp)")
        let dup = try cli.run(["import", "--store", "store", "env.chorus"])
        #expect(dup.status == 0)
        #expect(dup.stderr.contains("already in the store"))
        #expect(cli.allFiles(under: cli.path("store/inbox")).count == 1)
    }

    @Test func importReportsEachBadFileAndKeepsGoing() throws {
        let cli = try CLI.withStore()
        try cli.write("story.txt", "a story")
        _ = try cli.run(["submit", "--out", "good1", "--recipients", "Keys", "--file", "story.txt"] + CLI.answers)
        _ = try cli.run(["submit", "--out", "good2", "--recipients", "Keys", "--file", "story.txt"] + CLI.answers)
        try cli.write("junk", "not an envelope at all")
        var truncated = try cli.read("good2")
        truncated.removeLast(10)
        try cli.write("cut", bytes: truncated)
        let r = try cli.run(["import", "--store", "store", "good1", "junk", "missing", "cut", "good2"])
        #expect(r.status == 65, "\(r)")
        #expect(r.stderr.contains("junk"))
        #expect(r.stderr.contains("cut"))
        #expect(r.stderr.contains("missing"))
        #expect(cli.allFiles(under: cli.path("store/inbox")).count == 2)
    }

    @Test func storyNeverOnTheCommandLine() throws {
        let cli = try CLI.withStore()
        let r = try cli.run(["submit", "--store", "store"] + CLI.answers + ["He followed me home every night"])
        #expect(r.status == 64)
        #expect(r.stderr.contains("the story is never taken from the command line"))
        #expect(cli.allFiles(under: cli.path("store/inbox")).isEmpty)
    }

    @Test(arguments: [
        (["--anwser", "kind=verbal"], "chorus: error: Unknown option '--anwser'. Did you mean '--answer'?"),
        (["--bogus"], "chorus: error: Unknown option '--bogus'"),
        (["--stroe", "store"], "chorus: error: Unknown option '--stroe'. Did you mean '--store'?"),
        (["--answer=kind=verbal", "--fille", "story.txt"], "Unknown option '--fille'. Did you mean '--file'?"),
    ])
    func aMistypedOptionGetsTheParsersSuggestion(_ extra: [String], _ message: String) throws {
        let cli = try CLI.withStore()
        let r = try cli.run(["submit", "--store", "store"] + extra, stdin: "a story")
        #expect(r.status == 64, "\(r)")
        #expect(r.stderr.hasPrefix("chorus: error: ") && r.stderr.contains(message), "\(r)")
        #expect(!r.stderr.contains("story is never taken"), "\(r)")
        #expect(cli.allFiles(under: cli.path("store/inbox")).isEmpty)
    }

    /// A story that looks like options is still refused, never parsed: "-he ..." would be -h (help).
    @Test(arguments: [
        ["-he hurt me at the party"],
        ["-he"],
        ["--", "-h"],
        ["-x he hurt me"],
        ["--story", "He followed me home every night"],
        ["--anwser", "kind=verbal", "He followed me home every night"],
    ])
    func aStoryOnTheCommandLineIsRefusedWhateverItLooksLike(_ extra: [String]) throws {
        let cli = try CLI.withStore()
        let r = try cli.run(["submit", "--store", "store"] + CLI.answers + extra, stdin: "a story")
        #expect(r.status == 64, "\(r)")
        #expect(r.stderr.contains("chorus: error: the story is never taken from the command line"), "\(r)")
        #expect(r.stdout.isEmpty)
        #expect(!r.stderr.contains("hurt me") && !r.stderr.contains("followed me"), "\(r)")
        #expect(cli.allFiles(under: cli.path("store/inbox")).isEmpty)
    }

    /// Every option submit's help lists is known to the screen that runs before argument-parser: an
    /// option it did not know would take its value for a story.
    @Test func everyOptionOfSubmitIsKnownBeforeParsing() throws {
        let cli = try CLI()
        let help = try cli.run(["submit", "--help"]).stdout
        let options = Set(help.split(separator: " ").filter { $0.hasPrefix("--") && !$0.contains("=") }
            .map { String($0.prefix { $0 == "-" || $0.isLetter }) }).subtracting(["--help", "--version"])
        #expect(options.count >= 7, "\(options)")
        // A value that happens to be the screen's placeholder word is a value like any other.
        let placeholder = try cli.run(["submit", "--store", "secret", "--bogus"], stdin: "")
        #expect(placeholder.stderr.hasPrefix("chorus: error: Unknown option '--bogus'"), "\(placeholder)")
        for option in options {
            let r = try cli.run(["submit", option, "a value with spaces", "--bogus"], stdin: "")
            #expect(r.status == 64)
            #expect(r.stderr.contains("Unknown option '--bogus'"), "\(option): \(r)")
        }
    }

    @Test(arguments: [
        ["init", "--store", "s"], ["keygen", "--name", "x"], ["key", "show", "x"], ["recipients", "add", "--store", "s", "--org-key", "k", "k.pub"],
        ["recipients", "list", "s"],
        ["submit"], ["withdraw", "--store", "s"], ["import", "--store", "s", "f"], ["batch", "--store", "s"], ["review", "--key", "k", "s"],
        ["stats", "--key", "k", "s"], ["verify", "s"],
    ])
    func everySubcommandNamesAnUnknownOption(_ command: [String]) throws {
        let cli = try CLI()
        let r = try cli.run(command + ["--bogus"])
        #expect(r.status == 64, "\(r)")
        #expect(r.stderr.hasPrefix("chorus: error: Unknown option '--bogus'"), "\(r)")
    }

    // MARK: Help, usage and exit codes, the same in every subcommand

    @Test func chorusAloneAndAnUnknownHelpTopicAreUsageErrors() throws {
        let cli = try CLI()
        let alone = try cli.run([])
        #expect(alone.status == 64, "\(alone)")
        #expect(alone.stderr.contains("USAGE: chorus <subcommand>") && alone.stdout.isEmpty)
        let nope = try cli.run(["help", "nope"])
        #expect(nope.status == 64, "\(nope)")
        #expect(nope.stderr.hasPrefix("chorus: error: there is no help topic nope; the subcommands are init, keygen, key, recipients, submit"))
        // A group alone is like chorus alone: its help on stderr, exit 64.
        for group in ["recipients", "key"] {
            let r = try cli.run([group])
            #expect(r.status == 64 && r.stdout.isEmpty && r.stderr.contains("USAGE: chorus \(group) <subcommand>"), "\(r)")
        }
        let deep = try cli.run(["help", "recipients", "nope"])
        #expect(deep.status == 64, "\(deep)")
        #expect(deep.stderr.hasPrefix("chorus: error: there is no help topic recipients nope; the subcommands of recipients are add, remove, list, questionnaire"))
        for topic in [["help"], ["help", "review"], ["help", "recipients", "add"], ["--help"], ["review", "--help"], ["recipients", "--help"]] {
            let r = try cli.run(topic)
            #expect(r.status == 0 && r.stdout.contains("USAGE:"), "\(topic): \(r)")
        }
    }

    @Test func theOverviewListsEveryExitCode() throws {
        let help = try CLI().run(["--help"]).stdout.replacingOccurrences(of: "\n", with: " ")
        for code in ["0 success", "64 usage", "65 bad or tampered", "66 missing input", "73 cannot create", "74 I/O error", "77 permission"] {
            #expect(help.contains(code), "the overview lacks \(code)")
        }
    }

    /// No option's help says its default twice (argument-parser adds "(default: ...)" itself).
    @Test(arguments: ["init", "keygen", "key show", "recipients add", "recipients list", "submit", "withdraw", "import", "batch", "review", "verify"])
    func noDefaultIsSaidTwice(_ command: String) throws {
        let help = try CLI().run(command.split(separator: " ").map(String.init) + ["--help"]).stdout
        let flat = help.replacingOccurrences(of: "\n", with: " ").split(separator: " ").joined(separator: " ")
        for option in flat.components(separatedBy: " --").dropFirst() {
            let defaults = option.components(separatedBy: "(default").count - 1
            #expect(defaults <= 1, "\(command): --\(option.prefix(80))")
        }
    }

    @Test func reviewShowsItsKeyAsRequired() throws {
        let cli = try CLI()
        let help = try cli.run(["review", "--help"]).stdout
        #expect(help.contains("USAGE: chorus review --key <key> ..."), "\(help)")
        let r = try cli.run(["review", "store"])
        #expect(r.status == 64)
        #expect(r.stderr.hasPrefix("chorus: error: Missing expected argument '--key <key> ...'"), "\(r)")
    }

    @Test(arguments: [
        (["--answer", "colour=red"], "colour"),
        (["--answer", "setting=moon"], "setting"),
        (["--answer", "setting=workplace,home"], "setting"),
        (["--answer", "year=1800"], "year"),
        (["--answer", "setting"], "="),
    ])
    func badAnswersExit64AndWriteNothing(_ extra: [String], _ words: String) throws {
        let cli = try CLI.withStore()
        let replaced = String(extra[1].split(separator: "=").first ?? "")
        let base = ["kind": "verbal", "setting": "workplace", "perpetrator-role": "supervisor", "reported": "no", "consent": "counts-only"]
            .filter { $0.key != replaced }.sorted { $0.key < $1.key }.flatMap { ["--answer", "\($0.key)=\($0.value)"] }
        let r = try cli.run(["submit", "--store", "store"] + base + extra, stdin: "story")
        #expect(r.status == 64, "\(r)")
        #expect(r.stderr.contains(words), "\(r)")
        #expect(cli.allFiles(under: cli.path("store/inbox")).isEmpty)
    }

    @Test func missingRequiredAnswer() throws {
        let cli = try CLI.withStore()
        let r = try cli.run(["submit", "--store", "store", "--answer", "kind=verbal"], stdin: "story")
        #expect(r.status == 64)
        #expect(r.stderr.contains("setting") || r.stderr.contains("required"))
    }

    @Test func badStories() throws {
        let cli = try CLI.withStore()
        let empty = try cli.run(["submit", "--store", "store"] + CLI.answers, stdin: "")
        #expect([64, 65].contains(empty.status), "\(empty)")
        let binary = try cli.run(["submit", "--store", "store"] + CLI.answers, stdinBytes: [0x66, 0xff, 0xfe, 0x00])
        #expect([64, 65].contains(binary.status), "\(binary)")
        let huge = try cli.run(["submit", "--store", "store"] + CLI.answers, stdin: String(repeating: "a", count: 70_000))
        #expect(huge.status == 65, "\(huge)")
        #expect(huge.stderr.contains("65536"))
        #expect(cli.allFiles(under: cli.path("store/inbox")).isEmpty)
    }

    @Test func needsAReviewerRecipient() throws {
        let cli = try CLI.withStore()
        let r = try cli.run(["submit", "--store", "store", "--recipients", "Keys/ana.pub"] + CLI.answers, stdin: "story")
        #expect(r.status == 64)
        #expect(r.stderr.contains("reviewer"))
        let none = try cli.run(["submit", "--store", "store", "--recipients", "nowhere"] + CLI.answers, stdin: "story")
        #expect(none.status == 66)
    }

    @Test func refusesAFolderThatIsNotAStore() throws {
        let cli = try CLI.withStore()
        try FileManager.default.createDirectory(atPath: cli.path("plain"), withIntermediateDirectories: true)
        try cli.write("plain/notes.txt", "hello")
        let r = try cli.run(["submit", "--store", "plain"] + CLI.answers, stdin: "story")
        #expect(r.status == 65 || r.status == 66, "\(r)")
        #expect(r.stderr.contains("plain"))
    }

    @Test func noPlaintextOnDisk() throws {
        let cli = try CLI.withStore()
        let marker = "UNIQUE-MARKER-\(UUID().uuidString)"
        try cli.submit("the story with \(marker) inside")
        _ = try cli.run(["batch", "--store", "store"])
        try cli.write("s.txt", "file story \(marker)")
        _ = try cli.run(["submit", "--out", "env", "--recipients", "Keys", "--file", "s.txt"] + CLI.answers)
        for file in cli.allFiles(under: cli.path("store")) + [cli.path("env")] {
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: file)))
            #expect(!String(decoding: bytes, as: UTF8.self).contains(marker), "\(file) holds the story in clear")
        }
        let tmp = FileManager.default.temporaryDirectory.path
        for file in (try? FileManager.default.contentsOfDirectory(atPath: tmp)) ?? [] where !file.hasPrefix("chorus-cli-") {
            let full = tmp + "/" + file
            guard let data = FileManager.default.contents(atPath: full) else { continue }
            #expect(!String(decoding: data, as: UTF8.self).contains(marker), "\(full) holds the story in clear")
        }
    }

    @Test func fileTimesAndModesInTheStore() throws {
        let cli = try CLI.withStore()
        try cli.submit("a story")
        for file in cli.allFiles(under: cli.path("store/inbox")) {
            let attrs = try FileManager.default.attributesOfItem(atPath: file)
            #expect((attrs[.posixPermissions] as? Int) == 0o600)
            #expect((attrs[.modificationDate] as? Date) == Date(timeIntervalSince1970: 0))
            #expect(URL(fileURLWithPath: file).lastPathComponent.count == 64)
        }
    }
}
