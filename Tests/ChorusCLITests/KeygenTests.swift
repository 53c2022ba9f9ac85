import Foundation
import Testing

@Suite struct KeygenCLITests {
    @Test func makesKeysWithPrivateSecretAndRefusesToOverwrite() throws {
        let cli = try CLI()
        try cli.write("p", "a long passphrase\n")
        let r = try cli.run(["keygen", "--name", "alice", "--role", "reviewer", "--passphrase-file", "p", "--secret-out", "s.key",
                             "--public-out", "Keys/alice.pub", "--kdf-cost", "test-only"])
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout.trimmingCharacters(in: .newlines).split(separator: "-").count == 4, "stdout carries the fingerprint")
        let attrs = try FileManager.default.attributesOfItem(atPath: cli.path("s.key"))
        #expect((attrs[.posixPermissions] as? Int) == 0o600)
        let secret = String(decoding: try cli.read("s.key"), as: UTF8.self)
        #expect(secret.hasPrefix("-----BEGIN CHORUS SECRET KEY-----\n"))
        #expect(!secret.contains("a long passphrase"))
        let pubAttrs = try FileManager.default.attributesOfItem(atPath: cli.path("Keys/alice.pub"))
        #expect((pubAttrs[.posixPermissions] as? Int) == 0o644, "a public key is meant to be read")
        let pub = String(decoding: try cli.read("Keys/alice.pub"), as: UTF8.self)
        #expect(pub.contains("chorus-pk-reviewer-2:"))
        #expect(pub.contains("name: alice"))

        let again = try cli.run(["keygen", "--name", "alice", "--role", "reviewer", "--passphrase-file", "p", "--secret-out", "s.key",
                                 "--public-out", "Keys/other.pub", "--kdf-cost", "test-only"])
        #expect(again.status == 73)
        #expect(again.stderr.contains("already exists"))
        #expect(String(decoding: try cli.read("s.key"), as: UTF8.self) == secret, "the first key is untouched")
        #expect(!FileManager.default.fileExists(atPath: cli.path("Keys/other.pub")))
    }

    @Test func defaultCostIsModerate() throws {
        let cli = try CLI()
        try cli.write("p", "a long passphrase\n")
        let r = try cli.run(["keygen", "--name", "m", "--passphrase-file", "p", "--secret-out", "m.key", "--public-out", "m.pub"])
        #expect(r.status == 0, "\(r)")
        // Bytes 11..27 of the blob: opslimit 3 and memlimit 256 MiB, big-endian.
        let text = String(decoding: try cli.read("m.key"), as: UTF8.self).split(separator: "\n").dropFirst().dropLast().joined()
        let blob = [UInt8](Data(base64Encoded: text)!)
        #expect(Array(blob[11 ..< 19]) == [0, 0, 0, 0, 0, 0, 0, 3])
        #expect(Array(blob[19 ..< 27]) == [0, 0, 0, 0, 0x10, 0, 0, 0])
    }

    @Test func refusesWithoutPassphraseSourceOrTerminal() throws {
        let cli = try CLI()
        let r = try cli.run(["keygen", "--name", "x", "--secret-out", "x.key", "--public-out", "x.pub"])
        #expect(r.status == 64)
        #expect(r.stderr.contains("passphrase"))
        #expect(!FileManager.default.fileExists(atPath: cli.path("x.key")))
    }

    @Test(arguments: [
        (["keygen", "--name", "x", "--role", "admin"], "one of 'reviewer', 'analyst' or 'organisation'"),
        (["keygen", "--name", "two words", "--passphrase-file", "p", "--secret-out", "x.key", "--public-out", "x.pub", "--kdf-cost", "test-only"], "key name"),
        (["keygen", "--name", "x", "--kdf-cost", "cheap"], "--kdf-cost"),
        (["keygen"], "--name"),
    ])
    func badArguments(_ args: [String], _ words: String) throws {
        let cli = try CLI()
        try cli.write("p", "a long passphrase\n")
        let r = try cli.run(args)
        #expect(r.status == 64, "\(r)")
        #expect(r.stderr.contains(words), "\(r)")
    }

    @Test func secretKeyReadableByOthersIsRefused() throws {
        let cli = try CLI()
        try cli.makeKeys()
        try cli.initStore("store")
        try cli.submit("a story")
        chmod(cli.path("rev.key"), 0o644)
        let r = try cli.run(["review", "--key", "rev.key", "--passphrase-file", "pass", "store"])
        #expect(r.status == 77)
        #expect(r.stderr.contains("chmod 600"))
        #expect(r.stdout.isEmpty)
    }

    @Test func wrongPassphraseIsExit77() throws {
        let cli = try CLI()
        try cli.makeKeys()
        try cli.initStore("store")
        try cli.submit("a story")
        try cli.write("wrong", "not the passphrase\n")
        let r = try cli.run(["review", "--key", "rev.key", "--passphrase-file", "wrong", "store"])
        #expect(r.status == 77)
        #expect(r.stderr.contains("wrong passphrase"))
    }
}
