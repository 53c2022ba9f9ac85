import ChorusCrypto

#if canImport(Glibc)
import Glibc
#endif

/// The text editor a submitter may write their story in (`$VISUAL`, else `$EDITOR`), and the rules
/// that make it safe: the story is written to a file only for as long as the editor is open, and only
/// where it leaves no trace.
///
/// - The file (`story.txt`, mode 0600) is in a new private folder (mode 0700) in memory-backed storage:
///   `$XDG_RUNTIME_DIR` when it is a private tmpfs, else `/dev/shm`. Without either, no editor is offered.
/// - Afterwards every file in that folder (the story, and whatever the editor left beside it: a backup,
///   a swap or an emergency-save file) is overwritten with zeros and removed, then the folder.
/// - Only editors that can be told to keep no backup, swap, undo or history file elsewhere are run,
///   with the options that say so: nano (`--restricted`), vim and neovim (`-n -i NONE` and no backup or
///   undo file), emacs (`-Q`, no backup, auto-save or lock file). Any other editor is refused, unless
///   `CHORUS_EDITOR_IS_SAFE=1` says that it keeps nothing (it is then run as it is, with the file's path).
package struct StoryEditor: Sendable {
    /// The program and its arguments, before the file's path.
    package let command: [String]
    /// What the submitter is told it is (the program's name).
    package let name: String
    /// The memory-backed folder the private folder is made in.
    package let base: String

    /// The environment variable that lets an editor Chorus does not know be used.
    package static let safetyVariable = "CHORUS_EDITOR_IS_SAFE"

    /// What the environment asks for: no editor, one that is refused (with one sentence saying why), or one to offer.
    package enum Choice: Sendable {
        case none
        case refused(String)
        case offered(StoryEditor)
    }

    /// The editor `$VISUAL` or `$EDITOR` names (split at spaces; no shell), if it is safe to use.
    package static func fromEnvironment() -> Choice {
        let named = ["VISUAL", "EDITOR"].lazy.compactMap { name -> String? in
            guard let v = getenv(name), v.pointee != 0 else { return nil }
            return String(cString: v)
        }.first
        guard let named else { return .none }
        let words = named.split(separator: " ").map(String.init)
        guard let program = words.first else { return .none }
        let name = String(program.split(separator: "/").last ?? Substring(program))
        let real = realName(program)
        let command: [String]
        if let safe = safeOptions(for: real) ?? safeOptions(for: name) {
            command = words + safe
        } else if let flag = getenv(safetyVariable), String(cString: flag) == "1" {
            command = words
        } else {
            return .refused("your editor (\(displaySafe(name))) is not offered: chorus cannot make sure it keeps no backup or swap file of your story; nano, vim, neovim and emacs are safe, or set \(safetyVariable)=1 if yours keeps none")
        }
        guard let base = memoryFolder() else {
            return .refused("your editor (\(displaySafe(name))) is not offered: this system has no memory-backed folder ($XDG_RUNTIME_DIR or /dev/shm) to hold the story while it is open")
        }
        return .offered(StoryEditor(command: command, name: name, base: base))
    }

    /// The options that keep each known editor from writing anything but the file it is given.
    static func safeOptions(for program: String) -> [String]? {
        switch program {
        case "nano", "rnano":
            return ["--restricted"]
        case "vim", "vi", "vim.basic", "vim.tiny", "vim.nox", "vim.gtk3", "nvim", "view":
            return ["-n", "-i", "NONE", "-c", "set nobackup nowritebackup noundofile"]
        case "emacs", "emacs-nox", "emacs-gtk", "emacs-lucid":
            return ["-nw", "-Q", "--eval", "(setq make-backup-files nil auto-save-default nil create-lockfiles nil)"]
        default:
            return nil
        }
    }

    /// The name of the program `program` finally is, links followed (`vi` may be vim or nvi).
    static func realName(_ program: String) -> String {
        var path = program
        if !program.contains("/") {
            let dirs = (getenv("PATH").map { String(cString: $0) } ?? "/usr/bin:/bin").split(separator: ":")
            path = dirs.map { "\($0)/\(program)" }.first { access($0, X_OK) == 0 } ?? program
        }
        guard let resolved = realpath(path, nil) else { return program }
        defer { free(resolved) }
        let full = String(cString: resolved)
        return String(full.split(separator: "/").last ?? Substring(full))
    }

    /// `$XDG_RUNTIME_DIR` when it is a private folder in memory, else `/dev/shm` when it is in memory.
    static func memoryFolder() -> String? {
        if let x = getenv("XDG_RUNTIME_DIR"), x.pointee != 0 {
            let path = String(cString: x)
            if Posix.isPrivateMemoryFolder(path).usable { return path }
        }
        return Posix.isPrivateMemoryFolder("/dev/shm").usable ? "/dev/shm" : nil
    }

    /// Writes the first `length` bytes of `story` into the private file, runs the editor on it and
    /// reads back what was saved into `story` (from its start): its length, more than `story.count`
    /// when it does not fit (the rest is not kept). The folder is wiped and removed whatever happens.
    /// `story` is unchanged when this throws: the editor did not start, or ended with a failure.
    package func edit(_ story: inout SecretBytes, length: Int) throws(SystemError) -> Int {
        let folder: String
        switch Posix.makePrivateFolder(in: base, prefix: "chorus-") {
        case let .success(path): folder = path
        case let .failure(e): throw SystemError.call("create a private folder in", Posix.shown(base), e.code)
        }
        defer { Posix.wipeAndRemoveFolder(folder) }
        let path = folder + "/story.txt"
        switch Posix.openPath(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode: 0o600) {
        case let .success(fd):
            let written: Result<Int, SystemError> = story.withUnsafeBytes { b in
                Result { () throws(SystemError) -> Int in
                    try Posix.writeAll(fd.raw, UnsafeRawBufferPointer(rebasing: b[0 ..< min(length, b.count)]), path: Posix.shown(path))
                    return 0
                }
            }
            _ = try written.get()
        case let .failure(e):
            throw SystemError.call("create", Posix.shown(path), e)
        }
        // On the terminal itself: stdout may be a file meant for the receipt, stderr a log.
        let tty = Terminal.openTTY()
        switch Posix.runAndWait(command + [path], terminal: tty?.raw) {
        case let .failure(e):
            throw SystemError(.notFound, "cannot start \(displaySafe(name)): \(SystemError.reason(e.code))", errno: e.code)
        case let .success(status) where status != 0:
            throw SystemError(.io, "\(displaySafe(name)) ended with status \(status)")
        case .success:
            break
        }
        guard case let .success(fd) = Posix.openPath(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK) else {
            throw SystemError(.notFound, "\(displaySafe(name)) left no story file behind (was it saved under another name?)")
        }
        let st = try Posix.statFD(fd.raw, path: Posix.shown(path))
        guard Posix.isRegular(st) else { throw SystemError(.notARegularFile, "the story file is no longer a regular file") }
        var fresh = SecretBytes(count: story.count, guarded: true)
        let read: Result<Int, SystemError> = fresh.withUnsafeMutableBytes { b in
            Result { () throws(SystemError) -> Int in try Posix.read(fd.raw, into: b, path: Posix.shown(path)) }
        }
        let kept = try read.get()
        let total = max(kept, Int(st.st_size))
        story.withUnsafeMutableBytes { dst in
            fresh.withUnsafeBytes { src in
                for k in 0 ..< dst.count { dst[k] = k < kept ? src[k] : 0 }
            }
        }
        return total
    }
}
