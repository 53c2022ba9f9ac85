import ChorusCore
import ChorusCrypto
import ChorusFormat
import ChorusStats
import ChorusStore
import ChorusSystem
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// What `chorus stats` will count, checked before any key is unlocked (which takes seconds with real
/// key costs), so that a mistyped field is reported at once: the questionnaire the sources share and
/// the tables asked for.
public struct StatsPlan: Sendable {
    public let schema: Schema
    /// One or two counting fields per table.
    public let tables: [[StatsField]]

    /// `tables`: `--by` specifications, a field or two joined by a comma (every field when empty).
    /// `months`: the fixed range of arrival months (`--months`), required with `noisy` when a table is
    /// by arrival month.
    public init(sources: EntrySources, tables specs: [String], months: ClosedRange<YearMonth>?, noisy: Bool) throws {
        let schemas = sources.sources.compactMap(\.schema)
        guard let first = schemas.first else {
            throw ReadingError(.unusableSources, "none of the sources could be read, so there is no questionnaire to count by")
        }
        guard schemas.allSatisfy({ $0 == first }) else {
            throw ReadingError(.invalidRequest, "the sources use different questionnaires; count them separately")
        }
        schema = first
        let all = try Self.statsFields(schema: first)
        let wanted = specs.isEmpty ? first.fields.map(\.id) : specs
        tables = try wanted.map { spec in
            let ids = spec.split(separator: ",", omittingEmptySubsequences: false).map { Self.trimmed($0) }
            guard (1 ... 2).contains(ids.count), Set(ids).count == ids.count else {
                throw ReadingError(.invalidRequest, "--by \(displaySafe(spec)): give one field or two different fields joined by a comma")
            }
            return try ids.map { id in
                if id == StatsField.arrivalMonthID {
                    guard let months else {
                        if noisy {
                            throw ReadingError(.invalidRequest, "--by arrival-month with --epsilon needs a fixed range, --months YYYY-MM..YYYY-MM (a range taken from the data would leak)")
                        }
                        return StatsField.arrivalMonth()
                    }
                    return StatsField.arrivalMonth(range: months)
                }
                guard let f = all[id] else {
                    throw ReadingError(.invalidRequest, "--by \(displaySafe(id)): no such field; the fields are \((first.fields.map(\.id) + [StatsField.arrivalMonthID]).joined(separator: ", "))")
                }
                return f
            }
        }
    }

    private static func trimmed(_ s: Substring) -> String {
        String(s.drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }

    private static func statsFields(schema: Schema) throws -> [String: StatsField] {
        var out: [String: StatsField] = [:]
        let year = Schema.currentYear
        for f in schema.fields {
            do {
                switch f.kind {
                case .single, .multiple:
                    out[f.id] = try StatsField(id: f.id, label: f.label, values: f.values ?? [], multiValued: f.kind == .multiple, optional: !f.required)
                case .year:
                    out[f.id] = try StatsField.year(id: f.id, label: f.label, years: (f.min ?? Schema.earliestYear) ... year, optional: !f.required)
                }
            } catch {
                throw ReadingError(.unusableSources, "the questionnaire's field \(f.id) cannot be counted: \(error)")
            }
        }
        return out
    }

    /// Parses `--months`: `YYYY-MM..YYYY-MM`, the first not after the second.
    public static func monthRange(_ text: String) throws -> ClosedRange<YearMonth> {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[1].isEmpty, let from = try? YearMonth(parsing: String(parts[0])),
              let to = try? YearMonth(parsing: String(parts[2])), from <= to else {
            throw ReadingError(.invalidRequest, "--months must be YYYY-MM..YYYY-MM, the first not after the second")
        }
        return from ... to
    }

    /// One account of the budget ledger, and how to name it to the user.
    public struct SourceIdentity: Sendable {
        public let id: String
        public let shown: String
    }

    /// What the budget is kept against, independent of paths: a store by its id (and each of its
    /// batches), a batch file by its checksum. A store and one of its batches given separately thus
    /// draw on the same account, and so do two paths to one batch.
    public static func sourceIdentities(_ s: EntrySources) throws -> [SourceIdentity] {
        var out: [SourceIdentity] = []
        var seen = Set<String>()
        func add(_ id: String, _ shown: String) {
            if seen.insert(id).inserted { out.append(SourceIdentity(id: id, shown: shown)) }
        }
        for source in s.sources {
            switch source.kind {
            case .store:
                let store = try Store.open(at: source.path)
                add("store:" + store.config.storeId, "the store \(displaySafe(source.path, limit: 200))")
                for name in try store.listBatches().batches {
                    if let h = try? batchChecksum(store.path + "/batches/" + name) {
                        add("batch:" + h, "its batch \(displaySafe(name, limit: 80))")
                    }
                }
            case .batch:
                add("batch:" + (try batchChecksum(source.path)), "the batch \(displaySafe(source.path, limit: 200))")
            }
        }
        return out
    }

    /// The last 32 bytes of a batch file: its BLAKE2b checksum, which names its content.
    static func batchChecksum(_ path: String) throws -> String {
        let shown = displaySafe(path, limit: 200)
        let fd = try InputFile.open(path, what: "batch", nonBlocking: true)
        let st = try Posix.statFD(fd.raw, path: shown)
        let size = Int(st.st_size)
        guard size >= BatchFormat.hashLength else { throw StoreError(.invalidBatch, "\(shown) is too short to be a batch") }
        var buffer = [UInt8](repeating: 0, count: BatchFormat.hashLength)
        let got = try buffer.withUnsafeMutableBytes { (b) in try Posix.read(fd.raw, into: b, at: size - BatchFormat.hashLength, path: shown) }
        guard got == BatchFormat.hashLength else { throw StoreError(.invalidBatch, "\(shown) is too short to be a batch") }
        return Hex.encode(buffer)
    }
}

/// What a stats run counted: the published reports and the counts behind its notes.
public struct StatsResult: Sendable {
    public let reports: [StatsReport]
    public let summary: AuditSummary
    /// Entries whose answers do not fit the questionnaire: counted in no table.
    public let rejected: Int
    /// Entries that arrived outside the fixed range of arrival months.
    public let outsideMonths: Int
    /// The keys (by position) that are a recipient of no entry.
    public let unusedKeys: [Int]
}

/// `chorus stats` as a library type: opens the answers (never a story) of every entry of some
/// sources with the given keys, on every core, counts them into the plan's tables and protects each
/// table under the disclosure policy. Spend the privacy budget (if any) before calling `run`.
public struct StatsRun {
    public let plan: StatsPlan
    public let keys: [UnlockedKey]
    public let policy: DisclosurePolicy
    public var workers = Auditor.defaultWorkers
    /// Called (serially) with the number of entries counted so far.
    public var progress: (@Sendable (Int) -> Void)? = nil

    public init(plan: StatsPlan, keys: [UnlockedKey], policy: DisclosurePolicy) {
        self.plan = plan
        self.keys = keys
        self.policy = policy
    }

    public func run(_ sources: EntrySources) throws -> StatsResult {
        let counter = try Counter(tables: plan.tables)
        // The same check as `schema.accepts`, prepared once for every entry.
        let acceptor = AnswersAcceptor(schema: plan.schema, currentYear: Schema.currentYear)
        let auditor = Auditor(keys: keys, sections: .answersOnly, workers: workers)
        let summary = try auditor.run(sources, progress: progress) { entry in
            // An entry whose answers do not fit the questionnaire is counted in no table.
            guard acceptor.accepts(entry.answers) else {
                counter.reject()
                return
            }
            counter.add(StatsRecord(answers: entry.answers.fields, arrivalMonth: entry.answers.arrivalMonth))
        }
        let state = counter.state.withLock { $0 }
        var reports: [StatsReport] = []
        for t in state.tabulators {
            reports.append(try Disclosure.publish(try t.counts(), policy: policy))
        }
        return StatsResult(reports: reports, summary: summary, rejected: state.rejected, outsideMonths: state.outsideMonths,
                           unusedKeys: try auditor.unusedKeys(summary, sources: sources))
    }

    /// The tabulators of one run and its counts, behind one lock (the auditor's consumer is serial,
    /// but runs on worker threads).
    final class Counter: Sendable {
        struct State: Sendable {
            var tabulators: [Tabulator]
            var rejected = 0
            var outsideMonths = 0
        }
        let state: Mutex<State>

        init(tables: [[StatsField]]) throws {
            state = Mutex(State(tabulators: try tables.map { try Tabulator(by: $0) }))
        }

        func reject() { state.withLock { $0.rejected += 1 } }

        func add(_ record: StatsRecord) {
            state.withLock { s in
                var failed = false, outside = false
                for i in s.tabulators.indices {
                    do {
                        try s.tabulators[i].add(record)
                    } catch StatsError.invalidMonth {
                        // The month is valid (the questionnaire check passed): it lies outside --months.
                        outside = true
                    } catch {
                        failed = true
                    }
                }
                if failed { s.rejected += 1 } else if outside { s.outsideMonths += 1 }
            }
        }
    }
}
