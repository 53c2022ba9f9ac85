// Micro-benchmarks of envelope encoding and decoding and of the crypto wrappers, with package-benchmark.
// Run: cd Benchmarks && swift package --scratch-path .build-bench --disable-sandbox benchmark
// (scripts/bench.sh runs them and copies the table into RESULTS.md).
import Benchmark
import ChorusCore
import ChorusCrypto
import ChorusFormat

/// Everything the benchmarks work on, made once: two keys, a 4 KiB story, one envelope.
final class Fixture: @unchecked Sendable {
    let reviewer: UnlockedKey
    let analyst: UnlockedKey
    let recipients: [RecipientKey]
    let answers: [UInt8]
    let story: [UInt8]
    let envelope: [UInt8]
    let layout: EnvelopeLayout
    let stanzaKeys: SecretBytes
    let sectionKey: SecretBytes
    let sealedStory: [UInt8]
    let header: [UInt8]
    let mac: [UInt8]
    let macKey: SecretBytes
    let decoded: AnswersText
    let acceptor: AnswersAcceptor

    init() {
        reviewer = UnlockedKey(role: .reviewer, name: "bench-reviewer", secret: SecretKey.generate())
        analyst = UnlockedKey(role: .analyst, name: "bench-analyst", secret: SecretKey.generate())
        recipients = [RecipientKey(role: .reviewer, publicKey: reviewer.publicKey, name: nil),
                      RecipientKey(role: .analyst, publicKey: analyst.publicKey, name: nil)]
        answers = try! AnswersText(arrivalMonth: "2026-11", questionnaire: Schema.builtIn.digest, fields: [
            "consent": ["counts-only"], "kind": ["physical", "verbal"], "perpetrator-role": ["supervisor"],
            "reported": ["no"], "setting": ["workplace"], "year": ["2019"],
        ]).encoded()
        story = Array(repeating: UInt8(ascii: "s"), count: 4096)
        envelope = try! EnvelopeSealer.seal(id: Receipt.generate().entryID, answers: answers, story: SecretBytes(copying: story),
                                            recipients: recipients)
        layout = try! EnvelopeLayout.parse(envelope)
        stanzaKeys = SecretBytes.random(count: 97)
        sectionKey = SecretBytes.random(count: 32)
        let plain = SecretBytes(copying: [UInt8](repeating: 0, count: 4352))
        header = Array(envelope[0 ..< layout.fullHeaderLength])
        sealedStory = try! XChaCha20Poly1305.seal(plain, associatedData: header, nonce: EnvelopeFormat.storyNonce, key: sectionKey)
        macKey = SecretBytes.random(count: 32)
        mac = try! BLAKE2b.keyedHash(Array(envelope[0 ..< layout.headerLength]), key: macKey)
        decoded = try! answers.withUnsafeBytes { try AnswersText.decode($0) }
        acceptor = AnswersAcceptor(schema: .builtIn)
    }
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: [.wallClock, .throughput, .mallocCountTotal],
                                           maxDuration: .seconds(2), maxIterations: 20_000)
    let f = Fixture()

    // Envelopes
    Benchmark("Envelope seal, 2 recipients, 4 KiB story") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try EnvelopeSealer.seal(id: f.layout.id, answers: f.answers, story: SecretBytes(copying: f.story), recipients: f.recipients))
        }
    }
    Benchmark("Envelope open, answers only (analyst key)") { benchmark in
        for _ in benchmark.scaledIterations {
            let opened = try EnvelopeOpener.open(f.envelope, keys: [f.analyst], sections: .answersOnly)
            blackHole(opened.answers)
        }
    }
    Benchmark("Envelope open, answers and story (reviewer key)") { benchmark in
        for _ in benchmark.scaledIterations {
            let opened = try EnvelopeOpener.open(f.envelope, keys: [f.reviewer], sections: .answersAndStory)
            blackHole(opened.hasStory)
        }
    }
    Benchmark("EnvelopeLayout.parse (structure, no key)") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try EnvelopeLayout.parse(f.envelope)) }
    }
    Benchmark("AnswersText.decode") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try f.answers.withUnsafeBytes { try AnswersText.decode($0) })
        }
    }
    Benchmark("AnswersText.encoded") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(f.decoded.encoded()) }
    }
    Benchmark("AnswersAcceptor.accepts (built-in questionnaire)") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(f.acceptor.accepts(f.decoded)) }
    }

    // Review output
    let storyText = Array(String(repeating: "a story line, with \"quotes\" and a tab\there\n", count: 100).utf8.prefix(4096))
    Benchmark("ReviewJSON.line, 4 KiB story") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(storyText.withUnsafeBytes { ReviewJSON.line(answers: f.decoded, story: $0) }.count)
        }
    }
    let spool = ShuffledSpool()
    let stanzaSecret = [UInt8](repeating: 7, count: 99), place = [UInt8](repeating: 1, count: 17)
    Benchmark("ShuffledSpool.seal, one review record (99-byte secret, 17-byte place)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(stanzaSecret.withUnsafeBytes { s in place.withUnsafeBytes { spool.seal(secret: s, clear: $0) } }.count)
        }
    }
    Benchmark("EnvelopeOpener.reopen with a kept stanza, answers and story") { benchmark in
        let first = try EnvelopeOpener.open(f.envelope, keys: [f.reviewer], sections: .answersVerifyingStory)
        var kept: SecretBytes? = nil
        switch first.stanza {
        case .some(let s): kept = s.copy()
        case .none: break
        }
        let stanza = kept.take()!
        for _ in benchmark.scaledIterations {
            let opened = try EnvelopeOpener.reopen(f.envelope, stanza: stanza, keyIndex: 0, sections: .storyIfAvailable)
            blackHole(opened.hasStory)
        }
    }

    // Crypto wrappers
    let stanza = Array(f.envelope[f.layout.stanzaRange(0)])
    let firstIsReviewer = (try? SealedBox.open(stanza, with: f.reviewer.secret)) != nil
    let rightKey = firstIsReviewer ? f.reviewer : f.analyst, wrongKey = firstIsReviewer ? f.analyst : f.reviewer
    let header = Array(f.envelope[0 ..< f.layout.headerLength])
    Benchmark("SealedBox.open, 145-byte stanza (the right key)") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try SealedBox.open(stanza, with: rightKey.secret).count) }
    }
    Benchmark("SealedBox.open into a buffer, 145-byte stanza (wrong key)") { benchmark in
        let key = wrongKey
        var out = SecretBytes(count: 97)
        for _ in benchmark.scaledIterations {
            blackHole(try stanza.withUnsafeBytes { try SealedBox.open($0, with: key.secret, into: &out) })
        }
    }
    Benchmark("XChaCha20Poly1305.open, 4 KiB story section") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try XChaCha20Poly1305.open(f.sealedStory, associatedData: f.header, nonce: EnvelopeFormat.storyNonce, key: f.sectionKey).count)
        }
    }
    Benchmark("BLAKE2b keyed MAC check, 340-byte header") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try header.withUnsafeBytes { h in
                try f.mac.withUnsafeBytes { try BLAKE2b.keyedHashMatches(h, key: f.macKey, keyRange: 0 ..< 32, expected: $0) }
            })
        }
    }
    Benchmark("BLAKE2b hash, 5 KiB (one batch entry)") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(BLAKE2b.hash(f.envelope)) }
    }
}
