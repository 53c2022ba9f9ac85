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
    let kind: String
    let expect: String
    let open: String
    let identities: [String]
    let answers: [UInt8]?
    let storyLength: Int?
    let storyHash: String?
    /// Every header line, by key (the other kinds of vectors say more there).
    let fields: [String: [String]]
    let body: [UInt8]

    var description: String { name }

    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Vectors")

    /// Every vector of `kind` (envelopes by default).
    static func all(kind: String = "envelope") -> [EnvelopeVector] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.sorted().map { load($0) }.filter { $0.kind == kind }
    }

    /// The keys of an envelope vector, each with the role its `identity` line gives.
    func keys() throws -> [UnlockedKey] {
        try identities.map { line -> UnlockedKey in
            let parts = line.split(separator: " ")
            let secret = try SecretKey(rawSecret: SecretBytes(copying: Hex.decode(parts[1])!))
            return UnlockedKey(role: Role(name: String(parts[0]))!, name: "vector", secret: secret)
        }
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
        return EnvelopeVector(name: name, kind: fields["kind"]?[0] ?? "envelope", expect: fields["expect"]![0], open: fields["open"]![0],
                              identities: fields["identity"] ?? [],
                              answers: fields["answers"].flatMap { Hex.decode($0[0]) }, storyLength: fields["story-length"].flatMap { Int($0[0]) },
                              storyHash: fields["story-blake2b"]?[0], fields: fields, body: Array(data[(split + 2)...]))
    }
}

@Suite struct VectorTests {
    @Test func thereAreEnoughVectorsOfEveryKind() {
        let all = EnvelopeVector.all()
        #expect(all.count >= 30)
        let outcomes = Set(all.map(\.expect))
        for needed in ["success", "truncated", "bad-magic", "unsupported-version", "trailing-bytes", "duplicate-stanza", "header-mac-mismatch",
                       "section-auth-failed", "story-not-available", "not-recipient", "bad-stanza", "bad-section-content", "malformed",
                       "role-mismatch", "answers-not-fitting", "unknown-questionnaire"] {
            #expect(outcomes.contains(needed), "no vector expects \(needed)")
        }
    }

    /// The questionnaires a reader of the vectors holds: the built-in one.
    static let acceptors = [Schema.builtIn.digest: AnswersAcceptor(schema: .builtIn)]

    @Test(arguments: EnvelopeVector.all())
    func vector(_ v: EnvelopeVector) throws {
        let keys = try v.keys()
        let sections: EnvelopeOpener.Sections = v.open == "answers+story" ? .answersAndStory : .answersOnly
        do {
            let opened = try EnvelopeOpener.open(v.body, keys: keys, sections: sections)
            // What a reader checks after opening: the answers name a questionnaire it has, and fit it.
            guard let acceptor = Self.acceptors[opened.answers.questionnaire] else {
                #expect(v.expect == "unknown-questionnaire", "\(v.name): the answers name an unknown questionnaire")
                return
            }
            guard acceptor.accepts(opened.answers) else {
                #expect(v.expect == "answers-not-fitting", "\(v.name): the answers do not fit the built-in questionnaire")
                return
            }
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
        let keys = try v.keys()
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
        let afterOpening: Set<String> = ["success", "answers-not-fitting", "unknown-questionnaire"]
        #expect(atOnce == v.expect || afterOpening.contains(v.expect), "\(v.name)")
    }

    /// Structure-only checks (no key) agree with the vectors: every vector whose failure is in the
    /// framing is caught by EnvelopeLayout.parse alone, and every other one passes it.
    @Test(arguments: EnvelopeVector.all())
    func structureWithoutKey(_ v: EnvelopeVector) {
        let framing: Set<String> = ["truncated", "bad-magic", "unsupported-version", "trailing-bytes", "duplicate-stanza", "malformed"]
        let parsed = (try? EnvelopeLayout.parse(v.body)) != nil
        #expect(parsed == !framing.contains(v.expect), "\(v.name)")
    }

    /// Public key files: success gives the role, key and fingerprint in the header; anything else is refused.
    @Test(arguments: EnvelopeVector.all(kind: "public-key"))
    func publicKeyFile(_ v: EnvelopeVector) {
        do {
            let f = try PublicKeyFile.parse(v.body)
            #expect(v.expect == "success", "\(v.name) parsed but should be refused")
            #expect(f.role.description == v.fields["role"]?[0] && Hex.encode(f.rawKey) == v.fields["key"]?[0], "\(v.name)")
            #expect(Fingerprint.of(role: f.role, rawKey: f.rawKey) == v.fields["fingerprint"]?[0], "\(v.name)")
        } catch {
            #expect(v.expect == "invalid", "\(v.name): \(error)")
        }
    }

    /// Secret key files: unlocked with the header's passphrase, of the header's role and public key.
    @Test(arguments: EnvelopeVector.all(kind: "secret-key"))
    func secretKeyFile(_ v: EnvelopeVector) {
        let passphrase = SecretBytes(copying: Array((v.fields["passphrase"]?[0] ?? "").utf8))
        do {
            let file = try SecretKeyFile.parse(v.body)
            #expect(file.role.description == v.fields["role"]?[0] && Hex.encode(file.publicKey) == v.fields["key"]?[0], "\(v.name)")
            if file.role == .organisation {
                let key = try KeyFiles.unlockOrganisation(v.body, passphrase: passphrase, path: v.name)
                #expect(Hex.encode(key.secret.publicKey.rawBytes) == v.fields["key"]?[0])
            } else {
                let key = try KeyFiles.unlock(v.body, passphrase: passphrase, path: v.name)
                #expect(Hex.encode(key.publicKey.rawBytes) == v.fields["key"]?[0])
            }
            #expect(v.expect == "success", "\(v.name) unlocked but should fail with \(v.expect)")
        } catch let e as CoreError where e.kind == .wrongPassphrase {
            #expect(v.expect == "wrong-passphrase", "\(v.name): \(e)")
        } catch {
            #expect(v.expect == "invalid", "\(v.name): \(error)")
        }
    }

    /// Signed recipients documents: verified, with the organisation, store, serial, number of
    /// recipients and current questionnaire of the header; anything else is refused.
    @Test(arguments: EnvelopeVector.all(kind: "recipients"))
    func recipientsDocument(_ v: EnvelopeVector) {
        do {
            let d = try SignedRecipients.parse(v.body, source: v.name).document
            #expect(v.expect == "success", "\(v.name) verified but should be refused")
            #expect(d.organisation.fingerprint == v.fields["organisation"]?[0] && d.store == v.fields["store"]?[0], "\(v.name)")
            #expect(String(d.serial) == v.fields["serial"]?[0] && String(d.recipients.count) == v.fields["recipients"]?[0], "\(v.name)")
            #expect(Hex.encode(d.current.digest) == v.fields["questionnaire"]?[0], "\(v.name)")
        } catch {
            #expect(v.expect == "invalid-recipients-document" && error.kind == .invalidRecipientsDocument, "\(v.name): \(error)")
        }
    }
}
