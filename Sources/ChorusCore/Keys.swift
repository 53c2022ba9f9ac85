import ChorusCrypto
import ChorusFormat

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
            var st = stat()
            guard stat(path, &st) == 0 else {
                let e = errno
                let why = "cannot read recipients from \(Posix.shown(path)): \(Posix.reason(e))"
                throw e == ENOENT || e == ENOTDIR ? ChorusError.noInput(why) : ChorusError(Posix.status(e), why)
            }
            if (st.st_mode & S_IFMT) == S_IFDIR {
                let names = try listDirectory(path).filter { $0.hasSuffix(".pub") }.sorted()
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
        let bytes = try readSmallFile(path, limit: PublicKeyFile.maxBytes, what: "public key file")
        do {
            let f = try PublicKeyFile.parse(bytes)
            return RecipientKey(role: f.role, publicKey: try PublicKey(rawBytes: f.rawKey), name: f.name)
        } catch let e as FormatError {
            throw ChorusError.data("\(Posix.shown(path)) is not a valid Chorus public key: \(e)")
        } catch let e as CryptoError {
            throw ChorusError.data("\(Posix.shown(path)) is not a usable public key: \(e)")
        }
    }

    /// Makes a new key pair and returns the secret key file text and the recipient.
    public static func generate(name: String, role: Role, passphrase: borrowing SecretBytes,
                                cost: PasswordHash.Parameters = .moderate) throws -> (secretFile: String, recipient: RecipientKey) {
        guard (1 ... SecretKeyFile.maxNameBytes).contains(name.utf8.count),
              name.unicodeScalars.allSatisfy({ $0.isASCII && $0.value >= 0x21 && $0.value < 0x7f && $0 != ";" }) else {
            throw ChorusError.usage("a key name must be 1 to 64 printable ASCII characters without spaces or ';'")
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
        } catch let e as FormatError {
            throw ChorusError.data("\(Posix.shown(path)) is not a valid Chorus secret key: \(e)")
        }
    }

    /// Reads a secret key file, refusing one that others can read (exit 77). A public key file given
    /// where the secret key belongs (public keys are meant to be readable by all) is named as such
    /// (exit 65) instead of being called a secret that others can read.
    public static func readSecretKeyFile(_ path: String) throws -> [UInt8] {
        let shown = Posix.shown(path)
        var openMode: mode_t? = nil
        let bytes = try readSmallFile(path, limit: 4096, what: "secret key") { st in
            if st.st_mode & 0o077 != 0 { openMode = st.st_mode & 0o777 }
        }
        if let mode = openMode {
            if (try? PublicKeyFile.parse(bytes)) != nil {
                throw ChorusError.data("\(shown) is a public key file, not a secret key; give the secret key file that chorus keygen wrote with it (--secret-out)")
            }
            throw ChorusError.permission("secret key \(shown) can be read by others (mode \(String(mode, radix: 8))); run 'chmod 600 \(shown)' and check who may have copied it")
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
            throw ChorusError.io("cannot unlock \(Posix.shown(path)): the passphrase hash needs \(file.memoryBytes >> 20) MiB of memory and could not get it")
        }
        let secret: SecretBytes
        do {
            secret = try XChaCha20Poly1305.open(file.sealedSecret, associatedData: file.associatedData, nonce: file.nonce, key: wrap)
        } catch {
            throw ChorusError.permission("cannot unlock \(Posix.shown(path)): wrong passphrase, or the key file was damaged")
        }
        let key = try SecretKey(rawSecret: secret)
        guard ConstantTime.equals(key.publicKey.rawBytes, file.publicKey) else {
            throw ChorusError.data("secret key \(Posix.shown(path)) is inconsistent: its secret part does not match its public key")
        }
        return UnlockedKey(role: file.role, name: file.name, secret: key)
    }
}

/// Names in a folder (not `.` or `..`), or a ChorusError naming it.
func listDirectory(_ path: String) throws -> [String] {
    guard let d = opendir(path) else {
        let e = errno
        throw ChorusError(Posix.status(e), "cannot read folder \(Posix.shown(path)): \(Posix.reason(e))")
    }
    defer { closedir(d) }
    var names: [String] = []
    while let e = readdir(d) {
        let name = withUnsafePointer(to: e.pointee.d_name) { $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) } }
        if name != "." && name != ".." { names.append(name) }
    }
    return names
}

/// Reads a whole small file given by the user, refusing one larger than `limit`, a folder, and
/// anything that is not a regular file (a FIFO, a socket, a device): the file is opened with
/// O_NONBLOCK, so a FIFO planted where an envelope or a key is expected cannot make chorus wait
/// forever for a writer, nor a device make it read forever. `check` then sees the opened file's
/// status (e.g. to note a secret key that others can read). Paths are shown through `displaySafe`.
public func readSmallFile(_ path: String, limit: Int, what: String, check: ((stat) throws -> Void)? = nil) throws -> [UInt8] {
    let shown = Posix.shown(path)
    let fd = try openInputFile(path, what: what, nonBlocking: true)
    defer { close(fd) }
    var st = stat()
    guard fstat(fd, &st) == 0 else { throw ChorusError.io("cannot read the attributes of \(what) \(shown): \(Posix.reason(errno))") }
    if (st.st_mode & S_IFMT) == S_IFDIR { throw ChorusError.data("\(what) \(shown) is a folder, not a file") }
    guard (st.st_mode & S_IFMT) == S_IFREG else {
        throw ChorusError.data("\(what) \(shown) is not a regular file (it is a pipe, a socket or a device); give a file")
    }
    try check?(st)
    return try readAll(fd: fd, limit: limit, path: shown, what: what)
}

/// Opens a user-given input file for reading, or throws one sentence (missing: `.noInput`).
private func openInputFile(_ path: String, what: String, nonBlocking: Bool) throws -> Int32 {
    let shown = Posix.shown(path)
    let fd = open(path, O_RDONLY | O_CLOEXEC | (nonBlocking ? O_NONBLOCK : 0))
    guard fd >= 0 else {
        let e = errno
        if e == ENOENT || e == ENOTDIR { throw ChorusError.noInput("\(what) \(shown) does not exist") }
        if e == EACCES { throw ChorusError.permission("cannot read \(what) \(shown): permission denied") }
        throw ChorusError.io("cannot open \(what) \(shown): \(Posix.reason(e))")
    }
    return fd
}

/// Reads a whole small secret file (a passphrase) straight into guarded memory (`sodium_malloc`:
/// locked out of swap, wiped when freed), so that no copy of it is left in ordinary memory. Pipes
/// and process substitution (`--passphrase-file <(pass show chorus)`) work: it waits for the writer.
public func readSecretFile(_ path: String, limit: Int, what: String) throws -> SecretBytes {
    let fd = try openInputFile(path, what: what, nonBlocking: false)
    defer { close(fd) }
    return try readSecret(fd: fd, limit: limit, path: Posix.shown(path), what: what)
}

/// Reads `fd` to its end, at most `limit` bytes, into guarded memory; `path` names it in messages
/// and must already be safe to show.
public func readSecret(fd: Int32, limit: Int, path: String, what: String) throws -> SecretBytes {
    var buffer = SecretBytes(count: limit + 1, guarded: true)
    var filled = 0
    while filled < buffer.count {
        let start = filled
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress! + start, $0.count - start) }
        if n < 0 {
            let e = errno
            if e == EINTR { continue }
            throw readFailure(e, what: what, path: path)
        }
        if n == 0 { break }
        filled += n
    }
    guard filled <= limit else { throw ChorusError.data("\(what) \(path) is larger than \(limit) bytes") }
    do {
        return try buffer.slice(0 ..< filled)
    } catch {
        throw ChorusError(.software, "internal error: cannot copy the \(what): \(error)")
    }
}

/// The error for a failed `read(2)` of `what` at `path`.
func readFailure(_ e: Int32, what: String, path: String) -> ChorusError {
    if e == EISDIR { return ChorusError.data("\(what) \(path) is a folder, not a file") }
    return ChorusError(Posix.status(e), "cannot read \(what) \(path): \(Posix.reason(e))")
}

/// Reads standard input to its end (at most `limit` bytes), e.g. a receipt piped in.
public func readStandardInput(limit: Int, what: String) throws -> [UInt8] {
    try readAll(fd: 0, limit: limit, path: "from standard input", what: what)
}

/// Reads until EOF, refusing more than `limit` bytes.
func readAll(fd: Int32, limit: Int, path: String, what: String) throws -> [UInt8] {
    var out = [UInt8]()
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
        if n < 0 {
            let e = errno
            if e == EINTR { continue }
            throw readFailure(e, what: what, path: path)
        }
        if n == 0 { break }
        out += chunk[0 ..< n]
        guard out.count <= limit else { throw ChorusError.data("\(what) \(path) is larger than \(limit) bytes") }
    }
    return out
}
