import Testing
import ChorusCrypto

@Suite struct SecretBytesTests {
    @Test(arguments: [false, true])
    func zeroInitialised(guarded: Bool) {
        let s = SecretBytes(count: 100, guarded: guarded)
        #expect(s.count == 100)
        #expect(s.isGuarded == guarded)
        #expect(s.isAllZero == true)
        #expect(s.revealedBytes() == [UInt8](repeating: 0, count: 100))
    }

    @Test(arguments: [false, true])
    func empty(guarded: Bool) throws {
        let s = SecretBytes(count: 0, guarded: guarded)
        #expect(s.count == 0)
        #expect(s.isAllZero == true)
        #expect(s.revealedBytes().isEmpty)
        #expect(s.constantTimeEquals(SecretBytes(copying: [])) == true)
        let c = s.copy()
        #expect(c.count == 0)
        let sl = try s.slice(0..<0)
        #expect(sl.count == 0)
        s.withUnsafeBytes { #expect($0.count == 0) }
    }

    @Test(arguments: [false, true])
    func copyingArrayRoundTrips(guarded: Bool) {
        let bytes = pattern(77)
        let s = SecretBytes(copying: bytes, guarded: guarded)
        #expect(s.count == 77)
        #expect(s.isGuarded == guarded)
        #expect(s.revealedBytes() == bytes)
        #expect(s.isAllZero == false)
    }

    @Test(arguments: [false, true])
    func copyingBufferRoundTrips(guarded: Bool) {
        let bytes = pattern(33, seed: 9)
        var made: SecretBytes? = nil
        bytes.withUnsafeBytes { made = SecretBytes(copying: $0, guarded: guarded) }
        let s = made.take()!
        #expect(s.revealedBytes() == bytes)
        #expect(s.isGuarded == guarded)
        [UInt8]().withUnsafeBytes { made = SecretBytes(copying: $0, guarded: guarded) }
        let e = made.take()!
        #expect(e.count == 0)
    }

    @Test(arguments: [false, true])
    func copyIsEqualAndIndependent(guarded: Bool) {
        let original = SecretBytes(copying: pattern(40), guarded: guarded)
        var c = original.copy()
        #expect(c.isGuarded == guarded)
        #expect(c.constantTimeEquals(original) == true)
        #expect(c.revealedBytes() == original.revealedBytes())
        c.withUnsafeMutableBytes { $0[0] ^= 0xff }
        #expect(c.constantTimeEquals(original) == false)
        #expect(original.revealedBytes() == pattern(40), "the original is untouched by a write to the copy")
    }

    @Test func copyCanChangeTheKindOfMemory() {
        let plain = SecretBytes(copying: pattern(16))
        let guarded = plain.copy(guarded: true)
        #expect(guarded.isGuarded == true)
        #expect(guarded.revealedBytes() == pattern(16))
        let back = guarded.copy(guarded: false)
        #expect(back.isGuarded == false)
        #expect(back.revealedBytes() == pattern(16))
    }

    @Test func mutableAccessWritesTheBytes() {
        var s = SecretBytes(count: 4, guarded: true)
        s.withUnsafeMutableBytes { b in for i in 0..<b.count { b[i] = UInt8(i + 1) } }
        #expect(s.revealedBytes() == [1, 2, 3, 4])
    }

    @Test(arguments: [false, true])
    func sliceCopiesTheRange(guarded: Bool) throws {
        let bytes = pattern(64)
        let s = SecretBytes(copying: bytes, guarded: guarded)
        for range in [0..<64, 0..<32, 32..<64, 10..<11, 5..<5, 64..<64] {
            let sl = try s.slice(range)
            #expect(sl.count == range.count)
            #expect(sl.revealedBytes() == Array(bytes[range]), "\(range)")
            #expect(sl.isGuarded == guarded)
        }
    }

    @Test(arguments: [0..<65, 64..<65, 60..<100, -1..<3, -5..<(-1), 100..<200])
    func sliceOutOfBoundsThrows(range: Range<Int>) {
        let s = SecretBytes(copying: pattern(64))
        expectInvalidParameters { _ = try s.slice(range) }
    }

    @Test func sliceOfEmptyOutOfBoundsThrows() {
        let s = SecretBytes(count: 0)
        expectInvalidParameters { _ = try s.slice(0..<1) }
    }

    @Test func constantTimeEquals() {
        let a = SecretBytes(copying: pattern(32))
        #expect(a.constantTimeEquals(SecretBytes(copying: pattern(32), guarded: true)) == true)
        // Every single differing byte is noticed.
        for i in 0..<32 {
            #expect(a.constantTimeEquals(SecretBytes(copying: flipping(pattern(32), at: i, bit: i))) == false, "byte \(i)")
        }
        // Different lengths are unequal, including a prefix and the empty string.
        #expect(a.constantTimeEquals(SecretBytes(copying: Array(pattern(32).prefix(31)))) == false)
        #expect(a.constantTimeEquals(SecretBytes(copying: pattern(32) + [0])) == false)
        #expect(a.constantTimeEquals(SecretBytes(count: 0)) == false)
        #expect(SecretBytes(count: 0).constantTimeEquals(a) == false)
        #expect(SecretBytes(count: 0).constantTimeEquals(SecretBytes(count: 0, guarded: true)) == true)
    }

    @Test func isAllZeroSeesEveryByte() {
        for i in 0..<48 {
            var s = SecretBytes(count: 48)
            s.withUnsafeMutableBytes { $0[i] = 0x80 }
            #expect(s.isAllZero == false, "byte \(i)")
        }
    }

    @Test(arguments: [false, true])
    func randomDiffers(guarded: Bool) {
        let a = SecretBytes.random(count: 32, guarded: guarded)
        let b = SecretBytes.random(count: 32, guarded: guarded)
        #expect(a.count == 32 && b.count == 32)
        #expect(a.isGuarded == guarded)
        #expect(a.constantTimeEquals(b) == false)
        #expect(a.isAllZero == false)
        #expect(SecretBytes.random(count: 0, guarded: guarded).count == 0)
    }
}

@Suite struct ConstantTimeTests {
    @Test func equals() {
        #expect(ConstantTime.equals([1, 2, 3], [1, 2, 3]))
        #expect(!ConstantTime.equals([1, 2, 3], [1, 2, 4]))
        #expect(!ConstantTime.equals([0, 2, 3], [1, 2, 3]))
        #expect(ConstantTime.equals([], []))
    }

    @Test(arguments: [([UInt8](), [UInt8]([0])), ([1, 2], [1, 2, 3]), ([1, 2, 3], [1, 2]), ([0], [])])
    func differentLengthsAreUnequal(a: [UInt8], b: [UInt8]) {
        #expect(!ConstantTime.equals(a, b))
    }

    @Test func isZero() {
        #expect(ConstantTime.isZero([]))
        #expect(ConstantTime.isZero([0, 0, 0]))
        for i in 0..<20 {
            var b = [UInt8](repeating: 0, count: 20)
            b[i] = 1
            #expect(!ConstantTime.isZero(b), "byte \(i)")
        }
    }

    @Test func secureZeroWipes() {
        var b = pattern(100)
        secureZero(&b)
        #expect(b == [UInt8](repeating: 0, count: 100))
        var e: [UInt8] = []
        secureZero(&e)
        #expect(e.isEmpty)
    }
}

@Suite struct SodiumTests {
    @Test func linkedVersionIsReported() {
        let v = Sodium.versionString
        #expect(v.split(separator: ".").count == 3, "\(v)")
    }

    @Test func errorDescriptions() {
        #expect(CryptoError.wrongLength(what: "AEAD key", expected: 32, got: 31).description == "AEAD key must be 32 bytes, got 31")
        #expect(CryptoError.authenticationFailed.description == "authentication failed")
        #expect(CryptoError.invalidParameters("x").description.hasSuffix("x"))
        #expect(!CryptoError.outOfMemory.description.isEmpty)
        #expect(!CryptoError.initialisationFailed.description.isEmpty)
    }
}
