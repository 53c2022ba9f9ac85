import ChorusCore
import Foundation
import Testing
import ChorusTestSupport

#if canImport(Glibc)
import Glibc
#endif

// Memory and process hygiene, proved from outside the process (issue "Hardening", item 2): every
// command runs with umask 077, no core dumps (RLIMIT_CORE 0, hard limit too) and PR_SET_DUMPABLE 0;
// the story is never in argv or the environment; nothing is written in clear to TMPDIR.
//
// How a command is caught in the middle of its work: its stderr is a pipe that the test fills to the
// brim before starting it, so the first message it writes blocks it, after it has done its work and
// while it still holds what it read (a story, a key). The test then reads /proc/PID. Whether a
// process may be dumped is not in /proc/PID/status, but the kernel makes the files of /proc/PID
// owned by root when it may not (proc(5)): so the command runs as the unprivileged user 65534
// (util-linux setpriv), and an ordinary process run the same way is the control.

/// A pipe whose buffer is full: a write to its write end blocks until someone reads the read end.
final class FullPipe: @unchecked Sendable {
    let pipe = Pipe()
    private(set) var filled = 0

    init() {
        let w = pipe.fileHandleForWriting.fileDescriptor
        let flags = fcntl(w, F_GETFL)
        _ = fcntl(w, F_SETFL, flags | O_NONBLOCK)
        let chunk = [UInt8](repeating: 0x2e, count: 4096)
        while true {
            let n = chunk.withUnsafeBytes { write(w, $0.baseAddress!, $0.count) }
            if n <= 0 { break }
            filled += n
        }
        // The flag belongs to the open file, which the child shares: it must block again.
        _ = fcntl(w, F_SETFL, flags)
    }

    /// Reads everything (the filler and what the child wrote) until the child closes its end.
    func drain() -> String {
        try? pipe.fileHandleForWriting.close()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        return String(decoding: data.dropFirst(filled), as: UTF8.self)
    }
}

/// What /proc says about a process.
struct ProcView {
    let pid: Int32
    func text(_ name: String) -> String { (try? String(contentsOfFile: "/proc/\(pid)/\(name)", encoding: .utf8)) ?? "" }
    func bytes(_ name: String) -> [UInt8] { FileManager.default.contents(atPath: "/proc/\(pid)/\(name)").map { Array($0) } ?? [] }
    /// The syscall the process is blocked in: number and first argument ("1 0x2 ..." is write on fd 2).
    var syscall: [Substring] { text("syscall").split(separator: " ") }
    var state: Character? { text("stat").split(separator: ")").last?.dropFirst().first }
    /// The owner of /proc/PID/status: the process's user when it is dumpable, root when it is not.
    var statusOwner: uid_t? {
        var st = stat()
        return stat("/proc/\(pid)/status", &st) == 0 ? st.st_uid : nil
    }
    /// "Max core file size" soft and hard limits.
    var coreLimits: [Substring] {
        guard let line = text("limits").split(separator: "\n").first(where: { $0.hasPrefix("Max core file size") }) else { return [] }
        return Array(line.dropFirst("Max core file size".count).split(separator: " ").prefix(2))
    }
    func field(_ name: String) -> String? {
        text("status").split(separator: "\n").first { $0.hasPrefix(name + ":") }.map { $0.dropFirst(name.count + 1).trimmingCharacters(in: .whitespaces) }
    }

    /// Waits until the process is blocked in write(2) on `fd` (any descriptor when nil), or has ended
    /// (false).
    func waitForBlockedWrite(fd: Int? = 2, hangLimit: Int = 6000) -> Bool {
        for _ in 0 ..< hangLimit {
            let s = syscall
            if s.count >= 2, s[0] == "1", fd.map({ s[1] == "0x" + String($0, radix: 16) }) ?? true { return true }
            if state == "Z" || state == nil { return false }
            usleep(10_000)
        }
        return false
    }
}

@Suite("Memory and process hygiene")
struct HygieneTests {
    static let nobody: uid_t = 65534

    struct Case: Sendable, CustomTestStringConvertible {
        let command: String
        let args: [String]
        let stdin: String
        var testDescription: String { command }
    }

    static let marker = "HYGIENE-MARKER-STORY-\(UUID().uuidString)"

    /// One run of each command, each of which writes to stderr after reading what it works on.
    static var cases: [Case] {
        let key = ["--key", "rev.key", "--passphrase-file", "pass"]
        return [
            Case(command: "init", args: ["init", "--store", "second"], stdin: ""),
            Case(command: "keygen", args: ["keygen", "--name", "k2", "--passphrase-file", "pass", "--secret-out", "k2.key", "--public-out", "k2.pub",
                                           "--kdf-cost", "test-only"], stdin: ""),
            Case(command: "submit", args: ["submit", "--store", "store"] + CLI.answers, stdin: "the story \(marker)"),
            Case(command: "withdraw", args: ["withdraw", "--store", "store"], stdin: "RECEIPT"),
            Case(command: "import", args: ["import", "--store", "store", "env.chorus"], stdin: ""),
            Case(command: "batch", args: ["batch", "--store", "store"], stdin: ""),
            Case(command: "review", args: ["review"] + key + ["store"], stdin: ""),
            Case(command: "stats", args: ["stats", "--key", "ana.key", "--passphrase-file", "pass", "store"], stdin: ""),
            Case(command: "verify", args: ["verify"] + key + ["store"], stdin: ""),
        ]
    }

    /// Starts `tool args` as user 65534 with stdin `input`, stdout read in the background, and stderr a
    /// full pipe.
    func startAsNobody(_ dir: String, _ tool: String, _ args: [String], input: String) throws -> (Process, FullPipe, Shared<Data>) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        p.arguments = ["--reuid=\(Self.nobody)", "--regid=\(Self.nobody)", "--clear-groups", "--", tool] + args
        p.currentDirectoryURL = URL(fileURLWithPath: dir)
        p.environment = chorusEnvironment(in: dir, ["HOME": dir, "TMPDIR": dir + "/tmpdir"])
        let err = FullPipe(), out = Pipe(), stdin = Pipe()
        p.standardError = err.pipe
        p.standardOutput = out
        p.standardInput = stdin
        try p.run()
        try stdin.fileHandleForWriting.write(contentsOf: Data(input.utf8))
        try stdin.fileHandleForWriting.close()
        let collected = Shared(Data())
        DispatchQueue.global().async { let d = out.fileHandleForReading.readDataToEndOfFile(); collected.mutate { $0 = d } }
        return (p, err, collected)
    }

    @Test("every command runs with umask 077, no core dumps and not dumpable; the story is not in argv or the environment",
          arguments: cases)
    func hardenedFromOutside(_ c: Case) throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") else {
            try Test.cancel("util-linux setpriv is missing, so the command cannot be run as an unprivileged user")
        }
        let cli = try CLI.withStore()
        let receipt = try cli.submit("a story to withdraw")
        try cli.write("story.txt", "a story to import")
        #expect(try cli.run(["submit", "--out", "env.chorus", "--recipients", "Keys", "--file", "story.txt"] + CLI.answers).status == 0)
        try FileManager.default.createDirectory(atPath: cli.path("tmpdir"), withIntermediateDirectories: true)
        // The unprivileged user owns the folder (keys must stay 0600, so they must be its own).
        #expect(chown(cli.dir, Self.nobody, Self.nobody) == 0)
        for file in FileManager.default.enumerator(atPath: cli.dir)?.compactMap({ $0 as? String }) ?? [] {
            #expect(lchown(cli.path(file), Self.nobody, Self.nobody) == 0)
        }
        guard access(CLI.binary, X_OK) == 0,
              (try? startAsNobody(cli.dir, "/bin/true", [], input: "")).map({ $0.0.waitUntilExit(); return $0.0.terminationStatus == 0 }) == true
        else {
            try Test.cancel("the unprivileged user cannot run programs here")
        }

        // The control: an ordinary program run the same way is dumpable, so its /proc files are its own.
        let (control, controlErr, _) = try startAsNobody(cli.dir, "/bin/sh", ["-c", "echo control >&2"], input: "")
        let controlView = ProcView(pid: control.processIdentifier)
        // (The shell writes through a copy of the descriptor, so any write counts.)
        #expect(controlView.waitForBlockedWrite(fd: nil), "the control never blocked on its stderr")
        #expect(controlView.statusOwner == Self.nobody, "the control is not seen as dumpable: the method cannot tell")
        _ = controlErr.drain()
        control.waitUntilExit()

        let (p, err, out) = try startAsNobody(cli.dir, CLI.binary, c.args, input: c.stdin == "RECEIPT" ? receipt : c.stdin)
        let view = ProcView(pid: p.processIdentifier)
        let blocked = view.waitForBlockedWrite()
        #expect(blocked, "chorus \(c.command) ended or never wrote to stderr")
        if blocked {
            #expect(view.text("comm").hasPrefix("chorus"))
            #expect(view.field("Uid")?.hasPrefix("\(Self.nobody)") == true)
            #expect(view.statusOwner == 0, "chorus \(c.command) is dumpable (PR_SET_DUMPABLE was not set to 0)")
            #expect(view.coreLimits == ["0", "0"], "core dumps are not off: \(view.coreLimits)")
            #expect(view.field("Umask") == "0077")
            let marker = Array(Self.marker.utf8)
            for name in ["cmdline", "environ"] {
                #expect(!view.bytes(name).windows(ofCount: marker.count).contains { $0.elementsEqual(marker) }, "the story is in /proc/PID/\(name)")
            }
        }
        let stderr = err.drain()
        p.waitUntilExit()
        #expect(p.terminationReason == .exit && p.terminationStatus == 0, "chorus \(c.command): exit \(p.terminationStatus): \(stderr)")
        // A key with test-only passphrase costs is never used silently.
        if c.args.contains("test-only") || c.args.contains("--key") {
            #expect(stderr.contains("test-only passphrase costs; never use it for real stories"), "no warning: \(stderr)")
        }
        _ = out
        #expect((try? FileManager.default.contentsOfDirectory(atPath: cli.path("tmpdir")))?.isEmpty == true)
    }

    @Test("no plaintext in temporary files: a whole flow with TMPDIR pointing at an empty folder leaves it empty")
    func noTemporaryFiles() throws {
        let cli = try CLI.withStore()
        let tmp = cli.path("tmpdir")
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
        let env = ["TMPDIR": tmp, "TMP": tmp, "TEMP": tmp]
        let marker = "TMPDIR-MARKER-\(UUID().uuidString)"
        var receipts: [String] = []
        for i in 0 ..< 6 {
            let r = try cli.run(["submit", "--store", "store"] + CLI.answers, stdin: "story \(i) \(marker)", env: env)
            #expect(r.status == 0, "\(r)")
            receipts.append(r.stdout.trimmingCharacters(in: .newlines))
        }
        try cli.write("story.txt", "carried story \(marker)")
        #expect(try cli.run(["submit", "--out", "env.chorus", "--recipients", "Keys", "--file", "story.txt"] + CLI.answers, env: env).status == 0)
        #expect(try cli.run(["import", "--store", "store", "env.chorus"], env: env).status == 0)
        #expect(try cli.run(["batch", "--store", "store"], env: env).status == 0)
        #expect(try cli.run(["withdraw", "--store", "store"], stdin: receipts[0], env: env).status == 0)
        let text = try cli.run(["review", "--key", "rev.key", "--passphrase-file", "pass", "store"], env: env)
        #expect(text.status == 0 && text.stdout.contains(marker), "\(text)")
        #expect(try cli.run(["review", "--key", "rev.key", "--passphrase-file", "pass", "--out", "opened", "store"], env: env).status == 0)
        #expect(try cli.run(["stats", "--key", "ana.key", "--passphrase-file", "pass", "--min-count", "2", "store"], env: env).status == 0)
        #expect(try cli.run(["verify", "--key", "rev.key", "--passphrase-file", "pass", "store"], env: env).status == 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: tmp).isEmpty, "something was written to TMPDIR")
        // Only the reviewer's chosen output folder holds the stories in clear.
        for file in cli.allFiles(under: cli.dir) where !file.hasPrefix(cli.path("opened") + "/") && !file.hasSuffix("/story.txt") {
            let data = FileManager.default.contents(atPath: file) ?? Data()
            #expect(!String(decoding: data, as: UTF8.self).contains(marker), "\(file) holds a story in clear")
        }
        #expect(cli.allFiles(under: cli.path("opened")).count == 6)
    }
}

extension Array where Element == UInt8 {
    /// Every run of `ofCount` consecutive bytes.
    func windows(ofCount n: Int) -> [ArraySlice<UInt8>] {
        guard n > 0, count >= n else { return [] }
        return (0 ... count - n).map { self[$0 ..< $0 + n] }
    }
}
