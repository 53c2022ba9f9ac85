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

    @Test func systemWordsDiffer() {
        // Two equal draws have probability 2^-64 per pair; three in a row would mean a broken generator.
        var rng = SystemRandom()
        let draws = Set((0..<3).map { _ in rng.next() })
        #expect(draws.count == 3)
    }

    @Test(arguments: [UInt64(1), 2, 3, 7, 10, 1000, 1 << 31, UInt64(UInt32.max)])
    func upperBoundStaysInRange(bound: UInt64) {
        var rng = SystemRandom()
        let draws = (0..<2_000).map { _ in rng.next(upperBound: bound) }
        #expect(draws.allSatisfy { $0 < bound }, "\(draws.filter { $0 >= bound })")
    }

    @Test func upperBoundOfOneIsAlwaysZero() {
        var rng = SystemRandom()
        for _ in 0..<100 { #expect(rng.next(upperBound: UInt64(1)) == 0) }
    }

    @Test func upperBoundReachesEveryValue() {
        // 4000 draws from 0..<5: the chance that a value never comes up is 5·(4/5)^4000, i.e. zero.
        var rng = SystemRandom()
        var seen = [Int](repeating: 0, count: 5)
        for _ in 0..<4_000 { seen[Int(rng.next(upperBound: UInt64(5)))] += 1 }
        #expect(seen.allSatisfy { $0 > 0 }, "\(seen)")
        // And it is not wildly biased: each value is expected 800 times (σ ≈ 25).
        #expect(seen.allSatisfy { (600...1000).contains($0) }, "\(seen)")
    }

    @Test(arguments: [0, 1, 2, 3, 10, 257])
    func shuffleIsAPermutation(count: Int) {
        let original = Array(0..<count)
        var rng = SystemRandom()
        let shuffled = original.shuffled(using: &rng)
        #expect(shuffled.count == count)
        #expect(shuffled.sorted() == original)
    }

    @Test func shuffleWithDuplicatesKeepsTheMultiset() {
        let original = ["a", "b", "b", "c", "c", "c"]
        var rng = SystemRandom()
        #expect(original.shuffled(using: &rng).sorted() == original.sorted())
    }

    @Test func shuffleMovesThings() {
        // 100 elements left in place has probability 1/100!.
        let original = Array(0..<100)
        var rng = SystemRandom()
        #expect(original.shuffled(using: &rng) != original)
    }

    @Test func shuffleReachesEveryOrderOfThree() {
        // 6 orders, 600 shuffles: missing one has probability 6·(5/6)^600 ≈ 10^-46.
        var seen = Set<[Int]>()
        var rng = SystemRandom()
        for _ in 0..<600 { seen.insert([0, 1, 2].shuffled(using: &rng)) }
        #expect(seen.count == 6)
    }

    @Test func seededWordsAreReproducibleAndSeedDependent() throws {
        var a = try SeededRandom(seed: pattern(32)), b = try SeededRandom(seed: pattern(32))
        var c = try SeededRandom(seed: flipping(pattern(32), at: 0))
        let first = (0..<200).map { _ in a.next() }
        #expect(first == (0..<200).map { _ in b.next() }, "the same seed gives the same words, across blocks")
        #expect(first != (0..<200).map { _ in c.next() })
        #expect(Set(first).count == 200)
        expectWrongLength(expected: 32, got: 16) { _ = try SeededRandom(seed: pattern(16)) }
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
