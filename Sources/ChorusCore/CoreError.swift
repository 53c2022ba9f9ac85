import ChorusSystem

/// Why something of this module (keys, receipts, sealing, stories, questionnaires) could not be done:
/// a kind that callers decide on, and one lowercase sentence for the user. Opening an envelope has
/// its own `EnvelopeError`, whose kinds readers count.
public struct CoreError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// A key name that cannot be used (it becomes part of file names).
        case invalidKeyName
        /// A file that is not a valid public or secret key, or a key of the wrong kind.
        case invalidKeyFile
        /// A secret key file that other users can read.
        case keyReadableByOthers
        /// The passphrase does not open the key (or the key file was damaged: the two look alike).
        case wrongPassphrase
        /// A passphrase that cannot be used (empty, too short, the two typed differ, no way to ask).
        case invalidPassphrase
        /// Not enough memory for the passphrase hash.
        case outOfMemory
        /// A receipt with a typo, or that is not a receipt.
        case invalidReceipt
        /// The recipients cannot be used (none, no reviewer, too many).
        case invalidRecipients
        /// The answers or the story do not fit an envelope.
        case tooLargeToSeal
        /// A story that is empty, not text, or over the store's limit.
        case invalidStory
        /// The story could not be read (the errno says why).
        case unreadableStory
        /// A questionnaire that breaks a rule of docs/FORMAT.md 7.2.
        case invalidSchema
        /// An answer that does not fit the questionnaire.
        case invalidAnswer
        /// A store's recipients document that is not valid: damaged, not canonical, badly signed.
        case invalidRecipientsDocument
        /// A recipients document signed by another organisation key than the one given or pinned.
        case untrustedOrganisation
        /// A recipients document older than one already seen for the same store (a rollback).
        case staleRecipients
        /// The submitter did not confirm.
        case cancelled
        /// The input ended before a question was answered.
        case inputEnded
        /// Too many replies to one question were not accepted.
        case tooManyAttempts
        /// A broken promise inside the program.
        case bug
    }

    public let kind: Kind
    public let message: String
    /// The errno behind the failure, when there is one.
    public let errno: Int32?

    public init(_ kind: Kind, _ message: String, errno: Int32? = nil) {
        self.kind = kind
        self.message = message
        self.errno = errno
    }

    public var description: String { message }
}

extension CoreError: KindedError {}
