import ChorusCore
import ChorusCrypto
import ChorusFormat
import ChorusIntake
import ChorusReading
import ChorusStats
import ChorusStore
import ChorusSystem

/// Exit statuses (sysexits.h) used by every command.
enum ExitStatus: Int32, Sendable {
    case success = 0
    /// Bad command line or bad answers.
    case usage = 64
    /// Bad or tampered data (the rest of the work was still done).
    case dataError = 65
    /// A named input does not exist.
    case noInput = 66
    /// A server could not be reached, or refused for now (EX_UNAVAILABLE).
    case unavailable = 69
    /// Internal error.
    case software = 70
    /// Cannot create an output file.
    case cannotCreate = 73
    /// Reading or writing failed.
    case ioError = 74
    /// A server's answer broke the protocol (EX_PROTOCOL).
    case protocolError = 76
    /// Permissions: a key readable by others, a wrong passphrase, a read-only store.
    case permission = 77

    /// The one place where an error of any module becomes an exit status: each module's errors
    /// carry a kind, and only here does a kind mean a number.
    init(for error: Error) {
        switch error {
        case let e as SystemError:
            switch e.kind {
            case .notFound: self = .noInput
            case .alreadyExists, .cannotCreate: self = .cannotCreate
            case .permissionDenied, .readOnly: self = .permission
            case .noSpace, .io: self = .ioError
            case .notARegularFile, .tooLarge: self = .dataError
            case .invalidPath, .noTerminal: self = .usage
            }
        case let e as CoreError:
            switch e.kind {
            case .invalidKeyName, .invalidPassphrase, .invalidRecipients, .invalidAnswer, .cancelled, .inputEnded, .tooManyAttempts:
                self = .usage
            case .invalidKeyFile, .invalidReceipt, .tooLargeToSeal, .invalidStory, .invalidSchema, .invalidRecipientsDocument,
                 .untrustedOrganisation, .staleRecipients:
                self = .dataError
            case .keyReadableByOthers, .wrongPassphrase: self = .permission
            case .outOfMemory, .unreadableStory: self = .ioError
            case .bug: self = .software
            }
        case let e as StoreError:
            switch e.kind {
            case .noStore: self = .noInput
            case .notAStore, .invalidBatch, .invalidEntry, .unsigned, .notAsSigned: self = .dataError
            case .cannotCreate: self = .cannotCreate
            case .changedWhileReading: self = .ioError
            case .invalidArgument: self = .usage
            case .bug: self = .software
            }
        case let e as ReadingError:
            switch e.kind {
            case .temporaryFileAltered: self = .ioError
            case .unusableSources, .entryTooLarge: self = .dataError
            case .invalidRequest: self = .usage
            case .bug: self = .software
            }
        case let e as CommandError: self = e.status
        case is TerminalError: self = .usage
        case let e as ReleaseLogError:
            switch e {
            case .budgetExceeded, .differencing: self = .permission
            case .corrupt: self = .dataError
            case .io: self = .ioError
            case .invalid: self = .usage
            }
        case let e as StatsError:
            if case .invalidParameter = e { self = .usage } else { self = .software }
        case is EnvelopeError, is FormatError: self = .dataError
        case let e as IntakeError:
            switch e.kind {
            case .usage: self = .usage
            case .unreachable: self = .unavailable
            case let .refused(status): self = status >= 500 ? .unavailable : .dataError
            case .badAnswer: self = .protocolError
            }
        default: self = .software
        }
    }
}

/// The sentence for an error: its own for the errors of Chorus's modules, "unexpected error: …"
/// for anything else (which is a bug).
func sentence(for error: Error) -> String {
    switch error {
    case let e as CommandError: return e.message
    case let e as SystemError: return e.message
    case let e as CoreError: return e.message
    case let e as StoreError: return e.message
    case let e as ReadingError: return e.message
    case let e as TerminalError: return e.description
    case let e as ReleaseLogError: return e.description
    case let e as StatsError: return e.description
    case let e as EnvelopeError: return e.description
    case let e as FormatError: return e.description
    case let e as IntakeError: return e.message
    default: return "unexpected error: \(error)"
    }
}

/// An error worded by the command line itself (a refusal about its own options, or a sentence that
/// combines what several modules said), with the exit status it chose.
struct CommandError: Error {
    let status: ExitStatus
    let message: String

    init(_ status: ExitStatus, _ message: String) {
        self.status = status
        self.message = message
    }
}
