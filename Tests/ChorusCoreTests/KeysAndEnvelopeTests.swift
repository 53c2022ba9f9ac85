import Foundation
import Testing
import ChorusCrypto
import ChorusFormat
import ChorusSystem
import ChorusTestSupport
@testable import ChorusCore

@Suite struct KeyTests {
    @Test func generateUnlockAndFingerprint() throws {
        let (file, recipient) = try makeKey("alice", .reviewer)
        let key = try unlock(file)
        #expect(key.role == .reviewer)
        #expect(key.name == "alice")
        #expect(key.publicKey == recipient.publicKey)
        #expect(key.fingerprint == recipient.fingerprint)
        #expect(recipient.fingerprint.count == 19)
        #expect(recipient.fingerprint.split(separator: "-").count == 4)
        // The passphrase is not in the file in any obvious form.
        #expect(!String(decoding: file, as: UTF8.self).contains("correct horse"))
    }

    @Test func wrongPassphraseIsPermissionError() throws {
        let (file, _) = try makeKey("alice", .analyst)
        do {
            _ = try unlock(file, passphrase: "wrong")
            Issue.record("unlocked with a wrong passphrase")
        } catch let e as CoreError {
            #expect(e.kind == .wrongPassphrase)
            #expect(e.message.contains("wrong passphrase"))
        }
    }

    @Test func tamperedKeyFileDoesNotUnlock() throws {
        let (file, _) = try makeKey("alice", .reviewer)
        var blob = try SecretKeyFile.parse(file)
        // Change the role in the (authenticated) header: the AEAD must fail.
        blob = try SecretKeyFile(role: .analyst, opsLimit: blob.opsLimit, memoryBytes: blob.memoryBytes, salt: blob.salt, publicKey: blob.publicKey,
                                 name: blob.name, nonce: blob.nonce, sealedSecret: blob.sealedSecret)
        #expect(throws: CoreError.self) { try unlock(Array(blob.render().utf8)) }
    }

    @Test func fingerprintDependsOnRole() throws {
        let (_, r) = try makeKey("x", .reviewer)
        #expect(Fingerprint.of(role: .reviewer, publicKey: r.publicKey) != Fingerprint.of(role: .analyst, publicKey: r.publicKey))
    }

    @Test func publicKeyFileRoundTrip() throws {
        let (_, r) = try makeKey("bob", .analyst)
        let parsed = try PublicKeyFile.parse(Array(r.fileText.utf8))
        #expect(parsed.role == .analyst)
        #expect(parsed.name == "bob")
        #expect(parsed.rawKey == r.publicKey.rawBytes)
    }

    @Test(arguments: ["", "two words", "semi;colon", String(repeating: "n", count: 65), "tab\tname", "caf\u{e9}"])
    func badKeyNames(_ name: String) {
        #expect(throws: CoreError.self) {
            try KeyFiles.generate(name: name, role: .reviewer, passphrase: SecretBytes(copying: Array("pw".utf8)), cost: .testOnly)
        }
    }
}

@Suite struct ReceiptTests {
    @Test func roundTripAndId() throws {
        let r = Receipt.generate()
        #expect(r.text.count == 34)
        let back = try Receipt.parse(r.text)
        #expect(back == r)
        #expect(back.entryID == r.entryID)
        #expect(r.entryID.count == 32)
        // Forgiving input: lower case, spaces instead of dashes, O for 0 and I/L for 1.
        let sloppy = r.text.lowercased().replacingOccurrences(of: "-", with: " ").replacingOccurrences(of: "0", with: "o").replacingOccurrences(of: "1", with: "l")
        #expect(try Receipt.parse(sloppy) == r)
    }

    @Test func distinctReceipts() {
        let set = Set((0 ..< 200).map { _ in Receipt.generate().text })
        #expect(set.count == 200)
    }

    @Test func everySingleCharacterTypoIsCaught() throws {
        // The 10-bit check catches all but about 1 in 1024 random changes; over every position and a
        // few substitutions of a fixed receipt, count the misses.
        let r = try Receipt(raw: Array(0 ..< 16))
        let chars = Array(r.text.replacingOccurrences(of: "-", with: ""))
        var caught = 0, total = 0
        for i in 0 ..< chars.count {
            for sub in ["A", "7", "Z", "M"] where String(chars[i]) != sub {
                var c = chars
                c[i] = Character(sub)
                total += 1
                if (try? Receipt.parse(String(c))) == nil { caught += 1 }
            }
        }
        #expect(Double(caught) / Double(total) > 0.98)
    }

    @Test(arguments: ["", "ABCD", "U000-0000-0000-0000-0000-0000-0000", "0000-0000-0000-0000-0000-0000-0000-0", "\u{202e}AAAA", "ÄÄÄÄ-0000"])
    func rejects(_ text: String) {
        #expect(throws: CoreError.self) { try Receipt.parse(text) }
    }
}

@Suite struct EnvelopeTests {
    let story = Array("my story, with a unique marker Q7X9-STORY".utf8)
    let answers = try! AnswersText(arrivalMonth: "2026-11", questionnaire: Schema.builtIn.digest, fields: ["setting": ["home"], "consent": ["counts-only"]]).encoded()

    @Test func reviewerAndAnalyst() throws {
        let (rf, rr) = try makeKey("rev", .reviewer)
        let (af, ar) = try makeKey("ana", .analyst)
        let (of, _) = try makeKey("other", .reviewer)
        let id = Receipt.generate().entryID
        let env = try EnvelopeSealer.seal(id: id, answers: answers, story: SecretBytes(copying: story), recipients: [rr, ar])
        #expect(!env.containsSubsequence(story))

        let full = try EnvelopeOpener.open(env, keys: [try unlock(rf)], sections: .answersAndStory)
        let check1 = full.id == id
        #expect(check1)
        let check2 = full.role == .reviewer
        #expect(check2)
        let check3 = full.answers.encoded() == answers
        #expect(check3)
        let check4 = full.story?.revealedBytes() == story
        #expect(check4)

        let analyst = try unlock(af)
        let partial = try EnvelopeOpener.open(env, keys: [analyst], sections: .answersOnly)
        let check5 = partial.answers.encoded() == answers
        #expect(check5)
        let check6 = !partial.hasStory
        #expect(check6)
        #expect(throws: EnvelopeError.storyNotAvailable) { _ = try EnvelopeOpener.open(env, keys: [analyst], sections: .answersAndStory) }

        #expect(throws: EnvelopeError.notRecipient) { _ = try EnvelopeOpener.open(env, keys: [try unlock(of)], sections: .answersOnly) }
    }

    /// Opening in two steps (answers and the story's tag first, the story later from the kept stanza)
    /// gives what opening at once gives; every altered byte of the story section is caught by the
    /// first step, without decrypting it; a story whose padding is invalid inside (only a key holder
    /// could make one) passes the first step and is refused by the second.
    @Test func openingInTwoStepsIsOpeningAtOnce() throws {
        let (rf, rr) = try makeKey("rev", .reviewer)
        let (af, ar) = try makeKey("ana", .analyst)
        let reviewer = try unlock(rf), analyst = try unlock(af)
        let env = try EnvelopeSealer.seal(id: Receipt.generate().entryID, answers: answers, story: SecretBytes(copying: story), recipients: [rr, ar])
        let first = try EnvelopeOpener.open(env, keys: [analyst, reviewer], sections: .answersVerifyingStory)
        let noStoryYet = !first.hasStory
        #expect(noStoryYet)
        var kept: SecretBytes? = nil
        switch first.stanza {
        case .some(let s): kept = s.copy()
        case .none: break
        }
        guard let stanza = kept.take() else {
            Issue.record("no stanza kept")
            return
        }
        var reopened: OpenedEnvelope? = nil
        try env.withUnsafeBytes { reopened = try EnvelopeOpener.reopen($0, stanza: stanza, keyIndex: first.keyIndex, sections: .storyIfAvailable) }
        let again = reopened.take()!
        let atOnce = try EnvelopeOpener.open(env, keys: [analyst, reviewer], sections: .storyIfAvailable)
        let same = again.id == atOnce.id && again.mac == atOnce.mac && again.role == atOnce.role && again.keyIndex == atOnce.keyIndex
            && again.answers == atOnce.answers && again.story?.revealedBytes() == atOnce.story?.revealedBytes()
        #expect(same)
        // Not the stanza of this envelope: refused.
        let other = try EnvelopeSealer.seal(id: Receipt.generate().entryID, answers: answers, story: SecretBytes(copying: story), recipients: [rr])
        #expect(throws: EnvelopeError.self) {
            try other.withUnsafeBytes { _ = try EnvelopeOpener.reopen($0, stanza: stanza, keyIndex: 0, sections: .storyIfAvailable) }
        }
        #expect(throws: EnvelopeError.badStanza) {
            try env.withUnsafeBytes { _ = try EnvelopeOpener.reopen($0, stanza: SecretBytes(count: 5), keyIndex: 0, sections: .storyIfAvailable) }
        }

        // Every byte of the story section, flipped: the first step refuses it.
        let onlyReviewer = try EnvelopeSealer.seal(id: Receipt.generate().entryID, answers: answers, story: SecretBytes(copying: story), recipients: [rr])
        let layout = try EnvelopeLayout.parse(onlyReviewer)
        for i in stride(from: layout.storyRange.lowerBound, to: layout.storyRange.upperBound, by: 13) + [layout.storyRange.upperBound - 1] {
            var bad = onlyReviewer
            bad[i] ^= 0x01
            #expect(throws: EnvelopeError.sectionAuthenticationFailed(section: "story"), "byte \(i)") {
                _ = try EnvelopeOpener.open(bad, keys: [reviewer], sections: .answersVerifyingStory)
            }
        }
    }

    /// With an analyst key given before a reviewer key, the story is still found, whichever order the
    /// stanzas are in (the sender shuffles them); for the answers alone the first key that opens is used.
    @Test func theReviewerStanzaIsFoundWhateverTheOrderOfKeysAndStanzas() throws {
        let (rf, rr) = try makeKey("rev", .reviewer)
        let (af, ar) = try makeKey("ana", .analyst)
        let keys = [try unlock(af), try unlock(rf)]
        for _ in 0 ..< 16 {
            let env = try EnvelopeSealer.seal(id: Receipt.generate().entryID, answers: answers, story: SecretBytes(copying: story), recipients: [ar, rr])
            for sections in [EnvelopeOpener.Sections.storyIfAvailable, .answersAndStory, .answersVerifyingStory] {
                let opened = try EnvelopeOpener.open(env, keys: keys, sections: sections)
                let reviewer = opened.role == .reviewer && opened.keyIndex == 1
                #expect(reviewer)
            }
            let answersOnly = try EnvelopeOpener.open(env, keys: keys, sections: .answersOnly)
            let check = answersOnly.answers.encoded() == answers
            #expect(check)
        }
    }

    @Test func freshKeysEveryTime() throws {
        let (_, rr) = try makeKey("rev", .reviewer)
        let id = Receipt.generate().entryID
        let a = try EnvelopeSealer.seal(id: id, answers: answers, story: SecretBytes(copying: story), recipients: [rr])
        let b = try EnvelopeSealer.seal(id: id, answers: answers, story: SecretBytes(copying: story), recipients: [rr])
        #expect(a.count == b.count)
        #expect(a != b)
    }

    @Test func shortStoriesLookAlike() throws {
        let (_, rr) = try makeKey("rev", .reviewer)
        let sizes = try [1, 100, 2000, 4092].map { n in
            try EnvelopeSealer.seal(id: Receipt.generate().entryID, answers: answers, story: SecretBytes(copying: [UInt8](repeating: 65, count: n)), recipients: [rr]).count
        }
        #expect(Set(sizes).count == 1)
    }

    @Test func everyByteIsAuthenticated() throws {
        let (rf, rr) = try makeKey("rev", .reviewer)
        let key = try unlock(rf)
        let env = try EnvelopeSealer.seal(id: Receipt.generate().entryID, answers: answers, story: SecretBytes(copying: story), recipients: [rr])
        // Flip one bit at many positions across every part: nothing must open.
        for i in stride(from: 0, to: env.count, by: 37) {
            var bad = env
            bad[i] ^= 0x20
            #expect(throws: EnvelopeError.self, "byte \(i)") { _ = try EnvelopeOpener.open(bad, keys: [key], sections: .answersAndStory) }
        }
    }

    @Test func tooManyOrNoRecipients() throws {
        let (_, rr) = try makeKey("rev", .reviewer)
        #expect(throws: CoreError.self) { try EnvelopeSealer.seal(id: Receipt.generate().entryID, answers: answers, story: SecretBytes(copying: story), recipients: []) }
        #expect(throws: CoreError.self) {
            try EnvelopeSealer.seal(id: Receipt.generate().entryID, answers: answers, story: SecretBytes(copying: story), recipients: Array(repeating: rr, count: 17))
        }
    }
}

extension Array where Element == UInt8 {
    func containsSubsequence(_ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, needle.count <= count else { return false }
        for i in 0 ... (count - needle.count) where self[i] == needle[0] && Array(self[i ..< i + needle.count]) == needle { return true }
        return false
    }
}
