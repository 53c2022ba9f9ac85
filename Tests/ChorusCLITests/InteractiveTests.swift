import Foundation
import Testing

/// `chorus submit` at a real terminal: a pseudo-terminal made by util-linux `script`, which copies our
/// pipe into the terminal's input and the terminal's output back to us.
@Suite struct InteractiveCLITests {
    func runOnTerminal(_ cli: CLI, _ command: String, typing input: String) throws -> (status: Int32, screen: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/script")
        p.arguments = ["-q", "-e", "-c", command, "/dev/null"]
        p.currentDirectoryURL = URL(fileURLWithPath: cli.dir)
        p.environment = chorusEnvironment(in: cli.dir)
        let out = Pipe(), inPipe = Pipe()
        p.standardOutput = out
        p.standardError = out
        p.standardInput = inPipe
        try p.run()
        // Type slowly enough for each prompt to be reached (the terminal buffers the rest anyway).
        for chunk in input.split(separator: "\n", omittingEmptySubsequences: false).map({ $0 + "\n" }).dropLast() + [Substring(input.split(separator: "\n", omittingEmptySubsequences: false).last ?? "")] {
            try inPipe.fileHandleForWriting.write(contentsOf: Data(chunk.utf8))
            usleep(30_000)
        }
        usleep(300_000)
        try inPipe.fileHandleForWriting.close()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    static let receiptPattern = try! NSRegularExpression(pattern: "[0-9A-Z]{4}(-[0-9A-Z]{4}){6}")

    @Test func asksEachQuestionThenSealsAfterConfirmation() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/script") else {
            Issue.record("util-linux script is needed to drive a pseudo-terminal")
            return
        }
        let cli = try CLI()
        try cli.makeKeys()
        try cli.initStore("store")
        // kind: 1 and 3; setting 1; role 1; year skipped; reported 2; consent 1; the story; Ctrl-D; yes.
        let typed = "1,3\n1\n1\n\n2\n1\nfirst line of the story\nsecond line\n\u{04}y\n"
        let (status, screen) = try runOnTerminal(cli, "\(CLI.binary) submit --store store", typing: typed)
        #expect(status == 0, "\(screen)")
        #expect(screen.contains("Seal and submit?"))
        #expect(screen.contains("Ctrl-D"))
        let range = NSRange(screen.startIndex..., in: screen)
        #expect(Self.receiptPattern.firstMatch(in: screen, range: range) != nil, "\(screen)")
        #expect(cli.allFiles(under: cli.path("store/inbox")).count == 1)

        let r = try cli.run(["review", "--key", "rev.key", "--passphrase-file", "pass", "--format", "jsonl", "store"])
        let obj = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        #expect(obj["story"] as? String == "first line of the story\nsecond line\n")
        let answers = obj["answers"] as! [String: [String]]
        #expect(answers["kind"] == ["physical", "verbal"])
        #expect(answers["setting"] == ["workplace"])
        #expect(answers["reported"] == ["no"])
        #expect(answers["year"] == nil)
    }

    @Test func declineWritesNothing() throws {
        let cli = try CLI()
        try cli.makeKeys()
        try cli.initStore("store")
        let typed = "1\n1\n1\n\n1\n1\na story I decide not to send\n\u{04}n\n"
        let (status, screen) = try runOnTerminal(cli, "\(CLI.binary) submit --store store", typing: typed)
        #expect(status == 64, "\(screen)")
        #expect(screen.contains("nothing was written"))
        #expect(cli.allFiles(under: cli.path("store/inbox")).isEmpty)
        #expect(cli.allFiles(under: cli.path("store/tmp")).isEmpty)
    }
}
