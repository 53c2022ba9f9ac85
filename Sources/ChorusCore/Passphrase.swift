import ChorusCrypto
import ChorusSystem

/// Passphrases: from a file (`--passphrase-file`), or asked on the terminal.
public enum Passphrase {
    /// The shortest passphrase accepted for a new key.
    public static let minimumLength = 8

    /// Reads a passphrase from a file: its first line, without the line ending. Refuses an empty one.
    /// The file is read straight into guarded memory, and only the first line is copied out, into
    /// guarded memory again: no copy of the passphrase is ever in ordinary (swappable, unwiped) memory.
    public static func read(file path: String) throws -> SecretBytes {
        let all = try InputFile.readSecret(path, limit: 4096, what: "passphrase file")
        var end = all.withUnsafeBytes { $0.firstIndex(of: 0x0a) ?? $0.count }
        if end > 0 && all.withUnsafeBytes({ $0[end - 1] }) == 0x0d { end -= 1 }
        guard end > 0 else { throw CoreError(.invalidPassphrase, "passphrase file \(displaySafe(path, limit: 200)) is empty") }
        return all.prefix(end)
    }

    /// The passphrase to unlock a key: from `file` if given, else asked once on the terminal. With
    /// neither, refuses.
    public static func forUnlocking(file: String?, keyPath: String) throws -> SecretBytes {
        if let file { return try read(file: file) }
        guard let p = try Terminal.readSecret(prompt: "Passphrase for \(displaySafe(keyPath, limit: 200)): ") else {
            throw CoreError(.invalidPassphrase, "no terminal to ask for the passphrase of \(displaySafe(keyPath, limit: 200)); give --passphrase-file FILE")
        }
        guard p.count > 0 else { throw CoreError(.invalidPassphrase, "the passphrase is empty") }
        return p
    }

    /// A new passphrase: from `file` if given, else asked twice on the terminal without echo. Either
    /// way it must be at least `minimumLength` bytes.
    public static func forNewKey(file: String?) throws -> SecretBytes {
        if let file {
            let p = try read(file: file)
            guard p.count >= minimumLength else {
                throw CoreError(.invalidPassphrase, "the passphrase in \(displaySafe(file, limit: 200)) is \(p.count) bytes; a new key's passphrase must be at least \(minimumLength)")
            }
            return p
        }
        guard let first = try Terminal.readSecret(prompt: "New passphrase for the secret key: ") else {
            throw CoreError(.invalidPassphrase, "no terminal to ask for a passphrase; give --passphrase-file FILE")
        }
        guard first.count >= minimumLength else { throw CoreError(.invalidPassphrase, "the passphrase must be at least \(minimumLength) characters") }
        guard let second = try Terminal.readSecret(prompt: "Same passphrase again: ") else {
            throw CoreError(.invalidPassphrase, "no terminal to confirm the passphrase")
        }
        guard first.constantTimeEquals(second) else { throw CoreError(.invalidPassphrase, "the two passphrases differ; nothing was written") }
        return first
    }
}
