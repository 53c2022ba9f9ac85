#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A failed system call or file operation: what kind of failure it is, the errno behind it when
/// there is one, and one lowercase sentence naming the path and the reason (in the spirit of
/// swift-nio's `IOError(errnoCode:reason:)`). Callers decide what to do from `kind` and `errno`,
/// never from the text; only the command line turns a kind into an exit status.
public struct SystemError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// A named input does not exist.
        case notFound
        /// A file Chorus was asked to create exists already (Chorus never overwrites one).
        case alreadyExists
        /// The folder a new file was to be created in does not exist, or a path is not a file name.
        case cannotCreate
        /// The caller may not do it (`EACCES`, `EPERM`).
        case permissionDenied
        /// The file system is mounted read-only (`EROFS`).
        case readOnly
        /// The disk or the quota is full, or a file would grow too large (`ENOSPC`, `EDQUOT`, `EFBIG`).
        case noSpace
        /// A folder, a FIFO, a socket or a device was given where a regular file belongs.
        case notARegularFile
        /// A user-given file is larger than its limit.
        case tooLarge
        /// A path given by the user is not a file name at all.
        case invalidPath
        /// A prompt needed a terminal and there is none.
        case noTerminal
        /// Any other failure of a call (the errno says which).
        case io
    }

    public let kind: Kind
    /// The errno of the failed call, if the failure came from one.
    public let errno: Int32?
    /// One lowercase sentence, e.g. "cannot write /srv/store/tmp/x: no space left on device".
    public let message: String

    public var description: String { message }

    public init(_ kind: Kind, _ message: String, errno: Int32? = nil) {
        self.kind = kind
        self.message = message
        self.errno = errno
    }

    /// "cannot <action> <path>: <reason>", with the kind that `code` means. `path` must already be
    /// safe to show (see `displaySafe`).
    public static func call(_ action: String, _ path: String, _ code: Int32) -> SystemError {
        SystemError(kind(of: code), "cannot \(action) \(path): \(reason(code))", errno: code)
    }

    /// The kind of failure an errno stands for.
    public static func kind(of code: Int32) -> Kind {
        switch code {
        case EACCES, EPERM: return .permissionDenied
        case EROFS: return .readOnly
        case ENOSPC, EDQUOT, EFBIG: return .noSpace
        default: return .io
        }
    }

    /// The reason for `code` as a lowercase phrase, e.g. "no space left on device". The only place
    /// that turns an errno into words.
    public static func reason(_ code: Int32) -> String {
        switch code {
        case ENOSPC: return "no space left on device"
        case EDQUOT: return "disk quota exceeded"
        case EACCES: return "permission denied"
        case EPERM: return "operation not permitted"
        case EROFS: return "the file system is read-only"
        case ENOENT: return "no such file or folder"
        case EEXIST: return "it already exists"
        case ELOOP: return "it is a symbolic link, which is never followed here"
        case ENOTDIR: return "a part of the path is not a folder"
        case EISDIR: return "it is a folder"
        case EIO: return "input/output error"
        case EFBIG: return "the file would be too large"
        case EMFILE, ENFILE: return "too many open files"
        default:
            guard let c = strerror(code) else { return "error \(code)" }
            let s = String(decoding: UnsafeRawBufferPointer(start: c, count: strlen(c)), as: UTF8.self)
            guard let first = s.first else { return "error \(code)" }
            return first.lowercased() + s.dropFirst()
        }
    }

    /// True for the failures of a whole file system or of permissions (a full disk, a quota, a
    /// read-only mount, a failing device, no descriptors left): what the user must hear about in
    /// terms of what was being done rather than of a temporary file they never see.
    public var isFileSystemWide: Bool {
        guard let code = errno else { return false }
        return [ENOSPC, EDQUOT, EFBIG, EROFS, EACCES, EPERM, EIO, EMFILE, ENFILE].contains(code)
    }

    /// Runs `body`; a file-system-wide failure it throws becomes the one sentence
    /// "cannot <what>: <reason>; <outcome>" (same kind and errno), which says what was being done
    /// and what was left. Any other error passes through unchanged.
    @discardableResult
    public static func explaining<T>(_ what: String, _ outcome: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let e as SystemError where e.isFileSystemWide {
            throw SystemError(e.kind, "cannot \(what): \(reason(e.errno!)); \(outcome)", errno: e.errno)
        }
    }
}

/// An errno from one of the loops of `Posix`, for callers that word their own error.
public struct Errno: Error, Sendable, Equatable {
    public let code: Int32
    public init(_ code: Int32) { self.code = code }

    /// The errno of `error` if it is an `Errno` (closures of the standard library rethrow untyped),
    /// else EIO.
    public static func code(of error: Error) -> Int32 { (error as? Errno)?.code ?? EIO }
}

/// The errors of Chorus's modules: a kind that code decides on, and one lowercase sentence for the
/// user. `SystemError`, `CoreError`, `StoreError` and `ReadingError` conform.
public protocol KindedError: Error, CustomStringConvertible {
    associatedtype Kind: Equatable & Sendable
    var kind: Kind { get }
    var message: String { get }
}

extension SystemError: KindedError {}
