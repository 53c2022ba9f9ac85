import ChorusCore
import ChorusIntake
import ChorusSystem

/// `--to URL [--proxy socks5h://…]` of `submit` and `withdraw`: the intake client, run from a
/// synchronous command, with the rules about where it may connect.
struct Remote {
    let client: IntakeClient

    init(to: String, proxy: String?) throws {
        let address = try IntakeAddress(parsing: to)
        let socks = try proxy.map { try SOCKSProxy(parsing: $0) }
        if address.isOnion && socks == nil {
            throw IntakeError(.usage, "\(displaySafe(address.host)) is an onion address, reached only through Tor: add --proxy socks5h://127.0.0.1:9050 (Tor's SOCKS port)")
        }
        if socks == nil && !address.isLoopback {
            warn("connecting to \(displaySafe(address.host)) directly: only the sealed envelope is sent, but the server and the network see this machine's address; use the organisation's onion address through Tor (--proxy) to hide it")
        }
        client = IntakeClient(address: address, proxy: socks)
    }

    func close() {
        let client = self.client
        _ = try? runBlocking { await client.shutdown() }
    }

    /// The server's signed recipients, parsed and checked (signature, form); which organisation key
    /// signed them is for `OrganisationOptions.trust` to say.
    func recipients() throws -> (signed: SignedRecipients, maxStoryBytes: Int?) {
        let client = self.client
        let (bytes, limit) = try runBlocking { try await client.recipients() }
        let signed = try SignedRecipients.parse(bytes, source: "the recipients sent by \(displaySafe(client.address.url("")))")
        if let limit, !(1 ... Story.maxBytesCountedPastLimit).contains(limit) {
            throw IntakeError(.badAnswer, "the server at \(displaySafe(client.address.url(""))) gave a story limit of \(limit) bytes, which no store has")
        }
        return (signed, limit)
    }

    /// Posts the envelope (tried three times when the connection fails). At a terminal, a failure
    /// asks whether to try again, so that a story typed there is not lost.
    func send(_ envelope: [UInt8], askToRetry: Bool) throws {
        let client = self.client
        while true {
            do {
                try runBlocking { try await client.send(envelope: envelope) }
                return
            } catch let error as IntakeError where askToRetry && error.kind != .usage {
                printErr("chorus: error: \(error.message)")
                Terminal.write(2, "Your story is sealed but was not sent. Press Enter to try again, or type q and Enter to give up (nothing is kept).\n> ")
                guard let line = Terminal.readLine(fd: 0, limit: 64), line.trimmingSpaces.lowercased() != "q" else {
                    throw CoreError(.cancelled, "the story was not sent, and nothing was kept")
                }
            }
        }
    }

    func withdraw(_ receipt: Receipt) throws {
        let client = self.client
        try runBlocking { try await client.withdraw(receipt: receipt.text) }
    }
}
