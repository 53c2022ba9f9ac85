import ChorusSystem

/// Why a reading pipeline (review, stats, verify with a key) stopped: a kind that callers decide on,
/// and one lowercase sentence. Failures of system calls are `SystemError`s, of stores and batches
/// `StoreError`s; entries that do not open are never errors here but counted problems.
public struct ReadingError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// A temporary file of this process changed under it while it ran.
        case temporaryFileAltered
        /// The sources have nothing the run can work with (no questionnaire, different ones).
        case unusableSources
        /// A parameter of the run does not fit the sources (a field that does not exist, ...).
        case invalidRequest
        /// An entry too large to show.
        case entryTooLarge
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

extension ReadingError: KindedError {}
