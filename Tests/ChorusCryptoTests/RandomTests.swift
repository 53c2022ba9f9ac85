import Testing
import ChorusCrypto

@Suite struct RandomTests {
    @Test func bytesHaveTheAskedLengthAndDiffer() {
        #expect(Random.bytes(0).isEmpty)
        #expect(Random.bytes(1).count == 1)
        let a = Random.bytes(32), b = Random.bytes(32)
        #expect(a.count == 32)
        #expect(a != b)
        #expect(!ConstantTime.isZero(a))
    }

    @Test func uint64Differs() {
        // Two equal draws have probability 2^-64 per pair; three in a row would mean a broken generator.
        let draws = Set((0..<3).map { _ in Random.uint64() })
        #expect(draws.count == 3)
    }

    @Test(arguments: [UInt32(1), 2, 3, 7, 10, 1000, 1 << 31, UInt32.max])
    func uniformStaysInRange(bound: UInt32) {
        let draws = (0..<2_000).map { _ in Random.uniform(bound) }
        #expect(draws.allSatisfy { $0 < bound }, "\(draws.filter { $0 >= bound })")
    }

    @Test func uniformOfOneIsAlwaysZero() {
        for _ in 0..<100 { #expect(Random.uniform(1) == 0) }
    }

    @Test func uniformReachesEveryValue() {
        // 4000 draws from 0..<5: the chance that a value never comes up is 5·(4/5)^4000, i.e. zero.
        var seen = [Int](repeating: 0, count: 5)
        for _ in 0..<4_000 { seen[Int(Random.uniform(5))] += 1 }
        #expect(seen.allSatisfy { $0 > 0 }, "\(seen)")
        // And it is not wildly biased: each value is expected 800 times (σ ≈ 25).
        #expect(seen.allSatisfy { (600...1000).contains($0) }, "\(seen)")
    }

    @Test(arguments: [0, 1, 2, 3, 10, 257])
    func shuffleIsAPermutation(count: Int) {
        let original = Array(0..<count)
        var shuffled = original
        Random.shuffle(&shuffled)
        #expect(shuffled.count == count)
        #expect(shuffled.sorted() == original)
    }

    @Test func shuffleWithDuplicatesKeepsTheMultiset() {
        let original = ["a", "b", "b", "c", "c", "c"]
        var shuffled = original
        Random.shuffle(&shuffled)
        #expect(shuffled.sorted() == original.sorted())
    }

    @Test func shuffleMovesThings() {
        // 100 elements left in place has probability 1/100!.
        let original = Array(0..<100)
        var shuffled = original
        Random.shuffle(&shuffled)
        #expect(shuffled != original)
    }

    @Test func shuffleReachesEveryOrderOfThree() {
        // 6 orders, 600 shuffles: missing one has probability 6·(5/6)^600 ≈ 10^-46.
        var seen = Set<[Int]>()
        for _ in 0..<600 {
            var a = [0, 1, 2]
            Random.shuffle(&a)
            seen.insert(a)
        }
        #expect(seen.count == 6)
    }

    // randombytes_buf_deterministic is the ChaCha20 (IETF) key stream for key = seed,
    // nonce = "LibsodiumDRG", counter 0. The expected bytes were computed independently with
    // Python `cryptography`'s ChaCha20.
    @Test func deterministicBytesKnownAnswer() throws {
        let seed = Array(0..<32).map(UInt8.init)
        let out = try Random.deterministicBytes(48, seed: seed)
        #expect(hexString(out) == "0d8e6cc68715648926732e7ea73250cfaf2d58422083904c841a8ba33b986111f346ba50723a68ae283524a6bded09f8")
    }

    @Test func deterministicBytesAreReproducibleAndSeedDependent() throws {
        let seed = pattern(32)
        let a = try Random.deterministicBytes(100, seed: seed)
        let b = try Random.deterministicBytes(100, seed: seed)
        #expect(a == b)
        #expect(try Random.deterministicBytes(10, seed: seed) == Array(a.prefix(10)), "a shorter output is a prefix")
        #expect(try Random.deterministicBytes(100, seed: flipping(seed, at: 31)) != a)
        #expect(try Random.deterministicBytes(0, seed: seed).isEmpty)
    }

    @Test(arguments: [0, 16, 31, 33, 64])
    func deterministicBytesRejectsWrongSeedLength(length: Int) {
        expectWrongLength(expected: 32, got: length) { _ = try Random.deterministicBytes(8, seed: pattern(length)) }
    }
}
