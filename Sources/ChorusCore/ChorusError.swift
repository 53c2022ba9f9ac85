/// Exit statuses (sysexits.h) used by every command.
public enum ExitStatus: Int32, Sendable {
    case success = 0
    /// Bad command line or bad answers.
    case usage = 64
    /// Bad or tampered data (the rest of the work was still done).
    case dataError = 65
    /// A named input does not exist.
    case noInput = 66
    /// Internal error.
    case software = 70
    /// Cannot create an output file.
    case cannotCreate = 73
    /// Reading or writing failed.
    case ioError = 74
    /// Permissions: a key readable by others, a wrong passphrase, a read-only store.
    case permission = 77
}

/// An error a user sees: one sentence saying what and where, and the exit status it leads to.
public struct ChorusError: Error, CustomStringConvertible, Sendable, Equatable {
    public let status: ExitStatus
    public let message: String

    public init(_ status: ExitStatus, _ message: String) {
        self.status = status
        self.message = message
    }

    public var description: String { message }

    public static func usage(_ m: String) -> ChorusError { ChorusError(.usage, m) }
    public static func data(_ m: String) -> ChorusError { ChorusError(.dataError, m) }
    public static func noInput(_ m: String) -> ChorusError { ChorusError(.noInput, m) }
    public static func io(_ m: String) -> ChorusError { ChorusError(.ioError, m) }
    public static func permission(_ m: String) -> ChorusError { ChorusError(.permission, m) }
}
