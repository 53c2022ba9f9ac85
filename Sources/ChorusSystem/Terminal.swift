import ChorusCrypto

#if canImport(Glibc)
import Glibc
#endif

/// Why reading from the terminal failed.
public enum TerminalError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A secret typed at a prompt is longer than the prompt takes.
    case secretTooLong(limit: Int)

    public var description: String {
        switch self {
        case let .secretTooLong(limit): return "the passphrase is longer than \(limit) bytes"
        }
    }
}

/// The controlling terminal (`/dev/tty`): prompts and secrets are read there, never from argv.
package enum Terminal {
    nonisolated(unsafe) private static var savedAttributes = termios()
    nonisolated(unsafe) private static var savedFD: Int32 = -1

    /// The longest secret a prompt takes.
    package static let maxSecretBytes = 1024

    /// True when stdin is a terminal.
    package static var stdinIsTerminal: Bool { isatty(0) == 1 }
    /// True when stderr is a terminal.
    package static var stderrIsTerminal: Bool { isatty(2) == 1 }

    /// Whether colour may be used on stderr: a terminal and `NO_COLOR` unset.
    package static var colorOnStderr: Bool { stderrIsTerminal && getenv("NO_COLOR") == nil }

    /// Opens `/dev/tty` for reading and writing, or nil when there is no controlling terminal.
    package static func openTTY() -> OwnedFD? {
        guard case let .success(fd) = Posix.openPath("/dev/tty", O_RDWR | O_NOCTTY) else { return nil }
        return fd
    }

    /// Asks for a secret on the terminal with echo off, into guarded memory. Returns nil when there is
    /// no terminal. Ctrl-C restores the echo before the process ends.
    package static func readSecret(prompt: String) throws(TerminalError) -> SecretBytes? {
        guard let tty = openTTY() else { return nil }
        let fd = tty.raw
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
        // The prompt only once echo is off: what is typed in answer to it is never shown, and never
        // thrown away by the flush above (which drops only what was typed before the prompt).
        write(fd, prompt)
        defer {
            if haveAttributes {
                tcsetattr(fd, TCSAFLUSH, &old)
                savedFD = -1
                signal(SIGINT, SIG_DFL)
            }
        }
        var buffer = SecretBytes(count: maxSecretBytes, guarded: true)
        var length = 0
        while true {
            var byte: UInt8 = 0
            let n = (try? withUnsafeMutableBytes(of: &byte) { (b) in try Posix.readOnce(fd, into: b) }) ?? 0
            if n <= 0 || byte == 0x0a || byte == 0x0d { break }
            guard length < buffer.count else { throw .secretTooLong(limit: maxSecretBytes) }
            buffer.withUnsafeMutableBytes { $0[length] = byte }
            byte = 0
            length += 1
        }
        return buffer.prefix(length)
    }

    /// Remembers the mode `fd` had before a reader changed it, and restores it if the process is
    /// interrupted (Ctrl-C, Ctrl-\\, a hang-up or SIGTERM) before `forgetSavedMode`: a terminal is never
    /// left without echo.
    package static func rememberSavedMode(fd: Int32, _ attributes: termios) {
        savedAttributes = attributes
        savedFD = fd
        var unblock = sigset_t()
        sigemptyset(&unblock)
        for sig in [SIGINT, SIGQUIT, SIGTERM, SIGHUP] {
            signal(sig) { sig in
                if Terminal.savedFD >= 0 { tcsetattr(Terminal.savedFD, TCSADRAIN, &Terminal.savedAttributes) }
                _exit(128 + sig)
            }
            sigaddset(&unblock, sig)
        }
        // A parent may have started chorus with these signals blocked (the mask is inherited): a
        // blocked Ctrl-C would never reach the handler, and the terminal would keep this mode.
        pthread_sigmask(SIG_UNBLOCK, &unblock, nil)
    }

    /// The mode was given back: signals act as they did.
    package static func forgetSavedMode() {
        savedFD = -1
        for sig in [SIGINT, SIGQUIT, SIGTERM, SIGHUP] { signal(sig, SIG_DFL) }
    }

    /// Reads one line from `fd` (echo on), a byte at a time so that nothing after it is taken, or
    /// nil at end of input. Lines longer than `limit` bytes are cut (the rest of the line is read and
    /// dropped); a final CR is removed.
    package static func readLine(fd: Int32, limit: Int = 4096) -> String? {
        var line: [UInt8] = []
        var byte: UInt8 = 0
        while true {
            let n = (try? withUnsafeMutableBytes(of: &byte) { (b) in try Posix.readOnce(fd, into: b) }) ?? 0
            if n == 0 {
                if line.isEmpty { return nil }
                break
            }
            if byte == 0x0A { break }
            if line.count < limit { line.append(byte) }
        }
        if line.last == 0x0D { line.removeLast() }
        return String(decoding: line, as: UTF8.self)
    }

    /// Writes all of `s` to `fd`; a failure is ignored (there is nowhere left to report it).
    package static func write(_ fd: Int32, _ s: String) {
        var bytes = Array(s.utf8)
        try? bytes.withUnsafeBytes { (b) in try Posix.writeAll(fd, b) }
        bytes.removeAll()
    }
}
