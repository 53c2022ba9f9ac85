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
            --epsilon, integer discrete-Laplace noise is added and the privacy budget of each entry is \
            tracked. Every release is recorded in a release log next to the key, and a release whose \
            entries differ from an earlier one of overlapping tables by 1 to K-1 is refused.
            """
    )

    @OptionGroup var keyOptions: RequiredKeyOptions

    @OptionGroup var organisation: OrganisationOptions

    @Option(help: "Count the entries of this questionnaire (the first 8 or more hex digits of its digest; default: the current one).")
    var questionnaire: String?

    @Argument(help: "Batch files and store folders.")
    var sources: [String]

    @Option(name: .customLong("by"), help: "A field, or two joined by a comma (repeatable; default: every field).")
    var tables: [String] = []

    @Option(name: .customLong("min-count"), help: "The smallest count published as is.")
    var minCount: Int = 5

    @Flag(name: .customLong("unsafe-small-cells"), help: "Allow --min-count below 2 (publishes small counts; unsafe).")
    var unsafeSmallCells = false

    @Option(help: "Add discrete-Laplace noise with this privacy parameter (e.g. 0.5).")
    var epsilon: String?

    @Option(help: "The privacy budget per entry, across every noisy release that counts it.")
    var budget: String = "1"

    @Option(help: "The release log folder (default: chorus-releases next to the first key).")
    var releases: String?

    @Option(help: "With --epsilon and --by arrival-month: the fixed range of months, YYYY-MM..YYYY-MM.")
    var months: String?

    @Option(name: .customLong("audit-time-limit"), help: "The most seconds the joint audit of the tables may take; at the limit, every table not yet proven safe is withheld.")
    var auditTimeLimit: Int = 60

    @Option(help: "table, json, csv or html.")
    var format: ReportFormat = .table

    func validate() throws {
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

        // Several tables with noise cost epsilon each (sequential composition).
        var cost: Epsilon? = nil
        if let eps {
            do { cost = try (1 ..< plan.tables.count).reduce(eps) { acc, _ in try acc.adding(eps) } } catch {
                throw CommandError(.usage, "--epsilon \(eps) for \(plan.tables.count) tables is more than the largest epsilon accepted")
            }
        }
        let log = ReleaseLog(path: try releases ?? defaultReleasesPath())
        var pending: ReleaseLog.Pending? = nil

        var run = StatsRun(plan: plan, keys: keys, policy: policy)
        run.auditTimeLimitMilliseconds = auditTimeLimit * 1000
        // The tables of earlier exact releases are counted too: those published from exactly these
        // entries are part of what a reader holds, and the joint audit takes them in.
        if eps == nil { run.earlierTables = try log.tablesPublished().compactMap { plan.fields($0) } }
        let progress = ProgressLine(verb: "counted")
        run.progress = { progress.update($0) }
        // The release is checked against the log and recorded after counting and before any number
        // is drawn or shown, so a refused release reveals nothing and spends nothing.
        let tableIDs = plan.tables.map { $0.map(\.id) }
        let result = try run.run(entrySources) { population in
            progress.finish()
            // An exact release of fewer than K entries publishes only that: nothing to record.
            if eps == nil && population.count < minCount { return StatsRun.ReleaseCheck(number: nil, earlier: []) }
            do {
                pending = try log.begin(.init(ids: population.ids, tables: tableIDs, minCount: minCount, epsilon: cost,
                                              budget: budgetValue, date: run.releaseDate))
            } catch let ReleaseLogError.budgetExceeded(requested, budget, left) {
                let need = plan.tables.count == 1 ? "epsilon \(requested)" : "epsilon \(requested) (\(plan.tables.count) tables at \(eps!) each)"
                throw CommandError(.permission, "this release needs \(need), but some of these entries have only \(left) of their privacy budget of \(budget) left; nothing was spent and nothing is shown (release log \(displaySafe(log.path, limit: 200)))")
            }
            return StatsRun.ReleaseCheck(number: pending?.number, earlier: pending?.earlierTables ?? [])
        }
        progress.finish()
        // The release is written, with its tables as published, before any of them is shown.
        try pending?.commit(published: eps == nil ? result.reports.compactMap(ReleaseLog.PublishedTable.init) : [])
        let outcome = pending?.outcome

        let reports = result.reports
        let text = reports.count == 1 ? reports[0].rendered(as: format) : StatsReport.rendered(reports, as: format)
        // (By bytes: "\r\n", CSV's line end, is one Character and would not end with "\n".)
        Terminal.write(1, text.utf8.last == UInt8(ascii: "\n") ? text : text + "\n")
        // CSV holds the table only: what the other formats say beside it goes to stderr.
        if format == .csv {
            var said = Set<String>()
            for r in reports {
                for line in [r.entriesSummary] + r.notes where said.insert(line).inserted {
                    printErr("chorus: \(reports.count == 1 ? "" : r.title + ": ")\(line)")
                }
            }
        }

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
            printErr("chorus: note: \(amount(result.outsideMonths, noisy: eps != nil)) arrived outside --months \(displaySafe(months)) and are counted in no table")
        }
        if result.otherQuestionnaire > 0 {
            let n = result.otherQuestionnaire
            printErr("chorus: note: \(amount(n, noisy: eps != nil)) were sealed under another questionnaire of these sources and are not counted here (count them with --questionnaire; chorus recipients list shows the digests)")
        }
        if let cost, let outcome {
            let need = plan.tables.count == 1 ? "epsilon \(cost)" : "epsilon \(cost) (\(plan.tables.count) tables at \(eps!) each)"
            printErr("chorus: privacy budget: release \(outcome.number) spent \(need) on every entry it counted; the least any of them has left is \(outcome.left) of \(budgetValue)")
        }
        let unused = reportUnusedKeys(keys, result.unusedKeys)
        if result.summary.hasProblems || unused { throw exitWith(.dataError) }
    }

    /// A number of entries outside the release, as a note may say it: never exact under
    /// --epsilon (nothing exact is printed beside noise), never from 1 to K-1 (so always plural).
    private func amount(_ n: Int, noisy: Bool) -> String {
        if noisy { return "some entries" }
        if n < minCount { return "fewer than \(minCount) entries" }
        return "\(n) entries"
    }

    /// `chorus-releases` in the folder of the first key (found by name in the config folder, as
    /// --key finds it).
    private func defaultReleasesPath() throws -> String {
        let key = try KeyFiles.secretKeyPath(keyOptions.keys[0])
        let dir = key.contains("/") ? String(key[..<key.lastIndex(of: "/")!]) : "."
        return (dir.isEmpty ? "/" : dir) + "/chorus-releases"
    }
}

extension ReportFormat: ExpressibleByArgument {}
