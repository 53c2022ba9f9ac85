import Foundation
import Testing
import ChorusCore
import ChorusCrypto
import ChorusFormat
import ChorusStore
import ChorusSystem
import ChorusTestSupport
@testable import ChorusReading

@Suite struct ReviewJSONTests {
    /// The reference: what `chorus review --format jsonl` wrote with Foundation's encoder.
    struct Line: Encodable {
        let arrival: String
        let answers: [String: [String]]
        let quotable: Bool
        let story: String?

        enum CodingKeys: String, CodingKey { case arrival, answers, format, quotable, story, version }

        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(arrival, forKey: .arrival)
            try c.encode(answers, forKey: .answers)
            try c.encode(quotable, forKey: .quotable)
            try c.encode(story, forKey: .story)
            try c.encode("chorus-review", forKey: .format)
            try c.encode(1, forKey: .version)
        }
    }

    func reference(_ answers: AnswersText, _ story: String?) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let line = Line(arrival: answers.arrivalMonth, answers: answers.fields, quotable: !ReviewText.isCountsOnly(answers), story: story)
        return Array(try encoder.encode(line)) + [0x0A]
    }

    func line(_ answers: AnswersText, _ story: [UInt8]?) -> [UInt8] {
        guard let story else { return ReviewJSON.line(answers: answers, story: nil) }
        return story.withUnsafeBytes { ReviewJSON.line(answers: answers, story: $0) }
    }

    let answers = try! AnswersText(arrivalMonth: "2026-11", questionnaire: Schema.builtIn.digest, fields: [
        "setting": ["work"], "consent": ["quote-anonymously"], "kind": ["verbal", "online", "physical"], "a-b": ["x-1"], "year": ["2019"],
    ])

    @Test func everyASCIICharacterIsWrittenAsFoundationWritesIt() throws {
        for b in UInt8(0) ..< 0x80 {
            let s = "a" + String(UnicodeScalar(b)) + "z/"
            #expect(line(answers, Array(s.utf8)) == (try reference(answers, s)), "byte \(b)")
        }
    }

    @Test func unicodeLinesAndHostileStoriesMatchFoundation() throws {
        let stories = [
            "", "plain", "é à ü — “quotes” 日本語 🙂 👩🏽‍⚕️", "\u{2028}\u{2029}\u{202E}\u{200B}\u{FEFF}\u{7F}\u{85}\u{9B}",
            "\u{1B}[2J\u{1B}]0;owned\u{07}", "\"\\\"\\\\//\\u0000", String(repeating: "long story\n\t\r", count: 900),
        ]
        for s in stories {
            #expect(line(answers, Array(s.utf8)) == (try reference(answers, s)), "\(s.debugDescription)")
        }
        let countsOnly = try AnswersText(arrivalMonth: "2025-01", questionnaire: Schema.builtIn.digest, fields: ["consent": ["counts-only"]])
        #expect(line(countsOnly, nil) == (try reference(countsOnly, nil)))
        #expect(line(countsOnly, Array("x".utf8)) == (try reference(countsOnly, "x")))
        // Random byte strings, mostly invalid UTF-8: replaced as String(decoding:) replaces them.
        var generator = SystemRandomNumberGenerator()
        for _ in 0 ..< 300 {
            let bytes = (0 ..< Int.random(in: 0 ... 64, using: &generator)).map { _ in UInt8.random(in: 0 ... 255, using: &generator) }
            #expect(line(answers, bytes) == (try reference(answers, String(decoding: bytes, as: UTF8.self))), "\(bytes)")
        }
    }

    @Test func eachLineIsOneJSONObjectWithTheSameKeysAFormatAndAVersion() throws {
        let out = line(answers, Array("two\nlines".utf8))
        #expect(out.last == 0x0A && out.dropLast().allSatisfy { $0 != 0x0A })
        let object = try #require(try JSONSerialization.jsonObject(with: Data(out)) as? [String: Any])
        #expect(Set(object.keys) == ["answers", "arrival", "format", "quotable", "story", "version"])
        #expect(object["format"] as? String == "chorus-review")
        #expect(object["version"] as? Int == 1)
        #expect(object["story"] as? String == "two\nlines")
        #expect(object["quotable"] as? Bool == true)
    }
}

@Suite struct ShuffledSpoolTests {
    /// A record whose secret part is `secret` and clear part `clear`.
    func record(_ spool: ShuffledSpool, _ secret: [UInt8], _ clear: [UInt8]) -> [UInt8] {
        secret.withUnsafeBytes { s in clear.withUnsafeBytes { spool.seal(secret: s, clear: $0) } }
    }

    /// Every record as (secret, clear), in the order drained.
    func drained(_ spool: ShuffledSpool, threads: Int = 1) throws -> [[UInt8]] {
        var out: [[UInt8]] = []
        try spool.drain(threads: threads, open: { secret, clear in Array(secret) + [0xFF] + Array(clear) }) { out.append($0) }
        return out
    }

    func inputs(_ n: Int) -> [([UInt8], [UInt8])] {
        (0 ..< n).map { (Array("secret \($0)".utf8), Array("clear part \($0)".utf8)) }
    }

    /// In memory, spilled at once, spilled after some records; opened on one thread or several (and a
    /// record larger than the window of `drain`).
    @Test(arguments: [(1 << 26, 1), (0, 1), (100, 1), (1 << 26, 3), (100, 2)])
    func everyRecordComesBackOnce(memoryLimit: Int, threads: Int) throws {
        let dir = ScratchDir()
        let spool = ShuffledSpool(memoryLimit: memoryLimit, temporaryFolder: dir.path)
        let input = inputs(500) + [([], []), (Array(repeating: 0x01, count: 70_000), []), ([7], Array(repeating: 0x41, count: 5 << 20))]
        for (secret, clear) in input { try spool.add(record(spool, secret, clear)) }
        #expect(spool.hasSpilled == (memoryLimit < 1 << 26))
        let out = try drained(spool, threads: threads)
        let expected = input.map { $0.0 + [0xFF] + $0.1 }
        #expect(out.count == expected.count)
        #expect(out.sorted { $0.lexicographicallyPrecedes($1) } == expected.sorted { $0.lexicographicallyPrecedes($1) })
        #expect(out != expected, "500 records came back in the order given")
        // The spool is empty afterwards.
        #expect(try drained(spool).isEmpty)
    }

    /// The spilled records are in no file with a name, and the unnamed file holds no secret part in
    /// clear (the clear part is there as given).
    @Test func spilledSecretsAreSealedInAnUnnamedFile() throws {
        let dir = ScratchDir()
        let spool = ShuffledSpool(memoryLimit: 0, temporaryFolder: dir.path)
        let marker = "MARKER-of-a-secret-7f3a"
        for i in 0 ..< 50 { try spool.add(record(spool, Array("\(marker) \(i)".utf8), Array("envelope \(i)".utf8))) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
        let file = try #require(openSpillFiles(in: dir.path).first)
        // The file is complete once `drain` starts: read it from inside the first call of `body`.
        var checked = false, n = 0
        try spool.drain(open: { _, _ in 0 }) { _ in
            n += 1
            guard !checked else { return }
            checked = true
            let bytes = FileManager.default.contents(atPath: file) ?? Data()
            #expect(bytes.count >= 50 * (marker.utf8.count + 44))
            #expect(bytes.range(of: Data(marker.utf8)) == nil, "a secret part is in the file in clear")
            #expect(bytes.range(of: Data("envelope 49".utf8)) != nil)
        }
        #expect(checked && n == 50)
    }

    /// A spill file altered under the spool is refused, not shown.
    @Test func anAlteredSpillFileIsRefused() throws {
        let dir = ScratchDir()
        let spool = ShuffledSpool(memoryLimit: 0, temporaryFolder: dir.path)
        // Records of 3 MiB are written to the file as they come (and opened one per window).
        for i in 0 ..< 3 { try spool.add(record(spool, [UInt8](repeating: UInt8(i), count: 3 << 20), [])) }
        let file = try #require(openSpillFiles(in: dir.path).first)
        let fd = open(file, O_WRONLY)
        #expect(fd >= 0)
        var flip: UInt8 = 0x5A
        #expect(pwrite(fd, &flip, 1, 40) == 1)
        close(fd)
        let error = try #require(throws: ReadingError.self) { try drained(spool) }
        #expect(error.message.contains("altered"))
    }

    @Test func anUnwritableTemporaryFolderIsAClearError() throws {
        let spool = ShuffledSpool(memoryLimit: 0, temporaryFolder: "/nonexistent-chorus-folder")
        let error = try #require(throws: SystemError.self) { try spool.add(record(spool, [1, 2, 3], [4])) }
        #expect(error.message.contains("temporary file") && error.message.contains("TMPDIR"))
    }

    /// Every order of four records is about equally likely, in memory and spilled (a chi-square test
    /// with 23 degrees of freedom; the bound is exceeded by chance about once in 10^7 runs).
    @Test(arguments: [1 << 20, 0])
    func theOrderIsUniform(memoryLimit: Int) throws {
        let dir = ScratchDir()
        var counts: [String: Int] = [:]
        let runs = 2400
        for _ in 0 ..< runs {
            let spool = ShuffledSpool(memoryLimit: memoryLimit, temporaryFolder: dir.path)
            for r in ["a", "b", "c", "d"] { try spool.add(record(spool, Array(r.utf8), [])) }
            var order = ""
            try spool.drain(open: { secret, _ in String(decoding: secret, as: UTF8.self) }) { order += $0 }
            counts[order, default: 0] += 1
        }
        #expect(counts.count == 24)
        let expected = Double(runs) / 24
        let chiSquare = counts.values.reduce(0.0) { $0 + pow(Double($1) - expected, 2) / expected }
        #expect(chiSquare < 70, "chi-square \(chiSquare) over 24 orders")
    }

    /// The temporary files this process has open in `folder` (O_TMPFILE files show as "folder/#N (deleted)").
    func openSpillFiles(in folder: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").compactMap { fd in
            let link = "/proc/self/fd/" + fd
            guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: link), target.hasPrefix(folder + "/") else { return nil }
            return link
        }
    }
}
