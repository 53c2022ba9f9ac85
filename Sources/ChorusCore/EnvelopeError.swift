import ChorusFormat

/// Why an envelope could not be opened. Each case is one kind of problem, counted separately by readers.
public enum EnvelopeError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The framing is wrong (no key was needed to see it).
    case malformed(FormatError)
    /// None of the stanzas opens with the given keys.
    case notRecipient
    /// A stanza opened but its content is not valid (wrong size, unknown role, inconsistent keys).
    case badStanza
    /// A stanza opened with a key of one role but claims the other: a reviewer stanza sealed to an
    /// analyst key (which would give it the story) or an analyst stanza sealed to a reviewer key.
    case roleMismatch
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
        case .roleMismatch: return "a recipient stanza claims another role than the key that opened it (the envelope was tampered with)"
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
        case .roleMismatch: return "role-mismatch"
        case .headerMACMismatch: return "header-mac-mismatch"
        case .sectionAuthenticationFailed: return "section-auth-failed"
        case .badSectionContent: return "bad-section-content"
        case .storyNotAvailable: return "story-not-available"
        }
    }
}
