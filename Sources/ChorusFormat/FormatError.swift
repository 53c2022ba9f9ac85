/// Why bytes were rejected by a decoder of this module. Each case is one fact; `description` is a
/// lowercase phrase that callers put into a sentence with the file name.
public enum FormatError: Error, Equatable, Sendable, CustomStringConvertible {
    case truncated(what: String)
    case trailingBytes(what: String)
    case badMagic(what: String)
    case unsupportedVersion(what: String, version: Int)
    case invalidField(what: String, why: String)
    case tooLarge(what: String, limit: Int)
    case duplicateStanza
    case nonCanonical(what: String)

    public var description: String {
        switch self {
        case let .truncated(what): return "\(what) is truncated"
        case let .trailingBytes(what): return "\(what) has bytes after its end"
        case let .badMagic(what): return "not a \(what) (wrong magic bytes)"
        case let .unsupportedVersion(what, v): return "\(what) has unsupported version \(v)"
        case let .invalidField(what, why): return "\(what): \(why)"
        case let .tooLarge(what, limit): return "\(what) is larger than the limit of \(limit) bytes"
        case .duplicateStanza: return "envelope has two identical recipient stanzas"
        case let .nonCanonical(what): return "\(what) is not in canonical form"
        }
    }
}

/// A key's role: what its holder may do.
public enum Role: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// Opens answers and story (an X25519 key).
    case reviewer = 1
    /// Opens answers only (an X25519 key).
    case analyst = 2
    /// Signs a store's recipients and questionnaires (an Ed25519 key); opens nothing.
    case organisation = 3

    public var description: String {
        switch self {
        case .reviewer: return "reviewer"
        case .analyst: return "analyst"
        case .organisation: return "organisation"
        }
    }

    public init?(name: String) {
        guard let role = Role.allCases.first(where: { $0.description == name }) else { return nil }
        self = role
    }

    /// Whether envelopes are sealed to keys of this role (reviewer and analyst keys).
    public var isRecipient: Bool { self != .organisation }
}
