import Foundation
import Testing

/// The key promises of SECURITY.md ("Roles, recipients and the questionnaire"), each played by an
/// attacker against the built binary: whoever edits a key file, the store or a batch cannot make a
/// story readable by an analyst, redirect it to another key, or change what the counts mean.
@Suite("Key promises, attacked")
struct KeyPromiseTests {
    static let story = "the story only a reviewer may read"

    /// An analyst's .pub relabelled as a reviewer's: the sealed stanza claims "reviewer", but the
    /// analyst's secret key says analyst, so the entry is tampered (exit 65) and its story never shown.
    @Test func aRelabelledAnalystKeyNeverReadsAStory() throws {
        let cli = try CLI.withStore()
        try FileManager.default.createDirectory(atPath: cli.path("hand"), withIntermediateDirectories: true)
        let ana = String(decoding: try cli.read("Keys/ana.pub"), as: UTF8.self)
        #expect(ana.contains("chorus-pk-analyst-2:"))
        try cli.write("hand/ana.pub", ana.replacingOccurrences(of: "chorus-pk-analyst-2:", with: "chorus-pk-reviewer-2:"))
        try cli.write("hand/rev.pub", String(decoding: try cli.read("Keys/rev.pub"), as: UTF8.self))

        // The tool shows the truth: the relabelled file has another fingerprint than the real key.
        let real = try cli.run(["key", "show", "Keys/ana.pub"]), edited = try cli.run(["key", "show", "hand/ana.pub"])
        #expect(real.status == 0 && edited.status == 0)
        #expect(real.stdout != edited.stdout && edited.stdout.contains("reviewer"))

        let sealed = try cli.run(["submit", "--out", "e.chorus", "--recipients", "hand"] + CLI.answers, stdin: Self.story)
        #expect(sealed.status == 0, "\(sealed)")
        #expect(sealed.stderr.contains("given by hand") && sealed.stderr.contains(edited.stdout.split(separator: " ")[0]), "the fingerprints sealed to are shown: \(sealed)")
        #expect(try cli.run(["import", "--store", "store", "e.chorus"]).status == 0)

        for format in ["text", "jsonl"] {
            let r = try cli.run(["review", "--key", "ana.key", "--passphrase-file", "pass", "--format", format, "store"])
            #expect(r.status == 65, "\(r)")
            #expect(!r.stdout.contains(Self.story) && !r.stderr.contains(Self.story), "an analyst read a story: \(r)")
            #expect(r.stderr.contains("claimed another role"), "\(r)")
        }
        // The reviewer still reads it.
        let rev = try cli.run(["review", "--key", "rev.key", "--passphrase-file", "pass", "store"])
        #expect(rev.status == 0 && rev.stdout.contains(Self.story), "\(rev)")
    }

    /// submit seals to the store's signed recipients: a key swapped into ./Keys, or a planted ./Keys in
    /// the working folder, is never used, and the recipients are shown before sealing.
    @Test func aSwappedOrPlantedKeyIsNotUsed() throws {
        let cli = try CLI.withStore()
        let evil = try cli.run(["keygen", "--name", "rev", "--role", "reviewer", "--passphrase-file", "pass", "--secret-out", "evil.key",
                                "--public-out", "evil.pub", "--kdf-cost", "test-only"])
        #expect(evil.status == 0, "\(evil)")
        let realRev = String(decoding: try cli.read("Keys/rev.pub"), as: UTF8.self)
        let evilKey = String(decoding: try cli.read("evil.pub"), as: UTF8.self).split(separator: "\n").last!
        // The swap keeps the real comment line (name and fingerprint) over the attacker's key line.
        try cli.write("Keys/rev.pub", realRev.split(separator: "\n")[0] + "\n" + evilKey + "\n")

        let r = try cli.run(["submit", "--store", "store"] + CLI.answers, stdin: Self.story)
        #expect(r.status == 0, "\(r)")
        #expect(r.stderr.contains("Sealing to 2 recipients signed by the organisation key"), "\(r)")
        let evilFpr = String(try cli.run(["key", "show", "evil.pub"]).stdout.split(separator: " ")[0])
        #expect(!r.stderr.contains(evilFpr), "sealed to the swapped key: \(r)")

        let byEvil = try cli.run(["review", "--key", "evil.key", "--passphrase-file", "pass", "store"])
        #expect(!byEvil.stdout.contains(Self.story), "the swapped key read the story: \(byEvil)")
        let byRev = try cli.run(["review", "--key", "rev.key", "--passphrase-file", "pass", "store"])
        #expect(byRev.status == 0 && byRev.stdout.contains(Self.story), "\(byRev)")
    }

    /// The operator edits the signed recipients file (a label of the questionnaire, or a recipient):
    /// submit refuses it, nothing is stored; stats and review refuse to count or show by it.
    @Test func anEditedRecipientsFileIsRefused() throws {
        let cli = try CLI.withStore()
        try cli.submit("a story before the edit")
        let signed = String(decoding: try cli.read("store/chorus-recipients.signed"), as: UTF8.self)
        #expect(signed.contains("\"Where it happened\""))
        let inbox = cli.allFiles(under: cli.path("store/inbox")).sorted()
        for edit in [("\"Where it happened\"", "\"Where it started\""), ("\"kind\":\"single\"", "\"kind\":\"multiple\"")] {
            try cli.write("store/chorus-recipients.signed", signed.replacingOccurrences(of: edit.0, with: edit.1))
            let r = try cli.run(["submit", "--store", "store"] + CLI.answers, stdin: Self.story)
            #expect(r.status == 65, "\(r)")
            #expect(r.stderr.contains("signature does not verify"), "\(r)")
            #expect(r.stdout.isEmpty, "a receipt for nothing")
            #expect(cli.allFiles(under: cli.path("store/inbox")).sorted() == inbox, "something was stored")
            let s = try cli.run(["stats", "--key", "ana.key", "--passphrase-file", "pass", "--by", "setting", "store"])
            #expect(s.status == 65 && s.stdout.isEmpty, "counted by an edited questionnaire: \(s)")
        }
    }

    /// A batch header carries the signed document: an edited one is refused before anything is counted.
    @Test func anEditedBatchHeaderIsRefused() throws {
        let cli = try CLI.withStore()
        for i in 0 ..< 3 { try cli.submit("story \(i)") }
        let b = try cli.run(["batch", "--store", "store"])
        #expect(b.status == 0, "\(b)")
        let path = b.stdout.trimmingCharacters(in: .newlines)
        var bytes = try cli.read(path)
        let needle = Array("Where it happened".utf8)
        let at = try #require((0 ..< bytes.count - needle.count).first { bytes[$0 ..< $0 + needle.count].elementsEqual(needle) })
        bytes[at] = UInt8(ascii: "w")
        // Re-framed with a good checksum, so only the signature can tell.
        let parts = try BatchParts(bytes, checked: false)
        try cli.write("edited.batch", bytes: parts.bytes())
        let s = try cli.run(["stats", "--key", "ana.key", "--passphrase-file", "pass", "--by", "setting", "edited.batch"])
        #expect(s.status == 65 && s.stdout.isEmpty, "\(s)")
        #expect(s.stderr.contains("signature does not verify"), "\(s)")
        let v = try cli.run(["verify", "edited.batch"])
        #expect(v.status == 65, "\(v)")
        #expect(v.stderr.contains("signature does not verify"), "\(v)")
    }

    /// A new organisation key, or older recipients than the ones seen: refused with one sentence that
    /// says what changed and how to accept it deliberately; the deliberate way works.
    @Test func anOrganisationChangeOrARollbackIsRefused() throws {
        let cli = try CLI.withStore()
        let first = try cli.run(["submit", "--store", "store"] + CLI.answers, stdin: "first")
        #expect(first.status == 0 && first.stderr.contains("now pinned"), "\(first)")
        let saved = try cli.read("store/chorus-recipients.signed")

        // Rollback: a newer document was seen, then the old one is put back.
        try cli.makeKeys(reviewer: "rev2", analyst: nil)
        try cli.signRecipients("store", ["Keys/rev2.pub"])
        #expect(try cli.run(["submit", "--store", "store"] + CLI.answers, stdin: "second").status == 0)
        try cli.write("store/chorus-recipients.signed", bytes: saved)
        let rolled = try cli.run(["submit", "--store", "store"] + CLI.answers, stdin: Self.story)
        #expect(rolled.status != 0 && rolled.stdout.isEmpty, "\(rolled)")
        #expect(rolled.stderr.contains("rolled back"), "\(rolled)")

        // A new organisation key re-signs the store's recipients.
        let o2 = try cli.run(["keygen", "--name", "org2", "--role", "organisation", "--passphrase-file", "pass", "--secret-out", "org2.key",
                              "--public-out", "org2.pub", "--kdf-cost", "test-only"])
        #expect(o2.status == 0)
        try FileManager.default.removeItem(atPath: cli.path("store/chorus-recipients.signed"))
        let resign = try cli.run(["recipients", "add", "--store", "store", "--org-key", "org2.key", "--passphrase-file", "pass", "Keys"])
        #expect(resign.status == 0, "\(resign)")
        let changed = try cli.run(["submit", "--store", "store"] + CLI.answers, stdin: Self.story)
        #expect(changed.status != 0 && changed.stdout.isEmpty, "\(changed)")
        let lines = changed.stderr.split(separator: "\n").filter { $0.hasPrefix("chorus: error:") }
        #expect(lines.count == 1 && lines[0].contains("--org-fingerprint"), "\(changed)")
        let stats = try cli.run(["stats", "--key", "ana.key", "--passphrase-file", "pass", "store"])
        #expect(stats.status != 0 && stats.stdout.isEmpty, "a reader trusted the new key silently: \(stats)")

        // Accepting it deliberately, with the organisation's new fingerprint (or its .pub file).
        let accepted = try cli.run(["submit", "--store", "store", "--org-fingerprint", "org2.pub"] + CLI.answers, stdin: "third")
        #expect(accepted.status == 0, "\(accepted)")
        #expect(try cli.run(["submit", "--store", "store"] + CLI.answers, stdin: "fourth").status == 0, "the new key is pinned now")
        // A wrong explicit fingerprint is refused.
        let wrong = try cli.run(["submit", "--store", "store", "--org-fingerprint", "org.pub"] + CLI.answers, stdin: "fifth")
        #expect(wrong.status != 0 && wrong.stdout.isEmpty, "\(wrong)")
    }

    /// `key show` prints the same line for a public key, its secret key (no passphrase asked) and
    /// the one keygen printed; a failed submit pins nothing.
    @Test func keyShowAndNoPinOnFailure() throws {
        let cli = try CLI()
        try cli.write("pass", "a passphrase for tests\n")
        let made = try cli.run(["keygen", "--name", "kim", "--role", "analyst", "--passphrase-file", "pass", "--secret-out", "kim.key",
                                "--public-out", "kim.pub", "--kdf-cost", "test-only"])
        #expect(made.status == 0)
        let pub = try cli.run(["key", "show", "kim.pub"]), sec = try cli.run(["key", "show", "kim.key"], stdin: "")
        #expect(pub.status == 0 && sec.status == 0, "\(pub) \(sec)")
        #expect(pub.stdout == sec.stdout && pub.stdout.contains("analyst") && pub.stdout.contains("kim"))
        #expect(made.stdout.contains(String(pub.stdout.split(separator: " ")[0])), "keygen printed another fingerprint: \(made)")
        let junk = try cli.run(["key", "show", "pass"])
        #expect(junk.status == 65 && junk.stdout.isEmpty, "\(junk)")

        let cli2 = try CLI.withStore()
        let failed = try cli2.run(["submit", "--store", "store", "--answer", "setting=nowhere"], stdin: "x")
        #expect(failed.status != 0)
        #expect(!FileManager.default.fileExists(atPath: cli2.path("config/chorus/organisations")), "a failed submit pinned the organisation")
    }

    /// A key is found by its name where keygen put it, and submit needs nothing from the working
    /// folder: both work from a folder that holds nothing of Chorus.
    @Test func keysByNameAndSubmitFromAnyFolder() throws {
        let cli = try CLI()
        try cli.makeKeys(analyst: nil)
        let made = try cli.run(["keygen", "--name", "alice", "--role", "reviewer", "--passphrase-file", "pass", "--kdf-cost", "test-only"])
        #expect(made.status == 0, "\(made)")
        #expect(access(cli.path("config/chorus/keys/alice.key"), F_OK) == 0)
        try cli.initStore("store", recipients: ["Keys/alice.pub"])
        try FileManager.default.createDirectory(atPath: cli.path("elsewhere"), withIntermediateDirectories: false)
        let submitted = try cli.run(["submit", "--store", "../store"] + CLI.answers, stdin: "told from another folder", in: "elsewhere")
        #expect(submitted.status == 0, "\(submitted)")
        let shown = try cli.run(["review", "--key", "alice", "--passphrase-file", "../pass", "../store"], in: "elsewhere")
        #expect(shown.status == 0, "\(shown)")
        #expect(shown.stdout.contains("told from another folder"))
        // --org-key takes a name too.
        let boss = try cli.run(["keygen", "--name", "boss", "--role", "organisation", "--passphrase-file", "pass", "--kdf-cost", "test-only",
                                "--public-out", "boss.pub"])
        #expect(boss.status == 0, "\(boss)")
        #expect(try cli.run(["init", "--store", "other"]).status == 0)
        let signed = try cli.run(["recipients", "add", "--store", "../other", "--org-key", "boss", "--passphrase-file", "../pass", "../Keys/alice.pub"],
                                 in: "elsewhere")
        #expect(signed.status == 0 && signed.stderr.contains("signed the recipients of ../other"), "\(signed)")
        let missing = try cli.run(["review", "--key", "nobody", "--passphrase-file", "../pass", "../store"], in: "elsewhere")
        #expect(missing.status == 66, "\(missing)")
        #expect(missing.stderr.contains("chorus: error: no secret key nobody: no such file here, nor \(cli.path("config/chorus/keys/nobody.key"))"), "\(missing)")
    }
}

