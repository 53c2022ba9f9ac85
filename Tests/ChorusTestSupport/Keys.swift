import ChorusCore
import ChorusCrypto
import ChorusFormat

/// Fast keys for tests: the test-only Argon2id costs, never the default.
public func makeKey(_ name: String, _ role: Role, passphrase: String = "correct horse battery") throws -> (file: [UInt8], recipient: RecipientKey) {
    let made = try KeyFiles.generate(name: name, role: role, passphrase: SecretBytes(copying: Array(passphrase.utf8)), cost: .testOnly)
    return (Array(made.secretFile.utf8), made.recipient)
}

public func unlock(_ file: [UInt8], passphrase: String = "correct horse battery") throws -> UnlockedKey {
    try KeyFiles.unlock(file, passphrase: SecretBytes(copying: Array(passphrase.utf8)), path: "test.key")
}
