import ChorusCrypto
import ChorusFormat
import ChorusSystem

#if canImport(Glibc)
import Glibc
#endif

/// The short readable fingerprint of a public key (docs/FORMAT.md 2.1).
public enum Fingerprint {
    public static func of(role: Role, publicKey: PublicKey) -> String {
        let h = try! BLAKE2b.personalHash([role.rawValue] + publicKey.rawBytes, personal: "chorus-fpr-1")
        let chars = Array(Base32.encode(Array(h.prefix(10))).lowercased())
        return stride(from: 0, to: 16, by: 4).map { String(chars[$0 ..< $0 + 4]) }.joined(separator: "-")
    }
}

/// A recipient of envelopes: a public key with its role.
public struct RecipientKey: Sendable, Hashable {
    public let role: Role
    public let publicKey: PublicKey
    public let name: String?

    public init(role: Role, publicKey: PublicKey, name: String?) {
        self.role = role
        self.publicKey = publicKey
        self.name = name
    }

    public var fingerprint: String { Fingerprint.of(role: role, publicKey: publicKey) }

    /// The text of the `.pub` file.
    public var fileText: String {
        PublicKeyFile(role: role, rawKey: publicKey.rawBytes, name: name).render(fingerprint: fingerprint)
    }

    public static func == (a: RecipientKey, b: RecipientKey) -> Bool { a.role == b.role && a.publicKey == b.publicKey }
    public func hash(into h: inout Hasher) { h.combine(role.rawValue); h.combine(publicKey) }
}

/// An unlocked secret key, shared read-only between threads while decrypting.
public final class UnlockedKey: Sendable {
    public let role: Role
    public let name: String
    public let secret: SecretKey

    public init(role: Role, name: String, secret: consuming SecretKey) {
        self.role = role
        self.name = name
        self.secret = secret
    }

    public var publicKey: PublicKey { secret.publicKey }
    public var fingerprint: String { Fingerprint.of(role: role, publicKey: secret.publicKey) }
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

    /// Reads one public key file.
    public static func loadPublicKey(_ path: String) throws -> RecipientKey {
        let bytes = try InputFile.read(path, limit: PublicKeyFile.maxBytes, what: "public key file")
        do {
            let f = try PublicKeyFile.parse(bytes)
            return RecipientKey(role: f.role, publicKey: try PublicKey(rawBytes: f.rawKey), name: f.name)
        } catch let e as FormatError {
            throw CoreError(.invalidKeyFile, "\(Posix.shown(path)) is not a valid Chorus public key: \(e)")
        } catch let e as CryptoError {
            throw CoreError(.invalidKeyFile, "\(Posix.shown(path)) is not a usable public key: \(e)")
        }
    }

    /// Makes a new key pair and returns the secret key file text and the recipient.
    public static func generate(name: String, role: Role, passphrase: borrowing SecretBytes,
                                cost: PasswordHash.Parameters = .moderate) throws -> (secretFile: String, recipient: RecipientKey) {
        guard (1 ... SecretKeyFile.maxNameBytes).contains(name.utf8.count),
              name.unicodeScalars.allSatisfy({ $0.isASCII && $0.value >= 0x21 && $0.value < 0x7f && $0 != ";" }) else {
            throw CoreError(.invalidKeyName, "a key name must be 1 to 64 printable ASCII characters without spaces or ';'")
        }
        let key = SecretKey.generate()
        let salt = Random.bytes(PasswordHash.saltByteCount)
        let nonce = Random.bytes(SecretKeyFile.nonceLength)
        let wrap = try PasswordHash.deriveKey(length: 32, passphrase: passphrase, salt: salt, parameters: cost)
        let ad = SecretKeyFile.associatedData(role: role, opsLimit: cost.opsLimit, memoryBytes: cost.memoryBytes, salt: salt,
                                              publicKey: key.publicKey.rawBytes, name: name, nonce: nonce)
        let sealed = try XChaCha20Poly1305.seal(key.exportSecret(), associatedData: ad, nonce: nonce, key: wrap)
        let file = try SecretKeyFile(role: role, opsLimit: cost.opsLimit, memoryBytes: cost.memoryBytes, salt: salt,
                                     publicKey: key.publicKey.rawBytes, name: name, nonce: nonce, sealedSecret: sealed)
        return (file.render(), RecipientKey(role: role, publicKey: key.publicKey, name: name))
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

    /// Unlocks a secret key file with a passphrase. A wrong passphrase (or a damaged file) exits 77.
    public static func unlock(_ bytes: [UInt8], passphrase: borrowing SecretBytes, path: String) throws -> UnlockedKey {
        let file = try inspectSecretKey(bytes, path: path)
        let cost = PasswordHash.Parameters(opsLimit: file.opsLimit, memoryBytes: file.memoryBytes)
        let wrap: SecretBytes
        do {
            wrap = try PasswordHash.deriveKey(length: 32, passphrase: passphrase, salt: file.salt, parameters: cost)
        } catch {
            throw CoreError(.outOfMemory, "cannot unlock \(Posix.shown(path)): the passphrase hash needs \(file.memoryBytes >> 20) MiB of memory and could not get it")
        }
        let secret: SecretBytes
        do {
            secret = try XChaCha20Poly1305.open(file.sealedSecret, associatedData: file.associatedData, nonce: file.nonce, key: wrap)
        } catch {
            throw CoreError(.wrongPassphrase, "cannot unlock \(Posix.shown(path)): wrong passphrase, or the key file was damaged")
        }
        let key = try SecretKey(rawSecret: secret)
        guard ConstantTime.equals(key.publicKey.rawBytes, file.publicKey) else {
            throw CoreError(.invalidKeyFile, "secret key \(Posix.shown(path)) is inconsistent: its secret part does not match its public key")
        }
        return UnlockedKey(role: file.role, name: file.name, secret: key)
    }
}

