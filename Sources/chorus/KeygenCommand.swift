import ArgumentParser
import ChorusCore
import ChorusCrypto
import ChorusFormat
import ChorusSystem

#if canImport(Glibc)
import Glibc
#endif

struct KeygenCommand: ChorusCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Make a reviewer or analyst key pair.",
        discussion: """
            The public key (NAME.pub) goes to submitters, by default into ./Keys. The secret key is \
            encrypted with a passphrase (Argon2id, MODERATE cost) and written with mode 0600; it is never \
            overwritten. Keep it on the reviewer's own, ideally offline, machine.
            """
    )

    @Option(help: "A name for the key (1 to 64 printable ASCII characters, no spaces), shown to users.")
    var name: String

    @Option(help: "reviewer (opens answers and story), analyst (opens answers only), or organisation (signs a store's recipients and questionnaire).")
    var role: Role = .reviewer

    @Option(name: .customLong("public-out"), help: "Where to write the public key (default: Keys/NAME.pub).")
    var publicOut: String?

    @Option(name: .customLong("secret-out"), help: "Where to write the secret key (default: ~/.config/chorus/keys/NAME.key, folder 0700).")
    var secretOut: String?

    @Option(name: .customLong("passphrase-file"), help: "Read the passphrase from the first line of this file instead of asking twice on the terminal.")
    var passphraseFile: String?

    @Option(name: .customLong("kdf-cost"), help: "Argon2id cost: moderate (~0.6 s and 256 MiB to unlock), sensitive, or test-only (fast and weak: for automated tests only).")
    var kdfCost: KDFCost = .moderate

    func validate() throws {
        // The name becomes part of file names (Keys/NAME.pub, NAME.key) and is shown to users: checked
        // before anything else, so that no path is built from a name with '/', '..' or control characters.
        guard KeyName.isValid(name) else { throw ValidationError("--name: \(KeyName.rule) (not \"\(displaySafe(name))\")") }
    }

    func execute() throws {
        let cost = kdfCost.parameters
        let publicPath = publicOut ?? "Keys/\(name).pub"
        let secretPath = try secretOut ?? defaultSecretPath()
        for path in [publicPath, secretPath] where access(path, F_OK) == 0 {
            throw SystemError(.alreadyExists, "\(shownPath(path)) already exists; chorus never overwrites a key (choose another name or path)")
        }
        let passphrase = try Passphrase.forNewKey(file: passphraseFile)
        let made = try KeyFiles.generate(name: name, role: role, passphrase: passphrase, cost: cost)
        try ensureParentFolder(of: publicPath, mode: 0o755)
        try ensureParentFolder(of: secretPath, mode: 0o700)
        try DurableFile.createExclusive(path: secretPath, contents: Array(made.secretFile.utf8))
        do {
            try DurableFile.createExclusive(path: publicPath, contents: Array(made.publicFile.utf8), publicReadable: true)
        } catch {
            _ = unlink(secretPath)
            throw error
        }
        if cost == .testOnly { warn("this key uses test-only passphrase costs; never use it for real stories") }
        printErr("made \(role) key '\(name)', fingerprint \(made.info.fingerprint)")
        if role == .organisation {
            printErr("  public key: \(shownPath(publicPath))  (publish it and its fingerprint: submitters pin it)")
            printErr("  secret key: \(shownPath(secretPath))  (mode 0600; it signs the stores' recipients: keep it offline, with its passphrase)")
        } else {
            printErr("  public key: \(shownPath(publicPath))  (the organisation signs it into a store's recipients: chorus recipients add)")
            printErr("  secret key: \(shownPath(secretPath))  (mode 0600; keep it on the \(role)'s machine, with its passphrase)")
        }
        printOut(made.info.line)
    }

    private func defaultSecretPath() throws -> String {
        guard let folder = KeyFiles.secretKeyFolder else {
            throw SystemError(.invalidPath, "no HOME to put the secret key in; give --secret-out FILE")
        }
        return "\(folder)/\(name).key"
    }
}

/// Creates the folders above `path` that are missing, with `mode`.
func ensureParentFolder(of path: String, mode: mode_t) throws {
    try Posix.makeFolders(Posix.split(path).folder, mode: mode)
}

extension Role: ExpressibleByArgument {
    public init?(argument: String) { self.init(name: argument) }
    public static var allValueStrings: [String] { allCases.map(\.description) }
}

/// The Argon2id costs `keygen` can write.
enum KDFCost: String, CaseIterable, ExpressibleByArgument {
    case moderate, sensitive
    case testOnly = "test-only"

    var parameters: PasswordHash.Parameters {
        switch self {
        case .moderate: return .moderate
        case .sensitive: return .sensitive
        case .testOnly: return .testOnly
        }
    }
}
