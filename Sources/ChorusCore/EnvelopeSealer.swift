import ChorusCrypto
import ChorusFormat

/// Where the random bytes of one envelope come from: the system generator, or (for reproducible
/// test vectors and benchmark data only) a seed.
public struct SealRandomness: Sendable {
    private var seeded: SeededRandom?

    public static var system: SealRandomness { SealRandomness(seeded: nil) }

    /// Every byte is derived from `seed` (32 bytes). Never for real submissions.
    public static func deterministic(seed: [UInt8]) -> SealRandomness {
        precondition(seed.count == 32, "deterministic seed must be 32 bytes")
        return SealRandomness(seeded: try! SeededRandom(seed: seed))
    }

    private init(seeded: SeededRandom?) { self.seeded = seeded }

    var isDeterministic: Bool { seeded != nil }

    mutating func bytes(_ n: Int) -> [UInt8] {
        guard seeded != nil else { return Random.bytes(n) }
        var out: [UInt8] = []
        out.reserveCapacity(n + 8)
        while out.count < n { out += BigEndian.bytes(seeded!.next()) }
        return Array(out.prefix(n))
    }

    mutating func secret(_ n: Int) -> SecretBytes {
        if seeded == nil { return SecretBytes.random(count: n) }
        var b = bytes(n)
        defer { secureZero(&b) }
        return SecretBytes(copying: b)
    }

    mutating func shuffle<T>(_ a: inout [T]) {
        if seeded != nil {
            a.shuffle(using: &seeded!)
        } else {
            var system = SystemRandom()
            a.shuffle(using: &system)
        }
    }
}

/// The keys of one envelope (FORMAT.md 5.1).
struct EnvelopeKeys: ~Copyable {
    static let context = "CHORUSv1"
    let mac: SecretBytes
    let answers: SecretBytes
    let story: SecretBytes

    init(fileKey: borrowing SecretBytes) throws {
        let m = try KDF.deriveSubkey(from: fileKey, id: 1, context: Self.context)
        let a = try KDF.deriveSubkey(from: fileKey, id: 2, context: Self.context)
        let s = try KDF.deriveSubkey(from: fileKey, id: 3, context: Self.context)
        self.init(mac: m, answers: a, story: s)
    }

    init(mac: consuming SecretBytes, answers: consuming SecretBytes, story: consuming SecretBytes) {
        self.mac = mac; self.answers = answers; self.story = story
    }

    /// The 97-byte stanza plaintext for `role`.
    func stanzaPlaintext(role: Role) -> SecretBytes {
        var s = SecretBytes(count: EnvelopeFormat.stanzaPlaintextLength)
        s.withUnsafeMutableBytes { out in
            out[EnvelopeFormat.Stanza.role] = role.rawValue
            mac.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: out[EnvelopeFormat.Stanza.macKey]).copyMemory(from: $0) }
            answers.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: out[EnvelopeFormat.Stanza.answersKey]).copyMemory(from: $0) }
            if role == .reviewer {
                story.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: out[EnvelopeFormat.Stanza.storyKey]).copyMemory(from: $0) }
            }
        }
        return s
    }
}

/// A secret held by a class reference, so that several can be kept in an array (`SecretBytes` is
/// not copyable).
final class HeldSecret {
    let bytes: SecretBytes
    init(_ bytes: consuming SecretBytes) { self.bytes = bytes }
}

/// Sealing one submission into an envelope.
public enum EnvelopeSealer {
    /// Seals `answers` (canonical answers bytes) and `story` to `recipients` under entry id `id`.
    public static func seal(id: [UInt8], answers: [UInt8], story: borrowing SecretBytes, recipients: [RecipientKey],
                            randomness: SealRandomness = .system) throws -> [UInt8] {
        guard id.count == EnvelopeFormat.idLength else { throw CoreError(.bug, "an entry id must be 32 bytes") }
        guard !recipients.isEmpty, recipients.count <= EnvelopeFormat.maxStanzas else {
            throw CoreError(.invalidRecipients, "an envelope needs 1 to \(EnvelopeFormat.maxStanzas) recipients, not \(recipients.count)")
        }
        var rng = randomness
        let pa = Padme.sectionLength(content: answers.count, minimum: EnvelopeFormat.answersMinimum)
        let ps = Padme.sectionLength(content: story.count, minimum: EnvelopeFormat.storyMinimum)
        guard pa <= EnvelopeFormat.answersMaximum else { throw CoreError(.tooLargeToSeal, "the answers are too large to seal") }
        guard ps <= EnvelopeFormat.storyMaximum else { throw CoreError(.tooLargeToSeal, "the story is too large to seal") }

        let keys = try EnvelopeKeys(fileKey: rng.secret(32))
        let stanzas = recipients.map { (HeldSecret(keys.stanzaPlaintext(role: $0.role)), $0.publicKey) }
        var answersPlain = SecretBytes(count: pa)
        answersPlain.withUnsafeMutableBytes { o in answers.withUnsafeBytes { SectionPadding.fill(o, content: $0) } }
        var storyPlain = SecretBytes(count: ps)
        storyPlain.withUnsafeMutableBytes { o in story.withUnsafeBytes { SectionPadding.fill(o, content: $0) } }
        return try assemble(id: id, stanzas: stanzas, keys: keys, answersPlain: answersPlain, storyPlain: storyPlain, randomness: &rng)
    }

    /// Builds the bytes of an envelope from its parts (FORMAT.md 5.2 to 5.5): seals each stanza, writes
    /// the header and its MAC, encrypts both padded sections.
    static func assemble(id: [UInt8], stanzas: [(HeldSecret, PublicKey)], keys: borrowing EnvelopeKeys,
                         answersPlain: borrowing SecretBytes, storyPlain: borrowing SecretBytes,
                         randomness rng: inout SealRandomness) throws -> [UInt8] {
        var sealed: [[UInt8]] = []
        for (plain, publicKey) in stanzas {
            if rng.isDeterministic {
                sealed.append(try SealedBox.sealDeterministically(plain.bytes, to: publicKey, ephemeralSeed: rng.secret(32)))
            } else {
                sealed.append(SealedBox.seal(plain.bytes, to: publicKey))
            }
        }
        rng.shuffle(&sealed)
        var out = EnvelopeFormat.header(id: id, stanzas: sealed, answersLength: answersPlain.count, storyLength: storyPlain.count)
        out += try BLAKE2b.keyedHash(out, key: keys.mac)
        let fullHeader = out
        out += try XChaCha20Poly1305.seal(answersPlain, associatedData: fullHeader,
                                          nonce: EnvelopeFormat.answersNonce, key: keys.answers)
        out += try XChaCha20Poly1305.seal(storyPlain, associatedData: fullHeader,
                                          nonce: EnvelopeFormat.storyNonce, key: keys.story)
        return out
    }

    /// Test vectors only: an envelope whose stanza plaintexts and padded section plaintexts are given
    /// as they are, possibly invalid, so that decoders can be tested on every must-reject case. The MAC
    /// and the sections are computed with the given keys (32 bytes each). Deterministic from `seed`.
    @_spi(Vectors)
    public static func craft(id: [UInt8], stanzas: [(plaintext: [UInt8], recipient: PublicKey)], macKey: [UInt8], answersKey: [UInt8],
                             storyKey: [UInt8], answersPlain: [UInt8], storyPlain: [UInt8], seed: [UInt8]) throws -> [UInt8] {
        var rng = SealRandomness.deterministic(seed: seed)
        let keys = EnvelopeKeys(mac: SecretBytes(copying: macKey), answers: SecretBytes(copying: answersKey), story: SecretBytes(copying: storyKey))
        return try assemble(id: id, stanzas: stanzas.map { (HeldSecret(SecretBytes(copying: $0.plaintext)), $0.recipient) }, keys: keys,
                            answersPlain: SecretBytes(copying: answersPlain), storyPlain: SecretBytes(copying: storyPlain), randomness: &rng)
    }

    /// Test vectors only: the three section keys an envelope sealed from `seed` uses (FORMAT.md 5.1),
    /// so crafted envelopes can reuse them.
    @_spi(Vectors)
    public static func derivedKeys(fileKey: [UInt8]) throws -> (mac: [UInt8], answers: [UInt8], story: [UInt8]) {
        let k = try EnvelopeKeys(fileKey: SecretBytes(copying: fileKey))
        return (k.mac.revealedBytes(), k.answers.revealedBytes(), k.story.revealedBytes())
    }
}
