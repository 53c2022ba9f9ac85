import ChorusCrypto
import ChorusFormat

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Files that appear whole or not at all (docs/FORMAT.md 7.1): written under a temporary name,
/// flushed, then given their final name with `link`, which fails rather than overwrite.
public enum DurableFile {
    /// Creates `path` with `contents`, mode 0600 whatever the umask, durably, and never over an
    /// existing file (nor through a symbolic link). The bytes are written under a temporary name in
    /// the same folder and linked to `path` only once they are on disk; on any failure nothing is
    /// left at `path` and the temporary file is removed. `zeroTimes` sets the file's times to
    /// 1970-01-01 (for envelopes, whose time would record when they were made).
    ///
    /// `publicReadable` makes the file 0644 instead (a public key, meant to be handed out).
    ///
    /// Errors: `path` exists (status `.cannotCreate`), its folder is missing (`.cannotCreate`),
    /// permission or read-only (`.permission`), anything else (`.ioError`), each one sentence.
    public static func createExclusive(path: String, contents: [UInt8], zeroTimes: Bool = false, publicReadable: Bool = false) throws {
        try Posix.explaining("create \(Posix.shown(path))", "nothing was written") {
            try createExclusive(path: path, zeroTimes: zeroTimes) { writer in
                try contents.withUnsafeBytes { try writer.write($0) }
                if publicReadable, fchmod(writer.fd.raw, 0o644) != 0 { throw Posix.error("set the mode of", Posix.shown(path), errno) }
            }
        }
    }

    /// Streaming form of `createExclusive(path:contents:zeroTimes:)`: `fill` writes the contents.
    static func createExclusive(path: String, zeroTimes: Bool, fill: (DurableWriter) throws -> Void) throws {
        let (dirPath, name) = try splitOutputPath(path)
        let dir = try openOutputFolder(dirPath, for: path)
        let shownDir = Posix.shown(dirPath)
        if try Posix.lstatAt(dir.raw, name, path: Posix.shown(path)) != nil { throw alreadyExists(path) }
        let writer = try DurableWriter.create(in: dir, dirPath: shownDir, prefix: ".chorus-tmp-")
        try fill(writer)
        try writer.prepare(zeroTimes: zeroTimes)
        guard try writer.link(to: dir, destPath: shownDir, name: name, allowRenameFallback: true) else {
            writer.discard()
            throw alreadyExists(path)
        }
        try writer.finish(destDir: dir, destPath: shownDir)
    }

    /// Opens the folder that will hold the new file `path` (links in a user-given path are followed).
    static func openOutputFolder(_ dirPath: String, for path: String) throws -> OwnedFD {
        switch Posix.openPath(dirPath, O_RDONLY | O_DIRECTORY) {
        case let .success(d): return d
        case let .failure(e) where e == ENOENT || e == ENOTDIR:
            throw ChorusError(.cannotCreate, "cannot create \(Posix.shown(path)): the folder \(Posix.shown(dirPath)) does not exist")
        case let .failure(e): throw Posix.error("create a file in", Posix.shown(dirPath), e)
        }
    }

    static func alreadyExists(_ path: String) -> ChorusError {
        ChorusError(.cannotCreate, "\(Posix.shown(path)) already exists; chorus never overwrites a file")
    }

    /// Splits an output path into its folder and its last component.
    static func splitOutputPath(_ path: String) throws -> (String, String) {
        guard !path.isEmpty, !path.hasSuffix("/") else {
            throw ChorusError.usage("\"\(Posix.shown(path))\" is not a file name; give the path of a new file")
        }
        let name: String, dir: String
        if let slash = path.lastIndex(of: "/") {
            name = String(path[path.index(after: slash)...])
            let d = String(path[..<slash])
            dir = d.isEmpty ? "/" : d
        } else {
            name = path
            dir = "."
        }
        guard name != ".", name != ".." else {
            throw ChorusError.usage("\"\(Posix.shown(path))\" is not a file name; give the path of a new file")
        }
        return (dir, name)
    }

    /// Removes crash leftovers from a temporary folder: every regular file that no writer holds a
    /// lock on (a writer keeps an exclusive flock on its temporary file from creation until it is
    /// renamed away), and every symbolic link. Nothing is read. Best effort: failures are ignored,
    /// since leftovers are harmless and are reported by `verify`. Returns how many were removed.
    @discardableResult
    static func removeLeftovers(in dir: OwnedFD, dirPath: String) -> Int {
        guard let names = try? Posix.listDirectory(dir.raw, path: dirPath) else { return 0 }
        var removed = 0
        for entry in names where entry.isPlainName {
            let path = Posix.join(dirPath, entry.name)
            guard let st = try? Posix.lstatAt(dir.raw, entry.name, path: path) else { continue }
            if Posix.isSymlink(st) {
                if unlinkat(dir.raw, entry.name, 0) == 0 { removed += 1 }
                continue
            }
            guard Posix.isRegular(st) else { continue }
            guard case let .success(fd) = Posix.openAt(dir.raw, entry.name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK) else { continue }
            guard Posix.tryLockExclusive(fd.raw) else { continue } // a writer is at work on it
            // The name must still be the file we locked (it may have been renamed away meanwhile).
            guard let mine = try? Posix.statFD(fd.raw, path: path), mine.st_nlink > 0,
                  let now = try? Posix.lstatAt(dir.raw, entry.name, path: path),
                  now.st_ino == mine.st_ino, now.st_dev == mine.st_dev else { continue }
            if unlinkat(dir.raw, entry.name, 0) == 0 { removed += 1 }
        }
        return removed
    }
}

/// A file being written under a temporary name, locked with flock while it exists so that a
/// leftover cleaner never removes it mid-write. Buffered; not thread-safe (one writer, one thread).
final class DurableWriter {
    let dir: OwnedFD
    let dirPath: String
    let tempName: String
    let fd: OwnedFD
    private var buffer: [UInt8] = []
    private var linked = false
    private var gone = false
    private static let bufferSize = 256 * 1024

    var tempPath: String { Posix.join(dirPath, tempName) }

    private init(dir: OwnedFD, dirPath: String, tempName: String, fd: OwnedFD) {
        self.dir = dir
        self.dirPath = dirPath
        self.tempName = tempName
        self.fd = fd
    }

    /// Creates `<prefix><32 random hex>.tmp` in `dir` with O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600, and
    /// locks it.
    static func create(in dir: OwnedFD, dirPath: String, prefix: String) throws -> DurableWriter {
        var attempts = 0
        while true {
            attempts += 1
            let name = prefix + Hex.encode(Random.bytes(16)) + ".tmp"
            let path = Posix.join(dirPath, name)
            let fd: OwnedFD
            switch Posix.openAt(dir.raw, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode: 0o600) {
            case let .success(f): fd = f
            case let .failure(e) where e == EEXIST && attempts < 8: continue
            case let .failure(e): throw Posix.error("create", path, e)
            }
            let writer = DurableWriter(dir: dir, dirPath: dirPath, tempName: name, fd: fd)
            // The umask may have removed bits from 0600; the mode must be exactly 0600.
            guard fchmod(fd.raw, 0o600) == 0 else { throw Posix.error("set the mode of", path, errno) }
            try Posix.lockExclusive(fd.raw, path: path)
            // A cleaner may have taken the lock first and removed the name; then start again.
            let st = try Posix.statFD(fd.raw, path: path)
            if st.st_nlink == 0 {
                writer.gone = true
                if attempts < 8 { continue }
                throw ChorusError.io("cannot create \(path): it was removed while being created")
            }
            return writer
        }
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
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

    func write(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try write($0) } }

    private func flush() throws {
        guard !buffer.isEmpty else { return }
        try buffer.withUnsafeBytes { try Posix.writeAll(fd.raw, $0, path: tempPath) }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Writes out the buffer, sets the times to 0 if asked, and flushes the file (data, size and
    /// times) to disk.
    func prepare(zeroTimes: Bool) throws {
        try flush()
        if zeroTimes { try Posix.zeroTimes(fd.raw, path: tempPath) }
        try Posix.sync(fd.raw, path: tempPath)
    }

    /// Gives the file the name `name` in `destDir` with `link` (never overwriting). Returns false
    /// when that name already exists; the temporary file is then kept (try another name, or
    /// `discard`). With `allowRenameFallback`, a file system without hard links (FAT) is served by
    /// `renameat2(RENAME_NOREPLACE)`, which is just as exclusive.
    func link(to destDir: OwnedFD, destPath: String, name: String, allowRenameFallback: Bool = false) throws -> Bool {
        precondition(!linked && !gone)
        let path = Posix.join(destPath, name)
        if linkat(dir.raw, tempName, destDir.raw, name, 0) == 0 {
            linked = true
            return true
        }
        var e = errno
        if e == EEXIST { return false }
        if allowRenameFallback && (e == EPERM || e == EOPNOTSUPP || e == EMLINK) {
            if Posix.renameNoReplace(dir.raw, tempName, destDir.raw, name) == 0 {
                linked = true
                gone = true
                return true
            }
            e = errno
            if e == EEXIST { return false }
        }
        throw Posix.error("create", path, e)
    }

    /// After a successful `link`: removes the temporary name and flushes the destination folder, so
    /// the new name survives a crash. Only once this returns is the file durable.
    func finish(destDir: OwnedFD, destPath: String) throws {
        precondition(linked)
        if !gone {
            // A failure here only leaves a leftover that the next writer cleans.
            _ = unlinkat(dir.raw, tempName, 0)
            gone = true
        }
        try Posix.sync(destDir.raw, path: destPath)
    }

    /// Removes the temporary file (best effort).
    func discard() {
        guard !gone else { return }
        _ = unlinkat(dir.raw, tempName, 0)
        gone = true
    }

    deinit {
        // Anything not linked by now failed midway: leave no partial file behind.
        if !gone { _ = unlinkat(dir.raw, tempName, 0) }
    }
}
