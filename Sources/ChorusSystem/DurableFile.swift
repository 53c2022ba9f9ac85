import ChorusCrypto
import ChorusFormat

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An open folder and its path as shown in messages.
package struct Folder: Sendable {
    package let fd: OwnedFD
    /// The path, already made safe to show.
    package let path: String

    package init(_ fd: OwnedFD, path: String) {
        self.fd = fd
        self.path = path
    }

    /// Opens the folder at a user-given path (links in it are followed).
    package static func open(_ path: String) throws -> Folder {
        switch Posix.openPath(path, O_RDONLY | O_DIRECTORY) {
        case let .success(fd): return Folder(fd, path: Posix.shown(path))
        case let .failure(e): throw SystemError.call("open the folder", Posix.shown(path), e)
        }
    }
}

/// The one durable-write recipe of Chorus (docs/FORMAT.md 7.1): a file appears whole or not at all.
/// It is written under a temporary name (O_CREAT|O_EXCL|O_NOFOLLOW, locked with flock while it
/// exists, so that a leftover cleaner never takes it mid-write), flushed with its mode and times,
/// then published under its final name — with `link`, which fails rather than overwrite, or, for a
/// file that is meant to be replaced (the budget ledger), with `rename` — and only then is the
/// temporary name removed and the folder flushed.
package enum DurableFile {
    /// The final name of the file.
    package enum Name {
        /// Exactly this name.
        case exactly(String)
        /// A fresh name from `make`, tried again (up to 8 times) while it exists.
        case random(() -> String)
    }

    /// What `write` did.
    package enum Outcome: Equatable, Sendable {
        /// The file is durably in place under this name.
        case written(name: String)
        /// `.exactly(name)` exists already and was not replaced; nothing was left behind.
        case exists
    }

    /// The recipe. `staging` is the folder of the temporary file (by default the destination; it must
    /// be on the same file system). With `replacing`, an existing file of that name is replaced
    /// atomically instead (only with `.exactly`). With `allowRenameFallback`, a file system without
    /// hard links (FAT) is served by `renameat2(RENAME_NOREPLACE)`, which is just as exclusive. On any
    /// failure nothing is left at the final name and the temporary file is removed.
    @discardableResult
    package static func write(in destination: Folder, name: Name, staging: Folder? = nil, tempPrefix: String = ".chorus-tmp-",
                              mode: mode_t = 0o600, zeroTimes: Bool, replacing: Bool = false, allowRenameFallback: Bool = false,
                              fill: (DurableWriter) throws -> Void) throws -> Outcome {
        let writer = try DurableWriter.create(in: staging ?? destination, prefix: tempPrefix)
        try fill(writer)
        try writer.prepare(mode: mode, zeroTimes: zeroTimes)
        let finalName: String
        switch name {
        case let .exactly(n):
            if replacing {
                try writer.replace(in: destination, name: n)
            } else if try !writer.link(to: destination, name: n, allowRenameFallback: allowRenameFallback) {
                writer.discard()
                return .exists
            }
            finalName = n
        case let .random(make):
            var attempts = 0
            var n: String
            repeat {
                attempts += 1
                guard attempts <= 8 else { throw SystemError(.io, "cannot find a free file name in \(destination.path)") }
                n = make()
            } while try !writer.link(to: destination, name: n, allowRenameFallback: allowRenameFallback)
            finalName = n
        }
        try writer.finish(in: destination)
        return .written(name: finalName)
    }

    /// Creates the new file at the user-given `path` with `contents`, durably, mode 0600 (0644 with
    /// `publicReadable`, for a public key meant to be handed out) whatever the umask, and never over
    /// an existing file (nor through a symbolic link). `zeroTimes` sets its times to 1970-01-01 (for
    /// envelopes, whose time would record when they were made).
    ///
    /// Errors: `path` exists (`.alreadyExists`), its folder is missing (`.cannotCreate`), not a file
    /// name (`.invalidPath`), and every failure of a call, each one sentence.
    package static func createExclusive(path: String, contents: [UInt8], zeroTimes: Bool = false, publicReadable: Bool = false) throws {
        try SystemError.explaining("create \(Posix.shown(path))", "nothing was written") {
            try createExclusive(path: path, zeroTimes: zeroTimes, mode: publicReadable ? 0o644 : 0o600) { writer in
                try contents.withUnsafeBytes { try writer.write($0) }
            }
        }
    }

    /// Streaming form of `createExclusive(path:contents:zeroTimes:publicReadable:)`: `fill` writes
    /// the contents.
    package static func createExclusive(path: String, zeroTimes: Bool, mode: mode_t = 0o600, fill: (DurableWriter) throws -> Void) throws {
        let (dirPath, name) = try splitOutputPath(path)
        let dir = try openOutputFolder(dirPath, for: path)
        if try Posix.lstatAt(dir.fd.raw, name, path: Posix.shown(path)) != nil { throw alreadyExists(path) }
        let outcome = try write(in: dir, name: .exactly(name), mode: mode, zeroTimes: zeroTimes, allowRenameFallback: true, fill: fill)
        if outcome == .exists { throw alreadyExists(path) }
    }

    /// Replaces the file at the user-given `path` with `contents`, atomically and durably, mode 0600:
    /// a crash leaves the old file or the new one, never half of either.
    package static func replace(path: String, contents: [UInt8]) throws {
        let (dirPath, name) = try splitOutputPath(path)
        let dir = try openOutputFolder(dirPath, for: path)
        try write(in: dir, name: .exactly(name), zeroTimes: false, replacing: true) { writer in
            try contents.withUnsafeBytes { try writer.write($0) }
        }
    }

    /// Opens the folder that will hold the new file `path` (links in a user-given path are followed).
    package static func openOutputFolder(_ dirPath: String, for path: String) throws -> Folder {
        switch Posix.openPath(dirPath, O_RDONLY | O_DIRECTORY) {
        case let .success(d): return Folder(d, path: Posix.shown(dirPath))
        case let .failure(e) where e == ENOENT || e == ENOTDIR:
            throw SystemError(.cannotCreate, "cannot create \(Posix.shown(path)): the folder \(Posix.shown(dirPath)) does not exist", errno: e)
        case let .failure(e): throw SystemError.call("create a file in", Posix.shown(dirPath), e)
        }
    }

    package static func alreadyExists(_ path: String) -> SystemError {
        SystemError(.alreadyExists, "\(Posix.shown(path)) already exists; chorus never overwrites a file", errno: EEXIST)
    }

    /// Splits an output path into its folder and its last component.
    package static func splitOutputPath(_ path: String) throws -> (String, String) {
        let (dir, name) = Posix.split(path)
        guard !path.isEmpty, !path.hasSuffix("/"), name != ".", name != ".." else {
            throw SystemError(.invalidPath, "\"\(Posix.shown(path))\" is not a file name; give the path of a new file")
        }
        return (dir, name)
    }

    /// Removes crash leftovers from a temporary folder: every regular file that no writer holds a
    /// lock on (a writer keeps an exclusive flock on its temporary file from creation until it is
    /// renamed away), and every symbolic link. Nothing is read. Best effort: failures are ignored,
    /// since leftovers are harmless and are reported by `verify`. Returns how many were removed.
    @discardableResult
    package static func removeLeftovers(in dir: Folder) -> Int {
        guard let names = try? Posix.listDirectory(dir.fd.raw, path: dir.path) else { return 0 }
        var removed = 0
        for entry in names where entry.isPlainName {
            let path = Posix.join(dir.path, entry.name)
            guard let st = try? Posix.lstatAt(dir.fd.raw, entry.name, path: path) else { continue }
            if Posix.isSymlink(st) {
                if Posix.unlink(dir.fd.raw, entry.name) == nil { removed += 1 }
                continue
            }
            guard Posix.isRegular(st) else { continue }
            guard case let .success(fd) = Posix.openAt(dir.fd.raw, entry.name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK) else { continue }
            guard Posix.tryLockExclusive(fd.raw) else { continue } // a writer is at work on it
            // The name must still be the file we locked (it may have been renamed away meanwhile).
            guard let mine = try? Posix.statFD(fd.raw, path: path), mine.st_nlink > 0,
                  let now = try? Posix.lstatAt(dir.fd.raw, entry.name, path: path),
                  now.st_ino == mine.st_ino, now.st_dev == mine.st_dev else { continue }
            if Posix.unlink(dir.fd.raw, entry.name) == nil { removed += 1 }
        }
        return removed
    }
}

/// A file being written under a temporary name, locked with flock while it exists so that a
/// leftover cleaner never removes it mid-write. Buffered; not thread-safe (one writer, one thread).
/// Made only by `DurableFile.write`.
package final class DurableWriter {
    let dir: Folder
    let tempName: String
    let fd: OwnedFD
    private var buffer: [UInt8] = []
    private var linked = false
    private var gone = false
    private static let bufferSize = 256 * 1024

    var tempPath: String { Posix.join(dir.path, tempName) }

    private init(dir: Folder, tempName: String, fd: OwnedFD) {
        self.dir = dir
        self.tempName = tempName
        self.fd = fd
    }

    /// Creates `<prefix><32 random hex>.tmp` in `dir` with O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600, and
    /// locks it.
    static func create(in dir: Folder, prefix: String) throws -> DurableWriter {
        var attempts = 0
        while true {
            attempts += 1
            let name = prefix + Hex.encode(Random.bytes(16)) + ".tmp"
            let path = Posix.join(dir.path, name)
            let fd: OwnedFD
            switch Posix.openAt(dir.fd.raw, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode: 0o600) {
            case let .success(f): fd = f
            case let .failure(e) where e == EEXIST && attempts < 8: continue
            case let .failure(e): throw SystemError.call("create", path, e)
            }
            let writer = DurableWriter(dir: dir, tempName: name, fd: fd)
            // The umask may have removed bits from 0600; the mode must be exactly 0600.
            try Posix.setMode(fd.raw, 0o600, path: path)
            try Posix.lockExclusive(fd.raw, path: path)
            // A cleaner may have taken the lock first and removed the name; then start again.
            let st = try Posix.statFD(fd.raw, path: path)
            if st.st_nlink == 0 {
                writer.gone = true
                if attempts < 8 { continue }
                throw SystemError(.io, "cannot create \(path): it was removed while being created")
            }
            return writer
        }
    }

    package func write(_ bytes: UnsafeRawBufferPointer) throws {
        if buffer.count + bytes.count <= Self.bufferSize {
            buffer.append(contentsOf: bytes)
            return
        }
        try flush()
        if bytes.count >= Self.bufferSize {
            try Posix.writeAll(fd.raw, bytes, path: tempPath)
        } else {
            buffer.append(contentsOf: bytes)
        }
    }

    package func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { (b) throws in try write(b) }
    }

    private func flush() throws {
        guard !buffer.isEmpty else { return }
        try buffer.withUnsafeBytes { (b) throws in try Posix.writeAll(fd.raw, b, path: tempPath) }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Writes out the buffer, sets the mode and (if asked) the times to 0, and flushes the file
    /// (data, size, mode and times) to disk.
    fileprivate func prepare(mode: mode_t, zeroTimes: Bool) throws {
        try flush()
        if mode != 0o600 { try Posix.setMode(fd.raw, mode, path: tempPath) }
        if zeroTimes { try Posix.zeroTimes(fd.raw, path: tempPath) }
        try Posix.sync(fd.raw, path: tempPath)
    }

    /// Gives the file the name `name` in `destination` with `link` (never overwriting). False when
    /// that name already exists; the temporary file is then kept (try another name, or `discard`).
    fileprivate func link(to destination: Folder, name: String, allowRenameFallback: Bool) throws -> Bool {
        precondition(!linked && !gone)
        let path = Posix.join(destination.path, name)
        if linkat(dir.fd.raw, tempName, destination.fd.raw, name, 0) == 0 {
            linked = true
            return true
        }
        var e = errno
        if e == EEXIST { return false }
        if allowRenameFallback && (e == EPERM || e == EOPNOTSUPP || e == EMLINK) {
            if Posix.renameNoReplace(dir.fd.raw, tempName, destination.fd.raw, name) == 0 {
                linked = true
                gone = true
                return true
            }
            e = errno
            if e == EEXIST { return false }
        }
        throw SystemError.call("create", path, e)
    }

    /// Moves the file to `name` in `destination`, replacing what is there.
    fileprivate func replace(in destination: Folder, name: String) throws {
        precondition(!linked && !gone)
        guard Posix.rename(dir.fd.raw, tempName, destination.fd.raw, name) == 0 else {
            throw SystemError.call("replace", Posix.join(destination.path, name), errno)
        }
        linked = true
        gone = true
    }

    /// After the file has its name: removes the temporary name and flushes the destination folder, so
    /// the new name survives a crash. Only once this returns is the file durable.
    fileprivate func finish(in destination: Folder) throws {
        precondition(linked)
        if !gone {
            // A failure here only leaves a leftover that the next writer cleans.
            _ = Posix.unlink(dir.fd.raw, tempName)
            gone = true
        }
        try Posix.sync(destination.fd.raw, path: destination.path)
    }

    /// Removes the temporary file (best effort).
    fileprivate func discard() {
        guard !gone else { return }
        _ = Posix.unlink(dir.fd.raw, tempName)
        gone = true
    }

    deinit {
        // Anything not linked by now failed midway: leave no partial file behind.
        if !gone { _ = Posix.unlink(dir.fd.raw, tempName) }
    }
}
