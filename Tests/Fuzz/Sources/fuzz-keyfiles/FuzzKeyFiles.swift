// libFuzzer target: PublicKeyFile.parse (FORMAT.md 2.2) and SecretKeyFile.parse (2.3), on the input
// as it is and, for the secret key, on the input armoured as a blob (so the fuzzer mutates the blob
// fields directly). KeyFiles.unlock runs with the fixed passphrase only when the parsed costs are the
// test-only ones (1 pass, 8 MiB), never at the 0.6 s MODERATE cost; an organisation key (role 3) is
// unlocked with KeyFiles.unlockOrganisation, and must not unlock as a recipient's key.
import ChorusCore
import ChorusCrypto
import ChorusFormat
import FuzzSupport

let testCost = PasswordHash.Parameters.testOnly

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = Array(UnsafeBufferPointer(start: data, count: size))

    if let pub = try? PublicKeyFile.parse(input) {
        Fuzz.check(pub.rawKey.count == 32, "public key of \(pub.rawKey.count) bytes")
        Fuzz.check(!input.contains(0) && input.count <= PublicKeyFile.maxBytes, "a NUL byte or an oversized file accepted")
        // A recipient's key renders through RecipientKey (reviewer or analyst only), the organisation's
        // Ed25519 key through OrganisationKey.
        let rendered: String?
        if pub.role == .organisation {
            rendered = (try? SigningPublicKey(rawBytes: pub.rawKey)).map { OrganisationKey(publicKey: $0, name: pub.name).fileText }
        } else {
            Fuzz.check(pub.role.isRecipient, "a public key file of role \(pub.role) accepted")
            rendered = (try? PublicKey(rawBytes: pub.rawKey)).map { RecipientKey(role: pub.role, publicKey: $0, name: pub.name).fileText }
        }
        if let rendered {
            let text = Array(rendered.utf8)
            if text.count <= PublicKeyFile.maxBytes {
                // A file without a name comment is rendered with the name "unnamed".
                let again = try? PublicKeyFile.parse(text)
                Fuzz.check(again?.role == pub.role && again?.rawKey == pub.rawKey && again?.name == (pub.name ?? "unnamed"),
                           "a public key file does not round-trip: \(String(describing: again)) vs \(pub)")
            }
        }
    }

    var candidates = [input]
    if !input.starts(with: Array("-----".utf8)) { candidates.append(Fuzz.armour(input)) }
    for file in candidates {
        guard let secret = try? SecretKeyFile.parse(file) else { continue }
        Fuzz.check((SecretKeyFile.minOps ... SecretKeyFile.maxOps).contains(secret.opsLimit)
                   && (SecretKeyFile.minMemory ... SecretKeyFile.maxMemory).contains(secret.memoryBytes), "costs outside the range accepted")
        // One valid encoding of every value (FORMAT.md): what parses is exactly what render writes.
        Fuzz.check(Array(secret.render().utf8) == file, "a secret key file parses but is not canonical")
        if secret.opsLimit == testCost.opsLimit && secret.memoryBytes == testCost.memoryBytes {
            if secret.role == .organisation {
                // An organisation key (version 2): the sealed secret is an Ed25519 seed.
                if let key = try? KeyFiles.unlockOrganisation(file, passphrase: SecretBytes(copying: Fuzz.passphrase), path: "fuzz") {
                    Fuzz.check(key.publicKey.publicKey.rawBytes == secret.publicKey && key.name == secret.name, "unlocked organisation key differs from the file")
                }
                Fuzz.check((try? KeyFiles.unlock(file, passphrase: SecretBytes(copying: Fuzz.passphrase), path: "fuzz")) == nil,
                           "an organisation key unlocked as a recipient's key")
            } else if let key = try? KeyFiles.unlock(file, passphrase: SecretBytes(copying: Fuzz.passphrase), path: "fuzz") {
                Fuzz.check(key.publicKey.rawBytes == secret.publicKey && key.role == secret.role, "unlocked key differs from the file")
            }
        }
    }
    return 0
}
