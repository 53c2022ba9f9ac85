import ChorusCrypto

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reading the small files a user names (keys, envelopes, schemas, passphrases) and standard input.
package enum InputFile {
    /// Reads a whole small file given by the user, refusing one larger than `limit`, a folder, and
    /// anything that is not a regular file (a FIFO, a socket, a device): the file is opened with
    /// O_NONBLOCK, so a FIFO planted where an envelope or a key is expected cannot make chorus wait
    /// forever for a writer, nor a device make it read forever. `check` then sees the opened file's
    /// status (e.g. to note a secret key that others can read). Paths are shown through `displaySafe`.
    package static func read(_ path: String, limit: Int, what: String, check: ((stat) throws -> Void)? = nil) throws -> [UInt8] {
        let shown = Posix.shown(path)
        let fd = try open(path, what: what, nonBlocking: true)
        let st = try fileStatus(fd, what: what, shown: shown)
        if Posix.isDirectory(st) { throw SystemError(.notARegularFile, "\(what) \(shown) is a folder, not a file") }
        guard Posix.isRegular(st) else {
            throw SystemError(.notARegularFile, "\(what) \(shown) is not a regular file (it is a pipe, a socket or a device); give a file")
        }
        try check?(st)
        return try readToEnd(fd.raw, limit: limit, path: shown, what: what)
    }

    /// Reads a whole small file into an array if it is a regular file of at most `limit` bytes, with
    /// "PATH is larger than the limit of N bytes" / "PATH is not a regular file" otherwise.
    package static func readRegular(_ fd: OwnedFD, limit: Int, path: String) throws -> [UInt8] {
        let st = try Posix.statFD(fd.raw, path: path)
        guard Posix.isRegular(st) else { throw SystemError(.notARegularFile, "\(path) is not a regular file") }
        guard st.st_size <= limit else { throw SystemError(.tooLarge, "\(path) is larger than the limit of \(limit) bytes") }
        var out = [UInt8](repeating: 0, count: Int(st.st_size))
        let n = try out.withUnsafeMutableBytes { (b) throws in try Posix.read(fd.raw, into: b, at: 0, path: path) }
        if n < out.count { out.removeLast(out.count - n) }
        return out
    }

    /// Opens a user-given input file for reading, or throws one sentence (missing: `.notFound`).
    package static func open(_ path: String, what: String, nonBlocking: Bool) throws -> OwnedFD {
        let shown = Posix.shown(path)
        switch Posix.openPath(path, O_RDONLY | (nonBlocking ? O_NONBLOCK : 0)) {
        case let .success(fd): return fd
        case let .failure(e) where e == ENOENT || e == ENOTDIR:
            throw SystemError(.notFound, "\(what) \(shown) does not exist", errno: e)
        case let .failure(e) where e == EACCES:
            throw SystemError(.permissionDenied, "cannot read \(what) \(shown): permission denied", errno: e)
        case let .failure(e):
            throw SystemError(.io, "cannot open \(what) \(shown): \(SystemError.reason(e))", errno: e)
        }
    }

    private static func fileStatus(_ fd: OwnedFD, what: String, shown: String) throws -> stat {
        var st = stat()
        guard fstat(fd.raw, &st) == 0 else {
            let e = errno
            throw SystemError(.io, "cannot read the attributes of \(what) \(shown): \(SystemError.reason(e))", errno: e)
        }
        return st
    }

    /// Reads a whole small secret file (a passphrase) straight into guarded memory (`sodium_malloc`:
    /// locked out of swap, wiped when freed), so that no copy of it is left in ordinary memory. Pipes
    /// and process substitution (`--passphrase-file <(pass show chorus)`) work: it waits for the writer.
    package static func readSecret(_ path: String, limit: Int, what: String) throws -> SecretBytes {
        let fd = try open(path, what: what, nonBlocking: false)
        return try readSecret(fd: fd.raw, limit: limit, path: Posix.shown(path), what: what)
    }

    /// Reads `fd` to its end, at most `limit` bytes, into guarded memory; `path` names it in messages
    /// and must already be safe to show.
    package static func readSecret(fd: Int32, limit: Int, path: String, what: String) throws -> SecretBytes {
        var buffer = SecretBytes(count: limit + 1, guarded: true)
        let filled: Int
        do {
            filled = try buffer.withUnsafeMutableBytes { (b) in try Posix.read(fd, into: b) }
        } catch {
            throw readFailure(Errno.code(of: error), what: what, path: path)
        }
        guard filled <= limit else { throw SystemError(.tooLarge, "\(what) \(path) is larger than \(limit) bytes") }
        return buffer.prefix(filled)
    }

    /// Reads standard input to its end (at most `limit` bytes), e.g. a receipt piped in.
    package static func readStandardInput(limit: Int, what: String) throws -> [UInt8] {
        try readToEnd(0, limit: limit, path: "from standard input", what: what)
    }

    /// Reads until the end of input, refusing more than `limit` bytes.
    static func readToEnd(_ fd: Int32, limit: Int, path: String, what: String) throws -> [UInt8] {
        var out = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n: Int
            do {
                n = try chunk.withUnsafeMutableBytes { (b) in try Posix.readOnce(fd, into: b) }
            } catch {
                throw readFailure(Errno.code(of: error), what: what, path: path)
            }
            if n == 0 { break }
            out += chunk[0 ..< n]
            guard out.count <= limit else { throw SystemError(.tooLarge, "\(what) \(path) is larger than \(limit) bytes") }
        }
        return out
    }

    /// The error for a failed `read(2)` of `what` at `path`.
    static func readFailure(_ e: Int32, what: String, path: String) -> SystemError {
        if e == EISDIR { return SystemError(.notARegularFile, "\(what) \(path) is a folder, not a file", errno: e) }
        return SystemError(SystemError.kind(of: e), "cannot read \(what) \(path): \(SystemError.reason(e))", errno: e)
    }
}
