import ArgumentParser
import ChorusCore
import ChorusCrypto
import ChorusReading
import ChorusSystem

#if canImport(Glibc)
import Glibc
#endif

/// `--key FILE|NAME` (repeatable, optional) and `--passphrase-file FILE` (one for all keys, or one per key).
struct KeyOptions: ParsableArguments {
    @Option(name: .customLong("key"), help: KeyHelp.key)
    var keys: [String] = []

    @Option(name: .customLong("passphrase-file"), help: KeyHelp.passphraseFile)
    var passphraseFiles: [String] = []

    func validate() throws { try KeyHelp.checkPassphraseFiles(keys: keys, passphraseFiles: passphraseFiles) }

    /// Reads and unlocks every key; a key readable by others is refused (exit 77).
    func unlock() throws -> [UnlockedKey] { try KeyHelp.unlock(keys: keys, passphraseFiles: passphraseFiles) }
}

/// The same options for a command that cannot work without a key: the usage line shows `--key` as
/// required, and argument-parser refuses a command line without one.
struct RequiredKeyOptions: ParsableArguments {
    @Option(name: .customLong("key"), help: KeyHelp.key)
    var keys: [String]

    @Option(name: .customLong("passphrase-file"), help: KeyHelp.passphraseFile)
    var passphraseFiles: [String] = []

    func validate() throws { try KeyHelp.checkPassphraseFiles(keys: keys, passphraseFiles: passphraseFiles) }

    func unlock() throws -> [UnlockedKey] { try KeyHelp.unlock(keys: keys, passphraseFiles: passphraseFiles) }
}

/// What `KeyOptions` and `RequiredKeyOptions` share.
enum KeyHelp {
    static let key: ArgumentHelp = "A secret key file, or the name of one that keygen put in ~/.config/chorus/keys (repeatable: old and new keys after a rotation)."
    static let passphraseFile: ArgumentHelp = "Read the key's passphrase from the first line of this file (repeat once per --key, or give one for all)."

    static func checkPassphraseFiles(keys: [String], passphraseFiles: [String]) throws {
        if passphraseFiles.count > 1 && passphraseFiles.count != keys.count {
            throw ValidationError("give one --passphrase-file for all keys, or one per --key (\(keys.count) keys, \(passphraseFiles.count) passphrase files)")
        }
    }

    /// Reads and unlocks every key; a key readable by others is refused (exit 77).
    static func unlock(keys: [String], passphraseFiles: [String]) throws -> [UnlockedKey] {
        var out: [UnlockedKey] = []
        for (i, given) in keys.enumerated() {
            let path = try KeyFiles.secretKeyPath(given)
            let bytes = try KeyFiles.readSecretKeyFile(path)
            let file = try KeyFiles.inspectSecretKey(bytes, path: path)
            let passFile = passphraseFiles.isEmpty ? nil : passphraseFiles[passphraseFiles.count == 1 ? 0 : i]
            let key = try Passphrase.unlocking(file: passFile, keyPath: path) { passphrase in
                try KeyFiles.unlock(bytes, passphrase: passphrase, path: path)
            }
            if file.opsLimit < 2 { warn("\(path) uses test-only passphrase costs; never use it for real stories") }
            out.append(key)
        }
        return out
    }
}

/// Says, for each key that is a recipient of no entry in the sources, that it is (one sentence with
/// its fingerprint); true if any.
func reportUnusedKeys(_ keys: [UnlockedKey], _ unused: [Int]) -> Bool {
    for i in unused {
        let key = keys[i]
        printErr("chorus: error: the \(key.role) key '\(key.name)' (fingerprint \(key.fingerprint)) is a recipient of no entry in these sources")
    }
    return !unused.isEmpty
}

/// A progress line on stderr, only when stderr is a terminal and the work is long.
final class ProgressLine: @unchecked Sendable {
    private let enabled: Bool
    private let start = monotonicSeconds()
    private var last = 0.0
    private let verb: String

    init(verb: String) {
        self.verb = verb
        enabled = Terminal.stderrIsTerminal
    }

    /// Called with the running count (serially).
    func update(_ n: Int) {
        guard enabled, n >= 1000 else { return }
        let now = monotonicSeconds()
        guard now - last >= 0.2 else { return }
        last = now
        let rate = Double(n) / max(now - start, 0.001)
        let bar = String(repeating: "#", count: min(30, Int(log2(Double(n)))))
        Terminal.write(2, "\r\(verb) \(n) entries  \(Int(rate))/s  \(bar)\u{1B}[K")
    }

    func finish() {
        if enabled && last > 0 {
            Terminal.write(2, "\r\u{1B}[K")
            last = 0
        }
    }
}

func monotonicSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}
