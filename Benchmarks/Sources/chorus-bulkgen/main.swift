// chorus-bulkgen: writes synthetic Chorus data quickly, through the library (EnvelopeSealer and
// BatchWriter), on every core. For benchmarks and tests only.
//
//   chorus-bulkgen --keys DIR --count N --out FILE.batch [--threads T] [--story-bytes B]
//   chorus-bulkgen --keys DIR --count N --envelopes DIR    (one envelope file per entry, for `chorus import`)
//
// DIR holds the keys every entry is sealed to: one reviewer and one analyst key. When DIR has no keys
// yet, they are made there with the test-only passphrase costs: reviewer.key, analyst.key (0600),
// reviewer.pub, analyst.pub, and the passphrase in `passphrase` (so benchmarks can unlock them).
// Answers are spread deterministically over the built-in questionnaire (entry i always gets the
// same answers), with skewed frequencies so that counts look like a real campaign's; stories are
// B bytes of ASCII text (default 4096).
import ChorusCore
import ChorusCrypto
import ChorusFormat
import ChorusStore
import ChorusSystem
import Foundation

#if canImport(Glibc)
import Glibc
#endif

struct Options {
    var keys = ""
    var count = 0
    var out: String?
    var envelopes: String?
    var threads = ProcessInfo.processInfo.activeProcessorCount
    var storyBytes = 4096
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("chorus-bulkgen: \(message)\n".utf8))
    exit(64)
}

func parse() -> Options {
    var o = Options()
    var args = CommandLine.arguments.dropFirst()
    func value(_ name: String) -> String {
        guard let v = args.popFirst() else { fail("\(name) needs a value") }
        return v
    }
    while let a = args.popFirst() {
        switch a {
        case "--keys": o.keys = value(a)
        case "--count": o.count = Int(value(a)) ?? -1
        case "--out": o.out = value(a)
        case "--envelopes": o.envelopes = value(a)
        case "--threads": o.threads = Int(value(a)) ?? 0
        case "--story-bytes": o.storyBytes = Int(value(a)) ?? 0
        case "-h", "--help":
            print("usage: chorus-bulkgen --keys DIR --count N (--out FILE.batch | --envelopes DIR) [--threads T] [--story-bytes B]")
            exit(0)
        default: fail("unknown argument \(a)")
        }
    }
    guard !o.keys.isEmpty else { fail("give --keys DIR") }
    guard o.count >= 1 else { fail("give --count N (at least 1)") }
    guard (o.out == nil) != (o.envelopes == nil) else { fail("give one of --out FILE or --envelopes DIR") }
    guard o.threads >= 1 else { fail("--threads must be at least 1") }
    guard (1 ... 65536).contains(o.storyBytes) else { fail("--story-bytes must be 1 to 65536") }
    return o
}

// MARK: Keys

/// A failure of the generator itself.
struct BulkgenError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

let passphraseText = "chorus benchmark passphrase (test-only keys)"

func writeFile(_ path: String, _ text: String, mode: mode_t) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
    guard fd >= 0 else { throw BulkgenError("cannot create \(path): \(SystemError.reason(errno))") }
    defer { close(fd) }
    fchmod(fd, mode)
    let bytes = Array(text.utf8)
    var done = 0
    while done < bytes.count {
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + done, $0.count - done) }
        guard n > 0 else { throw BulkgenError("cannot write \(path)") }
        done += n
    }
}

/// The reviewer and analyst recipients in `dir`, made there first if missing.
func recipients(in dir: String) throws -> [RecipientKey] {
    let fm = FileManager.default
    let names: [(String, Role)] = [("reviewer", .reviewer), ("analyst", .analyst)]
    if !fm.fileExists(atPath: dir + "/reviewer.pub") {
        try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try writeFile(dir + "/passphrase", passphraseText + "\n", mode: 0o600)
        let pass = SecretBytes(copying: Array(passphraseText.utf8))
        for (name, role) in names {
            let made = try KeyFiles.generate(name: "bench-\(name)", role: role, passphrase: pass, cost: .testOnly)
            try writeFile(dir + "/\(name).key", made.secretFile, mode: 0o600)
            try writeFile(dir + "/\(name).pub", made.publicFile, mode: 0o644)
        }
    }
    return try names.map { try KeyFiles.loadPublicKey(dir + "/\($0.0).pub") }
}

// MARK: Synthetic answers

/// splitmix64: entry i's answers come from the sequence seeded with i.
struct Mix {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// An index drawn with the given weights.
    mutating func pick(_ weights: [Int]) -> Int {
        var r = Int(next() % UInt64(weights.reduce(0, +)))
        for (i, w) in weights.enumerated() {
            if r < w { return i }
            r -= w
        }
        return weights.count - 1
    }
}

struct AnswerMaker {
    let schema = Schema.builtIn
    let year = Schema.currentYear
    // Weights follow the values of the built-in questionnaire, in order: a few large cells and a long
    // tail of small ones, as in real campaigns.
    let settings = [30, 12, 4, 6, 6, 9, 8, 10, 3]
    let roles = [22, 20, 10, 6, 12, 6, 10, 8, 4, 2]
    let kinds = [40, 15, 25, 8, 3, 10, 6, 5, 4]
    let reported = [25, 65, 10]
    let consent = [70, 30]
    let months = (1 ... 12).map { m in m <= 11 ? String(format: "2026-%02d", m) : "2025-12" }

    func values(_ id: String) -> [String] { schema.field(id)?.values ?? [] }

    func answers(for i: Int) throws -> AnswersText {
        var r = Mix(state: UInt64(i) &* 0x2545_F491_4F6C_DD1D)
        let kindValues = values("kind")
        var kindSet = Set([kindValues[r.pick(kinds)]])
        if r.next() % 3 == 0 { kindSet.insert(kindValues[r.pick(kinds)]) }
        var raw = [
            "kind=" + kindSet.sorted().joined(separator: ","),
            "setting=" + values("setting")[r.pick(settings)],
            "perpetrator-role=" + values("perpetrator-role")[r.pick(roles)],
            "reported=" + values("reported")[r.pick(reported)],
            "consent=" + values("consent")[r.pick(consent)],
        ]
        let month = months[Int(r.next() % UInt64(months.count))]
        // A year answer is never after the arrival year (FORMAT.md 4).
        let arrivalYear = Int(month.prefix(4))!
        if r.next() % 10 != 0 { raw.append("year=\(arrivalYear - Int(r.next() % 36))") }
        return try schema.answers(from: raw, arrivalMonth: month, currentYear: year)
    }
}

func story(for i: Int, bytes: Int) -> [UInt8] {
    let sentence = Array("Synthetic story \(i) for the Chorus benchmarks; nothing in it is real. ".utf8)
    var out = [UInt8]()
    out.reserveCapacity(bytes)
    while out.count < bytes { out.append(sentence[out.count % sentence.count]) }
    return out
}

// MARK: Main

let options = parse()
let start = Date()
do {
    let keys = try recipients(in: options.keys)
    let maker = AnswerMaker()
    let chunk = 2048
    /// Seals entries `range` on every core; result i - range.lowerBound is entry i's envelope.
    func seal(_ range: Range<Int>) throws -> [[UInt8]] {
        final class Slots: @unchecked Sendable {
            var items: [[UInt8]]
            var error: Error?
            let lock = NSLock()
            init(_ n: Int) { items = Array(repeating: [], count: n) }
        }
        let slots = Slots(range.count)
        let per = (range.count + options.threads - 1) / options.threads
        DispatchQueue.concurrentPerform(iterations: options.threads) { t in
            let lo = range.lowerBound + t * per, hi = min(range.upperBound, lo + per)
            guard lo < hi else { return }
            for i in lo ..< hi {
                do {
                    let answers = try maker.answers(for: i).encoded()
                    let text = SecretBytes(copying: story(for: i, bytes: options.storyBytes))
                    let envelope = try EnvelopeSealer.seal(id: Receipt.generate().entryID, answers: answers, story: text, recipients: keys)
                    slots.lock.lock(); slots.items[i - range.lowerBound] = envelope; slots.lock.unlock()
                } catch {
                    slots.lock.lock(); slots.error = error; slots.lock.unlock()
                    return
                }
            }
        }
        if let e = slots.error { throw e }
        return slots.items
    }

    if let out = options.out {
        // The batch carries recipients signed by a throwaway organisation key, as a store's would
        // (FORMAT.md 6 and 7.3); readers pin it on first use.
        let organisation = UnlockedOrganisationKey(name: "bench-org", secret: SigningKey.generate())
        let document = try RecipientsDocument(organisation: organisation.publicKey, store: Hex.encode(Random.bytes(16)), serial: 1,
                                              recipients: keys, questionnaires: [Schema.builtIn])
        let signed = try SignedRecipients.sign(document, with: organisation)
        try BatchWriter.create(path: out, recipients: signed, entryCount: options.count) { encoder in
            var next = 0
            while next < options.count {
                let range = next ..< min(options.count, next + chunk)
                for envelope in try seal(range) { try encoder.append(envelope: envelope) }
                next = range.upperBound
            }
        }
    } else if let dir = options.envelopes {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var next = 0
        while next < options.count {
            let range = next ..< min(options.count, next + chunk)
            for (k, envelope) in try seal(range).enumerated() {
                let ok = FileManager.default.createFile(atPath: dir + "/" + String(format: "%07d.env", range.lowerBound + k), contents: Data(envelope))
                guard ok else { throw BulkgenError("cannot write an envelope into \(dir)") }
            }
            next = range.upperBound
        }
    }
    let seconds = Date().timeIntervalSince(start)
    FileHandle.standardError.write(Data(String(format: "chorus-bulkgen: %d entries in %.1f s (%.0f/s, %d threads)\n",
                                               options.count, seconds, Double(options.count) / seconds, options.threads).utf8))
} catch let e as any KindedError {
    fail(e.message)
} catch {
    fail("\(error)")
}
