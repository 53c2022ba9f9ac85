import ChorusCrypto

#if canImport(Glibc)
import Glibc
#endif

/// The controlling terminal (`/dev/tty`): prompts and secrets are read there, never from argv.
public enum Terminal {
    nonisolated(unsafe) private static var savedAttributes = termios()
    nonisolated(unsafe) private static var savedFD: Int32 = -1

    /// True when stdin is a terminal.
    public static var stdinIsTerminal: Bool { isatty(0) == 1 }
    /// True when stderr is a terminal.
    public static var stderrIsTerminal: Bool { isatty(2) == 1 }

    /// Whether colour may be used on stderr: a terminal and `NO_COLOR` unset.
    public static var colorOnStderr: Bool { stderrIsTerminal && getenv("NO_COLOR") == nil }

    /// Opens `/dev/tty` for reading and writing, or nil when there is no controlling terminal.
    public static func openTTY() -> Int32? {
        let fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY)
        return fd >= 0 ? fd : nil
    }

    /// Asks for a secret on the terminal with echo off, into guarded memory. Returns nil when there is
    /// no terminal. Ctrl-C restores the echo before the process ends.
    public static func readSecret(prompt: String) throws -> SecretBytes? {
        guard let fd = openTTY() else { return nil }
        defer { close(fd) }
        writeAll(fd, prompt)
        var old = termios()
        let haveAttributes = tcgetattr(fd, &old) == 0
        if haveAttributes {
            var quiet = old
            quiet.c_lflag &= ~tcflag_t(ECHO)
            quiet.c_lflag |= tcflag_t(ECHONL)
            savedAttributes = old
            savedFD = fd
            signal(SIGINT) { _ in
                if Terminal.savedFD >= 0 { tcsetattr(Terminal.savedFD, TCSAFLUSH, &Terminal.savedAttributes) }
                _exit(130)
            }
            tcsetattr(fd, TCSAFLUSH, &quiet)
        }
        defer {
            if haveAttributes {
                tcsetattr(fd, TCSAFLUSH, &old)
                savedFD = -1
                signal(SIGINT, SIG_DFL)
            }
        }
        var buffer = SecretBytes(count: 1024, guarded: true)
        var length = 0
        var done = false
        while !done {
            var byte: UInt8 = 0
            let n = read(fd, &byte, 1)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 || byte == 0x0a || byte == 0x0d { done = true; break }
            guard length < buffer.count else { throw ChorusError.usage("the passphrase is longer than 1024 bytes") }
            buffer.withUnsafeMutableBytes { $0[length] = byte }
            byte = 0
            length += 1
        }
        return try buffer.slice(0 ..< length).copy(guarded: true)
    }

    /// Reads one line from the terminal (echo on), or nil at end of input.
    public static func readLine(fd: Int32) -> String? {
        var bytes = [UInt8]()
        while true {
            var b: UInt8 = 0
            let n = read(fd, &b, 1)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return bytes.isEmpty ? nil : String(decoding: bytes, as: UTF8.self) }
            if b == 0x0a { return String(decoding: bytes, as: UTF8.self) }
            bytes.append(b)
            if bytes.count > 4096 { return String(decoding: bytes, as: UTF8.self) }
        }
    }

    /// Writes all of `s` to `fd`.
    public static func writeAll(_ fd: Int32, _ s: String) {
        var bytes = Array(s.utf8)
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress! + off, $0.count - off) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            off += n
        }
    }
}

/// Passphrases: from a file (`--passphrase-file`), or asked on the terminal.
public enum Passphrase {
    /// Reads a passphrase from a file: its first line, without the line ending. Refuses an empty one.
    /// The file is read straight into guarded memory, and only the first line is copied out, into
    /// guarded memory again: no copy of the passphrase is ever in ordinary (swappable, unwiped) memory.
    public static func read(file path: String) throws -> SecretBytes {
        let all = try readSecretFile(path, limit: 4096, what: "passphrase file")
        var end = all.withUnsafeBytes { $0.firstIndex(of: 0x0a) ?? $0.count }
        if end > 0 && all.withUnsafeBytes({ $0[end - 1] }) == 0x0d { end -= 1 }
        guard end > 0 else { throw ChorusError.usage("passphrase file \(displaySafe(path, limit: 200)) is empty") }
        do {
            return try all.slice(0 ..< end)
        } catch {
            throw ChorusError(.software, "internal error: cannot copy the passphrase: \(error)")
        }
    }

    /// The passphrase to unlock a key: from `file` if given, else asked once on the terminal. With
    /// neither, refuses.
    public static func forUnlocking(file: String?, keyPath: String) throws -> SecretBytes {
        if let file { return try read(file: file) }
        guard let p = try Terminal.readSecret(prompt: "Passphrase for \(displaySafe(keyPath, limit: 200)): ") else {
            throw ChorusError.usage("no terminal to ask for the passphrase of \(displaySafe(keyPath, limit: 200)); give --passphrase-file FILE")
        }
        guard p.count > 0 else { throw ChorusError.usage("the passphrase is empty") }
        return p
    }

    /// A new passphrase: from `file` if given, else asked twice on the terminal without echo.
    public static func forNewKey(file: String?) throws -> SecretBytes {
        if let file { return try read(file: file) }
        guard let first = try Terminal.readSecret(prompt: "New passphrase for the secret key: ") else {
            throw ChorusError.usage("no terminal to ask for a passphrase; give --passphrase-file FILE")
        }
        guard first.count >= 8 else { throw ChorusError.usage("the passphrase must be at least 8 characters") }
        guard let second = try Terminal.readSecret(prompt: "Same passphrase again: ") else {
            throw ChorusError.usage("no terminal to confirm the passphrase")
        }
        guard first.constantTimeEquals(second) else { throw ChorusError.usage("the two passphrases differ; nothing was written") }
        return first
    }
}
