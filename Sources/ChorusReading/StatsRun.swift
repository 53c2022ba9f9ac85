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
/// key costs), so that a mistyped field is reported at once: the questionnaire counted by (one of
/// those the sources' signed recipients name) and the tables asked for.
public struct StatsPlan: Sendable {
    /// The questionnaire counted by: only entries sealed under it are counted.
    public let schema: Schema
    /// One or two counting fields per table.
    public let tables: [[StatsField]]
    /// The arrival months counted (`--months`): an entry that arrived outside is left out of the
    /// whole release, every table and total, not only the arrival-month ones.
    public let months: ClosedRange<YearMonth>?
    /// Every field that can be counted, by id (the arrival-month pseudo-field with `months`).
    private let fields: [String: StatsField]

    /// The fields with these ids, or nil when one is not a field of this questionnaire.
    public func fields(_ ids: [String]) -> [StatsField]? {
        let found = ids.compactMap { fields[$0] }
        return found.count == ids.count ? found : nil
    }

    /// `tables`: `--by` specifications, a field or two joined by a comma (every field when empty).
    /// `months`: the fixed range of arrival months (`--months`), required with `noisy` when a table is
    /// by arrival month. `questionnaire`: the first hex digits (at least 8) of the digest of the
    /// questionnaire to count by; by default the current one of the newest signed recipients.
    public init(sources: EntrySources, tables specs: [String], months: ClosedRange<YearMonth>?, noisy: Bool,
                questionnaire: String? = nil) throws {
        let first = try Self.questionnaire(sources, prefix: questionnaire)
        schema = first
        self.months = months
        var all = try Self.statsFields(schema: first)
        all[StatsField.arrivalMonthID] = months.map { StatsField.arrivalMonth(range: $0) } ?? StatsField.arrivalMonth()
        fields = all
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

    /// The questionnaire named by `prefix`, or the current one of the newest signed recipients.
    static func questionnaire(_ sources: EntrySources, prefix: String?) throws -> Schema {
        if let prefix {
            guard prefix.utf8.count >= 8, Posix.isLowerHex(prefix, count: prefix.utf8.count) else {
                throw ReadingError(.invalidRequest, "--questionnaire \(displaySafe(prefix)): give at least 8 lowercase hex characters of its digest (chorus recipients list shows them)")
            }
            let matches = sources.questionnaires.filter { Hex.encode($0.key).hasPrefix(prefix) }
            guard matches.count == 1, let match = matches.first else {
                throw ReadingError(.invalidRequest, "--questionnaire \(prefix): \(matches.isEmpty ? "no questionnaire of these sources has a digest that starts so" : "several questionnaires match; give more digits")")
            }
            return match.value
        }
        guard let newest = sources.documents.max(by: { $0.document.serial < $1.document.serial }) else {
            let why = sources.initialProblems.isEmpty ? "" : " (" + sources.initialProblems.joined(separator: "; ") + ")"
            throw ReadingError(.unusableSources, "none of the sources could be read\(why), so there is no questionnaire to count by")
        }
        let stores = Set(sources.documents.map(\.document.store))
        if stores.count > 1 {
            let currents = Set(stores.map { store in sources.documents.filter { $0.document.store == store }
                .max(by: { $0.document.serial < $1.document.serial })!.document.current.digest })
            guard currents.count == 1 else {
                throw ReadingError(.invalidRequest, "the sources come from stores with different current questionnaires; count them separately, or choose one with --questionnaire")
            }
        }
        return newest.document.current
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
}

/// What a stats run counted: the published reports and the counts behind its notes.
public struct StatsResult: Sendable {
    public let reports: [StatsReport]
    public let summary: AuditSummary
    /// Entries sealed under another questionnaire of the sources: counted in no table.
    public let otherQuestionnaire: Int
    /// Entries that arrived outside the fixed range of arrival months: counted in no table.
    public let outsideMonths: Int
    /// The keys (by position) that are a recipient of no entry.
    public let unusedKeys: [Int]
    /// The entries counted: the release's population.
    public let population: Population
    /// What the joint audit of the release changed (nothing for a noisy release).
    public let jointAudit: JointAudit.Summary
}

/// The entries one release counted, by id (32 bytes each, one after another, in no particular
/// order: 32 MB for a million entries, no object per entry), and the first and last month they
/// arrived in.
public struct Population: Sendable {
    public let ids: [UInt8]
    public let firstMonth: YearMonth?
    public let lastMonth: YearMonth?
    public var count: Int { ids.count / EnvelopeFormat.idLength }
}

/// `chorus stats` as a library type: opens the answers (never a story) of every entry of some
/// sources with the given keys, on every core, counts them into the plan's tables and protects
/// the tables under the disclosure policy, each alone and then all together (``JointAudit``).
/// Spend the privacy budget (if any) before calling `run`.
public struct StatsRun {
    public let plan: StatsPlan
    public let keys: [UnlockedKey]
    public let policy: DisclosurePolicy
    public var workers = Auditor.defaultWorkers
    /// The joint audit's time limit.
    public var auditTimeLimitMilliseconds = JointAudit.defaultTimeLimitMilliseconds
    /// The date the reports say they were made (UTC, `YYYY-MM-DD`).
    public var releaseDate = UTCDate.now().dayText
    /// Tables earlier releases published (``ReleaseLog/tablesPublished()``): counted too, so that
    /// those of them published from exactly these entries are audited with this release's.
    public var earlierTables: [[StatsField]] = []

    /// What the release log said of a release about to be published.
    public struct ReleaseCheck {
        public let number: Int?
        /// The tables earlier releases published from exactly these entries.
        public let earlier: [ReleaseLog.PublishedTable]
        public init(number: Int?, earlier: [ReleaseLog.PublishedTable]) {
            self.number = number
            self.earlier = earlier
        }
    }
    /// Called (serially) with the number of entries counted so far.
    public var progress: (@Sendable (Int) -> Void)? = nil

    public init(plan: StatsPlan, keys: [UnlockedKey], policy: DisclosurePolicy) {
        self.plan = plan
        self.keys = keys
        self.policy = policy
    }

    /// Counts `sources`, calls `beforePublishing` with the population counted (to check and
    /// record the release in the ``ReleaseLog``, returning its number: what it throws stops the run
    /// before any number is drawn or protected), then protects the tables.
    public func run(_ sources: EntrySources, beforePublishing: (Population) throws -> ReleaseCheck = { _ in ReleaseCheck(number: nil, earlier: []) }) throws -> StatsResult {
        let counter = try Counter(tables: plan.tables + earlierTables, months: plan.months)
        let digest = plan.schema.digest
        let auditor = Auditor(keys: keys, sections: .answersOnly, workers: workers)
        // The auditor hands out only entries whose answers fit the questionnaire they name.
        var summary = try auditor.run(sources, progress: progress) { entry in
            guard entry.answers.questionnaire == digest else {
                counter.other()
                return
            }
            counter.add(StatsRecord(answers: entry.answers.fields, arrivalMonth: entry.answers.arrivalMonth), id: entry.id)
        }
        let state = counter.state.withLock { $0 }
        // An entry that fits its questionnaire but not the tables (a year after the current one, from
        // an arrival month in the future that only a hostile sender writes) is counted nowhere.
        if state.failed > 0 { summary.problems[Auditor.answersNotFitting, default: 0] += state.failed }
        let population = Population(ids: state.ids, firstMonth: state.firstMonth, lastMonth: state.lastMonth)
        let check = try beforePublishing(population)
        let number = check.number
        var tables: [(counts: CountTable, report: StatsReport)] = []
        for t in state.tabulators.prefix(plan.tables.count) {
            let counts = try t.counts()
            tables.append((counts, try Disclosure.publish(counts, policy: policy)))
        }
        var reports = tables.map(\.report)
        var joint = JointAudit.Summary()
        if policy.epsilon == nil {
            let counted = try state.tabulators.dropFirst(plan.tables.count).map { try $0.counts() }
            let earlier = check.earlier.compactMap { published in
                counted.first { $0.dimensions.map(\.fieldID) == published.fields }.flatMap { counts in
                    published.report(counts: counts, minCount: policy.minCount).map { (counts, $0) }
                }
            }
            let used = Set((tables + earlier).flatMap { $0.counts.dimensions.map(\.fieldID) })
            (reports, joint) = JointAudit.protect(tables, earlier: earlier, population: try state.recorder.categories(binnedBy: state.tabulators).keeping(used),
                                                  minCount: policy.minCount, timeLimitMilliseconds: auditTimeLimitMilliseconds)
        }
        // What the reports cover: a fixed range as given; otherwise the months of the entries
        // counted, but never beside noise (months taken from the data are exact information).
        let period: (first: String, last: String)?
        if let months = plan.months {
            period = (months.lowerBound.description, months.upperBound.description)
        } else if policy.epsilon == nil, let a = population.firstMonth, let b = population.lastMonth {
            period = (a.description, b.description)
        } else {
            period = nil
        }
        let facts = ReleaseFacts(number: number, date: releaseDate, period: period)
        for i in reports.indices {
            reports[i].release = facts
            // The months of fewer than K entries are not said.
            if reports[i].outcome == .fewerThanMinimum { reports[i].release?.period = nil }
        }
        return StatsResult(reports: reports, summary: summary, otherQuestionnaire: state.other, outsideMonths: state.outsideMonths,
                           unusedKeys: try auditor.unusedKeys(summary, sources: sources), population: population, jointAudit: joint)
    }

    /// The tabulators of one run and its counts, behind one lock (the auditor's consumer is serial,
    /// but runs on worker threads). One population: an entry is counted in every table or in none.
    final class Counter: Sendable {
        struct State: Sendable {
            var tabulators: [Tabulator]
            var recorder: PopulationRecorder
            var ids: [UInt8] = []
            var firstMonth: YearMonth?
            var lastMonth: YearMonth?
            var other = 0
            var failed = 0
            var outsideMonths = 0
        }
        let state: Mutex<State>
        let months: ClosedRange<YearMonth>?

        init(tables: [[StatsField]], months: ClosedRange<YearMonth>?) throws {
            self.months = months
            state = Mutex(State(tabulators: try tables.map { try Tabulator(by: $0) }, recorder: try PopulationRecorder(fields: tables.flatMap { $0 })))
        }

        func other() { state.withLock { $0.other += 1 } }

        func add(_ record: StatsRecord, id: [UInt8]) {
            state.withLock { s in
                guard let month = try? YearMonth(parsing: record.arrivalMonth) else {
                    s.failed += 1
                    return
                }
                if let months, !months.contains(month) {
                    s.outsideMonths += 1
                    return
                }
                // The recorder checks the record against every field of the release first, so a record
                // the tables would refuse is counted in none of them.
                do {
                    try s.recorder.add(record)
                } catch {
                    s.failed += 1
                    return
                }
                for i in s.tabulators.indices {
                    // Cannot fail: the recorder accepted the same record for the same fields.
                    try? s.tabulators[i].add(record)
                }
                s.ids.append(contentsOf: id)
                if s.firstMonth.map({ month < $0 }) ?? true { s.firstMonth = month }
                if s.lastMonth.map({ month > $0 }) ?? true { s.lastMonth = month }
            }
        }
    }
}
