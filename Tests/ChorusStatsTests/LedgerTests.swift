import Foundation
import Testing
@testable import ChorusStats

@Suite struct LedgerTests {
    /// A fresh folder under the system temp folder, removed by the caller.
    static func folder() throws -> String {
        let path = NSTemporaryDirectory() + "/chorus-ledger-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        return path
    }

    static func eps(_ s: String) -> Epsilon { try! Epsilon(parsing: s) }

    @Test func spendsAcrossRunsAndRefusesOverTheBudget() throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/budget.json"
        let left = try EpsilonLedger(path: path).checkAndSpend(Self.eps("0.4"), sources: ["batch-a"])
        #expect(left == ["batch-a": Self.eps("0.6")])
        // A later run: a new ledger value over the same file.
        try EpsilonLedger(path: path).checkAndSpend(Self.eps("0.5"), sources: ["batch-a", "batch-b", "batch-a"])
        do {
            try EpsilonLedger(path: path).checkAndSpend(Self.eps("0.2"), sources: ["batch-b", "batch-a"])
            Issue.record("the spend over the budget was accepted")
        } catch let error as LedgerError {
            #expect(error.description == "epsilon 0.2 would exceed the privacy budget of 1 (batch-a has 0.1 left, batch-b has 0.5 left); nothing was spent")
        }
        let accounts = try EpsilonLedger(path: path).accounts()
        #expect(accounts["batch-a"] == .init(spent: Self.eps("0.9"), releases: 2))
        #expect(accounts["batch-b"] == .init(spent: Self.eps("0.5"), releases: 1))
        #expect(try EpsilonLedger(path: path).remaining(source: "batch-b") == Self.eps("0.5"))
        #expect(try EpsilonLedger(path: path).remaining(source: "never-seen") == .one)
        // Exactly the rest is still allowed; a larger budget allows more.
        try EpsilonLedger(path: path).checkAndSpend(Self.eps("0.1"), sources: ["batch-a"])
        #expect(throws: LedgerError.self) { try EpsilonLedger(path: path).checkAndSpend(Self.eps("0.000001"), sources: ["batch-a"]) }
        try EpsilonLedger(path: path).checkAndSpend(Self.eps("1"), sources: ["batch-a"], budget: Self.eps("2"))
    }

    /// Ten spends of 0.1 are exactly 1: in binary floating point they would add up to
    /// 0.9999999999999999 and let an eleventh through.
    @Test func accumulatesExactly() throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let ledger = EpsilonLedger(path: dir + "/l.json")
        for _ in 0..<10 { try ledger.checkAndSpend(Self.eps("0.1"), sources: ["s"]) }
        #expect(try ledger.remaining(source: "s") == .zero)
        #expect(throws: LedgerError.self) { try ledger.checkAndSpend(Self.eps("0.1"), sources: ["s"]) }
    }

    @Test func fileIsPrivateJSONAndTemporariesAreCleaned() throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/l.json"
        let stale = dir + "/.l.json.tmp-deadbeef"
        #expect(FileManager.default.createFile(atPath: stale, contents: Data("half".utf8)))
        try EpsilonLedger(path: path).checkAndSpend(Self.eps("0.25"), sources: ["sha256:abc"])
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        #expect(!FileManager.default.fileExists(atPath: stale))
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any]
        #expect(object?["format"] as? String == "chorus-epsilon-ledger")
        #expect(object?["version"] as? Int == 1)
        let entry = (object?["sources"] as? [String: Any])?["sha256:abc"] as? [String: Any]
        #expect(entry?["spent_micro"] as? Int == 250_000)
        #expect(entry?["releases"] as? Int == 1)
        let names = try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
        #expect(names == ["l.json", "l.json.lock"])
    }

    /// A damaged ledger is an error, never an empty (full-budget) ledger, and is left alone.
    @Test func damagedLedgerIsRefusedAndKept() throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/l.json"
        for garbage in ["{", "{\"format\":\"other\",\"version\":1,\"sources\":{}}",
                        "{\"format\":\"chorus-epsilon-ledger\",\"version\":1,\"sources\":{\"s\":{\"spent_micro\":-5,\"releases\":1}}}"] {
            try Data(garbage.utf8).write(to: URL(fileURLWithPath: path))
            #expect(throws: LedgerError.self) { try EpsilonLedger(path: path).checkAndSpend(Self.eps("0.1"), sources: ["s"]) }
            #expect(try String(contentsOfFile: path, encoding: .utf8) == garbage)
        }
    }

    @Test func refusesMeaninglessSpends() throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let ledger = EpsilonLedger(path: dir + "/l.json")
        #expect(throws: LedgerError.self) { try ledger.checkAndSpend(Self.eps("0.1"), sources: []) }
        #expect(throws: LedgerError.self) { try ledger.checkAndSpend(Self.eps("0.1"), sources: [""]) }
        #expect(throws: LedgerError.self) { try ledger.checkAndSpend(.zero, sources: ["s"]) }
        #expect(throws: LedgerError.self) { try EpsilonLedger(path: dir + "/missing/l.json").checkAndSpend(Self.eps("0.1"), sources: ["s"]) }
    }

    /// Twelve concurrent spends of 0.3 against a budget of 1: the lock lets exactly three through.
    @Test func concurrentSpendsNeverOverspend() async throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/l.json"
        let successes = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<12 {
                group.addTask { (try? EpsilonLedger(path: path).checkAndSpend(Self.eps("0.3"), sources: ["s"])) != nil }
            }
            var n = 0
            for await ok in group where ok { n += 1 }
            return n
        }
        #expect(successes == 3)
        #expect(try EpsilonLedger(path: path).accounts()["s"] == .init(spent: Self.eps("0.9"), releases: 3))
    }
}
