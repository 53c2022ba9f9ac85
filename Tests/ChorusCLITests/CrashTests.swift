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
        p.environment = chorusEnvironment(in: cli.dir)
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
        try cli.initStore("store")
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

    /// Runs `args` and kills it after `delay` seconds unless it finished; returns its exit status, or
    /// nil when it was killed.
    func exitOrKill(_ cli: CLI, _ args: [String], stdin: String, delay: Double) throws -> Int32? {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CLI.binary)
        p.arguments = args
        p.currentDirectoryURL = URL(fileURLWithPath: cli.dir)
        p.environment = chorusEnvironment(in: cli.dir)
        let input = Pipe()
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        p.standardInput = input
        try p.run()
        try? input.fileHandleForWriting.write(contentsOf: Data(stdin.utf8))
        try? input.fileHandleForWriting.close()
        usleep(useconds_t(delay * 1_000_000))
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        return p.terminationReason == .exit ? p.terminationStatus : nil
    }

    @Test func killedImportsAndWithdrawalsKeepEveryAcknowledgement() throws {
        _ = ignoreSIGPIPE
        let cli = try CLI.withStore()
        // Envelopes to import (made with submit --out), each with its story and receipt.
        var stories: [String] = [], receipts: [String] = []
        for i in 0 ..< 30 {
            let story = "imported story \(i)"
            let r = try cli.run(["submit", "--out", "env\(i).chorus", "--recipients", "Keys"] + CLI.answers, stdin: story)
            #expect(r.status == 0, "\(r)")
            stories.append(story)
            receipts.append(r.stdout.trimmingCharacters(in: .newlines))
        }
        // Calibrate on this machine, now, as the submit loop does: one import and one withdrawal.
        var start = Date()
        #expect(try cli.run(["import", "--store", "store", "env0.chorus"]).status == 0)
        let typicalImport = Date().timeIntervalSince(start)
        start = Date()
        #expect(try cli.run(["withdraw", "--store", "store"], stdin: receipts[0]).status == 0)
        let typicalWithdraw = Date().timeIntervalSince(start)

        var imported: Set<Int> = [0]             // acknowledged imports (exit 0)
        var withdrawn: Set<Int> = [0]            // acknowledged withdrawals (exit 0)
        var triedToWithdraw: Set<Int> = []       // withdrawals killed before they answered
        var killedImports = 0, killedWithdrawals = 0
        var next = 1
        for i in 0 ..< 72 {
            if i % 9 == 8 {
                // Closing batches now and then, so that withdrawals also meet entries already in a batch.
                _ = try exitOrKill(cli, ["batch", "--store", "store"], stdin: "", delay: Double.random(in: 0 ... 1.5 * typicalImport))
                continue
            }
            let candidates = imported.subtracting(withdrawn).subtracting(triedToWithdraw)
            if i % 2 == 1, let victim = candidates.randomElement() {
                let status = try exitOrKill(cli, ["withdraw", "--store", "store"], stdin: receipts[victim],
                                            delay: Double.random(in: 0 ... 1.5 * typicalWithdraw))
                if status == 0 { withdrawn.insert(victim) } else { triedToWithdraw.insert(victim); killedWithdrawals += 1 }
                #expect(status == nil || status == 0, "withdraw of an acknowledged import exited \(status!)")
            } else {
                // The next envelope not yet acknowledged (a killed import is tried again later).
                let pending = (1 ..< stories.count).filter { !imported.contains($0) }
                guard let n = pending.first(where: { $0 >= next }) ?? pending.first else { continue }
                next = n + 1
                let status = try exitOrKill(cli, ["import", "--store", "store", "env\(n).chorus"], stdin: "",
                                            delay: Double.random(in: 0 ... 1.5 * typicalImport))
                if status == 0 { imported.insert(n) } else { killedImports += 1 }
                #expect(status == nil || status == 0, "import exited \(status!)")
            }
        }
        // A clean batch after all the crashes must work, and so must the readers.
        let last = try cli.run(["batch", "--store", "store"])
        #expect(last.status == 0, "\(last)")
        let r = try cli.run(["review", "--key", "rev.key", "--passphrase-file", "pass", "--format", "jsonl", "store"])
        #expect(r.status == 0, "no partial or damaged entry is visible: \(r.stderr)")
        let shown = r.stdout.split(separator: "\n").map { line -> String in
            (try! JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any])["story"] as! String
        }
        for i in imported.subtracting(withdrawn).subtracting(triedToWithdraw) {
            #expect(shown.filter { $0 == stories[i] }.count == 1, "acknowledged import \(i) is shown \(shown.filter { $0 == stories[i] }.count) times")
        }
        for i in withdrawn {
            #expect(!shown.contains(stories[i]), "acknowledged withdrawal \(i) is still shown")
            let again = try cli.run(["withdraw", "--store", "store"], stdin: receipts[i])
            #expect(again.status == 0 && again.stderr.contains("already withdrawn"), "withdrawal \(i) was not durable: \(again)")
        }
        for i in triedToWithdraw { #expect(shown.filter { $0 == stories[i] }.count <= 1) }
        #expect(Set(shown).count == shown.count, "an entry is shown twice")
        #expect(shown.allSatisfy { stories.contains($0) }, "something that was never imported is shown")
        let v = try cli.run(["verify", "store"])
        #expect(v.status == 0, "\(v)")
        #expect(imported.count > 1 && withdrawn.count > 1, "the loop acknowledged too little to test anything")
        #expect(killedImports > 0 && killedWithdrawals > 0, "the loop killed no import or no withdrawal: the delays are too long to test anything")
    }
}
