import ArgumentParser
import ChorusCore
import ChorusCrypto
import ChorusFormat
import ChorusStore
import ChorusSystem

#if canImport(Glibc)
import Glibc
#endif

struct WithdrawCommand: ChorusCommand {
    static let configuration = CommandConfiguration(
        commandName: "withdraw",
        abstract: "Withdraw a story with its receipt.",
        discussion: "The receipt is read from standard input, or asked for on the terminal (never from the command line). The entry is removed from the inbox if it is there, and a tombstone is recorded so that batches already closed skip it in review and stats."
    )

    @Option(help: "The store the story was submitted to.")
    var store: String

    @Argument(help: .hidden)
    var stray: [String] = []

    static let receiptRefusal = "the receipt is never taken from the command line (it would stay in shell history); pipe it in or type it at the prompt"

    func validate() throws {
        if SecretArguments.onlyNamingAnUnknownOption { return }
        if !stray.isEmpty { throw ValidationError(Self.receiptRefusal) }
    }

    func execute() throws {
        let target = try Store.open(at: store)
        let text: String
        if Terminal.stdinIsTerminal {
            guard let typed = try Terminal.readSecret(prompt: "Receipt (input hidden): ") else {
                throw SystemError(.noTerminal, "no terminal to ask for the receipt; pipe it into standard input")
            }
            text = typed.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
        } else {
            // Into guarded memory: the receipt is the key to withdrawing a story.
            let bytes = try InputFile.readSecret(fd: 0, limit: 1024, path: "from standard input", what: "receipt")
            text = bytes.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
        }
        let receipt = try Receipt.parse(text)
        switch try target.withdraw(id: receipt.entryID) {
        case .removedFromInbox:
            printErr("withdrawn: the story was removed from the store's inbox, and a tombstone keeps any copy out of review and counts")
        case .tombstonedInBatch:
            printErr("withdrawn: the story was already in a closed batch; a tombstone now keeps it out of review and counts, and travels with the next batch")
        case .alreadyWithdrawn:
            printErr("this story was already withdrawn; nothing more to do")
        case let .notFound(unreadable):
            printErr("chorus: error: no story with this receipt is in this store's inbox or its batches\(unreadable > 0 ? " (\(unreadable) batch(es) could not be searched)" : "")")
            printErr("chorus: a tombstone was recorded anyway, so a batch carried elsewhere that holds it will skip it once it meets this store's next batch")
            throw exitWith(.noInput)
        }
    }
}
