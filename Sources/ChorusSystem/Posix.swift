#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file descriptor this process owns, closed when the last reference to it goes. Immutable, so it
/// can be shared between threads (the kernel calls used on it are thread-safe).
public final class OwnedFD: Sendable {
    public let raw: Int32

    public init(_ raw: Int32) {
        precondition(raw >= 0)
        self.raw = raw
    }

    deinit { _ = close(raw) }
}

/// The result of an open: the descriptor, or the errno.
package enum Opened {
    case success(OwnedFD)
    case failure(Int32)
}

/// Every system call Chorus makes goes through here: each call retries on EINTR in one place
/// (`retrying`), there is one read loop (`read(_:into:at:)`) and one write loop
/// (`writeAll(_:_:at:)`), and failures become a `SystemError` that keeps the errno.
package enum Posix {
    // MARK: EINTR

    @inline(__always)
    package static func retrying<T: BinaryInteger>(_ body: () -> T) -> T {
        while true {
            let r = body()
            if r == -1 && errno == EINTR { continue }
            return r
        }
    }

    // MARK: The read loop and the write loop

    /// One `read(2)` (or `pread(2)` at `offset`), retried on EINTR: how many bytes it gave, 0 at
    /// the end of input. For readers that must not take more than what is there (a terminal).
    package static func readOnce(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: Int? = nil) throws(Errno) -> Int {
        guard buffer.count > 0 else { return 0 }
        let n = retrying { () -> Int in
            if let offset { return pread(fd, buffer.baseAddress!, buffer.count, off_t(offset)) }
            return Glibc.read(fd, buffer.baseAddress!, buffer.count)
        }
        if n < 0 { throw Errno(errno) }
        return n
    }

    /// The one read loop: fills `buffer` from `fd` (from `offset` with pread when given, else from
    /// the current position), resuming after short reads and EINTR. Returns how many bytes were
    /// read, fewer than `buffer.count` only at the end of input.
    package static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: Int? = nil) throws(Errno) -> Int {
        var done = 0
        while done < buffer.count {
            let n = try readOnce(fd, into: UnsafeMutableRawBufferPointer(rebasing: buffer[done...]), at: offset.map { $0 + done })
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// The one write loop: writes all of `bytes` to `fd` (at `offset` with pwrite when given, else
    /// at the current position), resuming after short writes and EINTR. A write that writes nothing
    /// is EIO.
    package static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int? = nil) throws(Errno) {
        var done = 0
        while done < bytes.count {
            let n = retrying { () -> Int in
                let p = bytes.baseAddress! + done, count = bytes.count - done
                if let offset { return pwrite(fd, p, count, off_t(offset + done)) }
                return Glibc.write(fd, p, count)
            }
            if n < 0 { throw Errno(errno) }
            if n == 0 { throw Errno(EIO) }
            done += n
        }
    }

    /// `read(_:into:at:)` with a path for the error.
    package static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: Int? = nil, path: String) throws(SystemError) -> Int {
        do { return try read(fd, into: buffer, at: offset) } catch { throw SystemError.call("read", path, error.code) }
    }

    /// `writeAll(_:_:at:)` with a path for the error.
    package static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int? = nil, path: String) throws(SystemError) {
        do { try writeAll(fd, bytes, at: offset) } catch { throw SystemError.call("write", path, error.code) }
    }

    // MARK: Opening and attributes

    /// `openat(dir, name, flags, mode)`; returns the descriptor or the errno.
    package static func openAt(_ dir: Int32, _ name: String, _ flags: Int32, mode: mode_t = 0) -> Opened {
        let fd = retrying { openat(dir, name, flags | O_CLOEXEC, mode) }
        if fd < 0 { return .failure(errno) }
        return .success(OwnedFD(fd))
    }

    /// `open(path, flags, mode)`; returns the descriptor or the errno.
    package static func openPath(_ path: String, _ flags: Int32, mode: mode_t = 0) -> Opened {
        let fd = retrying { open(path, flags | O_CLOEXEC, mode) }
        if fd < 0 { return .failure(errno) }
        return .success(OwnedFD(fd))
    }

    /// Opens the folder `name` inside `dir` without following a symbolic link.
    package static func openDirectory(_ dir: Int32, _ name: String) -> Opened {
        openAt(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
    }

    package static func statFD(_ fd: Int32, path: String) throws(SystemError) -> stat {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw SystemError.call("read the attributes of", path, errno) }
        return st
    }

    /// `fstatat` without following a symbolic link; nil when the name does not exist.
    package static func lstatAt(_ dir: Int32, _ name: String, path: String) throws(SystemError) -> stat? {
        var st = stat()
        if fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0 { return st }
        let e = errno
        if e == ENOENT { return nil }
        throw SystemError.call("read the attributes of", path, e)
    }

    /// `stat` of a user-given path (links followed); nil when it does not exist.
    package static func statPath(_ path: String) -> Result<stat, Errno> {
        var st = stat()
        if stat(path, &st) == 0 { return .success(st) }
        return .failure(Errno(errno))
    }

    /// True when `path` itself (not what it points to) is a symbolic link.
    package static func isLink(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0 && isSymlink(st)
    }

    package static func isRegular(_ st: stat) -> Bool { st.st_mode & S_IFMT == S_IFREG }
    package static func isDirectory(_ st: stat) -> Bool { st.st_mode & S_IFMT == S_IFDIR }
    package static func isSymlink(_ st: stat) -> Bool { st.st_mode & S_IFMT == S_IFLNK }

    // MARK: Durability, times, locks, names

    package static func sync(_ fd: Int32, path: String) throws(SystemError) {
        guard retrying({ fsync(fd) }) == 0 else { throw SystemError.call("flush to disk", path, errno) }
    }

    /// Sets the access and modification times to 0 (1970-01-01), so they record nothing.
    package static func zeroTimes(_ fd: Int32, path: String) throws(SystemError) {
        var times = [timespec(tv_sec: 0, tv_nsec: 0), timespec(tv_sec: 0, tv_nsec: 0)]
        guard futimens(fd, &times) == 0 else { throw SystemError.call("set the file time of", path, errno) }
    }

    /// Sets the mode of an open file exactly (whatever the umask).
    package static func setMode(_ fd: Int32, _ mode: mode_t, path: String) throws(SystemError) {
        guard fchmod(fd, mode) == 0 else { throw SystemError.call("set the mode of", path, errno) }
    }

    /// Takes an exclusive flock, waiting for it.
    package static func lockExclusive(_ fd: Int32, path: String) throws(SystemError) {
        guard retrying({ flock(fd, LOCK_EX) }) == 0 else { throw SystemError.call("lock", path, errno) }
    }

    /// Tries an exclusive flock without waiting; false when someone else holds a lock.
    package static func tryLockExclusive(_ fd: Int32) -> Bool {
        retrying { flock(fd, LOCK_EX | LOCK_NB) } == 0
    }

    /// `unlinkat`; the errno on failure.
    package static func unlink(_ dir: Int32, _ name: String) -> Int32? {
        unlinkat(dir, name, 0) == 0 ? nil : errno
    }

    /// `renameat2(..., RENAME_NOREPLACE)`, looked up at run time (the Glibc module does not export
    /// it). Returns 0 or -1 with errno set; ENOSYS when the C library lacks it.
    package static func renameNoReplace(_ fromDir: Int32, _ from: String, _ toDir: Int32, _ to: String) -> Int32 {
        typealias Renameat2 = @convention(c) (Int32, UnsafePointer<CChar>, Int32, UnsafePointer<CChar>, UInt32) -> Int32
        guard let sym = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "renameat2") else {
            errno = ENOSYS
            return -1
        }
        let f = unsafeBitCast(sym, to: Renameat2.self)
        return retrying { f(fromDir, from, toDir, to, 1 /* RENAME_NOREPLACE */) }
    }

    /// `renameat`, replacing `to` if it exists; 0 or -1 with errno set.
    package static func rename(_ fromDir: Int32, _ from: String, _ toDir: Int32, _ to: String) -> Int32 {
        retrying { renameat(fromDir, from, toDir, to) }
    }

    // MARK: Temporary files

    /// $TMPDIR, else /tmp.
    package static var temporaryFolder: String {
        if let t = getenv("TMPDIR"), t.pointee != 0 { return String(cString: t) }
        return "/tmp"
    }

    /// A new read-write file in `folder` that has no name: O_TMPFILE where the file system has it (no
    /// name ever appears), else a random name (`<prefix>XXXXXX`) removed at once. Gone with the last
    /// descriptor. The errno when no file can be made.
    package static func unnamedTemporaryFile(in folder: String, prefix: String) -> Result<OwnedFD, Errno> {
        #if os(Linux)
        // O_TMPFILE is __O_TMPFILE | O_DIRECTORY; Glibc's module does not export it.
        let fd = retrying { open(folder, 0o20000000 | O_DIRECTORY | O_RDWR | O_CLOEXEC, 0o600) }
        if fd >= 0 { return .success(OwnedFD(fd)) }
        #endif
        var template = Array((folder + "/" + prefix + "XXXXXX").utf8CString)
        let named = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard named >= 0 else { return .failure(Errno(errno)) }
        _ = template.withUnsafeBufferPointer { Glibc.unlink($0.baseAddress!) }
        _ = fcntl(named, F_SETFD, FD_CLOEXEC)
        return .success(OwnedFD(named))
    }

    // MARK: Other programs and private folders

    /// Runs `argv` (its first element looked up in `PATH`) and waits for it: its exit status, or 128
    /// + the signal that ended it. Its standard input, output and error are `terminal` when given,
    /// else this process's. While it runs this process ignores Ctrl-C and Ctrl-\ (as `system(3)`
    /// does); the program gets them as usual.
    package static func runAndWait(_ argv: [String], terminal: Int32? = nil) -> Result<Int32, Errno> {
        var cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for p in cArgs { free(p) } }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGINT)
        sigaddset(&defaults, SIGQUIT)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF))
        let oldInt = signal(SIGINT, SIG_IGN)
        let oldQuit = signal(SIGQUIT, SIG_IGN)
        defer { signal(SIGINT, oldInt); signal(SIGQUIT, oldQuit) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let terminal {
            for fd: Int32 in [0, 1, 2] { posix_spawn_file_actions_adddup2(&actions, terminal, fd) }
        }
        var pid: pid_t = 0
        let spawned = posix_spawnp(&pid, cArgs[0]!, &actions, &attributes, &cArgs, environ)
        guard spawned == 0 else { return .failure(Errno(spawned)) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { return .failure(Errno(errno)) }
        }
        // WIFEXITED / WEXITSTATUS / WTERMSIG are macros Swift does not import.
        if status & 0x7F == 0 { return .success((status >> 8) & 0xFF) }
        return .success(128 + (status & 0x7F))
    }

    /// A new folder `<base>/<prefix>XXXXXX` with mode 0700 (`mkdtemp`); its path, or the errno.
    package static func makePrivateFolder(in base: String, prefix: String) -> Result<String, Errno> {
        var template = Array((base + "/" + prefix + "XXXXXX").utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard made != nil else { return .failure(Errno(errno)) }
        return .success(String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }

    /// Whether `path` is a folder in memory (tmpfs or ramfs), owned by this user, that no one else can
    /// write into (mode without group or other write, or a sticky folder such as /dev/shm).
    package static func isPrivateMemoryFolder(_ path: String) -> (inMemory: Bool, usable: Bool) {
        let inMemory = ["tmpfs", "ramfs"].contains(fileSystemType(of: path) ?? "")
        guard inMemory, case let .success(st) = statPath(path), isDirectory(st), access(path, W_OK | X_OK) == 0 else { return (inMemory, false) }
        let ownPrivate = st.st_uid == getuid() && st.st_mode & 0o022 == 0
        let sticky = st.st_mode & S_ISVTX != 0
        return (true, ownPrivate || sticky)
    }

    /// The type of the file system `path` is on ("tmpfs", "ext4", ...), from /proc/self/mounts (the
    /// Glibc module does not export statfs): the entry with the longest mount point above it.
    /// The bytes an unprivileged writer may still use on the file system that holds `path`
    /// (statvfs: f_bavail × f_frsize), or the errno.
    package static func availableBytes(_ path: String) -> Result<UInt64, Errno> {
        var st = statvfs()
        guard retrying({ statvfs(path, &st) }) == 0 else { return .failure(Errno(errno)) }
        return .success(UInt64(st.f_bavail) &* UInt64(st.f_frsize))
    }

    package static func fileSystemType(of path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        let full = String(cString: resolved)
        free(resolved)
        guard case let .success(fd) = openPath("/proc/self/mounts", O_RDONLY) else { return nil }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while bytes.count < 4 << 20 {
            let n = chunk.withUnsafeMutableBytes { b -> Int in (try? readOnce(fd.raw, into: b)) ?? 0 }
            if n <= 0 { break }
            bytes += chunk[0 ..< n]
        }
        var best: (length: Int, type: String)?
        for line in bytes.split(separator: 0x0A) {
            let fields = line.split(separator: 0x20)
            guard fields.count >= 3 else { continue }
            let mount = unescapeMountPoint(String(decoding: fields[1], as: UTF8.self))
            let inside = full == mount || mount == "/" || full.hasPrefix(mount + "/")
            if inside && mount.utf8.count >= (best?.length ?? -1) {
                best = (mount.utf8.count, String(decoding: fields[2], as: UTF8.self))
            }
        }
        return best?.type
    }

    /// /proc/self/mounts writes a space, tab, newline or backslash in a mount point as `\ooo`.
    private static func unescapeMountPoint(_ s: String) -> String {
        guard s.contains("\\") else { return s }
        var out: [UInt8] = []
        var u = Array(s.utf8)[...]
        while let c = u.first {
            if c == 0x5C, u.count >= 4, let v = UInt8(String(decoding: u.dropFirst().prefix(3), as: UTF8.self), radix: 8) {
                out.append(v)
                u = u.dropFirst(4)
            } else {
                out.append(c)
                u = u.dropFirst()
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Overwrites every regular file directly in the folder `path` with zeros, flushes and removes it,
    /// then removes the folder; links and other entries are removed without being followed. True when
    /// the folder is gone.
    @discardableResult
    package static func wipeAndRemoveFolder(_ path: String) -> Bool {
        guard case let .success(dir) = openPath(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW) else { return rmdir(path) == 0 }
        let entries = (try? listDirectory(dir.raw, path: shown(path))) ?? []
        let zeros = [UInt8](repeating: 0, count: 65536)
        for entry in entries {
            if case let .success(fd) = openAt(dir.raw, entry.name, O_WRONLY | O_NOFOLLOW | O_NONBLOCK),
               let st = try? statFD(fd.raw, path: entry.name), isRegular(st) {
                var left = Int(st.st_size)
                var at = 0
                while left > 0 {
                    let n = min(left, zeros.count)
                    let wrote = zeros.withUnsafeBytes { b -> Bool in
                        do { try writeAll(fd.raw, UnsafeRawBufferPointer(rebasing: b[0 ..< n]), at: at); return true } catch { return false }
                    }
                    guard wrote else { break }
                    left -= n
                    at += n
                }
                _ = fsync(fd.raw)
            }
            if unlinkat(dir.raw, entry.name, 0) != 0 && errno == EISDIR { _ = unlinkat(dir.raw, entry.name, AT_REMOVEDIR) }
        }
        return rmdir(path) == 0
    }

    // MARK: Folders

    /// One name in a folder: its raw bytes, and a display form safe to put in a sentence.
    package struct DirEntry: Sendable {
        package let name: String
        package let rawName: [UInt8]
        /// The `d_type` (`DT_REG`, `DT_DIR`, `DT_LNK`, …), or `DT_UNKNOWN`.
        package let type: UInt8

        /// True when the name is valid UTF-8 without control characters or '/', so it can be used
        /// as a String path component unchanged.
        package var isPlainName: Bool { Array(name.utf8) == rawName && !rawName.contains(where: { $0 < 0x20 || $0 == 0x7f }) }
    }

    /// The names in the folder `dir` (without "." and ".."), read through a fresh descriptor so that
    /// concurrent listings do not share a read offset.
    package static func listDirectory(_ dir: Int32, path: String) throws(SystemError) -> [DirEntry] {
        let fd = retrying { openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        guard fd >= 0 else { throw SystemError.call("read the folder", path, errno) }
        guard let d = fdopendir(fd) else {
            let e = errno
            _ = close(fd)
            throw SystemError.call("read the folder", path, e)
        }
        defer { closedir(d) }
        var out: [DirEntry] = []
        while true {
            errno = 0
            guard let e = readdir(d) else {
                if errno != 0 { throw SystemError.call("read the folder", path, errno) }
                break
            }
            var entry = e.pointee
            let raw = withUnsafeBytes(of: &entry.d_name) { Array($0.prefix(while: { $0 != 0 })) }
            if raw == [0x2e] || raw == [0x2e, 0x2e] { continue }
            out.append(DirEntry(name: String(decoding: raw, as: UTF8.self), rawName: raw, type: entry.d_type))
        }
        return out
    }

    /// Creates the folder `path` and the folders above it that are missing, each with exactly `mode`
    /// (whatever the umask); existing folders are left as they are.
    package static func makeFolders(_ path: String, mode: mode_t) throws(SystemError) {
        var components = path.split(separator: "/", omittingEmptySubsequences: false)[...]
        guard !components.isEmpty, path != "." else { return }
        var current = path.hasPrefix("/") ? "" : "."
        if path.hasPrefix("/") { components = components.dropFirst() }
        for c in components where !c.isEmpty {
            current += "/" + c
            if mkdir(current, mode) == 0 {
                chmod(current, mode)
            } else if errno != EEXIST {
                let e = errno
                let kind: SystemError.Kind = e == EROFS ? .readOnly : e == EACCES || e == EPERM ? .permissionDenied : .cannotCreate
                throw SystemError(kind, "cannot create folder \(shown(current)): \(SystemError.reason(e))", errno: e)
            }
        }
    }

    /// The names in the folder at the user-given `path` (links followed).
    package static func listDirectory(path: String) throws(SystemError) -> [DirEntry] {
        switch openPath(path, O_RDONLY | O_DIRECTORY) {
        case let .success(fd): return try listDirectory(fd.raw, path: shown(path))
        case let .failure(e): throw SystemError.call("read the folder", shown(path), e)
        }
    }

    /// A file name made safe to print inside a sentence (see `displaySafe`).
    package static func displayName(_ raw: [UInt8]) -> String {
        displaySafe(String(decoding: raw, as: UTF8.self), limit: 80)
    }

    /// A user-given path made safe to print inside a message.
    package static func shown(_ path: String) -> String { displaySafe(path, limit: 200) }

    /// True when `s` is exactly `count` lowercase hexadecimal characters.
    package static func isLowerHex(_ s: some StringProtocol, count: Int) -> Bool {
        let u = s.utf8
        return u.count == count && u.allSatisfy { (0x30 ... 0x39).contains($0) || (0x61 ... 0x66).contains($0) }
    }

    /// Joins a folder path and a name for messages.
    package static func join(_ dir: String, _ name: String) -> String {
        dir.hasSuffix("/") ? dir + name : dir + "/" + name
    }

    /// Splits a path into its folder ("." when there is none) and its last component.
    package static func split(_ path: String) -> (folder: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        let d = String(path[..<slash])
        return (d.isEmpty ? "/" : d, String(path[path.index(after: slash)...]))
    }
}
