import ChorusCrypto
import ChorusFormat

/// Why an envelope could not be opened. Each case is one kind of problem, counted separately by readers.
public enum EnvelopeError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The framing is wrong (no key was needed to see it).
    case malformed(FormatError)
    /// None of the stanzas opens with the given keys.
    case notRecipient
    /// A stanza opened but its content is not valid (wrong size, unknown role, inconsistent keys).
    case badStanza
    /// The header MAC does not verify: the header was altered.
    case headerMACMismatch
    /// A section's AEAD tag does not verify.
    case sectionAuthenticationFailed(section: String)
    /// A section decrypted but its content is not canonical.
    case badSectionContent(section: String, FormatError)
    /// The story was asked for, but the key that opened the envelope is an analyst key.
    case storyNotAvailable

    public var description: String {
        switch self {
        case let .malformed(e): return "malformed envelope: \(e)"
        case .notRecipient: return "not sealed to this key"
        case .badStanza: return "a recipient stanza holds invalid keys"
        case .headerMACMismatch: return "header MAC mismatch (the envelope was altered)"
        case let .sectionAuthenticationFailed(s): return "the \(s) section failed authentication (altered or swapped)"
        case let .badSectionContent(s, e): return "the \(s) section is invalid: \(e)"
        case .storyNotAvailable: return "the story needs a reviewer key; an analyst key opens the answers only"
        }
    }

    /// A short stable name for counting and for test vectors.
    public var kind: String {
        switch self {
        case let .malformed(e):
            switch e {
            case .truncated: return "truncated"
            case .trailingBytes: return "trailing-bytes"
            case .badMagic: return "bad-magic"
            case .unsupportedVersion: return "unsupported-version"
            case .duplicateStanza: return "duplicate-stanza"
            default: return "malformed"
            }
        case .notRecipient: return "not-recipient"
        case .badStanza: return "bad-stanza"
        case .headerMACMismatch: return "header-mac-mismatch"
        case .sectionAuthenticationFailed: return "section-auth-failed"
        case .badSectionContent: return "bad-section-content"
        case .storyNotAvailable: return "story-not-available"
        }
    }
}

/// Where the random bytes of one envelope come from: the system generator, or (for reproducible
/// test vectors and benchmark data only) a seed.
public struct SealRandomness: Sendable {
    private let seed: [UInt8]?
    private var counter: UInt64 = 0

    public static var system: SealRandomness { SealRandomness(seed: nil) }

    /// Every byte is derived from `seed` (32 bytes). Never for real submissions.
    public static func deterministic(seed: [UInt8]) -> SealRandomness {
        precondition(seed.count == 32, "deterministic seed must be 32 bytes")
        return SealRandomness(seed: seed)
    }

    private init(seed: [UInt8]?) { self.seed = seed }

    var isDeterministic: Bool { seed != nil }

    mutating func bytes(_ n: Int) -> [UInt8] {
        guard let seed else { return Random.bytes(n) }
        counter += 1
        var c = [UInt8]()
        for s in stride(from: 56, through: 0, by: -8) { c.append(UInt8((counter >> UInt64(s)) & 0xff)) }
        return try! Random.deterministicBytes(n, seed: BLAKE2b.hash(seed + c, outputLength: 32))
    }

    mutating func secret(_ n: Int) -> SecretBytes {
        if seed == nil { return SecretBytes.random(count: n) }
        var b = bytes(n)
        defer { secureZero(&b) }
        return SecretBytes(copying: b)
    }

    mutating func shuffle<T>(_ a: inout [T]) {
        if seed == nil { Random.shuffle(&a); return }
        var i = a.count
        while i > 1 {
            let r = bytes(8).reduce(UInt64(0)) { ($0 << 8) | UInt64($1) }
            let j = Int(r % UInt64(i))  // bias is irrelevant for test data
            i -= 1
            a.swapAt(i, j)
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
            out[0] = role.rawValue
            mac.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: out[1 ..< 33]).copyMemory(from: $0) }
            answers.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: out[33 ..< 65]).copyMemory(from: $0) }
            if role == .reviewer { story.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: out[65 ..< 97]).copyMemory(from: $0) } }
        }
        return s
    }
}

/// A secret in a class box, so that several can be kept in an array.
final class SecretBox {
    let bytes: SecretBytes
    init(_ bytes: consuming SecretBytes) { self.bytes = bytes }
}

/// Sealing one submission into an envelope.
public enum EnvelopeSealer {
    /// Seals `answers` (canonical answers bytes) and `story` to `recipients` under entry id `id`.
    public static func seal(id: [UInt8], answers: [UInt8], story: borrowing SecretBytes, recipients: [RecipientKey],
                            randomness: SealRandomness = .system) throws -> [UInt8] {
        guard id.count == EnvelopeFormat.idLength else { throw ChorusError.data("an entry id must be 32 bytes") }
        guard !recipients.isEmpty, recipients.count <= EnvelopeFormat.maxStanzas else {
            throw ChorusError.usage("an envelope needs 1 to \(EnvelopeFormat.maxStanzas) recipients, not \(recipients.count)")
        }
        var rng = randomness
        let pa = Padme.sectionLength(content: answers.count, minimum: EnvelopeFormat.answersMinimum)
        let ps = Padme.sectionLength(content: story.count, minimum: EnvelopeFormat.storyMinimum)
        guard pa <= EnvelopeFormat.answersMaximum else { throw ChorusError.data("the answers are too large to seal") }
        guard ps <= EnvelopeFormat.storyMaximum else { throw ChorusError.data("the story is too large to seal") }

        let keys = try EnvelopeKeys(fileKey: rng.secret(32))
        let stanzas = recipients.map { (SecretBox(keys.stanzaPlaintext(role: $0.role)), $0.publicKey) }
        var answersPlain = SecretBytes(count: pa)
        answersPlain.withUnsafeMutableBytes { o in answers.withUnsafeBytes { SectionPadding.fill(o, content: $0) } }
        var storyPlain = SecretBytes(count: ps)
        storyPlain.withUnsafeMutableBytes { o in story.withUnsafeBytes { SectionPadding.fill(o, content: $0) } }
        return try assemble(id: id, stanzas: stanzas, keys: keys, answersPlain: answersPlain, storyPlain: storyPlain, randomness: &rng)
    }

    /// Builds the bytes of an envelope from its parts (FORMAT.md 5.2 to 5.5): seals each stanza, writes
    /// the header and its MAC, encrypts both padded sections.
    static func assemble(id: [UInt8], stanzas: [(SecretBox, PublicKey)], keys: borrowing EnvelopeKeys,
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
                                          nonce: EnvelopeFormat.nonce(section: EnvelopeFormat.answersSection), key: keys.answers)
        out += try XChaCha20Poly1305.seal(storyPlain, associatedData: fullHeader,
                                          nonce: EnvelopeFormat.nonce(section: EnvelopeFormat.storySection), key: keys.story)
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
        return try assemble(id: id, stanzas: stanzas.map { (SecretBox(SecretBytes(copying: $0.plaintext)), $0.recipient) }, keys: keys,
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

/// What a key could open of one envelope.
public struct OpenedEnvelope: ~Copyable, Sendable {
    public let id: [UInt8]
    /// The header MAC: with the id, what tells two copies of one envelope from two envelopes.
    public let mac: [UInt8]
    /// Which of the keys given to `open` opened it.
    public let keyIndex: Int
    /// The role of the stanza that opened: an analyst stanza never yields a story.
    public let role: Role
    public let answers: AnswersText
    /// The story, when it was asked for (reviewer stanzas only).
    public let story: SecretBytes?
    /// The plaintext of the stanza that opened (role and section keys), kept only for
    /// `.answersVerifyingStory`, to open the rest later with `EnvelopeOpener.reopen`.
    public let stanza: SecretBytes?

    /// Whether a story was opened.
    public var hasStory: Bool {
        switch story {
        case .some: return true
        case .none: return false
        }
    }
}

/// Opening envelopes with one or more unlocked keys (FORMAT.md 5.6).
public enum EnvelopeOpener {
    public enum Sections: Sendable {
        /// The answers; the story section is not decrypted.
        case answersOnly
        /// The answers and the story; an analyst stanza fails with `storyNotAvailable`.
        case answersAndStory
        /// The answers, and the story when the stanza that opened is a reviewer's.
        case storyIfAvailable
        /// The answers; with a reviewer stanza, the story section's tag is checked but nothing of it
        /// is decrypted, and the stanza's plaintext is kept (`OpenedEnvelope.stanza`) so that the
        /// story can be opened later with `reopen`. (A reader that holds many entries, like review,
        /// keeps the envelope, which is already encrypted, instead of the story in clear.)
        case answersVerifyingStory
    }

    /// Opens `bytes` with the first of `keys` that is a recipient. The MAC is checked before any section
    /// is decrypted; the story section is decrypted only when asked for, and only with a reviewer stanza.
    public static func open(_ bytes: UnsafeRawBufferPointer, keys: [UnlockedKey], sections: Sections) throws(EnvelopeError) -> OpenedEnvelope {
        let layout: EnvelopeLayout
        do { layout = try EnvelopeLayout.parse(bytes) } catch { throw .malformed(error) }

        // One buffer for the stanza plaintext, tried against each stanza and key in turn; the three
        // keys it holds are used where they are (by range), never copied.
        var plain = SecretBytes(count: EnvelopeFormat.stanzaPlaintextLength)
        var keyIndex = -1
        // When the story is wanted and reviewer keys are given, an analyst stanza that opens first is
        // only kept in reserve: the search goes on, with the reviewer keys, for a stanza that gives
        // the story (whatever the order of the keys and of the stanzas).
        let wantsStory = sections != .answersOnly && keys.contains { $0.role == .reviewer }
        var reserveKey = -1
        var reservePlain: SecretBytes? = nil
        search: for i in 0 ..< layout.stanzaCount {
            let stanza = UnsafeRawBufferPointer(rebasing: bytes[layout.stanzaRange(i)])
            for (k, key) in keys.enumerated() {
                if reserveKey >= 0 && key.role != .reviewer { continue }
                let openedHere = (try? SealedBox.open(stanza, with: key.secret, into: &plain)) ?? false
                guard openedHere else { continue }
                if wantsStory && reserveKey < 0 && plain.withUnsafeBytes({ $0[0] }) != Role.reviewer.rawValue {
                    reserveKey = k
                    reservePlain = plain.copy()
                    continue
                }
                keyIndex = k
                break search
            }
        }
        if keyIndex < 0, let kept = reservePlain.take() {
            return try finish(bytes, layout: layout, stanza: kept, keyIndex: reserveKey, sections: sections)
        }
        guard keyIndex >= 0 else { throw .notRecipient }
        return try finish(bytes, layout: layout, stanza: plain, keyIndex: keyIndex, sections: sections)
    }

    /// Opens `bytes` again with the stanza plaintext that `open` kept (`.answersVerifyingStory`): the
    /// same checks as `open` (layout, MAC, sections), without trying any key. `keyIndex` is reported
    /// back as is.
    public static func reopen(_ bytes: UnsafeRawBufferPointer, stanza: borrowing SecretBytes, keyIndex: Int,
                              sections: Sections) throws(EnvelopeError) -> OpenedEnvelope {
        let layout: EnvelopeLayout
        do { layout = try EnvelopeLayout.parse(bytes) } catch { throw .malformed(error) }
        guard stanza.count == EnvelopeFormat.stanzaPlaintextLength else { throw .badStanza }
        return try finish(bytes, layout: layout, stanza: stanza.copy(), keyIndex: keyIndex, sections: sections)
    }

    public static func reopen(_ bytes: [UInt8], stanza: borrowing SecretBytes, keyIndex: Int, sections: Sections) throws(EnvelopeError) -> OpenedEnvelope {
        var opened: OpenedEnvelope? = nil
        var failure: EnvelopeError? = nil
        bytes.withUnsafeBytes { b in
            do throws(EnvelopeError) { opened = try reopen(b, stanza: stanza, keyIndex: keyIndex, sections: sections) } catch { failure = error }
        }
        if let failure { throw failure }
        return opened.take()!
    }

    /// Everything after a stanza opened: its role and keys, the MAC, then the sections asked for.
    private static func finish(_ bytes: UnsafeRawBufferPointer, layout: EnvelopeLayout, stanza plain: consuming SecretBytes,
                               keyIndex: Int, sections: Sections) throws(EnvelopeError) -> OpenedEnvelope {
        let roleByte = plain.withUnsafeBytes { $0[0] }
        guard let role = Role(rawValue: roleByte) else { throw .badStanza }
        let macKey = 1 ..< 33, answersKey = 33 ..< 65, storyKey = 65 ..< 97
        guard let storyIsZero = try? plain.isAllZero(in: storyKey), (role == .analyst) == storyIsZero else { throw .badStanza }

        let header = UnsafeRawBufferPointer(rebasing: bytes[0 ..< layout.headerLength])
        let macBytes = UnsafeRawBufferPointer(rebasing: bytes[layout.macRange])
        guard (try? BLAKE2b.keyedHashMatches(header, key: plain, keyRange: macKey, expected: macBytes)) == true else { throw .headerMACMismatch }

        let fullHeader = UnsafeRawBufferPointer(rebasing: bytes[0 ..< layout.fullHeaderLength])
        let answers = try openSection(bytes, range: layout.answersRange, ad: fullHeader, nonce: EnvelopeFormat.answersNonce,
                                      key: plain, keyRange: answersKey, minimum: EnvelopeFormat.answersMinimum, name: "answers")
        let answersText: AnswersText
        do {
            answersText = try answers.withUnsafeBytes { try AnswersText.decode($0) }
        } catch let e as FormatError {
            throw .badSectionContent(section: "answers", e)
        } catch {
            throw .badSectionContent(section: "answers", .invalidField(what: "answers", why: "\(error)"))
        }

        var story: SecretBytes? = nil
        if sections == .answersAndStory && role != .reviewer { throw .storyNotAvailable }
        if sections == .answersVerifyingStory {
            if role == .reviewer {
                guard XChaCha20Poly1305.verify(UnsafeRawBufferPointer(rebasing: bytes[layout.storyRange]), associatedData: fullHeader,
                                               nonce: EnvelopeFormat.storyNonce, key: plain, keyRange: storyKey) else {
                    throw .sectionAuthenticationFailed(section: "story")
                }
            }
            return OpenedEnvelope(id: layout.id, mac: Array(macBytes), keyIndex: keyIndex, role: role, answers: answersText, story: nil,
                                  stanza: plain)
        }
        if sections != .answersOnly && role == .reviewer {
            story = try openSection(bytes, range: layout.storyRange, ad: fullHeader, nonce: EnvelopeFormat.storyNonce,
                                    key: plain, keyRange: storyKey, minimum: EnvelopeFormat.storyMinimum, name: "story")
        }
        return OpenedEnvelope(id: layout.id, mac: Array(macBytes), keyIndex: keyIndex, role: role, answers: answersText, story: story,
                              stanza: nil)
    }

    public static func open(_ bytes: [UInt8], keys: [UnlockedKey], sections: Sections) throws(EnvelopeError) -> OpenedEnvelope {
        var opened: OpenedEnvelope? = nil
        var failure: EnvelopeError? = nil
        bytes.withUnsafeBytes { b in
            do throws(EnvelopeError) { opened = try open(b, keys: keys, sections: sections) } catch { failure = error }
        }
        if let failure { throw failure }
        return opened.take()!
    }

    /// Decrypts one section and returns its content (without length prefix and padding).
    private static func openSection(_ bytes: UnsafeRawBufferPointer, range: Range<Int>, ad: UnsafeRawBufferPointer, nonce: [UInt8],
                                    key: borrowing SecretBytes, keyRange: Range<Int>, minimum: Int, name: String) throws(EnvelopeError) -> SecretBytes {
        let plain: SecretBytes
        do {
            plain = try XChaCha20Poly1305.open(UnsafeRawBufferPointer(rebasing: bytes[range]), associatedData: ad,
                                               nonce: nonce, key: key, keyRange: keyRange)
        } catch {
            throw .sectionAuthenticationFailed(section: name)
        }
        let content: Range<Int>
        do {
            content = try plain.withUnsafeBytes { try SectionPadding.contentRange($0, minimum: minimum, what: name) }
        } catch let e as FormatError {
            throw .badSectionContent(section: name, e)
        } catch {
            throw .badSectionContent(section: name, .truncated(what: name))
        }
        do { return try plain.slice(content) } catch { throw .badSectionContent(section: name, .truncated(what: name)) }
    }
}
