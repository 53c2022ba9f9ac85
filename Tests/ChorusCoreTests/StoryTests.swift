import Foundation
import Testing
import ChorusCrypto
import ChorusFormat
import ChorusSystem
import ChorusTestSupport
@testable import ChorusCore

#if canImport(Glibc)
import Glibc
#endif

/// A marker that must never appear in a message.
private let secretWords = "Quinn-at-the-Harbour-Office"

struct BadStory: Sendable, CustomTestStringConvertible {
    let name: String
    let bytes: [UInt8]
    let fragments: [String]
    var testDescription: String { name }
}

private func utf8(_ s: String) -> [UInt8] { Array(s.utf8) }

let badStories: [BadStory] = [
    .init(name: "empty", bytes: [], fragments: ["the story is empty", "nothing was submitted"]),
    .init(name: "spaces and newlines", bytes: utf8("  \n\n\t \r\n"), fragments: ["only whitespace or invisible characters", "(8 bytes)"]),
    .init(name: "Unicode spaces", bytes: utf8("\u{A0}\u{3000}\u{2003}\u{2028}\n"), fragments: ["only whitespace"]),
    .init(name: "zero-width and bidi only", bytes: utf8("\u{200B}\u{200D}\u{FEFF}\u{202E}\u{2066}"), fragments: ["only whitespace or invisible"]),
    .init(name: "control characters only", bytes: [0x1B, 0x07, 0x0B, 0x0C], fragments: ["only whitespace or invisible"]),
    .init(name: "NUL at the start", bytes: [0] + utf8(secretWords), fragments: ["NUL byte (at byte 1 of 28)", "plain text"]),
    .init(name: "NUL in the middle", bytes: utf8("ab") + [0] + utf8(secretWords), fragments: ["NUL byte (at byte 3 of 30)"]),
    .init(name: "lone continuation byte", bytes: utf8(secretWords) + [0x80], fragments: ["not valid UTF-8", "bad byte at 28 of 28"]),
    .init(name: "Latin-1 text", bytes: utf8("caf") + [0xE9] + utf8(" " + secretWords), fragments: ["not valid UTF-8", "at 4 of"]),
    .init(name: "overlong slash", bytes: utf8("a") + [0xC0, 0xAF], fragments: ["not valid UTF-8", "at 2 of 3"]),
    .init(name: "encoded surrogate", bytes: utf8("ab") + [0xED, 0xA0, 0x80], fragments: ["not valid UTF-8", "at 3 of 5"]),
    .init(name: "beyond U+10FFFF", bytes: utf8("ab") + [0xF4, 0x90, 0x80, 0x80], fragments: ["not valid UTF-8"]),
    .init(name: "truncated sequence at the end", bytes: utf8(secretWords) + [0xE2, 0x82], fragments: ["not valid UTF-8", "at 28 of 29"]),
    .init(name: "0xFF", bytes: [0xFF] + utf8(secretWords), fragments: ["not valid UTF-8", "at 1 of"]),
    .init(name: "UTF-16 with a BOM", bytes: [0xFF, 0xFE, 0x68, 0x00], fragments: ["not valid UTF-8"]),
]

@Suite struct StoryTests {
    @Test func validStory() throws {
        let text = "It happened at work.\nÇa suffit. 😔\n"
        let info = try Story.validate(utf8(text))
        #expect(info.byteCount == text.utf8.count)
        #expect(info.characterCount == text.unicodeScalars.count)
        #expect(info.characterCount == 34)
        // One visible character among whitespace is a story; so is a single byte.
        #expect(try Story.validate(utf8("  \n x \n")).characterCount == 7)
        #expect(try Story.validate(utf8("x")).byteCount == 1)
        // A BOM, tabs, CR and emoji with ZWJ are fine.
        #expect(try Story.validate(utf8("\u{FEFF}\tline\r\n👩\u{200D}👩")).characterCount == 11)
    }

    /// The one-pass check against Swift's own UTF-8 decoder, over random byte strings rich in
    /// ASCII, well-formed sequences, truncations, overlong forms, surrogates and stray bytes
    /// (seed printed, fixed).
    @Test func theFastCheckAgreesWithSwiftsDecoder() {
        var rng = try! SeededRandom(seed: BLAKE2b.hash(Array("chorus story utf-8 check".utf8)))
        print("StoryTests.theFastCheckAgreesWithSwiftsDecoder seed: chorus story utf-8 check")
        let pieces: [[UInt8]] = [[0x61], [0x20], [0x0A], [0x00], [0xC3, 0xA9], [0xE2, 0x82, 0xAC], [0xF0, 0x9F, 0x98, 0x94], [0xEF, 0xBB, 0xBF],
                                 [0xC0, 0xAF], [0xE0, 0x80, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xF5], [0x80], [0xC3],
                                 [0xE2, 0x82], [0xE2, 0x80, 0x8B], [0xFF], [0x7F], [0xC2, 0xA0]]
        for _ in 0..<20_000 {
            var bytes: [UInt8] = []
            let count = Int(rng.next(upperBound: UInt64(24))) + 1
            for _ in 0 ..< count { bytes += pieces[Int(rng.next(upperBound: UInt64(pieces.count)))] }
            let decoded = String(validating: bytes, as: UTF8.self)
            let expectOK = decoded != nil && !bytes.contains(0) && decoded!.unicodeScalars.contains { !Story.isBlank($0) }
            let result = try? Story.validate(bytes)
            #expect((result != nil) == expectOK, "\(bytes)")
            if let result, let decoded { #expect(result.characterCount == decoded.unicodeScalars.count, "\(bytes)") }
        }
    }

    @Test(arguments: badStories)
    func badStoryIsRejected(_ s: BadStory) {
        let message = expectFailure(CoreError.self, .invalidStory, s.fragments) { _ = try Story.validate(s.bytes) }
        #expect(message?.contains(secretWords) == false)
        // The same through SecretBytes.
        let secret = SecretBytes(copying: s.bytes)
        expectFailure(CoreError.self, .invalidStory, s.fragments) { _ = try Story.validate(secret) }
    }

    @Test func sizeLimit() throws {
        let atLimit = [UInt8](repeating: UInt8(ascii: "a"), count: Story.defaultMaxBytes)
        #expect(Story.defaultMaxBytes == 65536)
        #expect(try Story.validate(atLimit).byteCount == 65536)
        let message = expectFailure(CoreError.self, .invalidStory, ["the story is 65537 bytes", "limit of 65536 bytes"]) {
            _ = try Story.validate(atLimit + [UInt8(ascii: "a")])
        }
        #expect(message?.contains("aaaa") == false)
        // A store's own limit; a multi-byte character straddling it counts in bytes.
        #expect(try Story.validate(utf8("ééééé"), maxBytes: 10).characterCount == 5)
        expectFailure(CoreError.self, .invalidStory, ["11 bytes", "limit of 10 bytes"]) { _ = try Story.validate(utf8("ééééé!"), maxBytes: 10) }
        // Size is checked before content: an oversized story of NULs reports the size.
        expectFailure(CoreError.self, .invalidStory, ["20 bytes", "limit of 10"]) { _ = try Story.validate([UInt8](repeating: 0, count: 20), maxBytes: 10) }
    }

    /// Feeds `bytes` to `Story.collect` in chunks of `chunk` bytes.
    private func collect(_ bytes: [UInt8], chunk: Int, maxBytes: Int, calls: inout Int) throws(CoreError) -> SecretBytes {
        var offset = 0
        let story = try Story.collect(maxBytes: maxBytes) { (buffer) throws(CoreError) -> Int in
            calls += 1
            let n = min(chunk, buffer.count, bytes.count - offset)
            for k in 0 ..< n { buffer[k] = bytes[offset + k] }
            offset += n
            return n
        }
        return story
    }

    private func collect(_ bytes: [UInt8], chunk: Int, maxBytes: Int) throws(CoreError) -> SecretBytes {
        var calls = 0
        return try collect(bytes, chunk: chunk, maxBytes: maxBytes, calls: &calls)
    }

    @Test(arguments: [1, 7, 4096, 100_000])
    func collectInChunks(chunk: Int) throws {
        let text = utf8(String(repeating: "Ça suffit. ", count: 500))
        var calls = 0
        let story = try collect(text, chunk: chunk, maxBytes: Story.defaultMaxBytes, calls: &calls)
        let bytes = story.revealedBytes()
        let guarded = story.isGuarded
        #expect(bytes == text)
        #expect(guarded)
        #expect(calls >= 2)  // read until end of input
    }

    @Test func collectOverLimitCountsTheRest() throws {
        let big = [UInt8](repeating: UInt8(ascii: "b"), count: 200_000)
        expectFailure(CoreError.self, .invalidStory, ["the story is 200000 bytes", "limit of 65536 bytes"]) {
            _ = try collect(big, chunk: 5000, maxBytes: Story.defaultMaxBytes)
        }
        expectFailure(CoreError.self, .invalidStory, ["the story is 101 bytes", "limit of 100 bytes"]) {
            _ = try collect([UInt8](repeating: 0x61, count: 101), chunk: 3, maxBytes: 100)
        }
        let exact = try collect([UInt8](repeating: 0x61, count: 100), chunk: 3, maxBytes: 100)
        let count = exact.count
        #expect(count == 100)
    }

    @Test func collectStopsCountingEndlessInput() {
        var calls = 0
        expectFailure(CoreError.self, .invalidStory, ["the story is more than", "limit of 10 bytes"]) {
            _ = try Story.collect(maxBytes: 10) { (buffer) throws(CoreError) -> Int in
                calls += 1
                buffer.initializeMemory(as: UInt8.self, repeating: 0x61)
                return buffer.count
            }
        }
        #expect(calls < 2000)
    }

    @Test func collectChecksTheContent() {
        expectFailure(CoreError.self, .invalidStory, ["the story is empty"]) { _ = try collect([], chunk: 10, maxBytes: 100) }
        expectFailure(CoreError.self, .invalidStory, ["not valid UTF-8", "at 3 of 4"]) { _ = try collect(utf8("ab") + [0xC3, 0x28], chunk: 1, maxBytes: 100) }
    }

    @Test func collectPassesReadErrorsOn() {
        expectFailure(CoreError.self, .unreadableStory, ["disk on fire"]) {
            _ = try Story.collect(maxBytes: 100) { (_) throws(CoreError) -> Int in throw CoreError(.unreadableStory, "disk on fire") }
        }
    }

    @Test func readFromFileDescriptor() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("chorus-story-\(UUID().uuidString)").path
        defer { unlink(path) }
        let text = utf8(String(repeating: "Line of the story, ça va.\n", count: 3000))  // about 78 KB
        #expect(FileManager.default.createFile(atPath: path, contents: Data(text)))

        let fd = open(path, O_RDONLY)
        #expect(fd >= 0)
        let story = try Story.read(fileDescriptor: fd, maxBytes: 100_000)
        close(fd)
        #expect(story.revealedBytes() == text)

        let fd2 = open(path, O_RDONLY)
        expectFailure(CoreError.self, .invalidStory, ["the story is \(text.count) bytes", "limit of 65536 bytes"]) {
            _ = try Story.read(fileDescriptor: fd2)
        }
        close(fd2)

        // Reading from a descriptor that cannot be read is an I/O error naming the source.
        let fd3 = open(path, O_WRONLY)
        expectFailure(CoreError.self, .unreadableStory, ["cannot read the story from my-file"]) { _ = try Story.read(fileDescriptor: fd3, source: "my-file") }
        close(fd3)
    }

    @Test func readFromPipe() throws {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        let text = utf8("Piped story\nwith two lines\n")
        _ = text.withUnsafeBytes { write(fds[1], $0.baseAddress!, $0.count) }
        close(fds[1])
        let story = try Story.read(fileDescriptor: fds[0])
        close(fds[0])
        #expect(story.revealedBytes() == text)
    }
}
