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
        #expect(r.stderr.contains("never takes a story on the command line"))
        #expect(cli.allFiles(under: cli.path("store/inbox")).isEmpty)
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
