import Testing
import ChorusCrypto

@Suite struct PasswordHashTests {
    static let salt: [UInt8] = Array(0..<16).map(UInt8.init)
    static let tiny = PasswordHash.Parameters(opsLimit: 1, memoryBytes: 65_536)

    static func derive(_ passphrase: String, salt: [UInt8] = salt, parameters: PasswordHash.Parameters = tiny,
                       length: Int = 32) throws -> [UInt8] {
        try PasswordHash.deriveKey(length: length, passphrase: SecretBytes(copying: Array(passphrase.utf8)),
                                   salt: salt, parameters: parameters).revealedBytes()
    }

    @Test func saltSize() {
        #expect(PasswordHash.saltByteCount == 16)
    }

    // Argon2id v1.3, one lane, memory in KiB = bytes / 1024. Expected values computed independently with
    // Python `cryptography`'s Argon2id(salt:, length: 32, iterations:, lanes: 1, memory_cost:).
    @Test(arguments: [
        ("correct horse battery staple", salt, PasswordHash.Parameters.testOnly,
         "9aeef75313e585f492c33c5e12d82e9ad253b7dd78632d537e899cd4eddd789c"),
        ("", [UInt8](repeating: 0, count: 16), PasswordHash.Parameters.testOnly,
         "84eaad96ccdaa015b4bf9ac7bd48a571c32b63d721c2173a45148d9910e933c8"),
        ("password", salt, PasswordHash.Parameters(opsLimit: 2, memoryBytes: 65_536),
         "716882821df77bc6414358b07159fb63ca1c90beaeb9d0ca0e43bd887dcf2ca9"),
    ])
    func knownAnswers(passphrase: String, salt: [UInt8], parameters: PasswordHash.Parameters, expected: String) throws {
        #expect(hexString(try Self.derive(passphrase, salt: salt, parameters: parameters)) == expected)
    }

    @Test func deterministicAndGuarded() throws {
        let pass = SecretBytes(copying: Array("hunter2".utf8), guarded: true)
        let a = try PasswordHash.deriveKey(length: 32, passphrase: pass, salt: Self.salt, parameters: Self.tiny)
        let b = try PasswordHash.deriveKey(length: 32, passphrase: pass, salt: Self.salt, parameters: Self.tiny)
        #expect(a.constantTimeEquals(b) == true)
        #expect(a.isGuarded == true)
        #expect(a.isAllZero == false)
    }

    @Test func saltPassphraseAndCostAllMatter() throws {
        let base = try Self.derive("hunter2")
        #expect(try Self.derive("hunter3") != base)
        #expect(try Self.derive("hunter2 ") != base)
        #expect(try Self.derive("") != base)
        #expect(try Self.derive("hunter2", salt: flipping(Self.salt, at: 15, bit: 7)) != base)
        #expect(try Self.derive("hunter2", parameters: .init(opsLimit: 2, memoryBytes: 65_536)) != base)
        #expect(try Self.derive("hunter2", parameters: .init(opsLimit: 1, memoryBytes: 131_072)) != base)
    }

    @Test(arguments: [16, 32, 64])
    func acceptedOutputLengths(length: Int) throws {
        #expect(try Self.derive("x", length: length).count == length)
    }

    @Test(arguments: [Int.min, -1, 0, 15, 65, 1 << 40])
    func rejectedOutputLengths(length: Int) {
        expectInvalidParameters { _ = try Self.derive("x", length: length) }
    }

    @Test(arguments: [0, 1, 8, 15, 17, 32])
    func wrongSaltLengthThrows(length: Int) {
        expectWrongLength(expected: 16, got: length) { _ = try Self.derive("x", salt: pattern(length)) }
    }

    @Test func presetsAreLibsodiumsAndWithinBounds() {
        #expect(PasswordHash.Parameters.moderate == .init(opsLimit: 3, memoryBytes: 268_435_456))
        #expect(PasswordHash.Parameters.interactive == .init(opsLimit: 2, memoryBytes: 67_108_864))
        #expect(PasswordHash.Parameters.sensitive == .init(opsLimit: 4, memoryBytes: 1_073_741_824))
        #expect(PasswordHash.Parameters.testOnly == .init(opsLimit: 1, memoryBytes: 8_388_608))
        for p in [PasswordHash.Parameters.moderate, .interactive, .sensitive, .testOnly] {
            #expect(p.isWithinAcceptedBounds)
        }
    }

    @Test(arguments: [(1, 8192), (4, 8192), (1, 1_073_741_824), (4, 1_073_741_824), (2, 1_000_000)] as [(UInt64, UInt64)])
    func boundaryParametersAreAccepted(ops: UInt64, memory: UInt64) {
        #expect(PasswordHash.Parameters(opsLimit: ops, memoryBytes: memory).isWithinAcceptedBounds)
    }

    @Test func smallestAcceptedCostRuns() throws {
        #expect(try Self.derive("x", parameters: .init(opsLimit: 1, memoryBytes: 8192)).count == 32)
    }

    // A hostile key file must be refused before Argon2id runs: with these costs it would allocate up to
    // a terabyte or run for ever, so reaching `invalidParameters` at all (quickly) shows nothing ran.
    @Test(arguments: [
        (1, 1 << 40), (3, UInt64.max), (3, 1_073_741_825), (3, 8191), (3, 0),
        (0, 65_536), (5, 65_536), (UInt64.max, 65_536), (1 << 32, 65_536),
    ] as [(UInt64, UInt64)])
    func hostileCostIsRejectedBeforeRunning(ops: UInt64, memory: UInt64) {
        let p = PasswordHash.Parameters(opsLimit: ops, memoryBytes: memory)
        #expect(!p.isWithinAcceptedBounds)
        let clock = ContinuousClock()
        let elapsed = clock.measure {
            expectInvalidParameters {
                _ = try PasswordHash.deriveKey(length: 32, passphrase: SecretBytes(copying: [1, 2, 3]), salt: Self.salt, parameters: p)
            }
        }
        #expect(elapsed < .seconds(1))
    }
}
