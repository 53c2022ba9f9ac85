import ChorusCrypto
import ChorusFormat
import Foundation

/// What reading and opening every entry of some sources found. Counts only: never an id, a file
/// name or anything else that ties a problem to an entry.
public struct AuditSummary: Sendable, Equatable {
    /// Entries opened and handed to the consumer.
    public var opened = 0
    /// Copies of an entry already handed out (same id and same header MAC), skipped.
    public var duplicates = 0
    /// Entries skipped because a tombstone in some source withdraws them.
    public var withdrawn = 0
    /// Entries that could not be used, by kind of problem (`EnvelopeError.kind`, or `malformed` for
    /// entries the sources could not frame).
    public var problems: [String: Int] = [:]
    /// Whole-source problems (a batch checksum mismatch, an unreadable batch), one sentence each.
    public var sourceProblems: [String] = []
    /// How many entries each key (by position) opened.
    public var openedByKey: [Int] = []

    /// Entries that could not be used, in all.
    public var badEntries: Int { problems.values.reduce(0, +) }
    /// Anything that should make the command exit 65.
    public var hasProblems: Bool { badEntries > 0 || !sourceProblems.isEmpty }

    /// One line per kind of problem, with counts, sorted; never entry content.
    public var problemLines: [String] {
        problems.keys.sorted().map { kind in
            let n = problems[kind]!
            return "\(n) entr\(n == 1 ? "y" : "ies"): \(AuditSummary.explain(kind))"
        } + sourceProblems
    }

    static func explain(_ kind: String) -> String {
        switch kind {
        case "not-recipient": return "not sealed to the given key(s); skipped"
        case "header-mac-mismatch": return "header altered (MAC mismatch); skipped"
        case "section-auth-failed": return "a section failed authentication (altered or swapped); skipped"
        case "bad-section-content": return "a section decrypted to invalid content; skipped"
        case "bad-stanza": return "a recipient stanza held invalid keys; skipped"
        case "story-not-available": return "opened by an analyst key only, so no story; answers only"
        case "truncated", "trailing-bytes", "bad-magic", "unsupported-version", "duplicate-stanza", "malformed":
            return "not a valid envelope (\(kind)); skipped"
        default: return "\(kind); skipped"
        }
    }
}

/// Opens every entry of a set of sources with the given keys, on several threads, and hands the
/// results to one consumer at a time. Reading is a stream with a bounded queue: memory does not grow
/// with the number of entries (except for 8 bytes per opened entry to recognise copies).
public struct Auditor: Sendable {
    public let keys: [UnlockedKey]
    public let sections: EnvelopeOpener.Sections
    public let workers: Int
    /// How many envelopes may wait between the reader and the workers.
    public let queueCapacity: Int

    public init(keys: [UnlockedKey], sections: EnvelopeOpener.Sections, workers: Int = ProcessInfo.processInfo.activeProcessorCount,
                queueCapacity: Int = 256) {
        self.keys = keys
        self.sections = sections
        self.workers = max(1, workers)
        self.queueCapacity = max(1, queueCapacity)
    }

    /// Reads `sources`, opens each envelope, and calls `consume` (serially, from worker threads) with
    /// each opened entry. Bad entries are counted and skipped. Throws for I/O errors and for what
    /// `consume` throws (which stops the run).
    public func run(_ sources: EntrySources, progress: (@Sendable (Int) -> Void)? = nil,
                    consume: @escaping @Sendable (borrowing OpenedEnvelope) throws -> Void) throws -> AuditSummary {
        let shared = SharedState(keyCount: keys.count)
        let queue = BoundedQueue<SourceEnvelope>(capacity: queueCapacity)
        let group = DispatchGroup()
        let keys = self.keys, sections = self.sections
        for _ in 0 ..< workers {
            group.enter()
            let thread = Thread {
                defer { group.leave() }
                while let item = queue.take() {
                    if shared.isStopped { continue }
                    do throws(EnvelopeError) {
                        shared.deliver(try EnvelopeOpener.open(item.bytes, keys: keys, sections: sections), consume: consume, progress: progress)
                    } catch {
                        shared.count(problem: error.kind)
                    }
                }
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
        var readError: Error? = nil
        var sourceSummary = SourceSummary()
        do {
            sourceSummary = try sources.forEach { item in
                if shared.isStopped { throw StopReading() }
                switch item {
                case let .envelope(e): queue.put(e)
                case .bad: shared.count(problem: "malformed")
                }
            }
        } catch is StopReading {
        } catch {
            readError = error
        }
        queue.close()
        group.wait()
        if let e = shared.consumerError { throw e }
        if let readError { throw readError }
        var summary = shared.summary
        summary.withdrawn += sourceSummary.withdrawn
        summary.sourceProblems += sourceSummary.problems
        return summary
    }

    private struct StopReading: Error {}
}

/// State shared by the workers, behind one lock.
private final class SharedState: @unchecked Sendable {
    private let lock = NSLock()
    private var seen = Set<Int>()
    private(set) var summary: AuditSummary
    private(set) var consumerError: Error?
    private var stopped = false

    init(keyCount: Int) {
        summary = AuditSummary()
        summary.openedByKey = Array(repeating: 0, count: keyCount)
    }

    var isStopped: Bool { lock.lock(); defer { lock.unlock() }; return stopped }

    func count(problem kind: String) {
        lock.lock(); defer { lock.unlock() }
        summary.problems[kind, default: 0] += 1
    }

    func deliver(_ entry: consuming OpenedEnvelope, consume: (borrowing OpenedEnvelope) throws -> Void, progress: (@Sendable (Int) -> Void)?) {
        // Copies of one envelope share id and MAC; the fingerprint uses Swift's per-process random
        // SipHash key, so nobody can make two different entries collide on purpose.
        var h = Hasher()
        h.combine(entry.id)
        h.combine(entry.mac)
        let fingerprint = h.finalize()
        lock.lock(); defer { lock.unlock() }
        guard !stopped else { return }
        guard seen.insert(fingerprint).inserted else {
            summary.duplicates += 1
            return
        }
        do {
            try consume(entry)
            summary.opened += 1
            summary.openedByKey[entry.keyIndex] += 1
            progress?(summary.opened)
        } catch {
            consumerError = error
            stopped = true
        }
    }
}

/// A blocking FIFO of bounded size between one producer and several consumers.
final class BoundedQueue<T: Sendable>: @unchecked Sendable {
    private let condition = NSCondition()
    private var items: [T?]
    private var head = 0, count = 0
    private var closed = false

    init(capacity: Int) { items = Array(repeating: nil, count: capacity) }

    func put(_ item: T) {
        condition.lock(); defer { condition.unlock() }
        while count == items.count { condition.wait() }
        items[(head + count) % items.count] = item
        count += 1
        condition.broadcast()
    }

    /// The next item, or nil once the queue is closed and empty.
    func take() -> T? {
        condition.lock(); defer { condition.unlock() }
        while count == 0 && !closed { condition.wait() }
        guard count > 0 else { return nil }
        let item = items[head]
        items[head] = nil
        head = (head + 1) % items.count
        count -= 1
        condition.broadcast()
        return item
    }

    func close() {
        condition.lock(); defer { condition.unlock() }
        closed = true
        condition.broadcast()
    }
}
