import ChorusCrypto
import ChorusFormat
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

    public init(keys: [UnlockedKey], sections: EnvelopeOpener.Sections, workers: Int = ProcessInfo.processInfo.activeProcessorCount,
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
        let open: @Sendable ([SourceEnvelope], inout [String: Int]) -> Void = { items, problems in
            for item in items {
                if shared.isStopped { break }
                do throws(EnvelopeError) {
                    handle(try EnvelopeOpener.open(item.bytes, keys: keys, sections: sections), item, shared)
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

/// Recognises the entries already handed out: a set of 64-bit fingerprints (keyed SipHash of id and
/// header MAC), exact up to the birthday bound of 64 bits (about 3·10⁻⁸ for a million entries; a
/// collision could only drop an entry, and nobody can aim for one, since the key is random per
/// process and never leaves it). Only an entry whose id and MAC both match one already handed out is
/// a copy, so an envelope planted with a real id (whose MAC cannot be the real one's without its
/// keys) never hides the real entry.
///
/// Memory stays bounded, whatever the number of entries. The first `memoryLimit` fingerprints live in
/// a `Set`. Past that they are merged, `memoryLimit` at a time, into one sorted file (an unlinked
/// temporary file in `$TMPDIR`, else /tmp: 8 bytes per entry, nothing but these keyed hashes, gone
/// with the process), read and written sequentially. A lookup checks the set, then a Bloom filter of
/// fixed size (1 MiB) over the file, and reads the file (one 4 KiB block, found through a sparse
/// index of 8 bytes per 512 entries) only when the filter says the fingerprint may be there: for a
/// new entry that is rare up to millions of entries, and past that it costs time, never memory or
/// exactness. If no temporary file can be made, the set simply stays in memory.
final class CopyFilter: @unchecked Sendable {
    static let defaultMemoryLimit = 1 << 15
    private let lock = NSLock()
    /// Every fingerprint while there is no file; afterwards, those not yet merged into it.
    private var memory = Set<UInt64>()
    private var file: SortedFingerprintFile?
    private var bloom: [UInt64] = []
    private static let bloomWords = 1 << 17 // 2^23 bits, 1 MiB
    private var fileUnavailable = false
    private let memoryLimit: Int

    init(memoryLimit: Int) {
        self.memoryLimit = max(1, memoryLimit)
    }

    /// True the first time `fingerprint` is seen. Throws only when the temporary file fails (I/O).
    func insert(_ fingerprint: UInt64) throws -> Bool {
        lock.lock(); defer { lock.unlock() }
        if memory.contains(fingerprint) { return false }
        if let file, bloomMayContain(fingerprint), try file.contains(fingerprint) { return false }
        memory.insert(fingerprint)
        if memory.count >= memoryLimit && !fileUnavailable {
            if file == nil {
                file = SortedFingerprintFile()
                if file == nil { fileUnavailable = true; return true }
                bloom = [UInt64](repeating: 0, count: Self.bloomWords)
            }
            let sorted = memory.sorted()
            try file!.merge(sorted)
            for v in sorted { bloomAdd(v) }
            memory.removeAll(keepingCapacity: true)
        }
        return true
    }

    /// Four bit positions from the two halves of the (already uniformly random) fingerprint.
    @inline(__always) private func bloomPositions(_ v: UInt64, _ body: (Int) -> Void) {
        let h1 = UInt32(truncatingIfNeeded: v), h2 = UInt32(truncatingIfNeeded: v >> 32) | 1
        let bits = UInt32(Self.bloomWords * 64)
        for i in 0 ..< 4 as Range<UInt32> { body(Int((h1 &+ i &* h2) % bits)) }
    }

    private func bloomAdd(_ v: UInt64) {
        bloomPositions(v) { bloom[$0 >> 6] |= 1 << UInt64($0 & 63) }
    }

    private func bloomMayContain(_ v: UInt64) -> Bool {
        var all = true
        bloomPositions(v) { if bloom[$0 >> 6] & (1 << UInt64($0 & 63)) == 0 { all = false } }
        return all
    }

    /// Whether the fingerprints have moved to a file (for tests).
    var usesFile: Bool { lock.lock(); defer { lock.unlock() }; return file != nil }
}

/// A sorted set of 64-bit values in an unlinked temporary file, with a sparse index in memory (the
/// first value of every block of 512). Merging streams the old file into a new one. Not thread-safe.
final class SortedFingerprintFile {
    private static let blockValues = 512
    private static let chunkValues = 1 << 15
    private var fd: Int32
    private var count = 0
    private var index: [UInt64] = []
    private var block = [UInt64](repeating: 0, count: SortedFingerprintFile.blockValues)

    /// Nil when no temporary file can be made.
    init?() {
        guard let fd = Self.makeTemporaryFile() else { return nil }
        self.fd = fd
    }

    deinit { close(fd) }

    private static func makeTemporaryFile() -> Int32? {
        try? Posix.unnamedTemporaryFile(in: Posix.temporaryFolder, prefix: "chorus-copies-").get()
    }

    private static func ioError(_ what: String, _ code: Int32) -> ChorusError {
        ChorusError.io("cannot \(what) the temporary file that recognises copies of entries: \(String(cString: strerror(code)))")
    }

    /// Reads `n` values at value offset `at` of `fd` into `buffer`.
    private static func read(_ fd: Int32, _ buffer: inout [UInt64], _ n: Int, at: Int) throws {
        let want = n * 8
        let got = try buffer.withUnsafeMutableBytes { b in
            try Posix.preadFully(fd, into: UnsafeMutableRawBufferPointer(rebasing: b[0 ..< want]), at: at * 8,
                                 path: "the temporary file that recognises copies of entries")
        }
        guard got == want else { throw ioError("read", EIO) }
    }

    private static func write(_ fd: Int32, _ buffer: [UInt64], _ n: Int, at: Int) throws {
        if let e = buffer.withUnsafeBytes({ Posix.pwriteAll(fd, UnsafeRawBufferPointer(rebasing: $0[0 ..< n * 8]), at: at * 8) }) {
            throw ioError("write", e)
        }
    }

    func contains(_ v: UInt64) throws -> Bool {
        guard count > 0 else { return false }
        // The last block whose first value is <= v.
        var lo = 0, hi = index.count
        while hi - lo > 1 {
            let mid = (lo + hi) / 2
            if index[mid] <= v { lo = mid } else { hi = mid }
        }
        guard index[lo] <= v else { return false }
        let start = lo * Self.blockValues, n = min(Self.blockValues, count - start)
        try Self.read(fd, &block, n, at: start)
        var a = 0, b = n
        while a < b {
            let mid = (a + b) / 2
            if block[mid] < v { a = mid + 1 } else { b = mid }
        }
        return a < n && block[a] == v
    }

    /// Adds `sorted` (ascending, none already in the file) by writing a new file.
    func merge(_ sorted: [UInt64]) throws {
        guard let out = Self.makeTemporaryFile() else { throw Self.ioError("create", errno) }
        var newIndex: [UInt64] = []
        newIndex.reserveCapacity((count + sorted.count) / Self.blockValues + 1)
        var input = [UInt64](repeating: 0, count: Self.chunkValues)
        var output = [UInt64](repeating: 0, count: Self.chunkValues)
        var inCount = 0, inPos = 0, readSoFar = 0, newPos = 0, outCount = 0, written = 0
        do {
            func emit(_ v: UInt64) throws {
                if written + outCount == newIndex.count * Self.blockValues { newIndex.append(v) }
                output[outCount] = v
                outCount += 1
                if outCount == Self.chunkValues {
                    try Self.write(out, output, outCount, at: written)
                    written += outCount
                    outCount = 0
                }
            }
            while true {
                if inPos == inCount && readSoFar < count {
                    inCount = min(Self.chunkValues, count - readSoFar)
                    try Self.read(fd, &input, inCount, at: readSoFar)
                    readSoFar += inCount
                    inPos = 0
                }
                let hasOld = inPos < inCount, hasNew = newPos < sorted.count
                if !hasOld && !hasNew { break }
                if hasOld && (!hasNew || input[inPos] < sorted[newPos]) {
                    try emit(input[inPos]); inPos += 1
                } else {
                    try emit(sorted[newPos]); newPos += 1
                }
            }
            if outCount > 0 { try Self.write(out, output, outCount, at: written); written += outCount }
        } catch {
            close(out)
            throw error
        }
        close(fd)
        fd = out
        count = written
        index = newIndex
    }
}

/// The check `Schema.accepts` makes, done once per schema instead of once per entry: whether
/// answers fit the questionnaire exactly as `Schema.answers(from:arrivalMonth:currentYear:)` would
/// rebuild them (every field known; a value the field allows; one value for a single-valued field
/// and for a year; a year written canonically, from the field's minimum to the current year; every
/// required field answered). Same result as `schema.accepts(answers, currentYear:)`, without
/// building strings.
public struct AnswersAcceptor: Sendable {
    private struct Rule: Sendable {
        let kind: Schema.Field.Kind
        let values: Set<String>
        let minYear: Int
    }
    private let rules: [String: Rule]
    private let required: [String]
    private let currentYear: Int

    public init(schema: Schema, currentYear: Int) {
        var rules: [String: Rule] = [:]
        for f in schema.fields where rules[f.id] == nil {
            // Answers are ASCII; on ASCII strings `==` is byte equality, as the schema's check uses.
            let values = Set((f.values ?? []).filter { $0.utf8.allSatisfy { $0 < 0x80 } })
            rules[f.id] = Rule(kind: f.kind, values: values, minYear: f.min ?? Schema.earliestYear)
        }
        self.rules = rules
        required = schema.fields.filter(\.required).map(\.id)
        self.currentYear = currentYear
    }

    public func accepts(_ answers: AnswersText) -> Bool {
        for (id, values) in answers.fields {
            guard let rule = rules[id], !values.isEmpty else { return false }
            switch rule.kind {
            case .single:
                guard values.count == 1, rule.values.contains(values[0]) else { return false }
            case .multiple:
                for (i, v) in values.enumerated() {
                    guard rule.values.contains(v) else { return false }
                    for w in values[..<i] where w == v { return false } // a value given twice
                }
            case .year:
                guard values.count == 1, isYear(values[0], from: rule.minYear) else { return false }
            }
        }
        for id in required where answers.fields[id] == nil { return false }
        return true
    }

    /// 1 to 9 digits, the canonical decimal form of a year from `min` to the current year.
    private func isYear(_ text: String, from min: Int) -> Bool {
        let u = text.utf8
        guard (1 ... 9).contains(u.count), u.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let year = Int(text) else { return false }
        guard year >= min, year <= Swift.max(min, currentYear), year <= currentYear else { return false }
        return String(year) == text
    }
}

/// A blocking FIFO of bounded size between one producer and several consumers.
final class BoundedQueue<T: Sendable>: @unchecked Sendable {
    private let condition = NSCondition()
    private var items: [T?]
    private var head = 0, count = 0
    private var closed = false
    private var waitingTakers = 0, waitingPutters = 0

    init(capacity: Int) { items = Array(repeating: nil, count: capacity) }

    func put(_ item: T) {
        condition.lock(); defer { condition.unlock() }
        while count == items.count {
            waitingPutters += 1
            condition.wait()
            waitingPutters -= 1
        }
        items[(head + count) % items.count] = item
        count += 1
        if waitingTakers > 0 { condition.broadcast() }
    }

    /// Puts `item` if there is room now; false (and nothing put) when the queue is full.
    func tryPut(_ item: T) -> Bool {
        condition.lock(); defer { condition.unlock() }
        guard count < items.count else { return false }
        items[(head + count) % items.count] = item
        count += 1
        if waitingTakers > 0 { condition.broadcast() }
        return true
    }

    /// The next item, or nil once the queue is closed and empty.
    func take() -> T? {
        condition.lock(); defer { condition.unlock() }
        while count == 0 && !closed {
            waitingTakers += 1
            condition.wait()
            waitingTakers -= 1
        }
        guard count > 0 else { return nil }
        let item = items[head]
        items[head] = nil
        head = (head + 1) % items.count
        count -= 1
        if waitingPutters > 0 { condition.broadcast() }
        return item
    }

    func close() {
        condition.lock(); defer { condition.unlock() }
        closed = true
        condition.broadcast()
    }
}
