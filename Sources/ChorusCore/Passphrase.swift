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

    /// Tries a person gets at a passphrase prompt before the command gives up.
    public static let maxTries = 3

    private static func ask(keyPath: String, note: String) throws -> SecretBytes {
        guard let p = try Terminal.readSecret(prompt: note + "Passphrase for \(displaySafe(keyPath, limit: 200)): ") else {
            throw CoreError(.invalidPassphrase, "no terminal to ask for the passphrase of \(displaySafe(keyPath, limit: 200)); give --passphrase-file FILE")
        }
        return p
    }

    /// Unlocks a key with `unlock`, given the passphrase: from `file` once, or asked on the terminal
    /// up to `maxTries` times while it is wrong (`.wrongPassphrase`) or empty. The last failure is thrown.
    public static func unlocking<T>(file: String?, keyPath: String, _ unlock: (borrowing SecretBytes) throws -> T) throws -> T {
        if let file { return try unlock(try read(file: file)) }
        var note = ""
        for attempt in 1 ... maxTries {
            let passphrase = try ask(keyPath: keyPath, note: note)
            let left = maxTries - attempt
            if passphrase.count == 0 {
                if left == 0 { throw CoreError(.invalidPassphrase, "the passphrase is empty") }
                note = "The passphrase is empty. Please try again (\(left) \(left == 1 ? "try" : "tries") left).\n"
                continue
            }
            do {
                return try unlock(passphrase)
            } catch let error as CoreError where error.kind == .wrongPassphrase && left > 0 {
                note = "Wrong passphrase. Please try again (\(left) \(left == 1 ? "try" : "tries") left).\n"
            }
        }
        throw CoreError(.bug, "internal error: no passphrase after \(maxTries) tries")
    }

    /// What a new passphrase must be, said before it is asked for.
    public static let rules = "Choose a passphrase for the secret key: at least \(minimumLength) characters (a few unrelated words are easy to remember and hard to guess). It is not shown as you type, and asked twice."

    /// A new passphrase: from `file` if given, else asked twice on the terminal without echo, with the
    /// rules said first and up to `maxTries` tries. Either way it must be at least `minimumLength` bytes.
    public static func forNewKey(file: String?) throws -> SecretBytes {
        if let file {
            let p = try read(file: file)
            guard p.count >= minimumLength else {
                throw CoreError(.invalidPassphrase, "the passphrase in \(displaySafe(file, limit: 200)) is \(p.count) bytes; a new key's passphrase must be at least \(minimumLength)")
            }
            return p
        }
        var note = rules + "\n"
        for attempt in 1 ... maxTries {
            let left = maxTries - attempt
            let again = left > 0 ? " Please try again (\(left) \(left == 1 ? "try" : "tries") left).\n" : ""
            guard let first = try Terminal.readSecret(prompt: note + "New passphrase for the secret key: ") else {
                throw CoreError(.invalidPassphrase, "no terminal to ask for a passphrase; give --passphrase-file FILE")
            }
            guard first.count >= minimumLength else {
                if left == 0 { throw CoreError(.invalidPassphrase, "the passphrase must be at least \(minimumLength) characters; nothing was written") }
                note = "That passphrase is \(first.count) character\(first.count == 1 ? "" : "s"); it must be at least \(minimumLength)." + again
                continue
            }
            guard let second = try Terminal.readSecret(prompt: "Same passphrase again: ") else {
                throw CoreError(.invalidPassphrase, "no terminal to confirm the passphrase")
            }
            if first.constantTimeEquals(second) { return first }
            if left == 0 { throw CoreError(.invalidPassphrase, "the two passphrases differ; nothing was written") }
            note = "The two passphrases differ." + again
        }
        throw CoreError(.bug, "internal error: no passphrase after \(maxTries) tries")
    }
}
