import ChorusCrypto
import ChorusFormat

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
                // A reader uses the role of its own key, as its secret key file authenticates it: a
                // stanza that claims another role was made to fool it (FORMAT.md 5.6 step 2).
                let claimed = plain.withUnsafeBytes { $0[EnvelopeFormat.Stanza.role] }
                if let role = Role(rawValue: claimed), role.isRecipient, role != key.role { throw .roleMismatch }
                if wantsStory && reserveKey < 0 && plain.withUnsafeBytes({ $0[EnvelopeFormat.Stanza.role] }) != Role.reviewer.rawValue {
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
        let roleByte = plain.withUnsafeBytes { $0[EnvelopeFormat.Stanza.role] }
        guard let role = Role(rawValue: roleByte), role.isRecipient else { throw .badStanza }
        let macKey = EnvelopeFormat.Stanza.macKey, answersKey = EnvelopeFormat.Stanza.answersKey, storyKey = EnvelopeFormat.Stanza.storyKey
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
            let opened = try openSection(bytes, range: layout.storyRange, ad: fullHeader, nonce: EnvelopeFormat.storyNonce,
                                         key: plain, keyRange: storyKey, minimum: EnvelopeFormat.storyMinimum, name: "story")
            // The story is text (FORMAT.md 5.5): a reader refuses what submit would have refused.
            do {
                _ = try Story.validate(opened, maxBytes: Int.max)
            } catch {
                throw .badSectionContent(section: "story", .invalidField(what: "story", why: error.message))
            }
            story = .some(opened)
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
