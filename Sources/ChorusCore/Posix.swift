#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file descriptor this process owns, closed when the last reference to it goes. Immutable, so it
/// can be shared between threads (the kernel calls used on it are thread-safe).
final class OwnedFD: Sendable {
    let raw: Int32

    init(_ raw: Int32) {
        precondition(raw >= 0)
        self.raw = raw
    }

    deinit { _ = close(raw) }
}

/// An errno, as an Error.
struct PosixErrno: Error {
    let code: Int32
}

/// The result of an open: the descriptor, or the errno.
enum Opened {
    case success(OwnedFD)
    case failure(Int32)
}

/// Thin wrappers over the POSIX calls the store needs: every call retries on EINTR, every failure
/// becomes a one-sentence `ChorusError` naming the path and the reason.
enum Posix {
    // MARK: Errors

    /// The reason for `code` as a lowercase phrase, e.g. "no space left on device".
    static func reason(_ code: Int32) -> String {
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
            let s = String(cString: c)
            guard let first = s.first else { return "error \(code)" }
            return first.lowercased() + s.dropFirst()
        }
    }

    /// Permission problems (including a read-only file system) exit 77; everything else is an I/O error.
    static func status(_ code: Int32) -> ExitStatus {
        switch code {
        case EACCES, EPERM, EROFS: return .permission
        default: return .ioError
        }
    }

    /// "cannot <action> <path>: <reason>."
    static func error(_ action: String, _ path: String, _ code: Int32) -> ChorusError {
        ChorusError(status(code), "cannot \(action) \(path): \(reason(code))")
    }

    /// The errno behind an error made by `error(_:_:_:)`, for the failures of a whole file system or
    /// of permissions (a full disk, a quota, a read-only mount, ...); nil for anything else.
    static func fileSystemCode(of e: ChorusError) -> Int32? {
        for code in [ENOSPC, EDQUOT, EFBIG, EROFS, EACCES, EPERM, EIO, EMFILE, ENFILE] where e.message.hasSuffix(": " + reason(code)) {
            return code
        }
        return nil
    }

    /// Runs `body`; a file-system failure it throws (a full disk, a read-only store, ...) becomes the
    /// one sentence "cannot <what>: <reason>; <outcome>", which says what was being done and what was
    /// left, instead of naming a temporary file the user never sees.
    @discardableResult
    static func explaining<T>(_ what: String, _ outcome: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let e as ChorusError {
            guard let code = fileSystemCode(of: e) else { throw e }
            throw ChorusError(status(code), "cannot \(what): \(reason(code)); \(outcome)")
        }
    }

    // MARK: Calls that retry on EINTR

    @inline(__always)
    static func retrying<T: BinaryInteger>(_ body: () -> T) -> T {
        while true {
            let r = body()
            if r == -1 && errno == EINTR { continue }
            return r
        }
    }

    /// `openat(dir, name, flags, mode)`; returns the descriptor or the errno.
    static func openAt(_ dir: Int32, _ name: String, _ flags: Int32, mode: mode_t = 0) -> Opened {
        let fd = retrying { openat(dir, name, flags | O_CLOEXEC, mode) }
        if fd < 0 { return .failure(errno) }
        return .success(OwnedFD(fd))
    }

    /// `open(path, flags, mode)`; returns the descriptor or the errno.
    static func openPath(_ path: String, _ flags: Int32, mode: mode_t = 0) -> Opened {
        let fd = retrying { open(path, flags | O_CLOEXEC, mode) }
        if fd < 0 { return .failure(errno) }
        return .success(OwnedFD(fd))
    }

    /// Opens the folder `name` inside `dir` without following a symbolic link.
    static func openDirectory(_ dir: Int32, _ name: String) -> Opened {
        openAt(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
    }

    static func statFD(_ fd: Int32, path: String) throws -> stat {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw error("read the attributes of", path, errno) }
        return st
    }

    /// `fstatat` without following a symbolic link; nil when the name does not exist.
    static func lstatAt(_ dir: Int32, _ name: String, path: String) throws -> stat? {
        var st = stat()
        if fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0 { return st }
        let e = errno
        if e == ENOENT { return nil }
        throw error("read the attributes of", path, e)
    }

    static func isRegular(_ st: stat) -> Bool { st.st_mode & S_IFMT == S_IFREG }
    static func isDirectory(_ st: stat) -> Bool { st.st_mode & S_IFMT == S_IFDIR }
    static func isSymlink(_ st: stat) -> Bool { st.st_mode & S_IFMT == S_IFLNK }

    // MARK: Temporary files

    /// $TMPDIR, else /tmp.
    static var temporaryFolder: String {
        if let t = getenv("TMPDIR"), t.pointee != 0 { return String(cString: t) }
        return "/tmp"
    }

    /// A new read-write file in `folder` that has no name: O_TMPFILE where the file system has it (no
    /// name ever appears), else a random name (`<prefix>XXXXXX`) removed at once. Gone with the last
    /// descriptor. The errno when no file can be made.
    static func unnamedTemporaryFile(in folder: String, prefix: String) -> Result<Int32, PosixErrno> {
        #if os(Linux)
        // O_TMPFILE is __O_TMPFILE | O_DIRECTORY; Glibc's module does not export it.
        let fd = open(folder, 0o20000000 | O_DIRECTORY | O_RDWR | O_CLOEXEC, 0o600)
        if fd >= 0 { return .success(fd) }
        #endif
        var template = Array((folder + "/" + prefix + "XXXXXX").utf8CString)
        let named = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard named >= 0 else { return .failure(PosixErrno(code: errno)) }
        _ = template.withUnsafeBufferPointer { unlink($0.baseAddress!) }
        _ = fcntl(named, F_SETFD, FD_CLOEXEC)
        return .success(named)
    }

    /// `pwrite` of all of `bytes` at `offset`, resuming after short writes and EINTR. Nil when done,
    /// else the errno (EIO for a write that wrote nothing), for callers that word their own error.
    static func pwriteAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int) -> Int32? {
        var done = 0
        while done < bytes.count {
            let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset + done))
            if n < 0 && errno == EINTR { continue }
            if n < 0 { return errno }
            if n == 0 { return EIO }
            done += n
        }
        return nil
    }

    /// Writes all of `bytes`, resuming after short writes and EINTR.
    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws {
        var done = 0
        while done < bytes.count {
            let n = write(fd, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 {
                let e = errno
                if e == EINTR { continue }
                throw error("write", path, e)
            }
            if n == 0 { throw error("write", path, EIO) }
            done += n
        }
    }

    /// Reads up to `buffer.count` bytes at `offset` (pread), fewer only at the end of the file.
    static func preadFully(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: Int, path: String) throws -> Int {
        var done = 0
        while done < buffer.count {
            let n = pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
            if n < 0 {
                let e = errno
                if e == EINTR { continue }
                throw error("read", path, e)
            }
            if n == 0 { break }
            done += n
        }
        return done
    }

    static func sync(_ fd: Int32, path: String) throws {
        guard retrying({ fsync(fd) }) == 0 else { throw error("flush to disk", path, errno) }
    }

    /// Sets the access and modification times to 0 (1970-01-01), so they record nothing.
    static func zeroTimes(_ fd: Int32, path: String) throws {
        var times = [timespec(tv_sec: 0, tv_nsec: 0), timespec(tv_sec: 0, tv_nsec: 0)]
        guard futimens(fd, &times) == 0 else { throw error("set the file time of", path, errno) }
    }

    /// Takes an exclusive flock, waiting for it; EINTR is retried.
    static func lockExclusive(_ fd: Int32, path: String) throws {
        guard retrying({ flock(fd, LOCK_EX) }) == 0 else { throw error("lock", path, errno) }
    }

    /// Tries an exclusive flock without waiting; false when someone else holds a lock.
    static func tryLockExclusive(_ fd: Int32) -> Bool {
        retrying { flock(fd, LOCK_EX | LOCK_NB) } == 0
    }

    /// `renameat2(..., RENAME_NOREPLACE)`, looked up at run time (the Glibc module does not export
    /// it). Returns 0 or -1 with errno set; ENOSYS when the C library lacks it.
    static func renameNoReplace(_ fromDir: Int32, _ from: String, _ toDir: Int32, _ to: String) -> Int32 {
        typealias Renameat2 = @convention(c) (Int32, UnsafePointer<CChar>, Int32, UnsafePointer<CChar>, UInt32) -> Int32
        guard let sym = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "renameat2") else {
            errno = ENOSYS
            return -1
        }
        let f = unsafeBitCast(sym, to: Renameat2.self)
        return retrying { f(fromDir, from, toDir, to, 1 /* RENAME_NOREPLACE */) }
    }

    // MARK: Folders

    /// One name in a folder: its raw bytes, and a display form safe to put in a sentence.
    struct DirEntry: Sendable {
        let name: String
        let rawName: [UInt8]
        /// The `d_type` (`DT_REG`, `DT_DIR`, `DT_LNK`, …), or `DT_UNKNOWN`.
        let type: UInt8

        /// True when the name is valid UTF-8 without control characters or '/', so it can be used
        /// as a String path component unchanged.
        var isPlainName: Bool { Array(name.utf8) == rawName && !rawName.contains(where: { $0 < 0x20 || $0 == 0x7f }) }
    }

    /// The names in the folder `dir` (without "." and ".."), read through a fresh descriptor so that
    /// concurrent listings do not share a read offset.
    static func listDirectory(_ dir: Int32, path: String) throws -> [DirEntry] {
        let fd = retrying { openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        guard fd >= 0 else { throw error("read the folder", path, errno) }
        guard let d = fdopendir(fd) else {
            let e = errno
            _ = close(fd)
            throw error("read the folder", path, e)
        }
        defer { closedir(d) }
        var out: [DirEntry] = []
        while true {
            errno = 0
            guard let e = readdir(d) else {
                if errno != 0 { throw error("read the folder", path, errno) }
                break
            }
            var entry = e.pointee
            let raw = withUnsafeBytes(of: &entry.d_name) { Array($0.prefix(while: { $0 != 0 })) }
            if raw == [0x2e] || raw == [0x2e, 0x2e] { continue }
            out.append(DirEntry(name: String(decoding: raw, as: UTF8.self), rawName: raw, type: entry.d_type))
        }
        return out
    }

    /// A file name made safe to print inside a sentence (see `displaySafe`).
    static func displayName(_ raw: [UInt8]) -> String {
        displaySafe(String(decoding: raw, as: UTF8.self), limit: 80)
    }

    /// A user-given path made safe to print inside a message.
    static func shown(_ path: String) -> String { displaySafe(path, limit: 200) }

    // MARK: Files

    /// Reads the whole of an open file, refusing anything that is not a regular file or is larger than `limit`.
    static func readRegularFile(_ fd: OwnedFD, limit: Int, path: String) throws -> [UInt8] {
        let st = try statFD(fd.raw, path: path)
        guard isRegular(st) else { throw ChorusError.data("\(path) is not a regular file") }
        guard st.st_size <= limit else { throw ChorusError.data("\(path) is larger than the limit of \(limit) bytes") }
        var out = [UInt8](repeating: 0, count: Int(st.st_size))
        let n = try out.withUnsafeMutableBytes { try preadFully(fd.raw, into: $0, at: 0, path: path) }
        if n < out.count { out.removeLast(out.count - n) }
        return out
    }

    /// True when `s` is exactly `count` lowercase hexadecimal characters.
    static func isLowerHex(_ s: some StringProtocol, count: Int) -> Bool {
        let u = s.utf8
        return u.count == count && u.allSatisfy { (0x30 ... 0x39).contains($0) || (0x61 ... 0x66).contains($0) }
    }

    /// Joins a folder path and a name for messages.
    static func join(_ dir: String, _ name: String) -> String {
        dir.hasSuffix("/") ? dir + name : dir + "/" + name
    }
}
