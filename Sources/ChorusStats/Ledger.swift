import ChorusSystem
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The privacy budget: how much ε has been spent on each source of entries.
///
/// Every noisy release costs its ε against every source it reads; a release is refused when any
/// of its sources would go over the budget. A source is identified by an opaque string the
/// caller provides (for example a content hash of a batch), so the same entries reached under
/// another path spend from the same account.
///
/// ## File format
///
/// One JSON document (UTF-8, keys sorted, pretty-printed), mode 0600:
///
/// ```json
/// {
///   "format" : "chorus-epsilon-ledger",
///   "sources" : {
///     "batch:3f1a…" : { "releases" : 2, "spent_micro" : 750000 }
///   },
///   "version" : 1
/// }
/// ```
///
/// `spent_micro` is the ε spent so far in millionths (an exact integer: no floating-point drift),
/// `releases` the number of releases that spent it. A missing file is an empty ledger; a file
/// that does not parse, or has another format or version, is an error — never reset to zero,
/// which would refill the budget.
///
/// ## Writing
///
/// ``checkAndSpend(_:sources:budget:)`` holds an exclusive `flock` on `<ledger>.lock` while it
/// reads, checks and writes, so two analysts spending at once cannot both spend the last of a
/// budget. The new ledger goes to an exclusive temporary file in the same folder (mode 0600),
/// is fsynced, renamed over the old one, and the folder is fsynced: a crash leaves the old
/// ledger or the new one, never half of either. Leftover temporary files of a crash are removed
/// on the next spend.
public struct EpsilonLedger: Sendable {
    /// The ledger file.
    public let path: String

    static let format = "chorus-epsilon-ledger"
    static let version = 1

    public init(path: String) { self.path = path }

    /// One source's account.
    public struct Account: Sendable, Equatable {
        public let spent: Epsilon
        public let releases: Int
    }

    /// The accounts of every source that spent something.
    public func accounts() throws -> [String: Account] {
        let file = try read()
        var out: [String: Account] = [:]
        for (source, entry) in file.sources {
            out[source] = Account(spent: try Epsilon(micro: min(entry.spentMicro, Epsilon.maximumMicro)), releases: entry.releases)
        }
        return out
    }

    /// The ε left to `source` under `budget`.
    public func remaining(source: String, budget: Epsilon = .one) throws -> Epsilon {
        let spent = try read().sources[source]?.spentMicro ?? 0
        return Epsilon.fromMicroClamped(budget.micro - spent)
    }

    /// Spends `epsilon` against every one of `sources`, or refuses (throwing
    /// ``LedgerError/budgetExceeded(requested:budget:remaining:)``, which says what is left per
    /// source) and spends nothing when any source would go over `budget`. Call it before the
    /// noise is drawn and the numbers shown: a release whose output is then lost has still spent,
    /// which errs on the safe side.
    ///
    /// Returns the ε left to each source after the spend.
    @discardableResult
    public func checkAndSpend(_ epsilon: Epsilon, sources: [String], budget: Epsilon = .one) throws -> [String: Epsilon] {
        guard epsilon.micro > 0 else { throw LedgerError.invalid("epsilon must be greater than 0") }
        guard budget.micro > 0 else { throw LedgerError.invalid("the budget must be greater than 0") }
        let unique = Array(Set(sources)).sorted()
        guard !unique.isEmpty else { throw LedgerError.invalid("a release must name at least one source") }
        guard !unique.contains(where: \.isEmpty) else { throw LedgerError.invalid("a source identity is empty") }

        let lock = try Lock(path: path + ".lock")
        defer { lock.release() }
        removeStaleTemporaries()

        var file = try read()
        var over: [(String, Epsilon)] = []
        for source in unique {
            let spent = file.sources[source]?.spentMicro ?? 0
            let (after, overflow) = spent.addingReportingOverflow(epsilon.micro)
            if overflow || after > budget.micro { over.append((source, Epsilon.fromMicroClamped(budget.micro - spent))) }
        }
        guard over.isEmpty else {
            throw LedgerError.budgetExceeded(requested: epsilon, budget: budget,
                                             remaining: unique.map { s in (s, Epsilon.fromMicroClamped(budget.micro - (file.sources[s]?.spentMicro ?? 0))) })
        }
        var left: [String: Epsilon] = [:]
        for source in unique {
            let old = file.sources[source] ?? .init(spentMicro: 0, releases: 0)
            let entry = LedgerFile.Entry(spentMicro: old.spentMicro + epsilon.micro, releases: old.releases + 1)
            file.sources[source] = entry
            left[source] = Epsilon.fromMicroClamped(budget.micro - entry.spentMicro)
        }
        try write(file)
        return left
    }

    // MARK: File

    struct LedgerFile: Codable, Equatable {
        struct Entry: Codable, Equatable {
            var spentMicro: Int64
            var releases: Int
            enum CodingKeys: String, CodingKey {
                case spentMicro = "spent_micro"
                case releases
            }
        }
        var format: String
        var version: Int
        var sources: [String: Entry]
    }

    private func read() throws -> LedgerFile {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch let error as CocoaError where error.code == .fileReadNoSuchFile {
            return LedgerFile(format: Self.format, version: Self.version, sources: [:])
        } catch {
            throw LedgerError.io(path: path, reason: "cannot be read")
        }
        let file: LedgerFile
        do {
            file = try JSONDecoder().decode(LedgerFile.self, from: data)
        } catch {
            throw LedgerError.corrupt(path: path, reason: "it is not a valid ledger document")
        }
        guard file.format == Self.format, file.version == Self.version else {
            throw LedgerError.corrupt(path: path, reason: "it is not a version \(Self.version) \(Self.format)")
        }
        guard file.sources.values.allSatisfy({ $0.spentMicro >= 0 && $0.releases >= 0 }) else {
            throw LedgerError.corrupt(path: path, reason: "it holds a negative amount")
        }
        return file
    }

    private var directory: String {
        let d = (path as NSString).deletingLastPathComponent
        return d.isEmpty ? "." : d
    }

    private var temporaryPrefix: String { "." + (path as NSString).lastPathComponent + ".tmp-" }

    /// Writes the ledger through the one durable-write recipe (ChorusSystem's `DurableFile`):
    /// a temporary file `.NAME.tmp-…` beside it, flushed, renamed over it, the folder flushed.
    private func write(_ file: LedgerFile) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        var bytes = [UInt8](try encoder.encode(file))
        bytes.append(UInt8(ascii: "\n"))
        do {
            let (folderPath, name) = try DurableFile.splitOutputPath(path)
            let folder = try DurableFile.openOutputFolder(folderPath, for: path)
            try DurableFile.write(in: folder, name: .exactly(name), tempPrefix: temporaryPrefix, zeroTimes: false, replacing: true) {
                try $0.write(bytes)
            }
        } catch let e as SystemError {
            throw LedgerError.io(path: path, reason: e.message)
        }
    }

    /// Removes temporary files left by a crashed spend (called under the lock).
    private func removeStaleTemporaries() {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        for name in names where name.hasPrefix(temporaryPrefix) { unlink(directory + "/" + name) }
    }

    /// An exclusive `flock` on a lock file next to the ledger, created 0600 and never removed
    /// (removing it would let two processes lock different files).
    private struct Lock {
        let fd: OwnedFD
        init(path: String) throws {
            switch Posix.openPath(path, O_RDWR | O_CREAT | O_NOFOLLOW, mode: 0o600) {
            case let .success(f): fd = f
            case let .failure(e): throw LedgerError.io(path: path, reason: SystemError.reason(e))
            }
            do { try Posix.lockExclusive(fd.raw, path: path) } catch { throw LedgerError.io(path: path, reason: error.message) }
        }
        /// Closing the descriptor (when the lock goes) releases the flock.
        func release() { withExtendedLifetime(fd) {} }
    }
}

/// Errors of the budget ledger.
public enum LedgerError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The release would take some source over its budget; nothing was spent. `remaining` lists
    /// every source of the release with the ε it has left.
    case budgetExceeded(requested: Epsilon, budget: Epsilon, remaining: [(source: String, left: Epsilon)])
    case corrupt(path: String, reason: String)
    case io(path: String, reason: String)
    case invalid(String)

    public var description: String {
        switch self {
        case let .budgetExceeded(requested, budget, remaining):
            let list = remaining.map { "\($0.source) has \($0.left) left" }.joined(separator: ", ")
            return "epsilon \(requested) would exceed the privacy budget of \(budget) (\(list)); nothing was spent"
        case let .corrupt(path, reason): return "the epsilon ledger \(path) is damaged: \(reason); it was left as it is"
        case let .io(path, reason): return "cannot write the epsilon ledger at \(path): \(reason)"
        case let .invalid(why): return "cannot spend epsilon: \(why)"
        }
    }

    public static func == (a: LedgerError, b: LedgerError) -> Bool { a.description == b.description }
}

extension Epsilon {
    /// `max(0, micro)` as an ε (clamped to the representable range).
    static func fromMicroClamped(_ micro: Int64) -> Epsilon {
        (try? Epsilon(micro: min(max(0, micro), maximumMicro))) ?? .zero
    }
}
