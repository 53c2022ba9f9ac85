import ArgumentParser
import ChorusCore
import ChorusReading
import ChorusStore

struct ReviewCommand: ChorusCommand {
    static let configuration = CommandConfiguration(
        commandName: "review",
        abstract: "Open batches or stores with a key and show the stories.",
        discussion: """
            Every entry the key(s) can open is shown, in a random order, with no entry id, file name or \
            position that reflects arrival. Stories marked counts-only are shown but flagged: do not \
            quote them. Entries that cannot be opened are counted and skipped (exit 65 after all good \
            output). With --out, each story goes into its own 0600 file with a random name in a new \
            0700 folder, and nothing is printed.
            """
    )

    @OptionGroup var keyOptions: RequiredKeyOptions

    @OptionGroup var organisation: OrganisationOptions

    @Argument(help: "Batch files and store folders.")
    var sources: [String]

    @Option(help: "text (readable blocks) or jsonl (one JSON object per story).")
    var format: ReviewFormat = .text

    @Option(help: "Write one file per story into this new folder instead of stdout.")
    var out: String?

    func validate() throws {
        if sources.isEmpty { throw ValidationError("give at least one batch file or store folder") }
    }

    func execute() throws {
        let keys = try keyOptions.unlock()
        let entrySources = try EntrySources(paths: sources)
        try organisation.trust(entrySources.documents, forSealing: false)()
        if !keys.contains(where: { $0.role == .reviewer }) {
            printErr("chorus: the key(s) given are analyst keys: stories need a reviewer key, so only answers are shown")
        }
        var run = ReviewRun(keys: keys, format: format, destination: out.map { .folder(path: $0) } ?? .stream(fd: 1))
        // On a terminal: how many entries are opened, then, into a folder, how many files are written.
        let opening = ProgressLine(verb: "opened")
        let writing = ProgressLine(verb: "wrote")
        let toFolder = out != nil
        run.progress = { phase, n in
            switch phase {
            case .opening: opening.update(n)
            case .writing:
                guard toFolder else { return }
                opening.finish()
                writing.update(n)
            }
        }
        let result = try run.run(entrySources)
        opening.finish()
        writing.finish()
        let summary = result.summary
        if let out { printErr("wrote \(summary.opened) entr\(summary.opened == 1 ? "y" : "ies") into \(out)") }
        for line in summary.problemLines { printErr("chorus: \(line)") }
        let byAnalyst = result.openedByAnalystOnly
        if byAnalyst > 0 {
            printErr("chorus: warning: \(byAnalyst) entr\(byAnalyst == 1 ? "y was" : "ies were") opened with an analyst key only (none of the reviewer keys given is \(byAnalyst == 1 ? "its recipient" : "their recipient")), so \(byAnalyst == 1 ? "its story is" : "their stories are") not shown")
        }
        let unused = reportUnusedKeys(keys, result.unusedKeys)
        if summary.hasProblems || unused { throw exitWith(.dataError) }
    }
}

extension ReviewFormat: ExpressibleByArgument {}
