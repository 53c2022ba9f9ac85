import Foundation
import Testing
@testable import ChorusStats

@Suite struct ReleaseLogTests {
    /// A fresh folder under the system temp folder, removed by the caller.
    static func folder() throws -> String {
        let path = NSTemporaryDirectory() + "/chorus-releases-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        return path
    }

    static func eps(_ s: String) -> Epsilon { try! Epsilon(parsing: s) }

    /// Entry ids 0 ..< n (32 bytes each).
    static func ids(_ range: Range<Int>) -> [[UInt8]] {
        range.map { i in (0..<32).map { UInt8(truncatingIfNeeded: i >> (8 * ($0 % 4))) ^ UInt8($0) } }
    }

    static func request(_ ids: [[UInt8]], _ tables: [[String]] = [["setting"]], k: Int = 5, epsilon: String? = nil, budget: String = "1") -> ReleaseLog.Request {
        .init(ids: ids.flatMap { $0 }, tables: tables, minCount: k, epsilon: epsilon.map(eps), budget: eps(budget), date: "2026-12-03")
    }

    @Test func aPopulationDifferingByOneToKMinusOneIsRefusedForOverlappingTables() throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let log = ReleaseLog(path: dir + "/log")
        _ = try log.checkAndRecord(Self.request(Self.ids(0..<100)))
        // The same entries again, in another order and with a copy: the same population.
        _ = try log.checkAndRecord(Self.request(Self.ids(0..<100).reversed() + Self.ids(3..<4)))
        // One withdrawn: refused, with how many more must change.
        #expect(throws: ReleaseLogError.differencing(release: 1, date: "2026-12-03", differing: 1, needed: 4)) {
            try log.checkAndRecord(Self.request(Self.ids(1..<100)))
        }
        // Four new ones: still refused; five: allowed.
        #expect(throws: ReleaseLogError.self) { try log.checkAndRecord(Self.request(Self.ids(0..<104))) }
        _ = try log.checkAndRecord(Self.request(Self.ids(0..<105)))
        // Tables of other fields do not overlap: allowed; a cross-tab with the field does.
        _ = try log.checkAndRecord(Self.request(Self.ids(1..<100), [["consent"]]))
        #expect(throws: ReleaseLogError.self) { try log.checkAndRecord(Self.request(Self.ids(2..<100), [["consent", "setting"]])) }
        // The larger K of the two releases counts.
        #expect(throws: ReleaseLogError.self) { try log.checkAndRecord(Self.request(Self.ids(0..<111), k: 10)) }
        let message = ReleaseLogError.differencing(release: 1, date: "2026-12-03", differing: 1, needed: 4).description
        #expect(message.contains("by only 1 entry") && message.contains("at least 4 more entries have arrived or left"))
        #expect(try log.releases().map(\.number) == [1, 2, 3, 4])
        // Release 2 counted exactly the entries of release 1: it names release 1's file.
        #expect(try log.releases().map(\.population) == ["000001.pop", "000001.pop", "000003.pop", "000004.pop"])
    }

    /// The budget is per entry: a store's entries counted again as its batch spend from the same
    /// account, and entries that arrive later have their full budget.
    @Test func theBudgetIsKeptPerEntryAcrossPopulations() throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let log = ReleaseLog(path: dir + "/log")
        let first = try log.checkAndRecord(Self.request(Self.ids(0..<50), epsilon: "0.6"))
        #expect(first.left == Self.eps("0.4") && first.spentBefore == .zero)
        // The same 50 entries (read from another file): 0.6 more would take them to 1.2.
        #expect(throws: ReleaseLogError.budgetExceeded(requested: Self.eps("0.6"), budget: .one, left: Self.eps("0.4"))) {
            try log.checkAndRecord(Self.request(Self.ids(0..<50).reversed(), epsilon: "0.6"))
        }
        // 0.4 is exactly what is left.
        #expect(try log.checkAndRecord(Self.request(Self.ids(0..<50), epsilon: "0.4")).left == .zero)
        // Fifty new entries beside them: the old ones have nothing left, so the release is refused.
        #expect(throws: ReleaseLogError.self) { try log.checkAndRecord(Self.request(Self.ids(0..<100), epsilon: "0.1")) }
        // The new ones alone have their whole budget.
        #expect(try log.checkAndRecord(Self.request(Self.ids(50..<100), epsilon: "1")).left == .zero)
        // An exact release spends nothing.
        _ = try log.checkAndRecord(Self.request(Self.ids(0..<100)))
    }

    /// Ten releases of 0.1 are exactly 1: in binary floating point they would add up to
    /// 0.9999999999999999 and let an eleventh through.
    @Test func accumulatesExactly() throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let log = ReleaseLog(path: dir + "/log")
        for _ in 0..<10 { _ = try log.checkAndRecord(Self.request(Self.ids(0..<20), epsilon: "0.1")) }
        #expect(throws: ReleaseLogError.self) { try log.checkAndRecord(Self.request(Self.ids(0..<20), epsilon: "0.1")) }
    }

    @Test func filesArePrivateAndTheIdsNeverAppear() throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/log"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        let stale = path + "/.release.tmp-deadbeef"
        #expect(FileManager.default.createFile(atPath: stale, contents: Data("half".utf8)))
        let ids = Self.ids(0..<30)
        _ = try ReleaseLog(path: path).checkAndRecord(Self.request(ids, epsilon: "0.25"))
        #expect(!FileManager.default.fileExists(atPath: stale))
        #expect(try FileManager.default.contentsOfDirectory(atPath: path).sorted() == ["000001.pop", "lock", "log.json"])
        for name in ["000001.pop", "log.json"] {
            let attributes = try FileManager.default.attributesOfItem(atPath: path + "/" + name)
            #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        }
        let pop = try Data(contentsOf: URL(fileURLWithPath: path + "/000001.pop"))
        #expect(pop.count == 30 * 8)
        for id in ids { #expect(pop.range(of: Data(id.prefix(8))) == nil) }
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path + "/log.json"))) as? [String: Any]
        #expect(object?["format"] as? String == "chorus-release-log" && object?["version"] as? Int == 1)
        let release = (object?["releases"] as? [[String: Any]])?.first
        #expect(release?["epsilon_micro"] as? Int == 250_000 && release?["entries"] as? Int == 30 && release?["min_count"] as? Int == 5)
    }

    /// A damaged log is an error, never an empty (full-budget, no-history) log, and is left alone.
    @Test func aDamagedLogOrPopulationIsRefusedAndKept() throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/log"
        let log = ReleaseLog(path: path)
        _ = try log.checkAndRecord(Self.request(Self.ids(0..<10)))
        // An altered population file.
        var pop = try Data(contentsOf: URL(fileURLWithPath: path + "/000001.pop"))
        pop[0] ^= 1
        try pop.write(to: URL(fileURLWithPath: path + "/000001.pop"))
        #expect(throws: ReleaseLogError.self) { try log.checkAndRecord(Self.request(Self.ids(0..<9))) }
        try FileManager.default.removeItem(atPath: path + "/000001.pop")
        #expect(throws: ReleaseLogError.self) { try log.checkAndRecord(Self.request(Self.ids(0..<9))) }
        let key = String(repeating: "ab", count: 32)
        let release0 = "{\"format\":\"chorus-release-log\",\"version\":1,\"key\":\"\(key)\",\"releases\":[{\"number\":0,\"date\":\"x\",\"min_count\":5,\"epsilon_micro\":0,\"tables\":[],\"entries\":0,\"population\":\"000000.pop\",\"population_blake2b\":\"\"}]}"
        for garbage in ["{", "{\"format\":\"other\",\"version\":1,\"key\":\"00\",\"releases\":[]}", release0] {
            try Data(garbage.utf8).write(to: URL(fileURLWithPath: path + "/log.json"))
            #expect(throws: ReleaseLogError.self) { try log.checkAndRecord(Self.request(Self.ids(0..<9))) }
            #expect(try String(contentsOfFile: path + "/log.json", encoding: .utf8) == garbage)
        }
    }

    @Test func refusesMeaninglessReleases() throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let log = ReleaseLog(path: dir + "/log")
        #expect(throws: ReleaseLogError.self) {
            try log.checkAndRecord(.init(ids: Self.ids(0..<5).flatMap { $0 }, tables: [["a"]], minCount: 5, epsilon: .zero, budget: .one, date: "2026-12-03"))
        }
        #expect(throws: ReleaseLogError.self) {
            try log.checkAndRecord(.init(ids: Self.ids(0..<5).flatMap { $0 }, tables: [["a"]], minCount: 5, epsilon: nil, budget: .zero, date: "2026-12-03"))
        }
        #expect(throws: ReleaseLogError.self) { try ReleaseLog(path: dir + "/missing/log").checkAndRecord(Self.request(Self.ids(0..<5))) }
    }

    /// Twelve concurrent releases of 0.3 on the same entries against a budget of 1: the lock lets
    /// exactly three through.
    @Test func concurrentReleasesNeverOverspend() async throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/log"
        let successes = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<12 {
                group.addTask { (try? ReleaseLog(path: path).checkAndRecord(Self.request(Self.ids(0..<10), epsilon: "0.3"))) != nil }
            }
            var n = 0
            for await ok in group where ok { n += 1 }
            return n
        }
        #expect(successes == 3)
        #expect(try ReleaseLog(path: path).releases().count == 3)
    }

    @Test func theSymmetricDifferenceOfSortedListsIsExact() {
        #expect(ReleaseLog.symmetricDifference([1, 2, 3], [2, 3, 4, 5], stopAt: 100) == 3)
        #expect(ReleaseLog.symmetricDifference([], [7], stopAt: 100) == 1)
        #expect(ReleaseLog.symmetricDifference([1, 2], [1, 2], stopAt: 100) == 0)
        #expect(ReleaseLog.symmetricDifference(Array(0..<1000), [], stopAt: 5) == 5)
    }
}
