import Testing
import ChorusCrypto

@Suite struct KeyTests {
    // libsodium test/default/box_seed.c: seed -> (pk, sk) with sk = SHA-512(seed)[0..<32].
    // Cross-checked with Python hashlib + `cryptography` X25519.
    static let seed = hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")
    static let seedPublic = hex("ed7749b4d989f6957f3bfde6c56767e988e21c9f8784d91d610011cd553f9b06")
    static let seedSecret = hex("accd44eb8e93319c0570bc11005c0e0189d34ff02f6c17773411ad191293c98f")

    @Test func seedKeypairKnownAnswer() throws {
        let key = try SecretKey.derived(fromSeed: SecretBytes(copying: Self.seed))
        #expect(key.publicKey.rawBytes == Self.seedPublic)
        #expect(key.exportSecret().revealedBytes() == Self.seedSecret)
    }

    @Test func sameSeedSameKeyOtherSeedOtherKey() throws {
        let seed = pattern(32, seed: 8)
        let a = try SecretKey.derived(fromSeed: SecretBytes(copying: seed))
        let b = try SecretKey.derived(fromSeed: SecretBytes(copying: seed, guarded: true))
        let c = try SecretKey.derived(fromSeed: SecretBytes(copying: flipping(seed, at: 31, bit: 7)))
        #expect(a.publicKey == b.publicKey)
        #expect(a.exportSecret().constantTimeEquals(b.exportSecret()) == true)
        #expect(a.publicKey != c.publicKey)
        #expect(a.exportSecret().constantTimeEquals(c.exportSecret()) == false)
    }

    @Test(arguments: [0, 1, 16, 31, 33, 64])
    func seedOfWrongLengthThrows(length: Int) {
        expectWrongLength(expected: 32, got: length) { _ = try SecretKey.derived(fromSeed: SecretBytes(copying: pattern(length))) }
    }

    // RFC 7748 section 6.1: Alice's private key and public key (X25519 of the base point).
    @Test func rawSecretRecomputesThePublicKey() throws {
        let key = try SecretKey(rawSecret: SecretBytes(copying: Self.seed))
        #expect(key.publicKey.rawBytes == hex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"))
        let exported = key.exportSecret()
        #expect(exported.isGuarded == true)
        #expect(exported.revealedBytes() == Self.seed)
    }

    @Test(arguments: [false, true])
    func exportAndReimport(guarded: Bool) throws {
        let key = SecretKey.generate()
        let exported = key.exportSecret().copy(guarded: guarded)
        let again = try SecretKey(rawSecret: exported)
        #expect(again.publicKey == key.publicKey)
        #expect(again.exportSecret().constantTimeEquals(key.exportSecret()) == true)
    }

    @Test(arguments: [0, 1, 31, 33, 64])
    func rawSecretOfWrongLengthThrows(length: Int) {
        expectWrongLength(expected: 32, got: length) { _ = try SecretKey(rawSecret: SecretBytes(copying: pattern(length))) }
    }

    @Test func generatedKeysDiffer() {
        let a = SecretKey.generate(), b = SecretKey.generate()
        #expect(a.publicKey != b.publicKey)
        #expect(a.exportSecret().constantTimeEquals(b.exportSecret()) == false)
        #expect(a.publicKey.rawBytes.count == 32)
        #expect(a.exportSecret().count == 32)
    }

    @Test func publicKeyAcceptsOrdinaryKeysAndKeepsTheBytes() throws {
        let pk = try PublicKey(rawBytes: Self.seedPublic)
        #expect(pk.rawBytes == Self.seedPublic)
        #expect(pk == (try PublicKey(rawBytes: Self.seedPublic)))
        #expect(Set([pk, try PublicKey(rawBytes: Self.seedPublic)]).count == 1)
        // Any u-coordinate that is not of low order is accepted, as libsodium accepts it.
        #expect(try PublicKey(rawBytes: [9] + [UInt8](repeating: 0, count: 31)).rawBytes.first == 9)
        #expect(try PublicKey(rawBytes: [UInt8](repeating: 0, count: 31) + [0x40]).rawBytes.count == 32)
        #expect(try PublicKey(rawBytes: [2] + [UInt8](repeating: 0, count: 31)).rawBytes.count == 32)
    }

    @Test(arguments: [0, 1, 31, 33, 64])
    func publicKeyOfWrongLengthThrows(length: Int) {
        expectWrongLength(expected: 32, got: length) { _ = try PublicKey(rawBytes: pattern(length)) }
    }

    // The low-order points libsodium's crypto_scalarmult refuses (its `has_small_order` list), with the
    // top bit clear and set. `crypto_box_seal` fails for them, so `PublicKey` must not accept them.
    static let lowOrderPoints: [[UInt8]] = {
        let ff = [UInt8](repeating: 0xff, count: 30)
        let base: [[UInt8]] = [
            [UInt8](repeating: 0, count: 32),                                  // 0
            [1] + [UInt8](repeating: 0, count: 31),                            // 1
            hex("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"), // order 8
            hex("5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157"), // order 8
            [0xec] + ff + [0x7f],                                              // p - 1
            [0xed] + ff + [0x7f],                                              // p
            [0xee] + ff + [0x7f],                                              // p + 1
        ]
        return base + base.map { var b = $0; b[31] |= 0x80; return b }
    }()

    @Test(arguments: lowOrderPoints)
    func lowOrderPublicKeyThrows(point: [UInt8]) {
        expectInvalidParameters { _ = try PublicKey(rawBytes: point) }
    }
}

@Suite struct SealedBoxTests {
    @Test func overhead() {
        #expect(SealedBox.overhead == 48)
    }

    @Test(arguments: [0, 1, 16, 100, 4096])
    func roundTrip(length: Int) throws {
        let key = SecretKey.generate()
        let message = pattern(length)
        let box = SealedBox.seal(SecretBytes(copying: message), to: key.publicKey)
        #expect(box.count == length + 48)
        let opened = try SealedBox.open(box, with: key)
        #expect(opened.count == length)
        #expect(opened.revealedBytes() == message)
        let viaBuffer = try box.withUnsafeBytes { b in try SealedBox.open(b, with: key).revealedBytes() }
        #expect(viaBuffer == message)
    }

    @Test func sealingTwiceGivesDifferentBoxes() throws {
        let key = SecretKey.generate()
        let a = SealedBox.seal(SecretBytes(copying: [1, 2, 3]), to: key.publicKey)
        let b = SealedBox.seal(SecretBytes(copying: [1, 2, 3]), to: key.publicKey)
        #expect(a != b)
        #expect(Array(a.prefix(32)) != Array(b.prefix(32)), "a fresh ephemeral key each time")
    }

    @Test func anotherKeyCannotOpen() throws {
        let recipient = SecretKey.generate()
        let other = SecretKey.generate()
        let box = SealedBox.seal(SecretBytes(copying: pattern(40)), to: recipient.publicKey)
        expectAuthenticationFailure { _ = try SealedBox.open(box, with: other) }
        let empty = SealedBox.seal(SecretBytes(count: 0), to: recipient.publicKey)
        expectAuthenticationFailure { _ = try SealedBox.open(empty, with: other) }
    }

    @Test func everyFlippedBitFails() {
        let key = SecretKey.generate()
        let box = SealedBox.seal(SecretBytes(copying: pattern(30)), to: key.publicKey)
        for i in 0..<box.count {
            for bit in [0, 6] {
                expectAuthenticationFailure { _ = try SealedBox.open(flipping(box, at: i, bit: bit), with: key) }
            }
        }
    }

    @Test func truncatedOrExtendedBoxFails() {
        let key = SecretKey.generate()
        let box = SealedBox.seal(SecretBytes(copying: pattern(30)), to: key.publicKey)
        for bad in [Array(box.dropLast()), box + [0], Array(box.prefix(48)), Array(box.dropFirst())] {
            expectAuthenticationFailure { _ = try SealedBox.open(bad, with: key) }
        }
    }

    @Test func garbageOfExactlyTheOverheadFails() {
        let key = SecretKey.generate()
        expectAuthenticationFailure { _ = try SealedBox.open([UInt8](repeating: 0, count: 48), with: key) }
        expectAuthenticationFailure { _ = try SealedBox.open(pattern(48), with: key) }
        expectAuthenticationFailure { _ = try SealedBox.open(pattern(200), with: key) }
    }

    @Test(arguments: [0, 1, 32, 47])
    func boxShorterThanOverheadThrows(length: Int) {
        let key = SecretKey.generate()
        expectWrongLength(expected: 48, got: length) { _ = try SealedBox.open(pattern(length), with: key) }
        expectWrongLength(expected: 48, got: length) {
            _ = try pattern(length).withUnsafeBytes { b in try SealedBox.open(b, with: key).count }
        }
    }

    @Test(arguments: [0, 1, 100])
    func deterministicSealOpensAndIsReproducible(length: Int) throws {
        let key = try SecretKey.derived(fromSeed: SecretBytes(copying: pattern(32, seed: 1)))
        let seed = pattern(32, seed: 2)
        let message = pattern(length, seed: 3)
        let a = try SealedBox.sealDeterministically(SecretBytes(copying: message), to: key.publicKey, ephemeralSeed: SecretBytes(copying: seed))
        let b = try SealedBox.sealDeterministically(SecretBytes(copying: message), to: key.publicKey, ephemeralSeed: SecretBytes(copying: seed))
        #expect(a == b)
        #expect(a.count == length + 48)
        // The box starts with the ephemeral public key of the seed.
        let eph = try SecretKey.derived(fromSeed: SecretBytes(copying: seed))
        #expect(Array(a.prefix(32)) == eph.publicKey.rawBytes)
        #expect(try SealedBox.open(a, with: key).revealedBytes() == message)
        // Another seed gives another box, that opens to the same message.
        let c = try SealedBox.sealDeterministically(SecretBytes(copying: message), to: key.publicKey,
                                                    ephemeralSeed: SecretBytes(copying: flipping(seed, at: 0)))
        #expect(c != a)
        #expect(try SealedBox.open(c, with: key).revealedBytes() == message)
    }

    @Test func deterministicSealIsBoundToTheRecipient() throws {
        let alice = try SecretKey.derived(fromSeed: SecretBytes(copying: pattern(32, seed: 1)))
        let bob = try SecretKey.derived(fromSeed: SecretBytes(copying: pattern(32, seed: 4)))
        let seed = pattern(32, seed: 2)
        let toAlice = try SealedBox.sealDeterministically(SecretBytes(copying: [7, 7, 7]), to: alice.publicKey, ephemeralSeed: SecretBytes(copying: seed))
        let toBob = try SealedBox.sealDeterministically(SecretBytes(copying: [7, 7, 7]), to: bob.publicKey, ephemeralSeed: SecretBytes(copying: seed))
        #expect(Array(toAlice.prefix(32)) == Array(toBob.prefix(32)))
        #expect(toAlice != toBob)
        expectAuthenticationFailure { _ = try SealedBox.open(toAlice, with: bob) }
        expectAuthenticationFailure { _ = try SealedBox.open(toBob, with: alice) }
        for i in 0..<toAlice.count {
            expectAuthenticationFailure { _ = try SealedBox.open(flipping(toAlice, at: i, bit: i), with: alice) }
        }
    }

    @Test(arguments: [0, 16, 31, 33])
    func deterministicSealRejectsWrongSeedLength(length: Int) throws {
        let key = SecretKey.generate()
        expectWrongLength(expected: 32, got: length) {
            _ = try SealedBox.sealDeterministically(SecretBytes(copying: [1]), to: key.publicKey, ephemeralSeed: SecretBytes(copying: pattern(length)))
        }
    }
}
