import ArgumentParser
import ChorusCore
import ChorusReading
import ChorusStats
import ChorusStore
import ChorusSystem

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

    @OptionGroup var organisation: OrganisationOptions

    @Option(help: "Count the entries of this questionnaire (the first 8 or more hex digits of its digest; default: the current one).")
    var questionnaire: String?

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

    @Option(name: .customLong("audit-time-limit"), help: "The most seconds the joint audit of the tables may take; at the limit, every table not yet proven safe is withheld (default 60).")
    var auditTimeLimit: Int = 60

    @Option(help: "table, json, csv or html.")
    var format: ReportFormat = .table

    func validate() throws {
        if keyOptions.keys.isEmpty { throw ValidationError("give a key that opens the answers: --key FILE (an analyst key is enough)") }
        if sources.isEmpty { throw ValidationError("give at least one batch file or store folder") }
        if minCount < 2 && !unsafeSmallCells {
            throw ValidationError("--min-count below 2 publishes counts of single entries; add --unsafe-small-cells if you really mean it")
        }
        if minCount < 1 { throw ValidationError("--min-count must be at least 1") }
        if auditTimeLimit < 1 || auditTimeLimit > 86_400 { throw ValidationError("--audit-time-limit must be from 1 to 86400 seconds") }
    }

    func execute() throws {
        let eps: Epsilon? = try epsilon.map { text in
            do { return try Epsilon(parsing: text) } catch { throw CommandError(.usage, "--epsilon \(displaySafe(text)): \(error)") }
        }
        let budgetValue: Epsilon
        do { budgetValue = try Epsilon(parsing: budget) } catch { throw CommandError(.usage, "--budget \(displaySafe(budget)): \(error)") }
        let policy: DisclosurePolicy
        do { policy = try DisclosurePolicy(minCount: minCount, epsilon: eps, allowUnsafeSmallCells: unsafeSmallCells) } catch {
            throw CommandError(.usage, "\(error)")
        }

        // The sources and the tables asked for are checked before the keys are unlocked (which takes
        // seconds with real key costs), so a mistyped field is reported at once.
        let entrySources = try EntrySources(paths: sources)
        try organisation.trust(entrySources.documents, forSealing: false)()
        let plan = try StatsPlan(sources: entrySources, tables: tables, months: try months.map(StatsPlan.monthRange), noisy: eps != nil,
                                 questionnaire: questionnaire)
        let keys = try keyOptions.unlock()

        // The budget is spent before anything is computed, so a refused query reveals nothing.
        if let eps {
            let ledgerPath = ledger ?? defaultLedgerPath()
            let identities = try StatsPlan.sourceIdentities(entrySources)
            let cost: Epsilon
            do { cost = try (1 ..< plan.tables.count).reduce(eps) { acc, _ in try acc.adding(eps) } } catch {
                throw CommandError(.usage, "--epsilon \(eps) for \(plan.tables.count) tables is more than the largest epsilon accepted")
            }
            do {
                _ = try EpsilonLedger(path: ledgerPath).checkAndSpend(cost, sources: identities.map(\.id), budget: budgetValue)
            } catch let e as LedgerError {
                throw ledgerFailure(e, tables: plan.tables.count, epsilon: eps, identities: identities, ledgerPath: ledgerPath)
            }
        }

        var run = StatsRun(plan: plan, keys: keys, policy: policy)
        run.auditTimeLimitMilliseconds = auditTimeLimit * 1000
        let progress = ProgressLine(verb: "counted")
        run.progress = { progress.update($0) }
        let result = try run.run(entrySources)
        progress.finish()

        let reports = result.reports
        let text = reports.count == 1 ? reports[0].rendered(as: format) : StatsReport.rendered(reports, as: format)
        Terminal.write(1, text.hasSuffix("\n") ? text : text + "\n")

        let audit = result.jointAudit
        if audit.hidden > 0 || audit.withheld > 0 || audit.timedOut {
            var what: [String] = []
            if audit.hidden > 0 { what.append("hid \(audit.hidden) more number\(audit.hidden == 1 ? "" : "s")") }
            if audit.withheld > 0 { what.append("withheld \(audit.withheld) table\(audit.withheld == 1 ? "" : "s")") }
            let why = audit.timedOut ? " (it reached its time limit, so every table it had not proven safe was withheld)" : ""
            printErr("chorus: note: so that the tables together give no hidden number away, the joint audit \(what.joined(separator: " and "))\(why); it took \(audit.milliseconds / 1000).\(audit.milliseconds % 1000 / 100) s")
        }
        for line in result.summary.problemLines(exact: eps == nil) { printErr("chorus: \(line)") }
        if result.outsideMonths > 0, let months {
            printErr("chorus: note: \(amount(result.outsideMonths, noisy: eps != nil)) arrived outside --months \(displaySafe(months)) and \(result.outsideMonths == 1 && eps == nil ? "is" : "are") counted in no table")
        }
        if result.otherQuestionnaire > 0 {
            let n = result.otherQuestionnaire
            printErr("chorus: note: \(amount(n, noisy: eps != nil)) \(n == 1 && eps == nil ? "was" : "were") sealed under another questionnaire of these sources and \(n == 1 && eps == nil ? "is" : "are") not counted here (count \(n == 1 && eps == nil ? "it" : "them") with --questionnaire; chorus recipients list shows the digests)")
        }
        let unused = reportUnusedKeys(keys, result.unusedKeys)
        if result.summary.hasProblems || unused { throw exitWith(.dataError) }
    }

    /// A number of entries outside the release, as a note may say it: never exact under
    /// --epsilon (nothing exact is printed beside noise), never from 1 to K-1.
    private func amount(_ n: Int, noisy: Bool) -> String {
        if noisy { return "some entries" }
        if n < minCount { return "fewer than \(minCount) entries" }
        return "\(n) entries"
    }

    private func defaultLedgerPath() -> String {
        let key = keyOptions.keys[0]
        let dir = key.contains("/") ? String(key[..<key.lastIndex(of: "/")!]) : "."
        return dir + "/chorus-epsilon-ledger.json"
    }

    /// One sentence for a ledger that refused or failed, with the exit status that fits.
    private func ledgerFailure(_ e: LedgerError, tables: Int, epsilon: Epsilon, identities: [StatsPlan.SourceIdentity], ledgerPath: String) -> Error {
        switch e {
        case let .budgetExceeded(requested, budget, remaining):
            // In the order the sources were given (a store, then its batches), named as the user knows them.
            let order = Dictionary(identities.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { a, _ in a })
            let left = remaining.sorted { (order[$0.source] ?? .max) < (order[$1.source] ?? .max) }.map { item in
                "\(item.left) left for \(identities.first { $0.id == item.source }?.shown ?? item.source)"
            }.joined(separator: ", ")
            let need = tables == 1 ? "epsilon \(requested)" : "epsilon \(requested) (\(tables) tables at \(epsilon) each)"
            return CommandError(.permission, "this query needs \(need), but the privacy budget of \(budget) per source has only \(left); nothing was computed and no epsilon was spent (ledger \(displaySafe(ledgerPath, limit: 200)))")
        default:
            return e
        }
    }
}

extension ReportFormat: ExpressibleByArgument {}
