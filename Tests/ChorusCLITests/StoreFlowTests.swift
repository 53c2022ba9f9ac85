import Foundation
import Testing
import ChorusTestSupport

@Suite struct StoreFlowCLITests {
    @Test func initTwiceChangesNothing() throws {
        let cli = try CLI.withStore()
        let before = try cli.read("store/chorus-store.json")
        let r = try cli.run(["init", "--store", "store"])
        #expect(r.status == 0)
        #expect(r.stderr.contains("already a Chorus store"))
        #expect(try cli.read("store/chorus-store.json") == before)
    }

    @Test func initWithASchemaFile() throws {
        let cli = try CLI()
        try cli.makeKeys()
        try cli.write("schema.json", """
            {"fields": [{"id": "where", "label": "Where", "kind": "single", "values": ["here", "there"], "required": true}]}
            """)
        try cli.initStore("s", extra: ["--schema", "schema.json"])
        let ok = try cli.run(["submit", "--store", "s", "--answer", "where=here"], stdin: "story")
        #expect(ok.status == 0, "\(ok)")
        let bad = try cli.run(["submit", "--store", "s", "--answer", "setting=home"], stdin: "story")
        #expect(bad.status == 64)
        try cli.write("bad.json", "{\"fields\": []}")
        let refused = try cli.run(["init", "--store", "t", "--schema", "bad.json"])
        #expect(refused.status == 65, "\(refused)")
    }

    /// Thousands of paths (a shell glob over a courier's folder), with `--store` after some of them,
    /// a bad file among them and a name starting with `-` after `--`: every path is taken, in order
    /// (chorus sets the paths of import aside from swift-argument-parser, whose time grows with the
    /// square of their number).
    @Test func importTakesThousandsOfPathsAnywhere() throws {
        let cli = try CLI.withStore()
        for name in ["e1", "e2", "e3"] {
            let r = try cli.run(["submit", "--out", "\(name).env", "--recipients", "Keys"] + CLI.answers, stdin: "carried story \(name)")
            #expect(r.status == 0, "\(r)")
        }
        let e1 = try cli.read("e1.env")
        var copies: [String] = []
        for i in 0 ..< 2000 {
            copies.append("c\(i).env")
            try cli.write("c\(i).env", bytes: e1)
        }
        try cli.write("-dash.env", bytes: try cli.read("e2.env"))
        try cli.write("bad.env", bytes: Array(e1.prefix(100)))
        let r = try cli.run(["import", "e1.env"] + copies + ["--store", "store", "e2.env", "bad.env", "--", "-dash.env", "e3.env"])
        #expect(r.status == 65, "\(r.stderr.suffix(400))")
        #expect(r.stderr.hasSuffix("imported 3, skipped 2001 duplicate(s) and 0 withdrawn, 1 bad\n"), "\(r.stderr.suffix(400))")
        #expect(r.stderr.contains("bad.env: "))
        #expect(r.stderr.contains("c1999.env: already in the store") && r.stderr.contains("-dash.env: already in the store"))
        #expect(cli.allFiles(under: cli.path("store/inbox")).count == 3)
        // The parser still sees the options: an unknown one among the paths is a usage error.
        let unknown = try cli.run(["import", "--store", "store", "e1.env", "e2.env", "--nope"])
        #expect(unknown.status == 64, "\(unknown)")
        let missing = try cli.run(["import", "--store", "store"])
        #expect(missing.status == 64 && missing.stderr.contains("<files>"), "\(missing)")
    }

    @Test func batchThenReviewEverythingOnce() throws {
        let cli = try CLI.withStore()
        for i in 0 ..< 5 { try cli.submit("story number \(i)") }
        let b = try cli.run(["batch", "--store", "store"])
        #expect(b.status == 0, "\(b)")
        let path = b.stdout.trimmingCharacters(in: .newlines)
        #expect(path.hasSuffix(".batch"))
        #expect(FileManager.default.fileExists(atPath: cli.path(path)))
        #expect(cli.allFiles(under: cli.path("store/inbox")).isEmpty)
        let empty = try cli.run(["batch", "--store", "store"])
        #expect(empty.status == 0)
        #expect(empty.stdout.isEmpty)
        #expect(empty.stderr.contains("empty"))

        let v = try cli.run(["verify", "store"])
        #expect(v.status == 0, "\(v)")
        let r = try cli.run(["review", "--key", "rev.key", "--passphrase-file", "pass", "--format", "jsonl", "store"])
        #expect(r.status == 0, "\(r)")
        let stories = r.stdout.split(separator: "\n").map { line -> String in
            let obj = try! JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            return obj["story"] as! String
        }
        #expect(Set(stories) == Set((0 ..< 5).map { "story number \($0)" }))
        // The batch file given directly reads the same.
        let direct = try cli.run(["review", "--key", "rev.key", "--passphrase-file", "pass", "--format", "jsonl", path])
        #expect(direct.status == 0)
        #expect(direct.stdout.split(separator: "\n").count == 5)
    }

    @Test func withdrawBeforeAndAfterBatching() throws {
        let cli = try CLI.withStore()
        let early = try cli.submit("withdrawn from the inbox")
        let late = try cli.submit("withdrawn after batching")
        try cli.submit("kept")
        let w1 = try cli.run(["withdraw", "--store", "store"], stdin: early + "\n")
        #expect(w1.status == 0, "\(w1)")
        #expect(w1.stderr.contains("removed from the store's inbox"))
        let b = try cli.run(["batch", "--store", "store"])
        #expect(b.status == 0)
        let w2 = try cli.run(["withdraw", "--store", "store"], stdin: late)
        #expect(w2.status == 0, "\(w2)")
        #expect(w2.stderr.contains("already in a closed batch"))
        let w3 = try cli.run(["withdraw", "--store", "store"], stdin: late)
        #expect(w3.stderr.contains("already withdrawn"))

        let r = try cli.run(["review", "--key", "rev.key", "--passphrase-file", "pass", "--format", "jsonl", "store"])
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout.contains("kept"))
        #expect(!r.stdout.contains("withdrawn from"))
        #expect(!r.stdout.contains("after batching"))

        // The tombstone travels with the next batch, so the first batch alone plus the next batch withdraw it too.
        try cli.submit("another")
        let b2 = try cli.run(["batch", "--store", "store"])
        let both = try cli.run(["review", "--key", "rev.key", "--passphrase-file", "pass", "--format", "jsonl",
                                b.stdout.trimmingCharacters(in: .newlines), b2.stdout.trimmingCharacters(in: .newlines)])
        #expect(both.status == 0, "\(both)")
        #expect(!both.stdout.contains("after batching"))
        #expect(both.stdout.split(separator: "\n").count == 2)
    }

    @Test func withdrawHonestCases() throws {
        let cli = try CLI.withStore()
        // A valid receipt of nothing in this store.
        let other = try CLI()
        try other.makeKeys()
        try other.initStore("store")
        let foreign = try other.submit("elsewhere")
        let r = try cli.run(["withdraw", "--store", "store"], stdin: foreign)
        #expect(r.status == 66, "\(r)")
        #expect(r.stderr.contains("no story with this receipt"))
        // A typo is caught before any lookup.
        var typo = Array(foreign)
        typo[5] = typo[5] == "A" ? "B" : "A"
        let t = try cli.run(["withdraw", "--store", "store"], stdin: String(typo))
        #expect(t.status == 65, "\(t)")
        #expect(t.stderr.contains("typo"))
        // Never from argv.
        let argv = try cli.run(["withdraw", "--store", "store", foreign])
        #expect(argv.status == 64)
    }

    @Test func verifyFindsDamage() throws {
        let cli = try CLI.withStore()
        for i in 0 ..< 3 { try cli.submit("story \(i)") }
        let b = try cli.run(["batch", "--store", "store"]).stdout.trimmingCharacters(in: .newlines)
        var bytes = try cli.read(b)
        bytes[bytes.count / 2] ^= 0x40
        try cli.write("damaged.batch", bytes: bytes)
        let v = try cli.run(["verify", "damaged.batch"])
        #expect(v.status == 65, "\(v)")
        try cli.write("store/tmp/leftover", "x")
        try cli.write("store/inbox/not-an-entry", "x")
        let s = try cli.run(["verify", "store"])
        #expect(s.status == 65, "\(s)")
        #expect(s.stderr.contains("not-an-entry"))
    }

    @Test func fiftyConcurrentSubmitters() throws {
        let cli = try CLI.withStore()
        let receipts = Shared<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 50) { i in
            let r = try! cli.run(["submit", "--store", "store"] + CLI.answers, stdin: "concurrent story \(i)")
            #expect(r.status == 0, "\(r)")
            receipts.mutate { $0.append(r.stdout.trimmingCharacters(in: .newlines)) }
        }
        #expect(Set(receipts.value).count == 50)
        #expect(cli.allFiles(under: cli.path("store/inbox")).count == 50)
        #expect(cli.allFiles(under: cli.path("store/tmp")).isEmpty)
        let v = try cli.run(["verify", "store", "--key", "rev.key", "--passphrase-file", "pass"])
        #expect(v.status == 0, "\(v)")
        #expect(v.stdout.contains("opened 50 entries"))
    }
}
