import Foundation
import Testing
import ChorusCrypto
@testable import ChorusStats

/// The sampler against its distribution. Seeded runs use a fixed SplitMix64 stream, so they are
/// reproducible and cannot flake; the bounds are 5 to 6 standard errors, so a wrong sampler
/// (even a variance off by a few per cent) fails.
@Suite struct DiscreteLaplaceTests {
    @Test(arguments: [(UInt64(0), UInt64(1)), (1, 3), (1, 1), (5, 2), (7, 1000)])
    func bernoulliOfExpMinusGamma(n: UInt64, d: UInt64) {
        var rng = SplitMix64(seed: 11 + n * 31 + d)
        let draws = 200_000
        var hits = 0
        for _ in 0..<draws where DiscreteLaplace.bernoulliExpMinus(n, over: d, using: &rng) { hits += 1 }
        let p = exp(-Double(n) / Double(d))
        if n == 0 { #expect(hits == draws); return }
        let se = (p * (1 - p) / Double(draws)).squareRoot()
        #expect(abs(Double(hits) / Double(draws) - p) < 5 * se, "exp(-\(n)/\(d)) = \(p), got \(Double(hits) / Double(draws))")
    }

    struct Moments {
        var n = 0, zeros = 0, positive = 0, negative = 0
        var sum = 0.0, sum2 = 0.0, sum4 = 0.0
        mutating func add(_ z: Int64) {
            let x = Double(z)
            n += 1; sum += x; sum2 += x * x; sum4 += x * x * x * x
            if z == 0 { zeros += 1 } else if z > 0 { positive += 1 } else { negative += 1 }
        }
    }

    /// Mean 0, variance 2α/(1−α)², P(0) = (1−α)/(1+α), and symmetry, over 200 000 draws.
    @Test(arguments: [("1", 1), ("0.5", 2), ("0.1", 1), ("2.5", 1)])
    func matchesTheTwoSidedGeometricDistribution(epsilon: String, sensitivity: Int) throws {
        let e = try Epsilon(parsing: epsilon)
        let (s, t) = DiscreteLaplace.parameters(epsilon: e, sensitivity: sensitivity)
        let alpha = exp(-Double(s) / Double(t))
        var rng = SplitMix64(seed: 0xD15C_0000 + UInt64(e.micro) + UInt64(sensitivity))
        var m = Moments()
        for _ in 0..<200_000 { m.add(DiscreteLaplace.sample(s: s, t: t, using: &rng)) }
        let n = Double(m.n)
        let variance = 2 * alpha / ((1 - alpha) * (1 - alpha))
        let mean = m.sum / n
        #expect(abs(mean) < 5 * (variance / n).squareRoot(), "mean \(mean)")
        let sampleVariance = m.sum2 / n - mean * mean
        let fourth = m.sum4 / n
        let seVariance = ((fourth - sampleVariance * sampleVariance) / n).squareRoot()
        #expect(abs(sampleVariance - variance) < 6 * seVariance, "variance \(sampleVariance), expected \(variance) ± \(seVariance)")
        let p0 = (1 - alpha) / (1 + alpha)
        #expect(abs(Double(m.zeros) / n - p0) < 5 * (p0 * (1 - p0) / n).squareRoot(), "P(0) \(Double(m.zeros) / n), expected \(p0)")
        let nonZero = Double(m.positive + m.negative)
        #expect(abs(Double(m.positive - m.negative)) < 5 * nonZero.squareRoot(), "\(m.positive) positive, \(m.negative) negative")
    }

    /// The production source (libsodium) too, with fewer draws.
    @Test func systemSourceHasTheRightMeanAndVariance() {
        var rng = SystemRandom()
        let (s, t) = (UInt64(1), UInt64(2))  // α = exp(-1/2)
        let alpha = exp(-0.5), variance = 2 * alpha / ((1 - alpha) * (1 - alpha))
        var m = Moments()
        for _ in 0..<20_000 { m.add(DiscreteLaplace.sample(s: s, t: t, using: &rng)) }
        let n = Double(m.n)
        #expect(abs(m.sum / n) < 6 * (variance / n).squareRoot())
        #expect(abs(m.sum2 / n - variance) < 0.15 * variance)
    }

    @Test func uniformIsUnbiasedAndInRange() {
        var rng = SplitMix64(seed: 3)
        var counts = [Int](repeating: 0, count: 3)
        for _ in 0..<30_000 { counts[Int(rng.uniform(below: 3))] += 1 }
        #expect(counts.allSatisfy { abs($0 - 10_000) < 500 })
        for bound: UInt64 in [1, 2, 7, UInt64.max] {
            for _ in 0..<100 { #expect(rng.uniform(below: bound) < bound) }
        }
    }

    @Test func parametersAreTheReducedFractionEpsilonOverSensitivity() throws {
        #expect(DiscreteLaplace.parameters(epsilon: try Epsilon(parsing: "0.5"), sensitivity: 2) == (1, 4))
        #expect(DiscreteLaplace.parameters(epsilon: .one, sensitivity: 10) == (1, 10))
        #expect(DiscreteLaplace.parameters(epsilon: try Epsilon(parsing: "0.125"), sensitivity: 3) == (1, 24))
        #expect(DiscreteLaplace.parameters(epsilon: try Epsilon(parsing: "2.4"), sensitivity: 1) == (12, 5))
        #expect(abs(DiscreteLaplace.alpha(epsilon: .one, sensitivity: 1) - exp(-1)) < 1e-12)
    }
}

@Suite struct EpsilonTests {
    @Test func parsesExactDecimals() throws {
        #expect(try Epsilon(parsing: "0.5").micro == 500_000)
        #expect(try Epsilon(parsing: "1").micro == 1_000_000)
        #expect(try Epsilon(parsing: "0.000001").micro == 1)
        #expect(try Epsilon(parsing: "12.25").fraction == (49, 4))
        #expect(try Epsilon(parsing: "1000").description == "1000")
        #expect(try Epsilon(parsing: "0.50").description == "0.5")
        #expect(try Epsilon(parsing: "0.1").adding(Epsilon(parsing: "0.2")) == Epsilon(parsing: "0.3"))
    }

    @Test(arguments: ["", "0", "0.0", "-1", "+1", "1e-3", ".5", "1.", "0.0000001", "1000.000001", "nan", " 1", "1 ", "1,5", "٣"])
    func refusesEverythingElse(_ text: String) {
        #expect(throws: StatsError.self) { try Epsilon(parsing: text) }
    }
}

@Suite struct NoiseTests {
    @Test func sensitivityComesFromTheFieldDefinitions() throws {
        let three = try StatsField(id: "m", label: "M", values: ["a", "b", "c"], multiValued: true, optional: true)
        #expect(Disclosure.sensitivity(fields: [Schema.setting]) == 1)
        #expect(Disclosure.sensitivity(fields: [Schema.kind]) == 10)
        #expect(Disclosure.sensitivity(fields: [Schema.setting, Schema.role]) == 1)
        #expect(Disclosure.sensitivity(fields: [Schema.kind, Schema.setting]) == 10)
        #expect(Disclosure.sensitivity(fields: [Schema.kind, three]) == 40)
        #expect(Disclosure.sensitivity(fields: [Schema.year, StatsField.arrivalMonth()]) == 1)
        var t = try Tabulator(by: [Schema.kind, Schema.setting])
        try t.add(StatsRecord(answers: ["kind": ["verbal"], "setting": ["home"]], arrivalMonth: "2025-01"))
        #expect(Disclosure.sensitivity(of: try t.counts()) == 10)
    }

    /// Removing one entry changes the noised counts by at most Δ in L1: checked by brute force
    /// over every entry of a multi-valued table.
    @Test func sensitivityBoundsWhatOneEntryChanges() throws {
        let m = try StatsField(id: "m", label: "M", values: ["a", "b", "c"], multiValued: true, optional: true)
        var rng = SplitMix64(seed: 99)
        var records: [StatsRecord] = []
        for _ in 0..<40 {
            let chosen = ["a", "b", "c"].filter { _ in rng.int(0...1) == 1 }
            let kinds = ["verbal", "online", "stalking"].filter { _ in rng.int(0...1) == 1 }
            records.append(StatsRecord(answers: ["m": chosen, "kind": kinds.isEmpty ? ["other"] : kinds], arrivalMonth: "2025-01"))
        }
        let fields = [Schema.kind, m]
        func released(_ rs: [StatsRecord]) throws -> [Int] {
            var t = try Tabulator(by: fields)
            for r in rs { try t.add(r) }
            let c = try t.counts()
            // What NoiseMechanism noises: cells, row totals (columns multi-valued), column
            // totals (rows multi-valued), entries (both multi-valued).
            return c.cells + c.rowTotals + c.columnTotals + [c.entries]
        }
        let full = try released(records)
        let delta = Disclosure.sensitivity(fields: fields)
        for i in records.indices {
            var fewer = records
            fewer.remove(at: i)
            let l1 = zip(full, try released(fewer)).reduce(0) { $0 + abs($1.0 - $1.1) }
            #expect(l1 <= delta)
        }
    }

    @Test func noisyTotalsAreSumsOfNoisyCells() throws {
        let t = Tables.twoFields([[100, 200, 150], [300, 400, 250]])
        var rng = SplitMix64(seed: 5)
        let r = try Disclosure.publish(t, policy: DisclosurePolicy(epsilon: Epsilon(parsing: "0.5")), random: &rng)
        #expect(r.noise == NoiseReport(epsilon: try Epsilon(parsing: "0.5"), sensitivity: 1))
        let p = try #require(Tables.published(r))
        func value(_ c: PublishedCount) -> Int { if case let .exact(n) = c { return n } else { return -1 } }
        let cells = p.cells.map(value)
        #expect(!cells.contains(-1))
        #expect(cells != t.cells, "no noise was added")
        #expect(p.rowTotals.map(value) == [cells[0] + cells[1] + cells[2], cells[3] + cells[4] + cells[5]])
        #expect(p.columnTotals.map(value) == [cells[0] + cells[3], cells[1] + cells[4], cells[2] + cells[5]])
        #expect(value(p.entries) == cells.reduce(0, +))
        #expect(zip(cells, t.cells).allSatisfy { abs($0 - $1) < 60 })
        #expect(r.textTable().contains("epsilon = 0.5"))
        #expect(r.json().contains("\"epsilon\": 0.5"))
    }

    @Test func noisyCountsAreNeverNegativeAndVary() throws {
        let t = Tables.oneField([0, 0, 50, 1])
        var seen: Set<[PublishedCount]> = []
        var rng = SplitMix64(seed: 17)
        for _ in 0..<30 {
            let r = try Disclosure.publish(t, policy: DisclosurePolicy(minCount: 2, epsilon: Epsilon(parsing: "0.3")), random: &rng)
            guard let p = Tables.published(r) else { continue }
            for c in p.cells { if case let .exact(n) = c { #expect(n >= 0) } }
            seen.insert(p.cells)
        }
        #expect(seen.count > 5)
    }

    @Test func categoriesFromTheDataAreRefusedWithNoise() throws {
        var t = try Tabulator(by: [StatsField.arrivalMonth()])
        try t.add(StatsRecord(answers: [:], arrivalMonth: "2025-01"))
        #expect(throws: StatsError.dataDependentCategories(field: "arrival-month")) {
            try Disclosure.publish(t.counts(), policy: DisclosurePolicy(epsilon: .one))
        }
    }

    /// Random tables with noise: suppression of the noisy numbers is as safe as of exact ones,
    /// against a reader who knows which totals are sums of noisy cells.
    @Test func noisyTablesLeakNothing() throws {
        var rng = SplitMix64(seed: 0xD9)
        var checked = 0
        for _ in 0..<150 {
            let c = RandomTables.make(&rng)
            let fields = c.fields.map { f -> StatsField in
                // Noise needs fixed categories: give arrival months a fixed range.
                if case .arrivalMonth = f.kind { return StatsField.arrivalMonth(range: try! YearMonth(parsing: "2024-01")...YearMonth(parsing: "2024-04")) }
                return f
            }
            var tab = try Tabulator(by: fields)
            for r in c.records { try tab.add(r) }
            let counts = try tab.counts()
            let epsilon = try Epsilon(parsing: ["0.5", "1", "3"][rng.int(0...2)])
            let policy = try DisclosurePolicy(minCount: c.minCount, epsilon: epsilon)
            let seed = rng.next()
            var a = SplitMix64(seed: seed), b = SplitMix64(seed: seed)
            let report = try Disclosure.publish(counts, policy: policy, random: &a)
            let noisy = try NoiseMechanism.noisyTable(counts, epsilon: epsilon, random: &b)
            #expect(report.noise?.sensitivity == Disclosure.sensitivity(fields: fields))
            guard case .published = report.outcome else { continue }
            let reader = BruteForce(report: report, truthCells: noisy.cells, truthRows: noisy.rowTotals,
                                    truthColumns: noisy.columnTotals, truthEntries: noisy.entries, noisy: true)
            #expect(reader.leaks() == [], "\(c.description)")
            checked += 1
        }
        #expect(checked > 60)
    }
}
