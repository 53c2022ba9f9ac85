import ChorusSystem

/// Why a store or a batch could not be used: a kind that callers decide on, and one lowercase
/// sentence naming the store, the file and the reason. Failures of system calls are `SystemError`s.
public struct StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// There is no store at the path given.
        case noStore
        /// The path is not a complete Chorus store of a version this build reads (a file, a link, a
        /// folder without configuration, a damaged configuration, a missing or linked subfolder).
        case notAStore
        /// A store cannot be created there (no parent folder, not empty, a file, a link).
        case cannotCreate
        /// The store has no signed recipients document yet (the organisation has not signed it).
        case unsigned
        /// The store's files disagree with what the organisation signed (its configuration's
        /// questionnaire, or a document signed for another store).
        case notAsSigned
        /// A file that is not a valid batch (header, recipients document, tombstones).
        case invalidBatch
        /// An envelope the store does not take (malformed, or its story is over the store's limit).
        case invalidEntry
        /// A file changed while it was being read (an inbox entry while batching, a batch read again).
        case changedWhileReading
        /// A parameter out of range (a story limit, an entry count).
        case invalidArgument
        /// A broken promise inside the program.
        case bug
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}

extension StoreError: KindedError {}
