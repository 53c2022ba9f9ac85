import ChorusCore
import ChorusCrypto
import ChorusFormat
import ChorusStore
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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
    public var problemLines: [String] { problemLines(exact: true) }

    /// As ``problemLines``; without `exact` (a noisy release, which must print no exact count
    /// anywhere) each line says "some entries" instead of a number.
    public func problemLines(exact: Bool) -> [String] {
        problems.keys.sorted().map { kind in
            let n = problems[kind]!
            return exact ? "\(n) entr\(n == 1 ? "y" : "ies"): \(AuditSummary.explain(kind))" : "some entries: \(AuditSummary.explain(kind))"
        } + sourceProblems
    }

    static func explain(_ kind: String) -> String {
        switch kind {
        case "not-recipient": return "not sealed to the given key(s); skipped"
        case "header-mac-mismatch": return "header altered (MAC mismatch); skipped"
        case "section-auth-failed": return "a section failed authentication (altered or swapped); skipped"
        case "bad-section-content": return "a section decrypted to invalid content; skipped"
        case "bad-stanza": return "a recipient stanza held invalid keys; skipped"
        case "unknown-questionnaire": return "sealed under a questionnaire that none of these sources' signed recipients names; skipped"
        case "answers-not-fitting": return "answers that do not fit their questionnaire; skipped"
        case "role-mismatch": return "a recipient stanza claimed another role than the key that opened it (tampered); not shown, story not decrypted"
        case "story-not-available": return "opened by an analyst key only, so no story; answers only"
        case "truncated", "trailing-bytes", "bad-magic", "unsupported-version", "duplicate-stanza", "malformed":
            return "not a valid envelope (\(kind)); skipped"
        default: return "\(kind); skipped"
        }
    }
}

/// Opens every entry of a set of sources with the given keys, on several threads, and hands the
/// results to one consumer at a time. Reading is a stream with a bounded queue, and copies are
/// recognised with a `CopyFilter`: memory does not grow with the number of entries.
public struct Auditor: Sendable {
    public let keys: [UnlockedKey]
    public let sections: EnvelopeOpener.Sections
    public let workers: Int
    /// How many envelopes may wait between the reader and the workers.
    public let queueCapacity: Int
    /// How many fingerprints of opened entries are kept in memory before they move to a temporary
    /// file (see `CopyFilter`).
    let copyMemoryLimit: Int

    /// The problem kind of an entry whose answers name a questionnaire no source signs.
    public static let unknownQuestionnaire = "unknown-questionnaire"
    /// The problem kind of an entry whose answers do not fit the questionnaire they name.
    public static let answersNotFitting = "answers-not-fitting"

    /// One worker per core.
    public static var defaultWorkers: Int { ProcessInfo.processInfo.activeProcessorCount }

    public init(keys: [UnlockedKey], sections: EnvelopeOpener.Sections, workers: Int = Auditor.defaultWorkers,
                queueCapacity: Int = 256) {
        self.init(keys: keys, sections: sections, workers: workers, queueCapacity: queueCapacity, copyMemoryLimit: CopyFilter.defaultMemoryLimit)
    }

    init(keys: [UnlockedKey], sections: EnvelopeOpener.Sections, workers: Int, queueCapacity: Int, copyMemoryLimit: Int) {
        self.keys = keys
        self.sections = sections
        self.workers = max(1, workers)
        self.queueCapacity = max(1, queueCapacity)
        self.copyMemoryLimit = max(1, copyMemoryLimit)
    }

    /// Reads `sources`, opens each envelope, and calls `consume` (serially, from worker threads) with
    /// each opened entry. Bad entries are counted and skipped. Throws for I/O errors and for what
    /// `consume` throws (which stops the run).
    public func run(_ sources: EntrySources, progress: (@Sendable (Int) -> Void)? = nil,
                    consume: @escaping @Sendable (borrowing OpenedEnvelope) throws -> Void) throws -> AuditSummary {
        try run(sources) { (entry: borrowing OpenedEnvelope, _: SourceEnvelope, shared: SharedState) in
            shared.deliver(fingerprint: SharedState.fingerprint(of: entry), keyIndex: entry.keyIndex, progress: progress) { try consume(entry) }
        }
    }

    /// As `run(_:progress:consume:)`, with the work on each entry split in two: `prepare` runs on the
    /// worker threads in parallel (e.g. sealing what the output of an entry needs), with the entry and
    /// the envelope as read from its source, and `consume`, called serially, gets what it made for each entry that is
    /// not a copy. A copy may be prepared and then dropped. What `prepare` throws stops the run like
    /// what `consume` throws.
    public func run<Prepared>(_ sources: EntrySources, progress: (@Sendable (Int) -> Void)? = nil,
                              prepare: @escaping @Sendable (borrowing OpenedEnvelope, SourceEnvelope) throws -> Prepared,
                              consume: @escaping @Sendable (consuming Prepared) throws -> Void) throws -> AuditSummary {
        try run(sources) { (entry: borrowing OpenedEnvelope, envelope: SourceEnvelope, shared: SharedState) in
            let prepared: Prepared
            do {
                prepared = try prepare(entry, envelope)
            } catch {
                shared.fail(error)
                return
            }
            shared.deliver(fingerprint: SharedState.fingerprint(of: entry), keyIndex: entry.keyIndex, progress: progress) { try consume(prepared) }
        }
    }

    private func run(_ sources: EntrySources, handle: @escaping @Sendable (borrowing OpenedEnvelope, SourceEnvelope, SharedState) -> Void) throws -> AuditSummary {
        let shared = SharedState(keyCount: keys.count, copies: CopyFilter(memoryLimit: copyMemoryLimit))
        // Envelopes travel in small groups, so the queue's lock is taken once per group, not per entry;
        // at most `queueCapacity` envelopes wait in it.
        let group = max(1, min(16, queueCapacity / (2 * workers)))
        let queue = BoundedQueue<[SourceEnvelope]>(capacity: max(1, queueCapacity / group))
        let done = DispatchGroup()
        let keys = self.keys, sections = self.sections
        // Answers are read only with the questionnaire they name, and only when they fit it (FORMAT.md 4).
        let acceptors = sources.questionnaires.mapValues { AnswersAcceptor(schema: $0) }
        let open: @Sendable ([SourceEnvelope], inout [String: Int]) -> Void = { items, problems in
            for item in items {
                if shared.isStopped { break }
                do throws(EnvelopeError) {
                    let entry = try EnvelopeOpener.open(item.bytes, keys: keys, sections: sections)
                    guard let acceptor = acceptors[entry.answers.questionnaire] else {
                        problems[Self.unknownQuestionnaire, default: 0] += 1
                        continue
                    }
                    guard acceptor.accepts(entry.answers) else {
                        problems[Self.answersNotFitting, default: 0] += 1
                        continue
                    }
                    handle(entry, item, shared)
                } catch {
                    problems[error.kind, default: 0] += 1
                }
            }
        }
        // With several workers, the reading thread is one of them: it opens a group itself whenever
        // the queue is full instead of waiting, so there are never more busy threads than `workers`
        // (a reader beside `workers` decrypting threads would take its time from theirs).
        let readerHelps = workers > 1
        for _ in 0 ..< (readerHelps ? workers - 1 : workers) {
            done.enter()
            let thread = Thread {
                defer { done.leave() }
                var problems: [String: Int] = [:]
                while let items = queue.take() { open(items, &problems) }
                shared.count(problems: problems)
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
        var readError: Error? = nil
        var sourceSummary = SourceSummary()
        var pending: [SourceEnvelope] = []
        var readerProblems: [String: Int] = [:]
        pending.reserveCapacity(group)
        do {
            sourceSummary = try sources.forEach { item in
                if shared.isStopped { throw StopReading() }
                switch item {
                case let .envelope(e):
                    pending.append(e)
                    if pending.count == group {
                        if readerHelps {
                            if !queue.tryPut(pending) { open(pending, &readerProblems) }
                        } else {
                            queue.put(pending)
                        }
                        pending = []
                        pending.reserveCapacity(group)
                    }
                case .bad: shared.count(problem: "malformed")
                }
            }
            if !pending.isEmpty { queue.put(pending) }
        } catch is StopReading {
        } catch {
            readError = error
        }
        shared.count(problems: readerProblems)
        queue.close()
        done.wait()
        if let e = shared.consumerError { throw e }
        if let readError { throw readError }
        var summary = shared.summary
        summary.withdrawn += sourceSummary.withdrawn
        summary.sourceProblems += sourceSummary.problems
        return summary
    }

    private struct StopReading: Error {}
}

/// State shared by the workers: the summary and the consumer behind one lock, the copy filter behind its own.
final class SharedState: @unchecked Sendable {
    private let lock = NSLock()
    private let copies: CopyFilter
    private(set) var summary: AuditSummary
    private(set) var consumerError: Error?
    private var stopped = false

    init(keyCount: Int, copies: CopyFilter) {
        summary = AuditSummary()
        summary.openedByKey = Array(repeating: 0, count: keyCount)
        self.copies = copies
    }

    var isStopped: Bool { lock.lock(); defer { lock.unlock() }; return stopped }

    func count(problem kind: String) {
        lock.lock(); defer { lock.unlock() }
        summary.problems[kind, default: 0] += 1
    }

    func count(problems: [String: Int]) {
        guard !problems.isEmpty else { return }
        lock.lock(); defer { lock.unlock() }
        summary.problems.merge(problems, uniquingKeysWith: +)
    }

    /// Copies of one envelope share id and MAC; the fingerprint uses Swift's per-process random
    /// SipHash key, so nobody can make two different entries collide on purpose.
    static func fingerprint(of entry: borrowing OpenedEnvelope) -> UInt64 {
        // Both are 32 bytes, hashed as raw bytes (not element by element).
        var h = Hasher()
        entry.id.withUnsafeBytes { h.combine(bytes: $0) }
        entry.mac.withUnsafeBytes { h.combine(bytes: $0) }
        return UInt64(bitPattern: Int64(h.finalize()))
    }

    /// Stops the run with `error` (the first one wins).
    func fail(_ error: Error) {
        lock.lock(); defer { lock.unlock() }
        if consumerError == nil { consumerError = error }
        stopped = true
    }

    /// Runs `consume` for an entry that is not a copy of one already handed out, and counts it.
    func deliver(fingerprint: UInt64, keyIndex: Int, progress: (@Sendable (Int) -> Void)?, _ consume: () throws -> Void) {
        let first: Bool
        do {
            first = try copies.insert(fingerprint)
        } catch {
            fail(error)
            return
        }
        lock.lock(); defer { lock.unlock() }
        guard !stopped else { return }
        guard first else {
            summary.duplicates += 1
            return
        }
        do {
            try consume()
            summary.opened += 1
            summary.openedByKey[keyIndex] += 1
            progress?(summary.opened)
        } catch {
            if consumerError == nil { consumerError = error }
            stopped = true
        }
    }
}

extension Auditor {
    /// The keys (by position) that are a recipient of no entry in `sources`, after a run that gave
    /// `summary`. Only entries that were read count: sources with no entries, or none that could be
    /// framed, say nothing about a key. An entry sealed to several of the given keys is opened by
    /// whichever of its stanzas comes first, so a key that opened nothing while others opened
    /// something may still be a recipient: such a key is tried alone on the sources (answers only)
    /// before it is reported.
    public func unusedKeys(_ summary: AuditSummary, sources: EntrySources) throws -> [Int] {
        var unused: [Int] = []
        for (i, key) in keys.enumerated() where summary.openedByKey[i] == 0 {
            let sawOthers: Bool
            if keys.count > 1 && summary.opened > 0 {
                let alone = try Auditor(keys: [key], sections: .answersOnly, workers: workers).run(sources) { _ in }
                sawOthers = alone.opened == 0 && alone.problems["not-recipient", default: 0] > 0
            } else {
                sawOthers = summary.problems["not-recipient", default: 0] > 0
            }
            if sawOthers { unused.append(i) }
        }
        return unused
    }
}
