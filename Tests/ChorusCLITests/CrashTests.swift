import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Starts `chorus` processes and kills them with SIGKILL at random moments, then checks the store:
/// every acknowledged submission is there exactly once, nothing partial is visible, verify is clean.
@Suite struct CrashCLITests {
    /// Runs `args` and kills it after `delay` seconds unless it finished; returns stdout if it exited 0.
    func runOrKill(_ cli: CLI, _ args: [String], stdin: String, delay: Double) throws -> String? {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CLI.binary)
        p.arguments = args
        p.currentDirectoryURL = URL(fileURLWithPath: cli.dir)
        let out = Pipe(), input = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        p.standardInput = input
        try p.run()
        try input.fileHandleForWriting.write(contentsOf: Data(stdin.utf8))
        try input.fileHandleForWriting.close()
        usleep(useconds_t(delay * 1_000_000))
        kill(p.processIdentifier, SIGKILL)
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationReason == .exit, p.terminationStatus == 0 else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    @Test func killedSubmitsAndBatchesLoseNothingAcknowledged() throws {
        let cli = try CLI()
        try cli.makeKeys(analyst: nil)
        _ = try cli.run(["init", "--store", "store"])
        // Calibrate on this machine, now: the kill moments spread over 0 to 1.5 times a normal run, so
        // some processes are killed at every stage and some finish, however loaded the machine is.
        let start = Date()
        let first = try cli.run(["submit", "--store", "store"] + CLI.answers, stdin: "crash story calibration")
        #expect(first.status == 0, "\(first)")
        var acknowledged = ["crash story calibration"]
        let typical = Date().timeIntervalSince(start)
        var killed = 0
        for i in 0 ..< 60 {
            let delay = Double.random(in: 0 ... 1.5 * typical)
            if i % 6 == 5 {
                _ = try runOrKill(cli, ["batch", "--store", "store"], stdin: "", delay: delay)
            } else {
                let story = "crash story \(i)"
                if let receipt = try runOrKill(cli, ["submit", "--store", "store"] + CLI.answers, stdin: story, delay: delay),
                   receipt.split(separator: "\n").count == 1 {
                    acknowledged.append(story)
                } else {
                    killed += 1
                }
            }
        }
        // A clean batch at the end must also work after all the crashes.
        let last = try cli.run(["batch", "--store", "store"])
        #expect(last.status == 0, "\(last)")
        let r = try cli.run(["review", "--key", "rev.key", "--passphrase-file", "pass", "--format", "jsonl", "store"])
        #expect(r.status == 0, "no partial or damaged entry is visible: \(r.stderr)")
        let stories = r.stdout.split(separator: "\n").map { line -> String in
            (try! JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any])["story"] as! String
        }
        for story in acknowledged {
            #expect(stories.filter { $0 == story }.count == 1, "\(story) acknowledged but present \(stories.filter { $0 == story }.count) times")
        }
        #expect(Set(stories).count == stories.count)
        let v = try cli.run(["verify", "store"])
        #expect(v.status == 0, "\(v)")
        #expect(acknowledged.count > 1, "the loop acknowledged no submission: the delays are too short to test anything")
        #expect(killed > 0, "the loop killed no submission: the delays are too long to test anything")
    }
}
