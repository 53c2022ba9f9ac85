import ArgumentParser
import ChorusCore
import ChorusCrypto
import ChorusFormat
import ChorusStore
import ChorusSystem

#if canImport(Glibc)
import Glibc
#endif

struct BatchCommand: ChorusCommand {
    static let configuration = CommandConfiguration(
        commandName: "batch",
        abstract: "Close the inbox into one batch file and print its path.",
        discussion: "Entries are shuffled, so arrival order is not kept; every tombstone known so far travels with the batch. The batch is written durably, and only then are its entries removed from the inbox."
    )

    @Option(help: "The store whose inbox to close.")
    var store: String

    @Option(help: "Write the batch to this new file instead of the store's batches/ folder.")
    var out: String?

    func execute() throws {
        let target = try Store.open(at: store)
        let progress = ProgressLine(verb: "batched")  // on a terminal only
        let closing = try target.closeBatch(out: out) { done, _ in progress.update(done) }
        progress.finish()
        for problem in closing.keptInInbox { warn("left in the inbox: \(problem)") }
        if closing.withdrawnRemoved > 0 { printErr("removed \(closing.withdrawnRemoved) withdrawn entr\(closing.withdrawnRemoved == 1 ? "y" : "ies") from the inbox") }
        guard let path = closing.path else {
            printErr("the inbox is empty; no batch was written")
            if !closing.keptInInbox.isEmpty { throw exitWith(.dataError) }
            return
        }
        printOut(path)
        printErr("closed \(closing.entryCount) entr\(closing.entryCount == 1 ? "y" : "ies") into the batch")
        if !closing.keptInInbox.isEmpty { throw exitWith(.dataError) }
    }
}
