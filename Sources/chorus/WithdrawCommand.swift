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
        discussion: "The receipt is read from standard input, or asked for on the terminal (never from the command line). The entry is removed from the inbox if it is there, and a tombstone is recorded so that batches already closed skip it in review and stats. At the terminal the receipt is shown as it is typed (--hide-receipt hides it) and read back in groups of four after a typo, with three tries."
    )

    @Option(help: "The store the story was submitted to.")
    var store: String?

    @Option(help: "Or the intake server it was sent to (chorus serve); only the receipt is sent.")
    var to: String?

    @Option(help: "With --to: the SOCKS proxy to reach it through, as socks5h://HOST:PORT (Tor: socks5h://127.0.0.1:9050).")
    var proxy: String?

    @Flag(name: .customLong("hide-receipt"), help: "At the terminal, do not show the receipt as it is typed (nor read it back after a typo).")
    var hideReceipt = false

    @Argument(help: .hidden)
    var stray: [String] = []

    static let receiptRefusal = "the receipt is never taken from the command line (it would stay in shell history); pipe it in or type it at the prompt"

    func validate() throws {
        if SecretArguments.onlyNamingAnUnknownOption { return }
        if !stray.isEmpty { throw ValidationError(Self.receiptRefusal) }
        guard (store == nil) != (to == nil) else { throw ValidationError("say where the story was sent: --store DIR or --to URL (one of them)") }
        if proxy != nil && to == nil { throw ValidationError("--proxy goes with --to") }
    }

    func execute() throws {
        let remote = try to.map { try Remote(to: $0, proxy: proxy) }
        defer { remote?.close() }
        let target = try store.map { try Store.open(at: $0) }
        let receipt: Receipt
        if Terminal.stdinIsTerminal {
            receipt = try askForReceipt()
        } else {
            // Into guarded memory: the receipt is the key to withdrawing a story.
            let bytes = try InputFile.readSecret(fd: 0, limit: 1024, path: "from standard input", what: "receipt")
            receipt = try Receipt.parse(bytes.withUnsafeBytes { String(decoding: $0, as: UTF8.self) })
        }
        guard let target else {
            try remote!.withdraw(receipt)
            printErr(SubmitterText.withdrawnRemotely)
            return
        }
        switch try target.withdraw(id: receipt.entryID) {
        case .removedFromInbox:
            printErr(SubmitterText.withdrawnFromInbox)
        case .tombstonedInBatch:
            printErr(SubmitterText.withdrawnFromBatch)
        case .alreadyWithdrawn:
            printErr(SubmitterText.alreadyWithdrawn)
        case let .notFound(unreadable):
            printErr("chorus: error: no story with this receipt is in this store's inbox or its batches\(unreadable > 0 ? " (\(unreadable) batch(es) could not be searched)" : "")")
            printErr("chorus: it is marked as withdrawn anyway, so a copy carried elsewhere is skipped once it meets this store's next batch")
            throw exitWith(.noInput)
        }
    }

    /// Asks for the receipt on the terminal: shown as it is typed unless --hide-receipt, read back in
    /// groups of four after a typo, and up to `Passphrase.maxTries` tries.
    private func askForReceipt() throws -> Receipt {
        let tries = Passphrase.maxTries
        if !hideReceipt {
            printErr(SubmitterText.typeTheReceipt)
        }
        for attempt in 1 ... tries {
            let typed: String
            if hideReceipt {
                guard let secret = try Terminal.readSecret(prompt: "Receipt (not shown): ") else {
                    throw SystemError(.noTerminal, "no terminal to ask for the receipt; pipe it into standard input")
                }
                typed = secret.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
            } else {
                Terminal.write(2, "Receipt: ")
                guard let line = Terminal.readLine(fd: 0, limit: 1024) else {
                    throw CoreError(.invalidReceipt, "the input ended before a receipt was typed; nothing was withdrawn")
                }
                typed = line
            }
            do {
                return try Receipt.parse(typed)
            } catch let error as CoreError where error.kind == .invalidReceipt && attempt < tries {
                if !hideReceipt { printErr(SubmitterText.youTyped(Self.grouped(typed))) }
                let left = tries - attempt
                printErr(SubmitterText.notAReceipt(error.message, triesLeft: left))
            }
        }
        throw CoreError(.bug, "internal error: no receipt after \(tries) tries")
    }

    /// What was typed as a receipt shows it: letters and digits in upper case, in groups of four.
    static func grouped(_ typed: String) -> String {
        let symbols = typed.unicodeScalars.filter { $0 != "-" && $0 != " " && $0 != "\t" }.map { u -> String in
            u.isASCII ? String(u).uppercased() : displaySafe(String(u))
        }
        return stride(from: 0, to: symbols.count, by: 4).map { symbols[$0 ..< min($0 + 4, symbols.count)].joined() }.joined(separator: "-")
    }
}
