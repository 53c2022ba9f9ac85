import ChorusCore
import ChorusCrypto
import ChorusFormat

/// Fast keys for tests: the test-only Argon2id costs, never the default.
public func makeKey(_ name: String, _ role: Role, passphrase: String = "correct horse battery") throws -> (file: [UInt8], recipient: RecipientKey) {
    let made = try KeyFiles.generate(name: name, role: role, passphrase: SecretBytes(copying: Array(passphrase.utf8)), cost: .testOnly)
    let pub = try PublicKeyFile.parse(Array(made.publicFile.utf8))
    return (Array(made.secretFile.utf8), RecipientKey(role: pub.role, publicKey: try PublicKey(rawBytes: pub.rawKey), name: pub.name))
}

public func unlock(_ file: [UInt8], passphrase: String = "correct horse battery") throws -> UnlockedKey {
    try KeyFiles.unlock(file, passphrase: SecretBytes(copying: Array(passphrase.utf8)), path: "test.key")
}

/// An organisation key for tests (test-only costs), unlocked.
public func makeOrganisationKey(_ name: String = "org") throws -> UnlockedOrganisationKey {
    let made = try KeyFiles.generate(name: name, role: .organisation, passphrase: SecretBytes(copying: Array("org passphrase".utf8)), cost: .testOnly)
    return try KeyFiles.unlockOrganisation(Array(made.secretFile.utf8), passphrase: SecretBytes(copying: Array("org passphrase".utf8)), path: "org.key")
}
