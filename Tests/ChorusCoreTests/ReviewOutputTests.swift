@testable import ChorusCore
import ChorusCrypto
import ChorusFormat
import Foundation
import Testing

@Suite struct ReviewJSONTests {
    /// The reference: what `chorus review --format jsonl` wrote with Foundation's encoder.
    struct Line: Encodable {
        let arrival: String
        let answers: [String: [String]]
        let quotable: Bool
        let story: String?

        enum CodingKeys: String, CodingKey { case arrival, answers, quotable, story }

        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(arrival, forKey: .arrival)
            try c.encode(answers, forKey: .answers)
            try c.encode(quotable, forKey: .quotable)
            try c.encode(story, forKey: .story)
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

    let answers = try! AnswersText(arrivalMonth: "2026-11", fields: [
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
        let countsOnly = try AnswersText(arrivalMonth: "2025-01", fields: ["consent": ["counts-only"]])
        #expect(line(countsOnly, nil) == (try reference(countsOnly, nil)))
        #expect(line(countsOnly, Array("x".utf8)) == (try reference(countsOnly, "x")))
        // Random byte strings, mostly invalid UTF-8: replaced as String(decoding:) replaces them.
        var generator = SystemRandomNumberGenerator()
        for _ in 0 ..< 300 {
            let bytes = (0 ..< Int.random(in: 0 ... 64, using: &generator)).map { _ in UInt8.random(in: 0 ... 255, using: &generator) }
            #expect(line(answers, bytes) == (try reference(answers, String(decoding: bytes, as: UTF8.self))), "\(bytes)")
        }
    }

    @Test func eachLineIsOneJSONObjectWithTheFourKeys() throws {
        let out = line(answers, Array("two\nlines".utf8))
        #expect(out.last == 0x0A && out.dropLast().allSatisfy { $0 != 0x0A })
        let object = try #require(try JSONSerialization.jsonObject(with: Data(out)) as? [String: Any])
        #expect(Set(object.keys) == ["answers", "arrival", "quotable", "story"])
        #expect(object["story"] as? String == "two\nlines")
        #expect(object["quotable"] as? Bool == true)
    }
}

@Suite struct ShuffledSpoolTests {
    func records(_ n: Int) -> [[UInt8]] { (0 ..< n).map { Array("record \($0) of a story".utf8) } }

    func drained(_ spool: ShuffledSpool, threads: Int = 1) throws -> [[UInt8]] {
        var out: [[UInt8]] = []
        try spool.drain(threads: threads) { out.append(Array($0)) }
        return out
    }

    /// In memory, spilled at once, spilled after some records; opened on one thread or several (and a
    /// record larger than the window of `drain`).
    @Test(arguments: [(1 << 26, 1), (0, 1), (100, 1), (1 << 26, 3), (100, 2)])
    func everyRecordComesBackOnce(memoryLimit: Int, threads: Int) throws {
        let dir = ScratchDir()
        let spool = ShuffledSpool(memoryLimit: memoryLimit, temporaryFolder: dir.path)
        let input = records(500) + [[], Array(repeating: 0xFF, count: 70_000), Array(repeating: 0x41, count: 5 << 20)]
        for r in input { try spool.add(spool.seal(r)) }
        #expect(spool.hasSpilled == (memoryLimit < 1 << 26))
        let out = try drained(spool, threads: threads)
        #expect(out.count == input.count)
        #expect(out.sorted { $0.lexicographicallyPrecedes($1) } == input.sorted { $0.lexicographicallyPrecedes($1) })
        #expect(out != input, "500 records came back in the order given")
        // The spool is empty afterwards.
        #expect(try drained(spool).isEmpty)
    }

    /// The spilled records are in no file with a name, and the unnamed file holds no record in clear.
    @Test func spilledRecordsAreEncryptedInAnUnnamedFile() throws {
        let dir = ScratchDir()
        let spool = ShuffledSpool(memoryLimit: 0, temporaryFolder: dir.path)
        let marker = "MARKER-of-a-story-7f3a"
        for i in 0 ..< 50 { try spool.add(spool.seal(Array("\(marker) \(i)".utf8))) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
        let file = try #require(openSpillFiles(in: dir.path).first)
        #expect(try drainedLater(spool, file: file) == 50)
    }

    /// Reads the spill file, checks it, then drains (the file is complete only once `drain` starts,
    /// so it is read from inside the first call of the drain's body).
    func drainedLater(_ spool: ShuffledSpool, file: String) throws -> Int {
        let marker = "MARKER-of-a-story-7f3a"
        var checked = false, n = 0
        try spool.drain { _ in
            n += 1
            guard !checked else { return }
            checked = true
            let bytes = FileManager.default.contents(atPath: file) ?? Data()
            #expect(bytes.count >= 50 * (marker.utf8.count + 40))
            #expect(bytes.range(of: Data(marker.utf8)) == nil, "a record is in the file in clear")
        }
        #expect(checked)
        return n
    }

    /// A spill file altered under the spool is refused, not shown.
    @Test func anAlteredSpillFileIsRefused() throws {
        let dir = ScratchDir()
        let spool = ShuffledSpool(memoryLimit: 0, temporaryFolder: dir.path)
        // Records of 3 MiB are written to the file as they come (and opened one per window).
        for i in 0 ..< 3 { try spool.add(spool.seal([UInt8](repeating: UInt8(i), count: 3 << 20))) }
        let file = try #require(openSpillFiles(in: dir.path).first)
        let fd = open(file, O_WRONLY)
        #expect(fd >= 0)
        var flip: UInt8 = 0x5A
        #expect(pwrite(fd, &flip, 1, 40) == 1)
        close(fd)
        #expect(throws: ChorusError.self) { try drained(spool) }
    }

    @Test func anUnwritableTemporaryFolderIsAClearError() throws {
        let spool = ShuffledSpool(memoryLimit: 0, temporaryFolder: "/nonexistent-chorus-folder")
        let error = try #require(throws: ChorusError.self) { try spool.add(spool.seal([1, 2, 3])) }
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
            for r in ["a", "b", "c", "d"] { try spool.add(spool.seal(Array(r.utf8))) }
            counts[String(decoding: try drained(spool).joined(), as: UTF8.self), default: 0] += 1
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
