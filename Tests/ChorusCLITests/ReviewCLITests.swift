import ChorusCore
import ChorusCrypto
import ChorusFormat
import Foundation
import Testing
import ChorusTestSupport

#if canImport(Glibc)
import Glibc
#endif

// MARK: - Fixtures shared by the review and stats tests

struct AuditTestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// Big-endian integers, as docs/FORMAT.md writes them.
enum WireInts {
    static func u32(_ b: [UInt8], _ at: Int) -> Int { b[at ..< at + 4].reduce(0) { $0 << 8 | Int($1) } }
    static func u64(_ b: [UInt8], _ at: Int) -> Int { b[at ..< at + 8].reduce(0) { $0 << 8 | Int($1) } }
    static func be(_ v: Int, _ width: Int) -> [UInt8] { (0 ..< width).reversed().map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
}

/// A batch file taken apart as docs/FORMAT.md section 6 says (independently of the reader under
/// test), and put back together with the right counts and a fresh checksum.
struct BatchParts {
    var schema: [UInt8]  // the signed recipients document (FORMAT.md 6, 7.3)
    var tombstones: [[UInt8]]
    var entries: [[UInt8]]

    /// With `checked: false` the whole-file checksum is not checked (for a test that edits the bytes
    /// and then puts the file back together with a fresh one).
    init(_ b: [UInt8], checked: Bool = true) throws {
        guard b.count >= 25 + 32, Array(b[0 ..< 8]) == Array("CHORUS-B".utf8), b[8] == 2 else { throw AuditTestFailure("not a batch") }
        let e = WireInts.u64(b, 9), t = WireInts.u32(b, 17), c = WireInts.u32(b, 21)
        schema = Array(b[25 ..< 25 + c])
        var at = 25 + c
        tombstones = (0 ..< t).map { i in Array(b[at + 32 * i ..< at + 32 * (i + 1)]) }
        at += 32 * t
        entries = []
        for _ in 0 ..< e {
            let n = WireInts.u32(b, at)
            entries.append(Array(b[at + 4 ..< at + 4 + n]))
            at += 4 + n
        }
        guard at == b.count - 32, !checked || BLAKE2b.hash(Array(b[..<at])) == Array(b[at...]) else { throw AuditTestFailure("batch framing or checksum is off") }
    }

    /// Offsets in the file of each entry's envelope (after its length prefix).
    var entryOffsets: [Int] {
        var at = 25 + schema.count + 32 * tombstones.count
        return entries.map { e in defer { at += 4 + e.count }; return at + 4 }
    }

    func bytes() -> [UInt8] {
        var out = Array("CHORUS-B".utf8) + [2] + WireInts.be(entries.count, 8) + WireInts.be(tombstones.count, 4) + WireInts.be(schema.count, 4) + schema
        for t in tombstones { out += t }
        for e in entries { out += WireInts.be(e.count, 4) + e }
        return out + BLAKE2b.hash(out)
    }
}

/// Where things are in one envelope (docs/FORMAT.md 5.2).
enum EnvelopeBytes {
    static func id(_ e: [UInt8]) -> [UInt8] { Array(e[9 ..< 41]) }
    static func headerLength(_ e: [UInt8]) -> Int { 50 + 145 * Int(e[41]) }
    static func mac(_ e: [UInt8]) -> Range<Int> { headerLength(e) ..< headerLength(e) + 32 }
    static func answersSection(_ e: [UInt8]) -> Range<Int> {
        let start = headerLength(e) + 32
        return start ..< start + WireInts.u32(e, 42) + 16
    }
    /// The story section: the last Ps+16 bytes.
    static func storySection(_ e: [UInt8]) -> Range<Int> { e.count - WireInts.u32(e, 46) - 16 ..< e.count }

    static func flipping(_ e: [UInt8], at i: Int) -> [UInt8] {
        var c = e
        c[i] ^= 0x20
        return c
    }
}

/// One synthetic submission of the shared fixture.
struct FixtureStory: Sendable {
    let number: Int
    let text: String
    let receipt: String
    let setting: String
    let countsOnly: Bool
    /// Entry id in hex (never to be seen in any output).
    let idHex: String
}

/// A store of 15 submissions closed into one batch, a reviewer key `rev.key`, an analyst key
/// `ana.key` (public keys in ./Keys, the default recipients), passphrase file `pass`, a third
/// reviewer key `other.key` that is the recipient of nothing in the store, and `foreign.env`, one
/// envelope sealed to `other` only. Answers: setting workplace x8, education x6, home x1 (so `--by
/// setting` shows a `<5`); three perpetrator roles; kind verbal or verbal+physical; a year for
/// most; consent counts-only but for stories 2 and 6 (so `--by consent` must hide the large count
/// as `x` to protect the small one). Built once and copied for each test.
final class Fixture: @unchecked Sendable {
    let template: CLI
    let stories: [FixtureStory]
    /// The batch, relative to the working folder.
    let batch: String
    let otherFingerprint: String

    static let shared: Result<Fixture, Error> = Result { try Fixture() }

    static func answers(_ i: Int) -> (setting: String, args: [String]) {
        let setting = i <= 8 ? "workplace" : i <= 14 ? "education" : "home"
        var args = ["--answer", "setting=\(setting)",
                    "--answer", "perpetrator-role=\(["supervisor", "colleague", "stranger"][i % 3])",
                    "--answer", "kind=\(i % 3 == 0 ? "verbal,physical" : "verbal")",
                    "--answer", "reported=\(i % 5 == 0 ? "yes" : "no")",
                    "--answer", "consent=\(quotable(i) ? "quote-anonymously" : "counts-only")"]
        if i % 4 != 0 { args += ["--answer", "year=\(2000 + i)"] }
        return (setting, args)
    }

    static func quotable(_ i: Int) -> Bool { i == 2 || i == 6 }

    static func storyText(_ i: Int) -> String {
        let n = i < 10 ? "0\(i)" : "\(i)"
        // Story 2 carries terminal escape codes and a bidirectional override, which text output must defuse.
        return i == 2 ? "Story \(n): it began with \u{1B}[2J\u{1B}]0;owned\u{07} and \u{202E}reversed text.\n"
            : "Story \(n): a synthetic account, nothing in it is real.\nSecond line of story \(n).\n"
    }

    private init() throws {
        let cli = try CLI()
        try cli.write("pass", "a passphrase for tests\n")
        for (name, role, pub) in [("rev", "reviewer", "Keys/rev.pub"), ("ana", "analyst", "Keys/ana.pub"), ("other", "reviewer", "other.pub")] {
            let r = try cli.run(["keygen", "--name", name, "--role", role, "--passphrase-file", "pass", "--secret-out", "\(name).key",
                                 "--public-out", pub, "--kdf-cost", "test-only"])
            guard r.status == 0 else { throw AuditTestFailure("keygen: \(r)") }
        }
        let pubText = String(decoding: try cli.read("other.pub"), as: UTF8.self)
        guard let range = pubText.range(of: "fingerprint: ") else { throw AuditTestFailure("no fingerprint in other.pub") }
        otherFingerprint = String(pubText[range.upperBound...].prefix(19))
        let o = try cli.run(["keygen", "--name", "org", "--role", "organisation", "--passphrase-file", "pass", "--secret-out", "org.key",
                             "--public-out", "org.pub", "--kdf-cost", "test-only"])
        guard o.status == 0 else { throw AuditTestFailure("keygen: \(o)") }
        guard try cli.run(["init", "--store", "store"]).status == 0,
              try cli.run(["recipients", "add", "--store", "store", "--org-key", "org.key", "--passphrase-file", "pass", "Keys"]).status == 0
        else { throw AuditTestFailure("init failed") }

        let made = Shared<[FixtureStory]>([])
        let failures = Shared<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 15) { k in
            let i = k + 1
            let (setting, args) = Fixture.answers(i)
            do {
                let r = try cli.run(["submit", "--store", "store"] + args, stdin: Fixture.storyText(i))
                guard r.status == 0 else { throw AuditTestFailure("submit: \(r)") }
                let receipt = r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
                let id = try Receipt.parse(receipt).entryID
                made.mutate { $0.append(FixtureStory(number: i, text: Fixture.storyText(i), receipt: receipt, setting: setting,
                                                     countsOnly: !Fixture.quotable(i), idHex: Hex.encode(id))) }
            } catch {
                failures.mutate { $0.append("\(error)") }
            }
        }
        guard failures.value.isEmpty else { throw AuditTestFailure(failures.value.joined(separator: "\n")) }
        stories = made.value.sorted { $0.number < $1.number }
        let b = try cli.run(["batch", "--store", "store"])
        guard b.status == 0 else { throw AuditTestFailure("batch: \(b)") }
        batch = b.stdout.trimmingCharacters(in: .newlines)
        let f = try cli.run(["submit", "--out", "foreign.env", "--recipients", "other.pub"] + Fixture.answers(1).args,
                            stdin: "A story for someone else entirely.\n")
        guard f.status == 0 else { throw AuditTestFailure("submit --out: \(f)") }
        template = cli
        // The template lives as long as the test process; remove it when the process ends.
        Fixture.templateDir.mutate { $0 = cli.dir }
        atexit { if let d = Fixture.templateDir.value { try? FileManager.default.removeItem(atPath: d) } }
    }

    static let templateDir = Shared<String?>(nil)

    /// A fresh working folder holding a copy of the fixture (modes kept: keys stay 0600).
    static func copy() throws -> (CLI, Fixture) {
        let fixture = try shared.get()
        let cli = try CLI()
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/cp")
        p.arguments = ["-a", fixture.template.dir + "/.", cli.dir]
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw AuditTestFailure("cp -a failed") }
        return (cli, fixture)
    }

    var texts: Set<String> { Set(stories.map(\.text)) }
    func story(id: [UInt8]) -> FixtureStory? { stories.first { $0.idHex == Hex.encode(id) } }
}

extension Run {
    /// The stories of `--format jsonl` output, in order (nil for a line without a story).
    func jsonLines() throws -> [[String: Any]] {
        try stdout.split(separator: "\n").map { line in
            guard let o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { throw AuditTestFailure("not an object: \(line)") }
            return o
        }
    }

    func jsonStories() throws -> [String] { try jsonLines().compactMap { $0["story"] as? String } }

    /// The blocks of `--format text` output.
    var textBlocks: [String] {
        stdout.components(separatedBy: "==========================================================================\n").filter { !$0.isEmpty }
    }

    /// stderr without the warnings about test-only key costs and the note of what the joint
    /// audit of a stats release hid (tests of the audit read that note themselves).
    var problems: [String] {
        stderr.split(separator: "\n").map(String.init).filter { !$0.contains("test-only passphrase costs") && !$0.contains("the joint audit") }
    }
}

/// Nothing that could tie an output to an entry: no entry id in hex, whole or in part.
func expectNoIDs(_ text: String, _ ids: [String], sourceLocation: SourceLocation = #_sourceLocation) {
    for id in ids {
        #expect(!text.contains(id.prefix(16)), "an entry id appears in the output", sourceLocation: sourceLocation)
    }
}

let revKeyArgs = ["--key", "rev.key", "--passphrase-file", "pass"]
let anaKeyArgs = ["--key", "ana.key", "--passphrase-file", "pass"]

// MARK: - Review

@Suite struct ReviewCLITests {
    @Test func reviewerKeyTextShowsEveryStoryOnceWithAnswersAndNoIds() throws {
        let (cli, fx) = try Fixture.copy()
        let r = try cli.run(["review"] + revKeyArgs + [fx.batch])
        #expect(r.status == 0, "\(r)")
        #expect(r.problems.isEmpty, "\(r.stderr)")
        let blocks = r.textBlocks
        #expect(blocks.count == 15)
        for s in fx.stories {
            let tag = "Story \(s.number < 10 ? "0" : "")\(s.number):"
            let holding = blocks.filter { $0.contains(tag) }
            #expect(holding.count == 1, "story \(s.number) shown \(holding.count) times")
            guard let block = holding.first else { continue }
            #expect(block.contains("setting: \(s.setting)\n"))
            #expect(block.hasPrefix("arrived:   "))
            #expect(block.contains("do NOT quote") == s.countsOnly, "story \(s.number): counts-only flag")
        }
        // Escape codes and overrides in a story are shown, not obeyed.
        #expect(!r.stdout.contains("\u{1B}") && !r.stdout.contains("\u{202E}") && !r.stdout.contains("\u{07}"))
        #expect(r.stdout.contains("it began with \\u{001B}[2J\\u{001B}]0;owned\\u{0007} and \\u{202E}reversed text."))
        expectNoIDs(r.stdout + r.stderr, fx.stories.map(\.idHex))
        #expect(!r.stdout.contains((fx.batch as NSString).lastPathComponent))
        // A store gives the same stories as its batch.
        let store = try cli.run(["review"] + revKeyArgs + ["store"])
        #expect(store.status == 0, "\(store)")
        #expect(Set(store.textBlocks) == Set(blocks))
    }

    @Test func reviewerKeyJSONLinesHoldAnswersMonthAndStoryOnly() throws {
        let (cli, fx) = try Fixture.copy()
        let r = try cli.run(["review"] + revKeyArgs + ["--format", "jsonl", fx.batch])
        #expect(r.status == 0, "\(r)")
        let lines = try r.jsonLines()
        #expect(lines.count == 15)
        #expect(Set(try r.jsonStories()) == fx.texts, "every story exactly, escapes included")
        for line in lines {
            #expect(Set(line.keys) == ["answers", "arrival", "format", "quotable", "story", "version"])
            #expect(line["format"] as? String == "chorus-review" && line["version"] as? Int == 1)
            let arrival = try #require(line["arrival"] as? String)
            #expect(arrival.count == 7 && (try? YearMonthText.check(arrival)) != nil, "arrival \(arrival)")
            let story = try #require(fx.stories.first { $0.text == line["story"] as? String })
            let answers = try #require(line["answers"] as? [String: [String]])
            #expect(answers["setting"] == [story.setting])
            #expect(answers["consent"] == [story.countsOnly ? "counts-only" : "quote-anonymously"])
            #expect(line["quotable"] as? Bool == !story.countsOnly)
        }
        expectNoIDs(r.stdout + r.stderr, fx.stories.map(\.idHex))
    }

    @Test func outFolderIsPrivateWithRandomNamesAndRefusesAFullFolder() throws {
        let (cli, fx) = try Fixture.copy()
        for (format, ext) in [("text", "txt"), ("jsonl", "json")] {
            let dir = "out-\(format)"
            let r = try cli.run(["review"] + revKeyArgs + ["--format", format, "--out", dir, fx.batch])
            #expect(r.status == 0, "\(r)")
            #expect(r.stdout.isEmpty, "nothing on stdout with --out")
            #expect(r.stderr.contains("wrote 15 entries into \(dir)"))
            #expect(try fileMode(cli.path(dir)) == 0o700)
            let names = try FileManager.default.contentsOfDirectory(atPath: cli.path(dir))
            #expect(names.count == 15)
            var found: [String] = []
            for name in names {
                #expect(try fileMode(cli.path("\(dir)/\(name)")) == 0o600, "\(name)")
                let stem = name.dropLast(ext.count + 1)
                #expect(name.hasSuffix("." + ext) && stem.count == 24 && stem.allSatisfy { $0.isHexDigit && !$0.isUppercase }, "\(name)")
                let text = String(decoding: try cli.read("\(dir)/\(name)"), as: UTF8.self)
                if format == "jsonl" {
                    let o = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
                    found.append(try #require(o["story"] as? String))
                } else {
                    found += fx.stories.filter { text.contains("Story \($0.number < 10 ? "0" : "")\($0.number):") }.map(\.text)
                }
            }
            #expect(found.count == 15 && Set(found) == fx.texts, "\(format): one story per file")
            expectNoIDs(names.joined(), fx.stories.map(\.idHex))
        }
        // Names are random: two runs share none.
        let a = Set(try FileManager.default.contentsOfDirectory(atPath: cli.path("out-text")).map { $0.prefix(24) })
        let b = Set(try FileManager.default.contentsOfDirectory(atPath: cli.path("out-jsonl")).map { $0.prefix(24) })
        #expect(a.isDisjoint(with: b))

        // An existing folder with something in it is refused, and left alone.
        try FileManager.default.createDirectory(atPath: cli.path("full"), withIntermediateDirectories: false)
        try cli.write("full/notes.txt", "mine")
        let refused = try cli.run(["review"] + revKeyArgs + ["--out", "full", fx.batch])
        #expect(refused.status == 73, "\(refused)")
        #expect(refused.stderr.contains("full already exists and is not empty"))
        #expect(refused.stdout.isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: cli.path("full")) == ["notes.txt"])
        // An existing empty folder is used, and made private.
        try FileManager.default.createDirectory(atPath: cli.path("empty"), withIntermediateDirectories: false, attributes: [.posixPermissions: 0o755])
        let used = try cli.run(["review"] + revKeyArgs + ["--out", "empty", fx.batch])
        #expect(used.status == 0, "\(used)")
        #expect(try fileMode(cli.path("empty")) == 0o700)
        #expect(try FileManager.default.contentsOfDirectory(atPath: cli.path("empty")).count == 15)
    }

    @Test func analystKeyShowsAnswersOnlyAndSaysStoriesNeedAReviewerKey() throws {
        let (cli, fx) = try Fixture.copy()
        let text = try cli.run(["review"] + anaKeyArgs + [fx.batch])
        #expect(text.status == 0, "\(text)")
        #expect(text.stderr.contains("stories need a reviewer key"))
        #expect(text.textBlocks.count == 15)
        #expect(text.textBlocks.allSatisfy { $0.contains("(story not shown: it needs a reviewer key)") && $0.contains("setting: ") })
        #expect(!text.stdout.contains("Story "))
        let jsonl = try cli.run(["review"] + anaKeyArgs + ["--format", "jsonl", "store"])
        #expect(jsonl.status == 0, "\(jsonl)")
        #expect(jsonl.stderr.contains("stories need a reviewer key"))
        let lines = try jsonl.jsonLines()
        #expect(lines.count == 15)
        #expect(lines.allSatisfy { $0["story"] is NSNull && $0["answers"] is [String: [String]] })
        // Both keys, the analyst's first: every story is shown (an analyst stanza that opens first is
        // not taken while a reviewer key may give the story), with no warning.
        let mixed = try cli.run(["review", "--key", "ana.key", "--key", "rev.key", "--passphrase-file", "pass", "--format", "jsonl", fx.batch])
        #expect(mixed.status == 0, "\(mixed)")
        #expect(try mixed.jsonLines().count == 15)
        #expect(Set(try mixed.jsonStories()) == fx.texts)
        #expect(!mixed.stderr.contains("opened with an analyst key"), "\(mixed.stderr)")
        // A reviewer key that is a recipient of none of them: answers only, and review says why.
        try cli.makeKeys(reviewer: "stranger", analyst: nil)
        let stranger = try cli.run(["review", "--key", "ana.key", "--key", "stranger.key", "--passphrase-file", "pass", "--format", "jsonl", fx.batch])
        #expect(try stranger.jsonLines().count == 15 && (try stranger.jsonStories()).isEmpty)
        #expect(stranger.stderr.contains("warning: 15 entries were opened with an analyst key only (none of the reviewer keys given is their recipient)"), "\(stranger.stderr)")
        #expect(!mixed.stderr.contains("stories need a reviewer key"))
        let out = try cli.run(["review"] + anaKeyArgs + ["--out", "answers", fx.batch])
        #expect(out.status == 0, "\(out)")
        let names = try FileManager.default.contentsOfDirectory(atPath: cli.path("answers"))
        #expect(names.count == 15)
        for name in names { #expect(!String(decoding: try cli.read("answers/\(name)"), as: UTF8.self).contains("Story ")) }
    }

    @Test func twoKeysAfterARotationOpenOldAndNewEntries() throws {
        let cli = try CLI()
        try cli.makeKeys(reviewer: "old", analyst: nil)
        let k = try cli.run(["keygen", "--name", "new", "--role", "reviewer", "--passphrase-file", "pass", "--secret-out", "new.key",
                             "--public-out", "next/new.pub", "--kdf-cost", "test-only"])
        #expect(k.status == 0, "\(k)")
        try cli.initStore("store")
        for i in 0 ..< 3 { try cli.submit("sealed to the old key \(i)", answers: CLI.answers) }
        for i in 0 ..< 3 {
            let r = try cli.run(["submit", "--store", "store", "--recipients", "next/new.pub"] + CLI.answers, stdin: "sealed to the new key \(i)")
            #expect(r.status == 0, "\(r)")
        }
        let old = ["--key", "old.key", "--passphrase-file", "pass"]
        let both = ["--key", "old.key", "--key", "new.key", "--passphrase-file", "pass"]
        let expected = Set((0 ..< 3).map { "sealed to the old key \($0)" } + (0 ..< 3).map { "sealed to the new key \($0)" })
        let inbox = try cli.run(["review"] + both + ["--format", "jsonl", "store"])
        #expect(inbox.status == 0, "\(inbox)")
        #expect(try Set(inbox.jsonStories()) == expected && inbox.jsonLines().count == 6)
        #expect(try cli.run(["batch", "--store", "store"]).status == 0)
        let text = try cli.run(["review"] + both + ["store"])
        #expect(text.status == 0, "\(text)")
        #expect(text.textBlocks.count == 6)
        #expect(expected.allSatisfy { s in text.textBlocks.contains { $0.contains(s) } })
        #expect(!text.stderr.contains("recipient of no entry"))
        // The old key alone opens its own half and says what it skipped.
        let alone = try cli.run(["review"] + old + ["--format", "jsonl", "store"])
        #expect(alone.status == 65, "\(alone)")
        #expect(Set(try alone.jsonStories()) == Set((0 ..< 3).map { "sealed to the old key \($0)" }))
        #expect(alone.stderr.contains("3 entries: not sealed to the given key(s); skipped"))

        // During the hand-over an entry may be sealed to both keys: each key is then a recipient, whichever opened it.
        try cli.initStore("overlap")
        let r = try cli.run(["submit", "--store", "overlap", "--recipients", "Keys/old.pub", "--recipients", "next/new.pub"] + CLI.answers,
                            stdin: "sealed to both keys")
        #expect(r.status == 0, "\(r)")
        for keys in [both, ["--key", "new.key", "--key", "old.key", "--passphrase-file", "pass"]] {
            let o = try cli.run(["review"] + keys + ["--format", "jsonl", "overlap"])
            #expect(o.status == 0, "\(o)")
            #expect(try o.jsonStories() == ["sealed to both keys"])
            #expect(!o.stderr.contains("recipient of no entry"), "\(o.stderr)")
        }
    }

    @Test func wrongKeyIsNamedByFingerprintWithExit65() throws {
        let (cli, fx) = try Fixture.copy()
        for format in ["text", "jsonl"] {
            let r = try cli.run(["review", "--key", "other.key", "--passphrase-file", "pass", "--format", format, fx.batch])
            #expect(r.status == 65, "\(r)")
            #expect(r.stdout.isEmpty)
            #expect(r.stderr.contains("the reviewer key 'other' (fingerprint \(fx.otherFingerprint)) is a recipient of no entry in these sources"), "\(r.stderr)")
            #expect(r.stderr.contains("15 entries: not sealed to the given key(s); skipped"))
        }
        // With the right key as well: everything is shown, and only the wrong key is named.
        let mixed = try cli.run(["review", "--key", "rev.key", "--key", "other.key", "--passphrase-file", "pass", "--format", "jsonl", "store"])
        #expect(mixed.status == 65, "\(mixed)")
        #expect(Set(try mixed.jsonStories()) == fx.texts)
        #expect(mixed.stderr.contains("(fingerprint \(fx.otherFingerprint)) is a recipient of no entry"))
        #expect(mixed.stderr.components(separatedBy: "recipient of no entry").count == 2)
        #expect(!mixed.stderr.contains("'rev'"))
    }

    /// A batch with bad entries between good ones: each good story comes out once, exit 65, one
    /// line per kind of problem with the right count, and nothing of any entry on stderr.
    @Test func batchWithBadEntriesMixedIn() throws {
        let (cli, fx) = try Fixture.copy()
        let (mixed, good, all) = try makeMixedBatch(cli, fx)
        try cli.write("mixed.batch", bytes: mixed.bytes())
        for format in ["text", "jsonl"] {
            let r = try cli.run(["review"] + revKeyArgs + ["--format", format, "mixed.batch"])
            #expect(r.status == 65, "\(r)")
            if format == "jsonl" {
                #expect(try r.jsonStories().sorted() == good.map(\.text).sorted())
            } else {
                #expect(r.textBlocks.count == good.count)
                for s in good { #expect(r.textBlocks.filter { $0.contains(s.text.prefix(9)) }.count == 1) }
            }
            #expect(r.problems.sorted() == [
                "chorus: 1 entry: header altered (MAC mismatch); skipped",
                "chorus: 1 entry: not sealed to the given key(s); skipped",
                "chorus: 2 entries: a section failed authentication (altered or swapped); skipped",
                "chorus: 2 entries: not a valid envelope (malformed); skipped",
            ], "\(r.stderr)")
            expectNoIDs(r.stderr + r.stdout, all)
            for s in fx.stories { #expect(!r.stderr.contains(s.text.prefix(9))) }
        }
        // --out: the good stories are written, the problems counted the same way.
        let out = try cli.run(["review"] + revKeyArgs + ["--out", "good", "mixed.batch"])
        #expect(out.status == 65, "\(out)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: cli.path("good")).count == good.count)
        #expect(out.problems.count == 5 && out.stderr.contains("wrote 5 entries into good"), "\(out.stderr)")
    }

    @Test func junkInTheInboxAndACutBatch() throws {
        let (cli, fx) = try Fixture.copy()
        try cli.submit("an inbox story")
        try cli.write("store/inbox/" + String(repeating: "ab", count: 32), bytes: Random.bytes(5000))
        try cli.write("store/inbox/README", "not an entry")
        let r = try cli.run(["review"] + revKeyArgs + ["--format", "jsonl", "store"])
        #expect(r.status == 65, "\(r)")
        #expect(Set(try r.jsonStories()) == fx.texts.union(["an inbox story"]))
        #expect(r.stderr.contains("chorus: 1 entry: not a valid envelope (malformed); skipped"))
        #expect(r.stderr.contains("holds 1 file"))
        #expect(!r.stderr.contains("abababab") && !r.stderr.contains("README"))

        // A batch cut inside its last entry: the fourteen before it come out whole. (A batch cut so
        // short that its declared entries cannot fit is refused whole, as docs/FORMAT.md 6 says.)
        let bytes = try cli.read(fx.batch)
        let parts = try BatchParts(bytes)
        try cli.write("cut.batch", bytes: Array(bytes.dropLast(1000)))
        let cut = try cli.run(["review"] + revKeyArgs + ["--format", "jsonl", "cut.batch"])
        #expect(cut.status == 65, "\(cut)")
        let expected = try parts.entries[..<14].map { try #require(fx.story(id: EnvelopeBytes.id($0))).text }
        #expect(try cut.jsonStories().sorted() == expected.sorted())
        #expect(cut.problems == ["chorus: 1 entry: not a valid envelope (malformed); skipped",
                                 "chorus: cut.batch does not match its checksum: it is truncated, damaged or was altered"], "\(cut.stderr)")
        expectNoIDs(cut.stderr, fx.stories.map(\.idHex))
    }

    @Test func withdrawnEntriesAreNotShown() throws {
        let (cli, fx) = try Fixture.copy()
        let first = fx.stories[0], second = fx.stories[1]
        // One withdrawn after batching (a tombstone), one withdrawn from the inbox, one kept in the inbox.
        #expect(try cli.run(["withdraw", "--store", "store"], stdin: first.receipt + "\n").status == 0)
        let gone = try cli.submit("withdrawn from the inbox")
        #expect(try cli.run(["withdraw", "--store", "store"], stdin: gone + "\n").status == 0)
        try cli.submit("kept in the inbox")
        let r = try cli.run(["review"] + revKeyArgs + ["--format", "jsonl", "store"])
        #expect(r.status == 0, "\(r)")
        #expect(Set(try r.jsonStories()) == fx.texts.subtracting([first.text]).union(["kept in the inbox"]))
        // The next batch carries the tombstone, so the first batch with it hides the story too.
        let b2 = try cli.run(["batch", "--store", "store"]).stdout.trimmingCharacters(in: .newlines)
        let both = try cli.run(["review"] + revKeyArgs + [fx.batch, b2])
        #expect(both.status == 0, "\(both)")
        #expect(both.textBlocks.count == 15)
        #expect(!both.stdout.contains("Story 01:") && both.stdout.contains("Story 02:") && both.stdout.contains("kept in the inbox"))
        // Withdrawing a second one: the store's reading shows neither.
        #expect(try cli.run(["withdraw", "--store", "store"], stdin: second.receipt).status == 0)
        let after = try cli.run(["review"] + revKeyArgs + ["--format", "jsonl", "store"])
        #expect(Set(try after.jsonStories()) == fx.texts.subtracting([first.text, second.text]).union(["kept in the inbox"]))
    }

    /// The output order is a fresh random order each run: not the batch's (which the operator
    /// saw), not the same twice.
    @Test func orderIsRandomAndNotTheBatchOrder() throws {
        let (cli, fx) = try Fixture.copy()
        let parts = try BatchParts(try cli.read(fx.batch))
        let batchOrder = try parts.entries.map { try #require(fx.story(id: EnvelopeBytes.id($0))).text }
        var runs: [[String]] = []
        for _ in 0 ..< 3 {
            let r = try cli.run(["review"] + revKeyArgs + ["--format", "jsonl", fx.batch])
            #expect(r.status == 0)
            runs.append(try r.jsonStories())
        }
        #expect(runs.allSatisfy { Set($0) == Set(batchOrder) && $0.count == 15 })
        // A uniform order of 15 keeps about one story in place; 3 runs keeping 12 or more is p < 1e-6.
        let kept = runs.map { zip($0, batchOrder).filter { $0 == $1 }.count }.reduce(0, +)
        #expect(kept < 12, "\(kept) stories kept their batch position over 3 runs")
        #expect(!(runs[0] == runs[1] && runs[1] == runs[2]))
    }

    /// A batch of 40 stories read with a TMPDIR that cannot be used: review keeps only where each batch
    /// entry is and reads it again, so it needs no temporary file. (More than memory through a sealed
    /// temporary file, and the order's independence from the source, are tested on `ReviewRun` itself:
    /// ChorusReadingTests/ReviewRunTests.)
    @Test func aBatchNeedsNoTemporaryFolder() throws {
        let (cli, fx) = try Fixture.copy()
        let r = try cli.run(["review"] + revKeyArgs + ["--format", "jsonl", fx.batch], env: ["TMPDIR": cli.path("no-such-folder")])
        #expect(r.status == 0, "\(r)")
        #expect(Set(try r.jsonStories()) == fx.texts)
    }

    /// Review checks every story's tag before it recognises copies (it decrypts the stories later, in
    /// a random order): a copy of an entry with the same header (so the same id and MAC) but an altered
    /// story is refused at once, so it never passes for the real entry, before or after it.
    @Test func aCopyWithAnAlteredStoryNeverHidesTheRealOne() throws {
        let (cli, fx) = try Fixture.copy()
        let parts = try BatchParts(try cli.read(fx.batch))
        let e = parts.entries[3]
        let story = EnvelopeBytes.storySection(e)
        let forged = EnvelopeBytes.flipping(e, at: story.lowerBound + story.count / 2)
        let real = try #require(fx.story(id: EnvelopeBytes.id(e))).text
        for (name, entries) in [("forged-first", [forged] + parts.entries), ("forged-last", parts.entries + [forged])] {
            var batch = parts
            batch.entries = entries
            try cli.write("\(name).batch", bytes: batch.bytes())
            let r = try cli.run(["review"] + revKeyArgs + ["--format", "jsonl", "\(name).batch"])
            #expect(r.status == 65, "\(r)")
            let stories = try r.jsonStories()
            #expect(stories.count == 15 && stories.contains(real), "\(name)")
            #expect(r.problems == ["chorus: 1 entry: a section failed authentication (altered or swapped); skipped"], "\(name): \(r.stderr)")
        }
    }

    @Test func anEmptyStoreIsNotAnError() throws {
        let cli = try CLI.withStore()
        for args in [["review"] + revKeyArgs + ["store"], ["review"] + anaKeyArgs + ["--format", "jsonl", "store"], ["verify", "store"] + revKeyArgs] {
            let r = try cli.run(args)
            #expect(r.status == 0, "\(r)")
            #expect(!r.stderr.contains("recipient of no entry"))
        }
        let out = try cli.run(["review"] + revKeyArgs + ["--out", "nothing", "store"])
        #expect(out.status == 0, "\(out)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: cli.path("nothing")).isEmpty)
    }

    @Test func verifyWithAKeyCountsByOutcome() throws {
        let (cli, fx) = try Fixture.copy()
        let clean = try cli.run(["verify", "store"] + revKeyArgs)
        #expect(clean.status == 0, "\(clean)")
        #expect(clean.stdout.contains("opened 15 entries\n"))
        let analyst = try cli.run(["verify", fx.batch] + anaKeyArgs)
        #expect(analyst.status == 0, "\(analyst)")
        #expect(analyst.stdout.contains("opened 15 entries\n"))

        #expect(try cli.run(["withdraw", "--store", "store"], stdin: fx.stories[4].receipt).status == 0)
        let withdrawn = try cli.run(["verify", "store"] + revKeyArgs)
        #expect(withdrawn.status == 0, "\(withdrawn)")
        #expect(withdrawn.stdout.contains("opened 14 entries, 1 withdrawn\n"))

        let (mixed, _, all) = try makeMixedBatch(cli, fx)
        try cli.write("mixed.batch", bytes: mixed.bytes())
        let bad = try cli.run(["verify", "mixed.batch"] + revKeyArgs)
        #expect(bad.status == 65, "\(bad)")
        #expect(bad.stdout.contains("opened 5 entries, 1 header-mac-mismatch, 2 malformed, 1 not-recipient, 2 section-auth-failed\n"), "\(bad.stdout)")
        expectNoIDs(bad.stdout + bad.stderr, all)

        // A wrong key is named even when the structure check already failed.
        let wrong = try cli.run(["verify", "mixed.batch", "--key", "other.key", "--passphrase-file", "pass"])
        #expect(wrong.status == 65, "\(wrong)")
        #expect(wrong.stdout.contains("opened 1 entry"), "\(wrong.stdout)")
        let none = try cli.run(["verify", fx.batch, "--key", "other.key", "--passphrase-file", "pass"])
        #expect(none.status == 65, "\(none)")
        #expect(none.stdout.contains("opened 0 entries, 15 not-recipient"))
        #expect(none.stderr.contains("(fingerprint \(fx.otherFingerprint)) is a recipient of no entry"))
        let batchBytes = try cli.read(fx.batch)
        try cli.write("damaged.batch", bytes: EnvelopeBytes.flipping(batchBytes, at: batchBytes.count - 1))
        let both = try cli.run(["verify", "damaged.batch", "--key", "other.key", "--passphrase-file", "pass"])
        #expect(both.status == 65, "\(both)")
        #expect(both.stderr.contains("(fingerprint \(fx.otherFingerprint)) is a recipient of no entry"), "\(both.stderr)")
    }
}

/// The fixture's batch rebuilt with bad entries between five good ones: one cut short, one of
/// random bytes (2 malformed), one with its header MAC altered, one with its answers altered, one
/// with its story altered (2 section failures for review; stats counts the last), and one sealed
/// to another key (not a recipient). Returns the batch, the good stories, and every entry id in hex.
func makeMixedBatch(_ cli: CLI, _ fx: Fixture) throws -> (BatchParts, [FixtureStory], [String]) {
    var parts = try BatchParts(try cli.read(fx.batch))
    let e = parts.entries
    let good = try e[0 ..< 5].map { try #require(fx.story(id: EnvelopeBytes.id($0))) }
    let foreign = try cli.read("foreign.env")
    let truncated = Array(e[5].dropLast(100))
    let garbage = Random.bytes(e[0].count)
    let mac = EnvelopeBytes.flipping(e[6], at: EnvelopeBytes.mac(e[6]).lowerBound + 3)
    let answers = EnvelopeBytes.flipping(e[7], at: EnvelopeBytes.answersSection(e[7]).lowerBound + 10)
    let story = EnvelopeBytes.flipping(e[8], at: EnvelopeBytes.storySection(e[8]).lowerBound + 100)
    parts.entries = [e[0], truncated, e[1], garbage, e[2], mac, e[3], answers, story, e[4], foreign]
    let ids = (e + [foreign]).map { Hex.encode(EnvelopeBytes.id($0)) }
    return (parts, good, ids)
}

func fileMode(_ path: String) throws -> Int {
    var st = stat()
    guard stat(path, &st) == 0 else { throw AuditTestFailure("cannot stat \(path)") }
    return Int(st.st_mode & 0o7777)
}

/// `YYYY-MM`.
enum YearMonthText {
    static func check(_ s: String) throws {
        let parts = s.split(separator: "-")
        guard parts.count == 2, parts[0].count == 4, parts[1].count == 2, let m = Int(parts[1]), (1 ... 12).contains(m), Int(parts[0]) != nil else {
            throw AuditTestFailure("not a month: \(s)")
        }
    }
}
