import ArgumentParser
import ChorusCore
import ChorusReading
import ChorusStore

struct VerifyCommand: ChorusCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check stores and batch files: structure without a key, decryption with one.",
        discussion: "Without --key nothing is decrypted: the configuration, every envelope's framing, batch checksums, tombstones and crash leftovers are checked. With --key every entry is also opened (answers and, for reviewer keys, stories) and counted by outcome. Exit 65 on any problem."
    )

    @Argument(help: "Batch files and store folders.")
    var sources: [String]

    @OptionGroup var keyOptions: KeyOptions

    @OptionGroup var organisation: OrganisationOptions

    func validate() throws {
        if sources.isEmpty { throw ValidationError("give at least one batch file or store folder") }
    }

    func execute() throws {
        var problems = false
        for source in sources {
            let report = try StoreVerifier.verify(source: source)
            printOut(report.summaryLine)
            for p in report.problems { printErr("chorus: \(p)") }
            problems = problems || !report.isClean
        }
        if !keyOptions.keys.isEmpty {
            let keys = try keyOptions.unlock()
            let entrySources = try EntrySources(paths: sources)
            try organisation.trust(entrySources.documents, forSealing: false)()
            let summary = try Auditor(keys: keys, sections: .storyIfAvailable).run(entrySources) { _ in }
            var line = "opened \(summary.opened) entr\(summary.opened == 1 ? "y" : "ies")"
            if summary.withdrawn > 0 { line += ", \(summary.withdrawn) withdrawn" }
            if summary.duplicates > 0 { line += ", \(summary.duplicates) duplicate cop\(summary.duplicates == 1 ? "y" : "ies")" }
            for kind in summary.problems.keys.sorted() { line += ", \(summary.problems[kind]!) \(kind)" }
            printOut(line)
            for p in summary.problemLines { printErr("chorus: \(p)") }
            // Evaluated first: a key that opens nothing is reported even when other problems were found.
            let unused = reportUnusedKeys(keys, try Auditor(keys: keys, sections: .storyIfAvailable).unusedKeys(summary, sources: entrySources))
            problems = problems || summary.hasProblems || unused
        }
        if problems { throw exitWith(.dataError) }
    }
}

extension VerifyReport {
    /// One line of counts for stdout.
    var summaryLine: String {
        var parts = ["\(source):"]
        if batches.count == 1 && batches[0].path == source && inboxEntries == 0 && inboxBad == 0 {
            parts.append("batch \(batchesOK == 1 ? "intact" : "DAMAGED"), \(batchEntries) entries, \(batchBadEntries) bad")
        } else {
            parts.append("inbox \(inboxEntries) entries (\(inboxBad) bad),")
            parts.append("\(batchesOK + batchesBad) batches (\(batchesBad) damaged) with \(batchEntries) entries (\(batchBadEntries) bad),")
            parts.append("\(tombstones) tombstones, \(leftovers) crash leftovers, \(unexpected) unexpected files")
        }
        parts.append(isClean ? "- ok" : "- \(problems.count) problem\(problems.count == 1 ? "" : "s")")
        return parts.joined(separator: " ")
    }
}
