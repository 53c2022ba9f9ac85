import Foundation
import Testing
import ChorusCrypto
import ChorusFormat
import ChorusSystem
import ChorusTestSupport
@testable import ChorusCore

/// One file of Tests/ChorusCoreTests/Vectors: a text header, a blank line, the envelope bytes.
struct EnvelopeVector: CustomStringConvertible, Sendable {
    let name: String
    let expect: String
    let open: String
    let identities: [String]
    let answers: [UInt8]?
    let storyLength: Int?
    let storyHash: String?
    let body: [UInt8]

    var description: String { name }

    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Vectors")

    static func all() -> [EnvelopeVector] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.sorted().map { load($0) }
    }

    static func load(_ name: String) -> EnvelopeVector {
        let data = [UInt8](try! Data(contentsOf: folder.appendingPathComponent(name)))
        var split = 0
        while !(data[split] == 0x0a && data[split + 1] == 0x0a) { split += 1 }
        let header = String(decoding: data[0 ..< split], as: UTF8.self)
        var fields: [String: [String]] = [:]
        for line in header.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            fields[parts[0], default: []].append(parts[1])
        }
        return EnvelopeVector(name: name, expect: fields["expect"]![0], open: fields["open"]![0], identities: fields["identity"] ?? [],
                              answers: fields["answers"].flatMap { Hex.decode($0[0]) }, storyLength: fields["story-length"].flatMap { Int($0[0]) },
                              storyHash: fields["story-blake2b"]?[0], body: Array(data[(split + 2)...]))
    }
}

@Suite struct VectorTests {
    @Test func thereAreEnoughVectorsOfEveryKind() {
        let all = EnvelopeVector.all()
        #expect(all.count >= 30)
        let outcomes = Set(all.map(\.expect))
        for needed in ["success", "truncated", "bad-magic", "unsupported-version", "trailing-bytes", "duplicate-stanza", "header-mac-mismatch",
                       "section-auth-failed", "story-not-available", "not-recipient", "bad-stanza", "bad-section-content", "malformed"] {
            #expect(outcomes.contains(needed), "no vector expects \(needed)")
        }
    }

    @Test(arguments: EnvelopeVector.all())
    func vector(_ v: EnvelopeVector) throws {
        let keys = try v.identities.map { hex -> UnlockedKey in
            let secret = try SecretKey(rawSecret: SecretBytes(copying: Hex.decode(hex)!))
            return UnlockedKey(role: .reviewer, name: "vector", secret: secret)
        }
        let sections: EnvelopeOpener.Sections = v.open == "answers+story" ? .answersAndStory : .answersOnly
        do {
            let opened = try EnvelopeOpener.open(v.body, keys: keys, sections: sections)
            #expect(v.expect == "success", "\(v.name) opened but should fail with \(v.expect)")
            let check1 = opened.answers.encoded() == v.answers
            #expect(check1)
            if sections == .answersAndStory {
                let story = opened.hasStory ? opened.story!.revealedBytes() : []
                #expect(story.count == v.storyLength)
                #expect(Hex.encode(BLAKE2b.hash(story)) == v.storyHash)
            } else {
                let check2 = !opened.hasStory
                #expect(check2)
            }
        } catch {
            #expect(error.kind == v.expect, "\(v.name): got \(error) (\(error.kind)), expected \(v.expect)")
        }
    }

    /// Opening in two steps, as review does (the answers and the story's tag first, keeping the
    /// stanza; the story later with `reopen`), ends exactly as opening at once, for every vector that
    /// asks for the story: the same answers and story, or the same kind of failure.
    @Test(arguments: EnvelopeVector.all().filter { $0.open == "answers+story" })
    func twoStepsEndAsOneStep(_ v: EnvelopeVector) throws {
        let keys = try v.identities.map { hex -> UnlockedKey in
            UnlockedKey(role: .reviewer, name: "vector", secret: try SecretKey(rawSecret: SecretBytes(copying: Hex.decode(hex)!)))
        }
        func outcome(_ body: () throws(EnvelopeError) -> OpenedEnvelope) -> String {
            do throws(EnvelopeError) {
                let opened = try body()
                return Hex.encode(opened.answers.encoded()) + "/" + Hex.encode(opened.hasStory ? opened.story!.revealedBytes() : [])
            } catch {
                return error.kind
            }
        }
        let atOnce = outcome { () throws(EnvelopeError) in try EnvelopeOpener.open(v.body, keys: keys, sections: .answersAndStory) }
        let inTwo = outcome { () throws(EnvelopeError) in
            let first = try EnvelopeOpener.open(v.body, keys: keys, sections: .answersVerifyingStory)
            var stanza: SecretBytes? = nil
            switch first.stanza {
            case .some(let s): stanza = s.copy()
            case .none: break
            }
            guard let kept = stanza.take() else { throw .badStanza }
            var second: OpenedEnvelope? = nil
            var failure: EnvelopeError? = nil
            v.body.withUnsafeBytes { b in
                do throws(EnvelopeError) { second = try EnvelopeOpener.reopen(b, stanza: kept, keyIndex: first.keyIndex, sections: .answersAndStory) } catch { failure = error }
            }
            if let failure { throw failure }
            return second.take()!
        }
        #expect(atOnce == inTwo, "\(v.name)")
        #expect(atOnce == v.expect || v.expect == "success", "\(v.name)")
    }

    /// Structure-only checks (no key) agree with the vectors: every vector whose failure is in the
    /// framing is caught by EnvelopeLayout.parse alone, and every other one passes it.
    @Test(arguments: EnvelopeVector.all())
    func structureWithoutKey(_ v: EnvelopeVector) {
        let framing: Set<String> = ["truncated", "bad-magic", "unsupported-version", "trailing-bytes", "duplicate-stanza", "malformed"]
        let parsed = (try? EnvelopeLayout.parse(v.body)) != nil
        #expect(parsed == !framing.contains(v.expect), "\(v.name)")
    }
}
