import ChorusCrypto
import ChorusFormat
import ChorusSystem
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The release log: every release `chorus stats` made, with the entries it counted, so that a
/// new release can be checked against all earlier ones before anything is shown.
///
/// It guards against two mistakes an honest analyst can make:
/// - **Differencing.** Two releases of overlapping tables whose populations differ by 1 to K−1
///   entries give those entries' answers away (count, withdraw one, count again). Such a release
///   is refused, with how many more entries must change first.
/// - **Spending the privacy budget twice.** The budget is kept per entry, not per file: a noisy
///   release spends its ε on every entry it counted, wherever the entry was read (an inbox, the
///   batch it later moved into, a copy), and is refused when any of its entries would go over.
///
/// The log lives on the analyst's machine beside the key and is only as good as that machine:
/// anyone who can edit or delete it can reset it.
///
/// ## Files
///
/// A folder (mode 0700) holding:
/// - `log.json` (0600): `{"format": "chorus-release-log", "version": 1, "key": HEX, "releases": [...]}`,
///   one object per release: `number`, `date` (UTC, `YYYY-MM-DD`), `min_count`, `epsilon_micro`
///   (0 for an exact release), `tables` (lists of field ids), `entries`, `population` (the file
///   name: a release of the same entries as an earlier one names the earlier one's file) and `population_blake2b` (the hex BLAKE2b-256 of that file, checked on every read).
/// - `NNNNNN.pop` (0600): the release's population, the sorted distinct 8-byte big-endian keyed
///   digests of the entry ids it counted (the first 8 bytes of BLAKE2b-128 keyed with the log's key) (8 MB for a million entries). The key is the
///   log's random `key`, so a population file alone cannot be matched against a receipt.
/// - `lock`: an exclusive `flock` is held on it while a release is checked and written, so two
///   analysts at once cannot both pass the check or both spend the last of a budget.
///
/// Every file is written through the one durable-write recipe (`DurableFile`): a temporary file,
/// flushed, renamed over, the folder flushed. The population file is written before the log
/// names it, so a crash leaves the old log or the new one, never a log naming a missing file. A log
/// that does not parse, names a missing or altered population file, or has another format or
/// version is an error: never reset, which would refill every budget and forget every release.
public struct ReleaseLog: Sendable {
    /// The folder.
    public let path: String

    static let format = "chorus-release-log"
    static let version = 1

    public init(path: String) { self.path = path }

    /// One release, as the log keeps it.
    public struct Release: Sendable, Equatable, Codable {
        public let number: Int
        public let date: String
        public let minCount: Int
        public let epsilonMicro: Int64
        public let tables: [[String]]
        public let entries: Int
        public let population: String
        public let populationBlake2b: String
        /// The tables as they were published (exact releases; empty for a noisy one).
        public let published: [PublishedTable]

        enum CodingKeys: String, CodingKey {
            case number, date, tables, entries, population, published
            case minCount = "min_count"
            case epsilonMicro = "epsilon_micro"
            case populationBlake2b = "population_blake2b"
        }
    }

    /// One table as published: what a reader of it holds.
    public struct PublishedTable: Sendable, Equatable, Codable {
        /// One or two field ids.
        public let fields: [String]
        /// Per field, its categories (`null`: not answered).
        public let categories: [[String?]]
        /// The cells, then (two fields) the row and column totals, then the number of entries:
        /// `"12"`, `"<5"` or `"x"` (5 or more).
        public let numbers: [String]

        public init(fields: [String], categories: [[String?]], numbers: [String]) {
            self.fields = fields
            self.categories = categories
            self.numbers = numbers
        }

        /// A published report as the log keeps it; nil for a table that was not published.
        public init?(_ report: StatsReport) {
            guard case let .published(p) = report.outcome, report.noise == nil else { return nil }
            fields = report.dimensions.map(\.fieldID)
            categories = report.dimensions.map(\.values)
            numbers = (p.cells + p.rowTotals + p.columnTotals + [p.entries]).map(StatsReport.mark)
        }

        /// The report a reader of this table holds, with the categories of `counts` (the same
        /// table counted again from the same entries); nil when the categories differ (the years of
        /// a year field grow with the calendar) or the numbers do not fit.
        public func report(counts: CountTable, minCount: Int) -> StatsReport? {
            guard categories == counts.dimensions.map(\.values), fields == counts.dimensions.map(\.fieldID) else { return nil }
            let r = counts.rowCount, c = counts.dimensions.count == 2 ? counts.columnCount : 0
            let cellCount = r * max(c, 1)
            guard numbers.count == cellCount + (c > 0 ? r + c : 0) + 1 else { return nil }
            var marks: [PublishedCount] = []
            for n in numbers {
                if n == "x" { marks.append(.atLeast(minCount)) }
                else if n.hasPrefix("<"), let k = Int(n.dropFirst()) { marks.append(.fewerThan(k)) }
                else if let v = Int(n), v >= 0 { marks.append(.exact(v)) }
                else { return nil }
            }
            let cells = Array(marks.prefix(cellCount))
            let rows = c > 0 ? Array(marks[cellCount ..< cellCount + r]) : []
            let columns = c > 0 ? Array(marks[cellCount + r ..< cellCount + r + c]) : []
            return StatsReport(dimensions: counts.dimensions.map(PublishedDimension.init), minCount: minCount, noise: nil,
                               outcome: .published(PublishedCounts(cells: cells, rowTotals: rows, columnTotals: columns, entries: marks[marks.count - 1])))
        }
    }

    /// What a new release asks for.
    public struct Request: Sendable {
        /// The entry ids counted (32 bytes each).
        /// The entry ids counted, 32 bytes each, one after another.
        public let ids: [UInt8]
        /// Field ids per table.
        public let tables: [[String]]
        public let minCount: Int
        /// Nil for an exact release.
        public let epsilon: Epsilon?
        /// The privacy budget per entry.
        public let budget: Epsilon
        /// UTC, `YYYY-MM-DD`.
        public let date: String

        public init(ids: [UInt8], tables: [[String]], minCount: Int, epsilon: Epsilon?, budget: Epsilon, date: String) {
            precondition(ids.count % 32 == 0, "entry ids are 32 bytes each")
            self.ids = ids
            self.tables = tables
            self.minCount = minCount
            self.epsilon = epsilon
            self.budget = budget
            self.date = date
        }
    }

    /// What a recorded release left.
    public struct Outcome: Sendable, Equatable {
        public let number: Int
        /// The most ε any entry of the release had spent before it (0 for a first release).
        public let spentBefore: Epsilon
        /// The least budget any entry of the release has left after it.
        public let left: Epsilon
    }

    /// The releases so far.
    public func releases() throws -> [Release] { try read().releases }

    /// Every table (by field ids) some exact release published, so that a new release can count
    /// them too and audit itself together with those of the same entries.
    public func tablesPublished() throws -> [[String]] {
        var seen = Set<[String]>()
        var out: [[String]] = []
        for r in try read().releases {
            for t in r.published where seen.insert(t.fields).inserted { out.append(t.fields) }
        }
        return out
    }

    /// A release that passed the checks and waits to be written (``commit(published:)``),
    /// holding the log's lock until then: nothing else can be released meanwhile.
    public final class Pending {
        /// Its number in the log.
        public let number: Int
        /// What its entries' budget is after it.
        public let outcome: Outcome
        /// The tables earlier releases published from exactly these entries with the same K.
        public let earlierTables: [PublishedTable]
        fileprivate let log: ReleaseLog
        fileprivate var file: LogFile
        fileprivate let release: (name: String, bytes: [UInt8]?, digest: String, entries: Int)
        fileprivate let request: Request
        fileprivate var lock: Lock?

        fileprivate init(number: Int, outcome: Outcome, earlierTables: [PublishedTable], log: ReleaseLog, file: LogFile,
                         release: (name: String, bytes: [UInt8]?, digest: String, entries: Int), request: Request, lock: Lock) {
            self.number = number
            self.outcome = outcome
            self.earlierTables = earlierTables
            self.log = log
            self.file = file
            self.release = release
            self.request = request
            self.lock = lock
        }

        /// Writes the release with the tables as published (the population first, then the log)
        /// and lets the lock go.
        public func commit(published: [PublishedTable]) throws {
            guard let held = lock else { throw ReleaseLogError.invalid("this release was already written") }
            defer { held.release(); lock = nil }
            if let bytes = release.bytes { try log.writeFile(release.name, bytes) }
            file.releases.append(Release(number: number, date: request.date, minCount: request.minCount, epsilonMicro: request.epsilon?.micro ?? 0,
                                         tables: request.tables, entries: release.entries, population: release.name,
                                         populationBlake2b: release.digest, published: published))
            try log.writeLog(file)
        }
    }

    /// Checks `request` against every earlier release and records it, or throws
    /// (``ReleaseLogError/differencing(release:date:differing:needed:)`` or
    /// ``ReleaseLogError/budgetExceeded(requested:budget:left:)``) and records nothing. Call it after
    /// counting and before anything is drawn or shown.
    public func checkAndRecord(_ request: Request) throws -> Outcome {
        let pending = try begin(request)
        try pending.commit(published: [])
        return pending.outcome
    }

    /// Checks `request` against every earlier release under the log's lock, as
    /// ``checkAndRecord(_:)`` does, and returns it to be written once published; nothing is
    /// written if it is never committed.
    public func begin(_ request: Request) throws -> Pending {
        guard request.minCount >= 1 else { throw ReleaseLogError.invalid("the minimum count must be at least 1") }
        if let e = request.epsilon, e.micro <= 0 { throw ReleaseLogError.invalid("epsilon must be greater than 0") }
        guard request.budget.micro > 0 else { throw ReleaseLogError.invalid("the budget must be greater than 0") }
        try makeFolder()
        let lock = try Lock(path: path + "/lock")
        removeStaleTemporaries()

        let file = try read()
        guard let key = Hex.decode(file.key) else { throw ReleaseLogError.corrupt(path: logPath, reason: "its key is not hex") }
        let population = try Self.population(request.ids, key: key)
        let fields = Set(request.tables.flatMap { $0 })
        var spent = [Int64](repeating: 0, count: population.count)
        // Releases of the same entries share one population file, read once.
        var read: [String: [UInt64]] = [:]
        var earlierTables: [PublishedTable] = []
        for old in file.releases {
            let earlier: [UInt64]
            if let known = read[old.population] { earlier = known } else {
                earlier = try readPopulation(old)
                read[old.population] = earlier
            }
            let overlapping = !fields.isDisjoint(with: old.tables.flatMap { $0 })
            let k = max(request.minCount, old.minCount)
            let differing = Self.symmetricDifference(population, earlier, stopAt: k)
            if overlapping, differing >= 1 && differing < k {
                throw ReleaseLogError.differencing(release: old.number, date: old.date, differing: differing, needed: k - differing)
            }
            if differing == 0 && old.minCount == request.minCount { earlierTables += old.published }
            if old.epsilonMicro > 0 { Self.addSpent(old.epsilonMicro, population, earlier, into: &spent) }
        }
        let before = spent.max() ?? 0
        let cost = request.epsilon?.micro ?? 0
        if cost > 0, before + cost > request.budget.micro {
            throw ReleaseLogError.budgetExceeded(requested: request.epsilon!, budget: request.budget, left: Epsilon.fromMicroClamped(request.budget.micro - before))
        }
        let number = (file.releases.map(\.number).max() ?? 0) + 1
        var bytes: [UInt8] = []
        bytes.reserveCapacity(population.count * 8)
        for h in population { withUnsafeBytes(of: h.bigEndian) { bytes.append(contentsOf: $0) } }
        let digest = Hex.encode(BLAKE2b.hash(bytes))
        // The same entries as an earlier release: its file serves (8 MB a million entries saved).
        let release: (name: String, bytes: [UInt8]?, digest: String, entries: Int)
        if let same = file.releases.first(where: { $0.populationBlake2b == digest && $0.entries == population.count }) {
            release = (same.population, nil, digest, population.count)
        } else {
            release = (Self.populationName(number), bytes, digest, population.count)
        }
        let outcome = Outcome(number: number, spentBefore: Epsilon.fromMicroClamped(before),
                              left: Epsilon.fromMicroClamped(request.budget.micro - before - cost))
        return Pending(number: number, outcome: outcome, earlierTables: earlierTables, log: self, file: file, release: release,
                       request: request, lock: lock)
    }

    // MARK: Populations

    /// The sorted distinct keyed digests of `ids`.
    static func population(_ ids: [UInt8], key: [UInt8]) throws -> [UInt64] {
        let secret = SecretBytes(copying: key)
        var out: [UInt64] = []
        out.reserveCapacity(ids.count / 32)
        try ids.withUnsafeBytes { all in
            for start in stride(from: 0, to: all.count, by: 32) {
                // BLAKE2b's shortest output is 16 bytes: the first 8 are the digest.
                let h = try BLAKE2b.keyedHash(UnsafeRawBufferPointer(rebasing: all[start ..< start + 32]), key: secret, outputLength: 16)
                out.append(h.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
            }
        }
        out.sort()
        var unique: [UInt64] = []
        unique.reserveCapacity(out.count)
        for h in out where unique.last != h { unique.append(h) }
        return unique
    }

    /// |a Δ b| of two sorted lists, counting no further than `stopAt`.
    static func symmetricDifference(_ a: [UInt64], _ b: [UInt64], stopAt: Int) -> Int {
        var i = 0, j = 0, d = 0
        while i < a.count || j < b.count {
            if d >= stopAt { return d }
            if j == b.count || (i < a.count && a[i] < b[j]) { d += 1; i += 1 }
            else if i == a.count || b[j] < a[i] { d += 1; j += 1 }
            else { i += 1; j += 1 }
        }
        return d
    }

    /// Adds `micro` to the spent amount of every entry of `a` that is also in `b`.
    static func addSpent(_ micro: Int64, _ a: [UInt64], _ b: [UInt64], into spent: inout [Int64]) {
        var i = 0, j = 0
        while i < a.count && j < b.count {
            if a[i] < b[j] { i += 1 } else if b[j] < a[i] { j += 1 } else {
                spent[i] = min(spent[i] + micro, Epsilon.maximumMicro * 1000)
                i += 1
                j += 1
            }
        }
    }

    static func populationName(_ number: Int) -> String {
        let s = String(number)
        return String(repeating: "0", count: max(0, 6 - s.count)) + s + ".pop"
    }

    // MARK: Files

    fileprivate struct LogFile: Codable, Equatable {
        var format: String
        var version: Int
        var key: String
        var releases: [Release]
    }

    private var logPath: String { path + "/log.json" }

    private func makeFolder() throws {
        if mkdir(path, 0o700) != 0 && errno != EEXIST {
            throw ReleaseLogError.io(path: path, reason: SystemError.reason(errno))
        }
    }

    fileprivate func read() throws -> LogFile {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: logPath))
        } catch let error as CocoaError where error.code == .fileReadNoSuchFile {
            return LogFile(format: Self.format, version: Self.version, key: Hex.encode(Random.bytes(32)), releases: [])
        } catch {
            throw ReleaseLogError.io(path: logPath, reason: "cannot be read")
        }
        let file: LogFile
        do {
            file = try JSONDecoder().decode(LogFile.self, from: data)
        } catch {
            throw ReleaseLogError.corrupt(path: logPath, reason: "it is not a valid release log")
        }
        guard file.format == Self.format, file.version == Self.version else {
            throw ReleaseLogError.corrupt(path: logPath, reason: "it is not a version \(Self.version) \(Self.format)")
        }
        guard Hex.decode(file.key)?.count == 32 else { throw ReleaseLogError.corrupt(path: logPath, reason: "its key is not 32 bytes of hex") }
        for r in file.releases {
            guard r.number >= 1, r.epsilonMicro >= 0, r.entries >= 0, r.minCount >= 1,
                  let named = Int(r.population.dropLast(4)), (1...r.number).contains(named), r.population == Self.populationName(named) else {
                throw ReleaseLogError.corrupt(path: logPath, reason: "release \(r.number) is not well formed")
            }
        }
        return file
    }

    private func readPopulation(_ r: Release) throws -> [UInt64] {
        let file = path + "/" + r.population
        guard let data = FileManager.default.contents(atPath: file) else {
            throw ReleaseLogError.corrupt(path: file, reason: "the population of release \(r.number) is missing")
        }
        let bytes = [UInt8](data)
        guard Hex.encode(BLAKE2b.hash(bytes)) == r.populationBlake2b, bytes.count == r.entries * 8 else {
            throw ReleaseLogError.corrupt(path: file, reason: "the population of release \(r.number) was altered")
        }
        var out: [UInt64] = []
        out.reserveCapacity(r.entries)
        for i in stride(from: 0, to: bytes.count, by: 8) {
            out.append(bytes[i ..< i + 8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
        }
        return out
    }

    private var temporaryPrefix: String { ".release.tmp-" }

    fileprivate func writeLog(_ file: LogFile) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        var bytes = [UInt8](try encoder.encode(file))
        bytes.append(UInt8(ascii: "\n"))
        try writeFile("log.json", bytes)
    }

    /// Writes one file of the log through the one durable-write recipe (ChorusSystem's
    /// `DurableFile`): a temporary file beside it, flushed, renamed over it, the folder flushed.
    fileprivate func writeFile(_ name: String, _ bytes: [UInt8]) throws {
        let full = path + "/" + name
        do {
            let folder = try DurableFile.openOutputFolder(path, for: full)
            try DurableFile.write(in: folder, name: .exactly(name), tempPrefix: temporaryPrefix, zeroTimes: false, replacing: true) {
                try $0.write(bytes)
            }
        } catch let e as SystemError {
            throw ReleaseLogError.io(path: full, reason: e.message)
        }
    }

    /// Removes temporary files left by a crashed release (called under the lock).
    private func removeStaleTemporaries() {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: path) else { return }
        for name in names where name.hasPrefix(temporaryPrefix) { unlink(path + "/" + name) }
    }

    /// An exclusive `flock` on the log's lock file, created 0600 and never removed (removing it
    /// would let two processes lock different files).
    fileprivate struct Lock {
        let fd: OwnedFD
        init(path: String) throws {
            switch Posix.openPath(path, O_RDWR | O_CREAT | O_NOFOLLOW, mode: 0o600) {
            case let .success(f): fd = f
            case let .failure(e): throw ReleaseLogError.io(path: path, reason: SystemError.reason(e))
            }
            do { try Posix.lockExclusive(fd.raw, path: path) } catch { throw ReleaseLogError.io(path: path, reason: error.message) }
        }
        /// Closing the descriptor (when the lock goes) releases the flock.
        func release() { withExtendedLifetime(fd) {} }
    }
}

/// Errors of the release log.
public enum ReleaseLogError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The new release counts entries that differ from an earlier release of overlapping tables
    /// by `differing` (1 to K−1): `needed` more must change first.
    case differencing(release: Int, date: String, differing: Int, needed: Int)
    /// Some entry of the release would go over its budget; nothing was recorded. `left` is the
    /// least budget any of its entries has left.
    case budgetExceeded(requested: Epsilon, budget: Epsilon, left: Epsilon)
    case corrupt(path: String, reason: String)
    case io(path: String, reason: String)
    case invalid(String)

    public var description: String {
        switch self {
        case let .differencing(release, date, differing, needed):
            return "these entries differ from those of release \(release) (\(date)) by only \(differing) entr\(differing == 1 ? "y" : "ies"), and a reader of both could work out \(differing == 1 ? "its answers" : "their answers"); publish tables of other fields, or wait until at least \(needed) more entr\(needed == 1 ? "y has" : "ies have") arrived or left"
        case let .budgetExceeded(requested, budget, left):
            return "epsilon \(requested) would take some of these entries over the privacy budget of \(budget) per entry (the least left to any is \(left)); nothing was spent"
        case let .corrupt(path, reason): return "the release log \(path) is damaged: \(reason); it was left as it is"
        case let .io(path, reason): return "cannot write the release log at \(path): \(reason)"
        case let .invalid(why): return "cannot record the release: \(why)"
        }
    }
}

extension Epsilon {
    /// `max(0, micro)` as an ε (clamped to the representable range).
    static func fromMicroClamped(_ micro: Int64) -> Epsilon {
        (try? Epsilon(micro: min(max(0, micro), maximumMicro))) ?? .zero
    }
}
