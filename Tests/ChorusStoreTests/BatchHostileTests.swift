import Foundation
import Testing
import ChorusCore
import ChorusCrypto
import ChorusFormat
import ChorusSystem
import ChorusTestSupport
@testable import ChorusStore

#if canImport(Glibc)
import Glibc
#endif

/// What reading a (possibly hostile) batch file came to: refused at the header, or read through.
enum BatchOutcome {
    case refused(StoreError)
    case read(envelopes: [[UInt8]], bad: [String], summary: BatchSummary)
}

func readHostile(_ bytes: [UInt8]) throws -> BatchOutcome {
    let dir = ScratchDir()
    let path = dir.sub("hostile.batch")
    writeFile(path, bytes)
    do {
        let r = try readBatch(path)
        return .read(envelopes: r.envelopes, bad: r.bad, summary: r.summary)
    } catch let e as StoreError {
        return .refused(e)
    }
}

@Suite("Batch files: hostile input")
struct BatchHostileTests {
    static let envelopes = (0 ..< 3).map { _ in fakeEnvelope() }
    static let tombstone = Random.bytes(32)
    static let good = handBatch(tombstones: [tombstone], entries: envelopes)

    @Test("the hand-built batch is itself read as intact")
    func goodIsGood() throws {
        guard case let .read(envelopes, bad, summary) = try readHostile(Self.good) else {
            Issue.record("refused")
            return
        }
        #expect(envelopes == Self.envelopes && bad.isEmpty && summary.isIntact)
    }

    static var cutPoints: [Int] {
        let schemaEnd = 25 + (Self.good.count - 32 - 32 - Self.envelopes.reduce(0) { $0 + 4 + $1.count } - 25)
        let firstEntry = schemaEnd + 32
        return [0, 5, 8, 20, 24, 25, 40, schemaEnd - 1, schemaEnd + 10, firstEntry, firstEntry + 2, firstEntry + 100,
                firstEntry + 4 + Self.envelopes[0].count, Self.good.count / 2, Self.good.count - 33, Self.good.count - 32,
                Self.good.count - 1]
    }

    @Test("a batch truncated anywhere is refused or reported, never read as intact", arguments: cutPoints)
    func truncated(at cut: Int) throws {
        switch try readHostile(Array(Self.good.prefix(cut))) {
        case let .refused(e):
            #expect(e.kind == .invalidBatch)
            #expect(e.message.contains("hostile.batch"))
        case let .read(envelopes, _, summary):
            #expect(!summary.isIntact)
            #expect(!summary.hashMatches)
            #expect(!summary.problems.isEmpty)
            // Whatever was released is a genuine, whole envelope of the batch.
            #expect(envelopes.allSatisfy { Self.envelopes.contains($0) })
        }
    }

    @Test("a flipped byte in the checksum is reported; the entries are still read")
    func flippedHash() throws {
        var bytes = Self.good
        bytes[bytes.count - 5] ^= 0x10
        guard case let .read(envelopes, bad, summary) = try readHostile(bytes) else {
            Issue.record("refused")
            return
        }
        #expect(envelopes == Self.envelopes && bad.isEmpty)
        #expect(!summary.hashMatches && summary.problems.contains { $0.contains("does not match its checksum") })
    }

    @Test("a flipped byte in an entry's envelope header skips that entry, reads the others, and fails the checksum")
    func flippedEntryHeader() throws {
        var bytes = Self.good
        let secondEntry = Self.good.count - 32 - (4 + Self.envelopes[2].count) - Self.envelopes[1].count
        bytes[secondEntry + 2] ^= 0xff // inside the magic of the second envelope
        guard case let .read(envelopes, bad, summary) = try readHostile(bytes) else {
            Issue.record("refused")
            return
        }
        #expect(envelopes == [Self.envelopes[0], Self.envelopes[2]])
        #expect(bad.count == 1 && bad[0].contains("entry 2 of") && bad[0].contains("not a valid envelope"))
        #expect(!summary.hashMatches && summary.badEntries == 1)
    }

    @Test("a flipped byte inside an entry's sections is caught by the checksum (the envelope's MAC is for the decrypter)")
    func flippedEntryBody() throws {
        var bytes = Self.good
        bytes[bytes.count - 32 - 100] ^= 0x01
        guard case let .read(envelopes, _, summary) = try readHostile(bytes) else {
            Issue.record("refused")
            return
        }
        #expect(envelopes.count == 3 && envelopes[2] != Self.envelopes[2])
        #expect(!summary.hashMatches)
    }

    struct HeaderCase: Sendable, CustomTestStringConvertible {
        let name: String
        let bytes: [UInt8]
        let fragment: String
        var testDescription: String { name }
    }

    static var headerCases: [HeaderCase] {
        var badMagic = good; badMagic[0] = 0x63
        var badVersion = good; badVersion[8] = 1
        let id1 = [UInt8](repeating: 1, count: 32), id2 = [UInt8](repeating: 2, count: 32)
        return [
            HeaderCase(name: "wrong magic", bytes: badMagic, fragment: "wrong magic"),
            HeaderCase(name: "version 1", bytes: badVersion, fragment: "unsupported version 1"),
            HeaderCase(name: "2^60 entries", bytes: handBatch(entries: envelopes, entryCount: 1 << 60), fragment: "declares 1152921504606846976 entries"),
            HeaderCase(name: "2^64-1 entries", bytes: handBatch(entryCount: UInt64.max), fragment: "entries, more than"),
            HeaderCase(name: "4 billion tombstones", bytes: handBatch(tombstoneCount: UInt32.max), fragment: "4294967295 tombstones"),
            HeaderCase(name: "document longer than the limit", bytes: handBatch(documentLength: UInt32.max), fragment: "larger than the limit"),
            HeaderCase(name: "document longer than the file", bytes: handBatch(documentLength: 4_000_000), fragment: "more than the file holds"),
            HeaderCase(name: "tombstones out of order", bytes: handBatch(tombstones: [id2, id1]), fragment: "strictly ascending"),
            HeaderCase(name: "tombstone repeated", bytes: handBatch(tombstones: [id1, id1]), fragment: "strictly ascending"),
            HeaderCase(name: "document not JSON", bytes: handBatch(document: Array("{nope\ned25519:\(String(repeating: "0", count: 128))\n".utf8)),
                       fragment: "its recipients document"),
            HeaderCase(name: "document unsigned", bytes: handBatch(document: Array(handDocument.prefix { $0 != 0x0a }) + [0x0a]),
                       fragment: "its recipients document"),
            HeaderCase(name: "document with a questionnaire edited (its signature fails)",
                       bytes: handBatch(document: Array(String(decoding: handDocument, as: UTF8.self)
                           .replacingOccurrences(of: #""kind":"single","label":"Where it happened""#, with: #""kind":"multiple","label":"Where it happened""#).utf8)),
                       fragment: "signature does not verify"),
            HeaderCase(name: "empty file", bytes: [], fragment: "truncated"),
            HeaderCase(name: "an envelope, not a batch", bytes: envelopes[0], fragment: "wrong magic"),
        ]
    }

    @Test("a bad header is refused with one sentence before anything large is allocated", arguments: headerCases)
    func badHeader(_ c: HeaderCase) throws {
        guard case let .refused(e) = try readHostile(c.bytes) else {
            Issue.record("\(c.name) was read")
            return
        }
        #expect(e.kind == .invalidBatch)
        #expect(e.message.contains(c.fragment), "\(e.message)")
        #expect(e.message.contains("hostile.batch"))
    }

    @Test("more entries declared than present: the framing is lost and reported")
    func countTooHigh() throws {
        let bytes = handBatch(entries: Self.envelopes, entryCount: 4)
        switch try readHostile(bytes) {
        case let .refused(e):
            #expect(e.message.contains("entries, more than"))
        case let .read(envelopes, bad, summary):
            #expect(envelopes == Self.envelopes)
            #expect(bad.count == 1)
            #expect(!summary.isIntact)
        }
    }

    @Test("fewer entries declared than present: the bytes left over are reported")
    func countTooLow() throws {
        guard case let .read(envelopes, _, summary) = try readHostile(handBatch(entries: Self.envelopes, entryCount: 2)) else {
            Issue.record("refused")
            return
        }
        #expect(envelopes == Array(Self.envelopes.prefix(2)))
        #expect(summary.hashMatches) // the file is as written; its framing is what is wrong
        #expect(summary.problems.contains { $0.contains("between its last entry and its checksum") })
        #expect(!summary.isIntact)
    }

    @Test("bytes between the last entry and the checksum are reported")
    func trailingBytes() throws {
        guard case let .read(envelopes, _, summary) = try readHostile(handBatch(entries: Self.envelopes, between: [0, 0, 0])) else {
            Issue.record("refused")
            return
        }
        #expect(envelopes == Self.envelopes)
        #expect(summary.problems.contains { $0.contains("3 bytes between its last entry") })
    }

    @Test("a length prefix that runs past the file stops the reading with a framing problem for that entry")
    func lengthPastEnd() throws {
        var bytes = Self.good
        let secondPrefix = Self.good.count - 32 - (4 + Self.envelopes[2].count) - (4 + Self.envelopes[1].count)
        bytes[secondPrefix] = 0x7f
        guard case let .read(envelopes, bad, summary) = try readHostile(bytes) else {
            Issue.record("refused")
            return
        }
        #expect(envelopes == [Self.envelopes[0]])
        #expect(bad.count == 1 && bad[0].contains("entry 2 of") && bad[0].contains("runs past the end"))
        #expect(summary.unreadEntries == 1 && summary.problems.contains { $0.contains("could not be read after entry 2") })
        #expect(!summary.hashMatches)
    }

    @Test("an entry too short or too long to be an envelope is skipped and reading goes on")
    func impossibleLengths() throws {
        // (The second envelope is large so that the file can hold two entries by the header's count.)
        let small = Random.bytes(100), large = fakeEnvelope(story: 16384)
        guard case let .read(envelopes, bad, summary) = try readHostile(handBatch(entries: [small, large])) else {
            Issue.record("refused")
            return
        }
        #expect(envelopes == [large])
        #expect(bad.count == 1 && bad[0].contains("100 bytes long"))
        #expect(summary.hashMatches && summary.badEntries == 1 && !summary.isIntact)
    }

    @Test("random corruption anywhere never crashes and is never read as intact", arguments: 0 ..< 40)
    func randomFlip(_ seed: Int) throws {
        var bytes = Self.good
        var rng = SystemRandom()
        let at = Int.random(in: 0 ..< bytes.count, using: &rng)
        bytes[at] ^= UInt8.random(in: 1 ... 255, using: &rng)
        if case let .read(_, _, summary) = try readHostile(bytes) { #expect(!summary.isIntact, "flip at \(at)") }
    }
}
