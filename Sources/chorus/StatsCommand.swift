import ArgumentParser
import ChorusCore
import ChorusCrypto
import ChorusFormat
import ChorusStats
import Foundation

#if canImport(Glibc)
import Glibc
#endif

struct StatsCommand: ChorusCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Publish anonymised counts by questionnaire field.",
        discussion: """
            Counts entries by one field (--by setting), a cross-tab of two (--by setting,perpetrator-role), \
            or the pseudo-fields arrival-month and year; without --by, one table per field. Only the \
            answers are decrypted, never a story, so an analyst key is enough. Disclosure control is on: \
            counts from 1 to K-1 are shown as <K, further cells are hidden (x) until no hidden number can \
            be worked out from the totals, and fewer than K entries in all publishes nothing. With \
            --epsilon, integer discrete-Laplace noise is added and the privacy budget of each source is \
            tracked in a ledger next to the key.
            """
    )

    @OptionGroup var keyOptions: KeyOptions

    @Argument(help: "Batch files and store folders.")
    var sources: [String]

    @Option(name: .customLong("by"), help: "A field, or two joined by a comma (repeatable; default: every field).")
    var tables: [String] = []

    @Option(name: .customLong("min-count"), help: "The smallest count published as is (default 5).")
    var minCount: Int = 5

    @Flag(name: .customLong("unsafe-small-cells"), help: "Allow --min-count below 2 (publishes small counts; unsafe).")
    var unsafeSmallCells = false

    @Option(help: "Add discrete-Laplace noise with this privacy parameter (e.g. 0.5).")
    var epsilon: String?

    @Option(help: "The privacy budget per source (default 1.0).")
    var budget: String = "1"

    @Option(help: "The budget ledger (default: chorus-epsilon-ledger.json next to the first key).")
    var ledger: String?

    @Option(help: "With --epsilon and --by arrival-month: the fixed range of months, YYYY-MM..YYYY-MM.")
    var months: String?

    @Option(help: "table, json, csv or html.")
    var format: String = "table"

    func validate() throws {
        if keyOptions.keys.isEmpty { throw ValidationError("give a key that opens the answers: --key FILE (an analyst key is enough)") }
        if sources.isEmpty { throw ValidationError("give at least one batch file or store folder") }
        guard ReportFormat(rawValue: format) != nil else { throw ValidationError("--format must be table, json, csv or html") }
        if minCount < 2 && !unsafeSmallCells {
            throw ValidationError("--min-count below 2 publishes counts of single entries; add --unsafe-small-cells if you really mean it")
        }
        if minCount < 1 { throw ValidationError("--min-count must be at least 1") }
    }

    func execute() throws {
        let reportFormat = ReportFormat(rawValue: format)!
        let eps: Epsilon? = try epsilon.map { text in
            do { return try Epsilon(parsing: text) } catch { throw ChorusError.usage("--epsilon \(displaySafe(text)): \(error)") }
        }
        let budgetValue: Epsilon
        do { budgetValue = try Epsilon(parsing: budget) } catch { throw ChorusError.usage("--budget \(displaySafe(budget)): \(error)") }
        let policy: DisclosurePolicy
        do { policy = try DisclosurePolicy(minCount: minCount, epsilon: eps, allowUnsafeSmallCells: unsafeSmallCells) } catch {
            throw ChorusError.usage("\(error)")
        }

        // The sources and the tables asked for are checked before the keys are unlocked (which takes
        // seconds with real key costs), so a mistyped field is reported at once.
        let entrySources = try EntrySources(paths: sources)
        let schema = try commonSchema(entrySources)
        let fieldSets = try chosenTables(schema: schema, noisy: eps != nil)
        let keys = try keyOptions.unlock()

        // The budget is spent before anything is computed, so a refused query reveals nothing.
        if let eps {
            let ledgerPath = ledger ?? defaultLedgerPath()
            let identities = try sourceIdentities(entrySources)
            let cost: Epsilon
            do { cost = try (1 ..< fieldSets.count).reduce(eps) { acc, _ in try acc.adding(eps) } } catch {
                throw ChorusError.usage("--epsilon \(eps) for \(fieldSets.count) tables is more than the largest epsilon accepted")
            }
            do {
                _ = try EpsilonLedger(path: ledgerPath).checkAndSpend(cost, sources: identities.map(\.id), budget: budgetValue)
            } catch let e as LedgerError {
                throw ledgerFailure(e, tables: fieldSets.count, epsilon: eps, identities: identities, ledgerPath: ledgerPath)
            }
        }

        let tabulators = Locked(try fieldSets.map { try Tabulator(by: $0) })
        let rejected = Locked(0)
        let outsideMonths = Locked(0)
        let progress = ProgressLine(verb: "counted")
        // The same check as `schema.accepts`, prepared once for every entry.
        let acceptor = AnswersAcceptor(schema: schema, currentYear: Schema.currentUTCYear())
        let summary = try Auditor(keys: keys, sections: .answersOnly).run(entrySources, progress: { progress.update($0) }) { entry in
            // An entry whose answers do not fit the questionnaire is counted in no table.
            guard acceptor.accepts(entry.answers) else {
                rejected.mutate { $0 += 1 }
                return
            }
            let record = StatsRecord(answers: entry.answers.fields, arrivalMonth: entry.answers.arrivalMonth)
            var failed = false, outside = false
            tabulators.mutate { all in
                for i in all.indices {
                    do {
                        try all[i].add(record)
                    } catch StatsError.invalidMonth {
                        // The month is valid (the questionnaire check passed): it lies outside --months.
                        outside = true
                    } catch {
                        failed = true
                    }
                }
            }
            if failed { rejected.mutate { $0 += 1 } } else if outside { outsideMonths.mutate { $0 += 1 } }
        }
        progress.finish()

        var reports: [StatsReport] = []
        for t in tabulators.value {
            reports.append(try Disclosure.publish(try t.counts(), policy: policy))
        }
        let text = reports.count == 1 ? reports[0].rendered(as: reportFormat) : StatsReport.rendered(reports, as: reportFormat)
        Terminal.writeAll(1, text.hasSuffix("\n") ? text : text + "\n")

        for line in summary.problemLines { printErr("chorus: \(line)") }
        if outsideMonths.value > 0, let months {
            let n = outsideMonths.value
            printErr("chorus: note: \(n) entr\(n == 1 ? "y" : "ies") arrived outside --months \(displaySafe(months)), so \(n == 1 ? "it is" : "they are") left out of the arrival-month table (and counted in the others)")
        }
        if rejected.value > 0 { printErr("chorus: \(rejected.value) entr\(rejected.value == 1 ? "y" : "ies"): answers that do not fit the questionnaire; not counted") }
        let unused = try reportUnusedKeys(keys, summary, sources: entrySources)
        if summary.hasProblems || rejected.value > 0 || unused { throw ExitCode(ExitStatus.dataError.rawValue) }
    }

    /// The questionnaire shared by every source.
    private func commonSchema(_ s: EntrySources) throws -> Schema {
        let schemas = s.sources.compactMap(\.schema)
        guard let first = schemas.first else { throw ChorusError.data("none of the sources could be read, so there is no questionnaire to count by") }
        guard schemas.allSatisfy({ $0 == first }) else {
            throw ChorusError.usage("the sources use different questionnaires; count them separately")
        }
        return first
    }

    /// The tables asked for, as lists of one or two counting fields.
    private func chosenTables(schema: Schema, noisy: Bool) throws -> [[StatsField]] {
        let all = try statsFields(schema: schema, noisy: noisy)
        let wanted = tables.isEmpty ? schema.fields.map(\.id) : tables
        return try wanted.map { spec in
            let ids = spec.split(separator: ",", omittingEmptySubsequences: false).map { String($0).trimmingCharacters(in: .whitespaces) }
            guard (1 ... 2).contains(ids.count), Set(ids).count == ids.count else {
                throw ChorusError.usage("--by \(displaySafe(spec)): give one field or two different fields joined by a comma")
            }
            return try ids.map { id in
                if id == StatsField.arrivalMonthID { return try arrivalField(noisy: noisy) }
                guard let f = all[id] else {
                    throw ChorusError.usage("--by \(displaySafe(id)): no such field; the fields are \((schema.fields.map(\.id) + [StatsField.arrivalMonthID]).joined(separator: ", "))")
                }
                return f
            }
        }
    }

    private func statsFields(schema: Schema, noisy: Bool) throws -> [String: StatsField] {
        var out: [String: StatsField] = [:]
        let year = Schema.currentUTCYear()
        for f in schema.fields {
            do {
                switch f.kind {
                case .single, .multiple:
                    out[f.id] = try StatsField(id: f.id, label: f.label, values: f.values ?? [], multiValued: f.kind == .multiple, optional: !f.required)
                case .year:
                    out[f.id] = try StatsField.year(id: f.id, label: f.label, years: (f.min ?? 1950) ... year, optional: !f.required)
                }
            } catch {
                throw ChorusError.data("the questionnaire's field \(f.id) cannot be counted: \(error)")
            }
        }
        return out
    }

    private func arrivalField(noisy: Bool) throws -> StatsField {
        guard let months else {
            if noisy {
                throw ChorusError.usage("--by arrival-month with --epsilon needs a fixed range, --months YYYY-MM..YYYY-MM (a range taken from the data would leak)")
            }
            return StatsField.arrivalMonth()
        }
        let parts = months.components(separatedBy: "..")
        guard parts.count == 2, let from = try? YearMonth(parsing: parts[0]), let to = try? YearMonth(parsing: parts[1]), from <= to else {
            throw ChorusError.usage("--months must be YYYY-MM..YYYY-MM, the first not after the second")
        }
        return StatsField.arrivalMonth(range: from ... to)
    }

    private func defaultLedgerPath() -> String {
        let key = keyOptions.keys[0]
        let dir = key.contains("/") ? String(key[..<key.lastIndex(of: "/")!]) : "."
        return dir + "/chorus-epsilon-ledger.json"
    }

    /// One account of the budget ledger, and how to name it to the user.
    struct SourceIdentity {
        let id: String
        let shown: String
    }

    /// What the budget is kept against, independent of paths: a store by its id (and each of its
    /// batches), a batch file by its checksum. A store and one of its batches given separately thus
    /// draw on the same account, and so do two paths to one batch.
    private func sourceIdentities(_ s: EntrySources) throws -> [SourceIdentity] {
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

    /// One sentence for a ledger that refused or failed, with the exit status that fits.
    private func ledgerFailure(_ e: LedgerError, tables: Int, epsilon: Epsilon, identities: [SourceIdentity], ledgerPath: String) -> ChorusError {
        switch e {
        case let .budgetExceeded(requested, budget, remaining):
            // In the order the sources were given (a store, then its batches), named as the user knows them.
            let order = Dictionary(identities.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { a, _ in a })
            let left = remaining.sorted { (order[$0.source] ?? .max) < (order[$1.source] ?? .max) }.map { item in
                "\(item.left) left for \(identities.first { $0.id == item.source }?.shown ?? item.source)"
            }.joined(separator: ", ")
            let need = tables == 1 ? "epsilon \(requested)" : "epsilon \(requested) (\(tables) tables at \(epsilon) each)"
            return ChorusError.permission("this query needs \(need), but the privacy budget of \(budget) per source has only \(left); nothing was computed and no epsilon was spent (ledger \(displaySafe(ledgerPath, limit: 200)))")
        case .corrupt:
            return ChorusError.data("\(e)")
        case .io:
            return ChorusError.io("\(e)")
        case .invalid:
            return ChorusError.usage("\(e)")
        }
    }

    /// The last 32 bytes of a batch file: its BLAKE2b checksum, which names its content.
    private func batchChecksum(_ path: String) throws -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ChorusError.io("cannot open \(displaySafe(path, limit: 200)): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 32)
        let size = lseek(fd, 0, SEEK_END)
        guard size >= 32, buffer.withUnsafeMutableBytes({ pread(fd, $0.baseAddress!, 32, size - 32) }) == 32 else {
            throw ChorusError.data("\(displaySafe(path, limit: 200)) is too short to be a batch")
        }
        return Hex.encode(buffer)
    }
}

/// A value behind a lock.
final class Locked<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: T
    init(_ v: T) { stored = v }
    var value: T { lock.lock(); defer { lock.unlock() }; return stored }
    func set(_ v: T) { lock.lock(); stored = v; lock.unlock() }
    func mutate(_ f: (inout T) -> Void) { lock.lock(); f(&stored); lock.unlock() }
}
