import ChorusCrypto
import ChorusFormat
import ChorusSystem

#if canImport(Glibc)
import Glibc
#endif

/// The short readable fingerprint of a public key (docs/FORMAT.md 2.1): the role is part of what is
/// hashed, so the same bytes under another role have another fingerprint.
public enum Fingerprint {
    public static func of(role: Role, rawKey: [UInt8]) -> String {
        let h = try! BLAKE2b.personalHash([role.rawValue] + rawKey, personal: "chorus-fpr-1")
        let chars = Array(Base32.encode(Array(h.prefix(10))).lowercased())
        return stride(from: 0, to: 16, by: 4).map { String(chars[$0 ..< $0 + 4]) }.joined(separator: "-")
    }

    public static func of(role: Role, publicKey: PublicKey) -> String { of(role: role, rawKey: publicKey.rawBytes) }

    /// `xxxx-xxxx-xxxx-xxxx` in lower case, or the same typed with upper case or without dashes:
    /// the canonical form, or nil when it is not a fingerprint.
    public static func normalise(_ text: String) -> String? {
        let symbols = text.lowercased().filter { $0 != "-" && $0 != " " }
        guard symbols.count == 16, symbols.allSatisfy({ Base32.value(UInt8(ascii: $0.uppercased().unicodeScalars.first!)) != nil }) else { return nil }
        let chars = Array(symbols)
        return stride(from: 0, to: 16, by: 4).map { String(chars[$0 ..< $0 + 4]) }.joined(separator: "-")
    }
}

/// The rule for a key's name (it becomes part of file names and is shown to users, and signed in a
/// store's recipients document): 1 to 64 printable ASCII characters, without spaces, `;` or `/`,
/// and not `.` or `..`.
public enum KeyName {
    public static func isValid(_ name: String) -> Bool {
        (1 ... SecretKeyFile.maxNameBytes).contains(name.utf8.count) && name != "." && name != ".."
            && name.unicodeScalars.allSatisfy { $0.isASCII && $0.value > 0x20 && $0.value < 0x7f && $0 != ";" && $0 != "/" }
    }

    public static let rule = "a key name must be 1 to \(SecretKeyFile.maxNameBytes) printable ASCII characters without spaces, '/' or ';'"
}

/// A recipient of envelopes: a reviewer's or an analyst's public key.
public struct RecipientKey: Sendable, Hashable {
    public let role: Role
    public let publicKey: PublicKey
    public let name: String?

    public init(role: Role, publicKey: PublicKey, name: String?) {
        precondition(role.isRecipient, "an organisation key is no recipient")
        self.role = role
        self.publicKey = publicKey
        self.name = name
    }

    public var fingerprint: String { Fingerprint.of(role: role, publicKey: publicKey) }

    /// The text of the `.pub` file.
    public var fileText: String {
        PublicKeyFile(role: role, rawKey: publicKey.rawBytes, name: name).render(fingerprint: fingerprint)
    }

    /// Name, role and fingerprint, as every command prints a key.
    public var info: KeyInfo { KeyInfo(name: name, role: role, fingerprint: fingerprint) }

    public static func == (a: RecipientKey, b: RecipientKey) -> Bool { a.role == b.role && a.publicKey == b.publicKey }
    public func hash(into h: inout Hasher) { h.combine(role.rawValue); h.combine(publicKey) }
}

/// The organisation's public signing key: what a submitter pins.
public struct OrganisationKey: Sendable, Hashable {
    public let publicKey: SigningPublicKey
    public let name: String?

    public init(publicKey: SigningPublicKey, name: String?) {
        self.publicKey = publicKey
        self.name = name
    }

    public var fingerprint: String { Fingerprint.of(role: .organisation, rawKey: publicKey.rawBytes) }
    public var fileText: String {
        PublicKeyFile(role: .organisation, rawKey: publicKey.rawBytes, name: name).render(fingerprint: fingerprint)
    }
    public var info: KeyInfo { KeyInfo(name: name, role: .organisation, fingerprint: fingerprint) }

    public static func == (a: OrganisationKey, b: OrganisationKey) -> Bool { a.publicKey == b.publicKey }
    public func hash(into h: inout Hasher) { h.combine(publicKey) }
}

/// What is shown of a key: its name, role and fingerprint, in one form for every command
/// (`key show`, `keygen`, `recipients list`, `submit`).
public struct KeyInfo: Sendable, Equatable {
    public let name: String?
    public let role: Role
    public let fingerprint: String

    public init(name: String?, role: Role, fingerprint: String) {
        self.name = name
        self.role = role
        self.fingerprint = fingerprint
    }

    /// `FINGERPRINT  ROLE  NAME`, the role padded so that lists line up; the name quoted through
    /// `displaySafe` (a public key file's name is not authenticated).
    public var line: String {
        let role = description(of: self.role)
        return "\(fingerprint)  \(role)\(String(repeating: " ", count: max(0, 12 - role.count)))  \(displaySafe(name ?? "(unnamed)"))"
    }

    private func description(of role: Role) -> String { role.description }
}

/// An unlocked secret key, shared read-only between threads while decrypting.
public final class UnlockedKey: Sendable {
    /// The role sealed (and authenticated) in the secret key file: a reader uses this role, never the
    /// one a stanza claims.
    public let role: Role
    public let name: String
    public let secret: SecretKey

    public init(role: Role, name: String, secret: consuming SecretKey) {
        precondition(role.isRecipient, "an organisation key opens nothing")
        self.role = role
        self.name = name
        self.secret = secret
    }

    public var publicKey: PublicKey { secret.publicKey }
    public var fingerprint: String { Fingerprint.of(role: role, publicKey: secret.publicKey) }
    public var info: KeyInfo { KeyInfo(name: name, role: role, fingerprint: fingerprint) }
}

/// The organisation's unlocked signing key.
public final class UnlockedOrganisationKey: Sendable {
    public let name: String
    public let secret: SigningKey

    public init(name: String, secret: consuming SigningKey) {
        self.name = name
        self.secret = secret
    }

    public var publicKey: OrganisationKey { OrganisationKey(publicKey: secret.publicKey, name: name) }
    public var fingerprint: String { publicKey.fingerprint }
}

/// Making, loading and unlocking keys.
public enum KeyFiles {
    /// Reads the recipients named by `paths` (a `.pub` file, or a folder whose `*.pub` files are read).
    /// Duplicates are removed. Errors name the file.
    public static func loadRecipients(_ paths: [String]) throws -> [RecipientKey] {
        var out: [RecipientKey] = []
        for path in paths {
            let st: stat
            switch Posix.statPath(path) {
            case let .success(s): st = s
            case let .failure(e):
                let why = "cannot read recipients from \(Posix.shown(path)): \(SystemError.reason(e.code))"
                throw SystemError(e.code == ENOENT || e.code == ENOTDIR ? .notFound : SystemError.kind(of: e.code), why, errno: e.code)
            }
            if Posix.isDirectory(st) {
                let names = try Posix.listDirectory(path: path).map(\.name).filter { $0.hasSuffix(".pub") }.sorted()
                for n in names { out.append(try loadPublicKey(path + "/" + n)) }
            } else {
                out.append(try loadPublicKey(path))
            }
        }
        var seen = Set<RecipientKey>()
        return out.filter { seen.insert($0).inserted }
    }

    /// Reads one public key file of a recipient (a reviewer or an analyst).
    public static func loadPublicKey(_ path: String) throws -> RecipientKey {
        let f = try readPublicKeyFile(path)
        guard f.role.isRecipient else {
            throw CoreError(.invalidKeyFile, "\(Posix.shown(path)) is the organisation's signing key, not a recipient's key; give reviewer or analyst keys")
        }
        do {
            return RecipientKey(role: f.role, publicKey: try PublicKey(rawBytes: f.rawKey), name: f.name)
        } catch {
            throw CoreError(.invalidKeyFile, "\(Posix.shown(path)) is not a usable public key: \(error)")
        }
    }

    /// Reads the organisation's public key file.
    public static func loadOrganisationKey(_ path: String) throws -> OrganisationKey {
        let f = try readPublicKeyFile(path)
        guard f.role == .organisation else {
            throw CoreError(.invalidKeyFile, "\(Posix.shown(path)) is a \(f.role) key, not the organisation's signing key")
        }
        do {
            return OrganisationKey(publicKey: try SigningPublicKey(rawBytes: f.rawKey), name: f.name)
        } catch {
            throw CoreError(.invalidKeyFile, "\(Posix.shown(path)) is not a usable signing key: \(error)")
        }
    }

    static func readPublicKeyFile(_ path: String) throws -> PublicKeyFile {
        let bytes = try InputFile.read(path, limit: PublicKeyFile.maxBytes, what: "public key file")
        do {
            return try PublicKeyFile.parse(bytes)
        } catch {
            throw CoreError(.invalidKeyFile, "\(Posix.shown(path)) is not a valid Chorus public key: \(error)")
        }
    }

    /// Name, role and fingerprint of a public or a secret key file, without a passphrase: a secret
    /// key file shows them in the clear (they are authenticated only once it is unlocked).
    public static func describe(_ path: String) throws -> KeyInfo {
        let bytes = try InputFile.read(path, limit: 4096, what: "key file")
        if let pub = try? PublicKeyFile.parse(bytes) {
            return KeyInfo(name: pub.name, role: pub.role, fingerprint: Fingerprint.of(role: pub.role, rawKey: pub.rawKey))
        }
        let secret = try inspectSecretKey(bytes, path: path)
        return KeyInfo(name: secret.name, role: secret.role, fingerprint: Fingerprint.of(role: secret.role, rawKey: secret.publicKey))
    }

    /// A new key: the text of its secret key file (the secret sealed under the passphrase), the text
    /// of its public key file, and what is shown of it. Reviewer and analyst keys are X25519 key
    /// pairs; the organisation's key is an Ed25519 key, kept as its 32-byte seed.
    public static func generate(name: String, role: Role, passphrase: borrowing SecretBytes,
                                cost: PasswordHash.Parameters = .moderate) throws -> (secretFile: String, publicFile: String, info: KeyInfo) {
        guard KeyName.isValid(name) else { throw CoreError(.invalidKeyName, KeyName.rule) }
        let secret: SecretBytes, publicKey: [UInt8], publicFile: String, info: KeyInfo
        if role == .organisation {
            let key = SigningKey.generate()
            secret = key.exportSeed()
            let org = OrganisationKey(publicKey: key.publicKey, name: name)
            (publicKey, publicFile, info) = (key.publicKey.rawBytes, org.fileText, org.info)
        } else {
            let key = SecretKey.generate()
            secret = key.exportSecret()
            let recipient = RecipientKey(role: role, publicKey: key.publicKey, name: name)
            (publicKey, publicFile, info) = (key.publicKey.rawBytes, recipient.fileText, recipient.info)
        }
        let salt = Random.bytes(PasswordHash.saltByteCount)
        let nonce = Random.bytes(SecretKeyFile.nonceLength)
        let wrap = try PasswordHash.deriveKey(length: 32, passphrase: passphrase, salt: salt, parameters: cost)
        let ad = SecretKeyFile.associatedData(role: role, opsLimit: cost.opsLimit, memoryBytes: cost.memoryBytes, salt: salt,
                                              publicKey: publicKey, name: name, nonce: nonce)
        let sealed = try XChaCha20Poly1305.seal(secret, associatedData: ad, nonce: nonce, key: wrap)
        let file = try SecretKeyFile(role: role, opsLimit: cost.opsLimit, memoryBytes: cost.memoryBytes, salt: salt,
                                     publicKey: publicKey, name: name, nonce: nonce, sealedSecret: sealed)
        return (file.render(), publicFile, info)
    }

    /// Parses a secret key file without unlocking it (to show its name and fingerprint, or to check
    /// its costs before asking for a passphrase).
    public static func inspectSecretKey(_ bytes: [UInt8], path: String) throws -> SecretKeyFile {
        do {
            return try SecretKeyFile.parse(bytes)
        } catch {
            throw CoreError(.invalidKeyFile, "\(Posix.shown(path)) is not a valid Chorus secret key: \(error)")
        }
    }

    /// The folder `chorus keygen` writes secret keys into: `$XDG_CONFIG_HOME/chorus/keys`, else
    /// `~/.config/chorus/keys`; nil without XDG_CONFIG_HOME or HOME.
    public static var secretKeyFolder: String? {
        if let x = getenv("XDG_CONFIG_HOME"), x.pointee != 0 { return String(cString: x) + "/chorus/keys" }
        if let h = getenv("HOME"), h.pointee != 0 { return String(cString: h) + "/.config/chorus/keys" }
        return nil
    }

    /// The secret key file `given` stands for: the path itself when a file is there or it names a
    /// folder (has a `/`); a bare key name (`alice`) is `NAME.key` in `secretKeyFolder`, where keygen
    /// put it. A name found in neither place is `.notFound` with one sentence naming both.
    public static func secretKeyPath(_ given: String) throws -> String {
        if given.contains("/") || access(given, F_OK) == 0 { return given }
        let name = given.hasSuffix(".key") ? String(given.dropLast(4)) : given
        guard KeyName.isValid(name), let folder = secretKeyFolder else { return given }
        let candidate = folder + "/" + name + ".key"
        if access(candidate, F_OK) == 0 { return candidate }
        throw SystemError(.notFound, "no secret key \(Posix.shown(given)): no such file here, nor \(Posix.shown(candidate)) (where chorus keygen puts keys)", errno: ENOENT)
    }

    /// Reads a secret key file, refusing one that others can read (exit 77). A public key file given
    /// where the secret key belongs (public keys are meant to be readable by all) is named as such
    /// (exit 65) instead of being called a secret that others can read.
    public static func readSecretKeyFile(_ path: String) throws -> [UInt8] {
        let shown = Posix.shown(path)
        var openMode: mode_t? = nil
        let bytes = try InputFile.read(path, limit: 4096, what: "secret key") { st in
            if st.st_mode & 0o077 != 0 { openMode = st.st_mode & 0o777 }
        }
        if let mode = openMode {
            if (try? PublicKeyFile.parse(bytes)) != nil {
                throw CoreError(.invalidKeyFile, "\(shown) is a public key file, not a secret key; give the secret key file that chorus keygen wrote with it (--secret-out)")
            }
            throw CoreError(.keyReadableByOthers, "secret key \(shown) can be read by others (mode \(String(mode, radix: 8))); run 'chmod 600 \(shown)' and check who may have copied it")
        }
        return bytes
    }

    /// Unlocks a reviewer's or an analyst's secret key file with a passphrase. A wrong passphrase (or
    /// a damaged file) is `.wrongPassphrase`.
    public static func unlock(_ bytes: [UInt8], passphrase: borrowing SecretBytes, path: String) throws -> UnlockedKey {
        let file = try inspectSecretKey(bytes, path: path)
        let secret = try open(file, passphrase: passphrase, path: path)
        guard file.role.isRecipient else {
            throw CoreError(.invalidKeyFile, "\(Posix.shown(path)) is the organisation's signing key, which opens no entry; give a reviewer or analyst key")
        }
        let key = try SecretKey(rawSecret: secret)
        guard ConstantTime.equals(key.publicKey.rawBytes, file.publicKey) else {
            throw CoreError(.invalidKeyFile, "secret key \(Posix.shown(path)) is inconsistent: its secret part does not match its public key")
        }
        return UnlockedKey(role: file.role, name: file.name, secret: key)
    }

    /// Unlocks the organisation's signing key file with a passphrase.
    public static func unlockOrganisation(_ bytes: [UInt8], passphrase: borrowing SecretBytes, path: String) throws -> UnlockedOrganisationKey {
        let file = try inspectSecretKey(bytes, path: path)
        let seed = try open(file, passphrase: passphrase, path: path)
        guard file.role == .organisation else {
            throw CoreError(.invalidKeyFile, "\(Posix.shown(path)) is a \(file.role) key; signing needs the organisation's key (chorus keygen --role organisation)")
        }
        let key = try SigningKey(seed: seed)
        guard ConstantTime.equals(key.publicKey.rawBytes, file.publicKey) else {
            throw CoreError(.invalidKeyFile, "secret key \(Posix.shown(path)) is inconsistent: its secret part does not match its public key")
        }
        return UnlockedOrganisationKey(name: file.name, secret: key)
    }

    /// The opened secret of a parsed file (whose costs were checked before Argon2id runs).
    private static func open(_ file: SecretKeyFile, passphrase: borrowing SecretBytes, path: String) throws -> SecretBytes {
        let cost = PasswordHash.Parameters(opsLimit: file.opsLimit, memoryBytes: file.memoryBytes)
        let wrap: SecretBytes
        do {
            wrap = try PasswordHash.deriveKey(length: 32, passphrase: passphrase, salt: file.salt, parameters: cost)
        } catch {
            throw CoreError(.outOfMemory, "cannot unlock \(Posix.shown(path)): the passphrase hash needs \(file.memoryBytes >> 20) MiB of memory and could not get it")
        }
        do {
            return try XChaCha20Poly1305.open(file.sealedSecret, associatedData: file.associatedData, nonce: file.nonce, key: wrap)
        } catch {
            throw CoreError(.wrongPassphrase, "cannot unlock \(Posix.shown(path)): wrong passphrase, or the key file was damaged")
        }
    }
}
