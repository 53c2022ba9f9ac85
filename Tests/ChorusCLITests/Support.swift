import Foundation
import Testing
import ChorusTestSupport

/// The result of running the `chorus` binary.
struct Run: CustomStringConvertible {
    let status: Int32
    let stdout: String
    let stderr: String
    var description: String { "exit \(status)\nstdout: \(stdout)\nstderr: \(stderr)" }
}

/// The environment every test run of `chorus` gets: this process's, without colour, with the
/// configuration folder (organisation pins, default key paths) inside `dir`, then `extra`.
func chorusEnvironment(in dir: String, _ extra: [String: String] = [:]) -> [String: String] {
    var environment = ProcessInfo.processInfo.environment
    environment["NO_COLOR"] = "1"
    environment["XDG_CONFIG_HOME"] = dir + "/config"
    for (k, v) in extra { environment[k] = v }
    return environment
}

/// Runs the built `chorus` binary as a user would, in a temporary working folder.
final class CLI: @unchecked Sendable {
    static let binary: String = {
        let here = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [here, here.deletingLastPathComponent()] {
            let p = candidate.appendingPathComponent("chorus").path
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/chorus").path
    }()

    let dir: String

    init() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("chorus-cli-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: dir) }

    func path(_ name: String) -> String { dir + "/" + name }

    @discardableResult
    func run(_ args: [String], stdin: String? = nil, stdinBytes: [UInt8]? = nil, env: [String: String] = [:], in folder: String? = nil) throws -> Run {
        // A command that fails before reading its input closes the pipe: that must not kill the tests.
        _ = ignoreSIGPIPE
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CLI.binary)
        p.arguments = args
        p.currentDirectoryURL = URL(fileURLWithPath: folder.map(path) ?? dir)
        p.environment = chorusEnvironment(in: dir, env)
        let out = Pipe(), err = Pipe(), input = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = input
        try p.run()
        let data = stdinBytes.map { Data($0) } ?? stdin.map { Data($0.utf8) } ?? Data()
        DispatchQueue.global().async {
            try? input.fileHandleForWriting.write(contentsOf: data)
            try? input.fileHandleForWriting.close()
        }
        let outData = Shared(Data())
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async { let d = out.fileHandleForReading.readDataToEndOfFile(); outData.mutate { $0 = d }; group.leave() }
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        p.waitUntilExit()
        return Run(status: p.terminationStatus, stdout: String(decoding: outData.value, as: UTF8.self), stderr: String(decoding: errData, as: UTF8.self))
    }

    func write(_ name: String, _ text: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path(name)))
    }

    func write(_ name: String, bytes: [UInt8]) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path(name)))
    }

    func read(_ name: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: path(name)))) }

    // MARK: Common set-ups

    static let answers = ["--answer", "kind=verbal,physical", "--answer", "setting=workplace", "--answer", "perpetrator-role=supervisor",
                          "--answer", "reported=no", "--answer", "consent=counts-only"]

    /// A reviewer key `rev` and an analyst key `ana` (test-only passphrase costs), public keys in
    /// ./Keys, and the organisation key `org` (org.key, org.pub) that signs stores' recipients.
    func makeKeys(reviewer: String = "rev", analyst: String? = "ana") throws {
        try write("pass", "a passphrase for tests\n")
        if access(path("org.key"), F_OK) != 0 {
            let o = try run(["keygen", "--name", "org", "--role", "organisation", "--passphrase-file", "pass", "--secret-out", "org.key",
                             "--public-out", "org.pub", "--kdf-cost", "test-only"])
            #expect(o.status == 0, "\(o)")
        }
        let r = try run(["keygen", "--name", reviewer, "--role", "reviewer", "--passphrase-file", "pass", "--secret-out", "\(reviewer).key", "--kdf-cost", "test-only"])
        #expect(r.status == 0, "\(r)")
        if let analyst {
            let a = try run(["keygen", "--name", analyst, "--role", "analyst", "--passphrase-file", "pass", "--secret-out", "\(analyst).key", "--kdf-cost", "test-only"])
            #expect(a.status == 0, "\(a)")
        }
    }

    /// A CLI folder with keys (`rev`, `ana`, `org`) and an initialised store `store` whose
    /// recipients, rev and ana, are signed by org.
    static func withStore() throws -> CLI {
        let cli = try CLI()
        try cli.makeKeys()
        try cli.initStore("store")
        return cli
    }

    /// Initialises `store` and signs `recipients` (public key files or folders) into it with org.key.
    func initStore(_ store: String, recipients: [String] = ["Keys"], extra: [String] = []) throws {
        let r = try run(["init", "--store", store] + extra)
        #expect(r.status == 0, "\(r)")
        try signRecipients(store, recipients)
    }

    /// `chorus recipients add` of `keys` to `store`, signed with org.key.
    func signRecipients(_ store: String, _ keys: [String]) throws {
        let r = try run(["recipients", "add", "--store", store, "--org-key", "org.key", "--passphrase-file", "pass"] + keys)
        #expect(r.status == 0, "\(r)")
    }

    /// Submits a story into `store` and returns the receipt.
    @discardableResult
    func submit(_ story: String, store: String = "store", answers: [String] = CLI.answers) throws -> String {
        let r = try run(["submit", "--store", store] + answers, stdin: story)
        #expect(r.status == 0, "\(r)")
        return r.stdout.trimmingCharacters(in: .newlines)
    }

    /// Every file below `path`, recursively.
    func allFiles(under path: String) -> [String] {
        guard let e = FileManager.default.enumerator(atPath: path) else { return [] }
        return e.compactMap { $0 as? String }.map { path + "/" + $0 }.filter {
            var isDir: ObjCBool = false
            return FileManager.default.fileExists(atPath: $0, isDirectory: &isDir) && !isDir.boolValue
        }
    }
}
