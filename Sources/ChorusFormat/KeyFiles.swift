/// The public key file (docs/FORMAT.md 2.2): a comment line with the name, and one key line.
public struct PublicKeyFile: Equatable, Sendable {
    public static let maxBytes = 4096
    public let role: Role
    public let rawKey: [UInt8]
    /// The name from the comment line, if any (informational, not authenticated).
    public let name: String?

    public init(role: Role, rawKey: [UInt8], name: String?) {
        precondition(rawKey.count == 32)
        self.role = role
        self.rawKey = rawKey
        self.name = name
    }

    /// The version of the key line.
    public static let version = 2

    public static func prefix(for role: Role) -> String { "chorus-pk-\(role)-\(version):" }

    /// The text of the file, with a comment giving the name, the role and the fingerprint.
    public func render(fingerprint: String) -> String {
        "# chorus public key; name: \(name ?? "unnamed"); role: \(role); fingerprint: \(fingerprint)\n\(Self.prefix(for: role))\(Hex.encode(rawKey))\n"
    }

    /// Parses a public key file (FORMAT.md 2.2): UTF-8, LF line endings, ending with a line feed;
    /// empty lines and lines starting with `#` are comments, anywhere; exactly one other line, the
    /// key line. The name is taken from the first comment that has `name: ` (informational only).
    public static func parse(_ bytes: [UInt8]) throws(FormatError) -> PublicKeyFile {
        let what = "public key file"
        guard bytes.count <= maxBytes else { throw .tooLarge(what: what, limit: maxBytes) }
        guard !bytes.contains(0) else { throw .invalidField(what: what, why: "contains a NUL byte") }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw .invalidField(what: what, why: "is not valid UTF-8") }
        if Substring(text).indexAfter(SecretKeyFile.beginLine) != nil {
            throw .invalidField(what: what, why: "this is a SECRET key file, not a public key; give the .pub file, and keep the secret key private")
        }
        guard !bytes.contains(0x0d) else { throw .invalidField(what: what, why: "has a carriage return (CRLF line endings); its lines must end with LF only") }
        guard bytes.last == 0x0a else { throw .invalidField(what: what, why: "does not end with a line feed") }
        var keyLine: Substring? = nil
        var name: String? = nil
        for line in text.dropLast().split(separator: "\n", omittingEmptySubsequences: false) {
            if line.isEmpty { continue }
            if line.hasPrefix("#") {
                if name == nil, let start = line.indexAfter("name: ") {
                    let n = line[start...].prefix { $0 != ";" }.trimmingWhitespace()
                    if !n.isEmpty { name = n }
                }
                continue
            }
            guard keyLine == nil else { throw .invalidField(what: what, why: "has more than one key line") }
            keyLine = line
        }
        guard let line = keyLine else { throw .invalidField(what: what, why: "has no key line") }
        for role in Role.allCases {
            let p = prefix(for: role)
            if line.hasPrefix(p) {
                let hex = line.dropFirst(p.count)
                guard hex.utf8.count == 64, let raw = Hex.decode(hex) else {
                    throw .invalidField(what: what, why: "the key must be 64 lowercase hex characters, and nothing after them")
                }
                return PublicKeyFile(role: role, rawKey: raw, name: name)
            }
            if line.hasPrefix("chorus-pk-\(role)-") {
                throw .unsupportedVersion(what: "public key", version: Int(line.dropFirst("chorus-pk-\(role)-".count).prefix { $0 != ":" }) ?? 0)
            }
        }
        throw .invalidField(what: what, why: "the key line does not start with chorus-pk-reviewer-2:, chorus-pk-analyst-2: or chorus-pk-organisation-2:")
    }
}

extension Substring {
    /// The index just after the first occurrence of `needle`, or nil.
    func indexAfter(_ needle: String) -> Index? {
        let n = Array(needle.utf8)
        var i = startIndex
        while i < endIndex {
            if self[i...].utf8.starts(with: n) { return self.utf8.index(i, offsetBy: n.count) }
            i = index(after: i)
        }
        return nil
    }

    func trimmingWhitespace() -> String {
        String(self.drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" || $0 == "\r" }.reversed())
    }
}

/// The secret key file (docs/FORMAT.md 2.3): an armoured blob whose secret part is sealed with a
/// passphrase-derived key. This type only frames the bytes; `ChorusCore` does the cryptography.
public struct SecretKeyFile: Equatable, Sendable {
    public static let magic: [UInt8] = Array("CHORUS-K".utf8)
    public static let version: UInt8 = 2
    public static let argon2id13: UInt8 = 2
    public static let beginLine = "-----BEGIN CHORUS SECRET KEY-----"
    public static let endLine = "-----END CHORUS SECRET KEY-----"
    public static let saltLength = 16, nonceLength = 24, sealedLength = 48
    public static let maxNameBytes = 64
    public static let minOps: UInt64 = 1, maxOps: UInt64 = 4
    public static let minMemory: UInt64 = 8192, maxMemory: UInt64 = 1_073_741_824

    public let role: Role
    public let opsLimit: UInt64
    public let memoryBytes: UInt64
    public let salt: [UInt8]
    public let publicKey: [UInt8]
    public let name: String
    public let nonce: [UInt8]
    public let sealedSecret: [UInt8]

    public init(role: Role, opsLimit: UInt64, memoryBytes: UInt64, salt: [UInt8], publicKey: [UInt8], name: String,
                nonce: [UInt8], sealedSecret: [UInt8]) throws(FormatError) {
        let what = "secret key file"
        guard salt.count == Self.saltLength, publicKey.count == 32, nonce.count == Self.nonceLength, sealedSecret.count == Self.sealedLength else {
            throw .invalidField(what: what, why: "a field has the wrong length")
        }
        guard (Self.minOps ... Self.maxOps).contains(opsLimit), (Self.minMemory ... Self.maxMemory).contains(memoryBytes) else {
            throw .invalidField(what: what, why: "passphrase cost parameters are outside the accepted range")
        }
        guard (1 ... Self.maxNameBytes).contains(name.utf8.count) else {
            throw .invalidField(what: what, why: "the name must be 1 to \(Self.maxNameBytes) bytes")
        }
        self.role = role; self.opsLimit = opsLimit; self.memoryBytes = memoryBytes; self.salt = salt
        self.publicKey = publicKey; self.name = name; self.nonce = nonce; self.sealedSecret = sealedSecret
    }

    /// The bytes authenticated as associated data: everything before the sealed secret.
    public var associatedData: [UInt8] { Self.associatedData(role: role, opsLimit: opsLimit, memoryBytes: memoryBytes, salt: salt, publicKey: publicKey, name: name, nonce: nonce) }

    public static func associatedData(role: Role, opsLimit: UInt64, memoryBytes: UInt64, salt: [UInt8], publicKey: [UInt8],
                                      name: String, nonce: [UInt8]) -> [UInt8] {
        var out = magic
        out.append(version)
        out.append(role.rawValue)
        out.append(argon2id13)
        BigEndian.append(opsLimit, to: &out)
        BigEndian.append(memoryBytes, to: &out)
        out += salt
        out += publicKey
        out.append(UInt8(name.utf8.count))
        out += Array(name.utf8)
        out += nonce
        return out
    }

    public var blob: [UInt8] { associatedData + sealedSecret }

    /// The armoured text.
    public func render() -> String {
        let b64 = Array(Base64.encode(blob).utf8)
        var s = Self.beginLine + "\n"
        var i = 0
        while i < b64.count {
            s += String(decoding: b64[i ..< min(i + 64, b64.count)], as: UTF8.self) + "\n"
            i += 64
        }
        return s + Self.endLine + "\n"
    }

    public static func parse(_ bytes: [UInt8]) throws(FormatError) -> SecretKeyFile {
        let what = "secret key file"
        guard bytes.count <= 4096 else { throw .tooLarge(what: what, limit: 4096) }
        guard let text = String(validating: bytes, as: UTF8.self), text.hasSuffix("\n") else {
            throw .invalidField(what: what, why: "is not a Chorus secret key (not text ending in a newline)")
        }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        lines.removeLast()
        guard lines.count >= 3, lines.first == Substring(beginLine) else {
            if Substring(text).indexAfter("chorus-pk-") != nil { throw .invalidField(what: what, why: "this is a public key file; give the secret key") }
            throw .badMagic(what: "Chorus secret key file")
        }
        guard lines.last == Substring(endLine) else { throw .truncated(what: what) }
        let body = lines.dropFirst().dropLast()
        for (i, l) in body.enumerated() {
            let isLast = i == body.count - 1
            guard isLast ? (1 ... 64).contains(l.utf8.count) : l.utf8.count == 64 else { throw .nonCanonical(what: "secret key armour") }
        }
        guard let blob = Base64.decode(body.joined()) else { throw .invalidField(what: what, why: "the armour is not valid base64") }
        return try parseBlob(blob)
    }

    static func parseBlob(_ blob: [UInt8]) throws(FormatError) -> SecretKeyFile {
        let what = "secret key file"
        do {
            return try blob.withUnsafeBytes { (raw) throws -> SecretKeyFile in
                var r = ByteReader(raw, what: what)
                guard try r.array(8) == magic else { throw FormatError.badMagic(what: "Chorus secret key") }
                let v = try r.u8()
                guard v == version else { throw FormatError.unsupportedVersion(what: what, version: Int(v)) }
                guard let role = Role(rawValue: try r.u8()) else { throw FormatError.invalidField(what: what, why: "unknown role") }
                guard try r.u8() == argon2id13 else { throw FormatError.invalidField(what: what, why: "unknown passphrase algorithm") }
                let ops = try r.u64(), mem = try r.u64()
                let salt = try r.array(saltLength)
                let pk = try r.array(32)
                let n = Int(try r.u8())
                guard let name = String(validating: try r.array(n), as: UTF8.self) else {
                    throw FormatError.invalidField(what: what, why: "the name is not valid UTF-8")
                }
                let nonce = try r.array(nonceLength)
                let sealed = try r.array(sealedLength)
                guard r.remaining == 0 else { throw FormatError.trailingBytes(what: what) }
                return try SecretKeyFile(role: role, opsLimit: ops, memoryBytes: mem, salt: salt, publicKey: pk, name: name, nonce: nonce, sealedSecret: sealed)
            }
        } catch let e as FormatError {
            throw e
        } catch {
            fatalError("unreachable: \(error)")
        }
    }
}
