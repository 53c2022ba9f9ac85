import ArgumentParser
import ChorusCore
import ChorusCrypto

#if canImport(Glibc)
import Glibc
#endif

@main
struct Chorus: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chorus",
        abstract: "An anonymous disclosure store: stories sealed before they touch the disk.",
        discussion: """
            Submitters seal a story and a few answers to the reviewers' public keys; the store keeps only \
            sealed envelopes; reviewers open batches on their own machine; analysts publish counts that \
            never single anyone out. Exit codes follow sysexits: 0 success, 64 usage, 65 bad or tampered \
            data, 66 missing input, 74 I/O error, 77 permission.
            """,
        version: "1.0.0",
        subcommands: [
            InitCommand.self, KeygenCommand.self, SubmitCommand.self, WithdrawCommand.self, ImportCommand.self,
            BatchCommand.self, ReviewCommand.self, StatsCommand.self, VerifyCommand.self,
        ]
    )
}

/// A subcommand whose errors are ChorusErrors: printed as one sentence on stderr, exit with their status.
protocol ChorusCommand: ParsableCommand {
    func execute() throws
}

extension ChorusCommand {
    func run() throws {
        // Every command may hold a story, answers or a secret key: private files, no core dumps.
        if !ProcessProtection.harden() { warn("could not disable core dumps for this process") }
        do {
            try execute()
        } catch let error as ChorusError {
            fail(error)
        } catch let error as ExitCode {
            throw error
        } catch let error as CleanExit {
            throw error
        } catch {
            fail(ChorusError(.software, "unexpected error: \(error)"))
        }
    }
}

/// Prints `chorus: error: MESSAGE` on stderr and exits with the error's status.
func fail(_ error: ChorusError) -> Never {
    printErr("chorus: error: \(error.message)")
    exit(error.status.rawValue)
}

/// A warning on stderr.
func warn(_ message: String) { printErr("chorus: warning: \(message)") }

/// A line on stderr.
func printErr(_ s: String) { Terminal.writeAll(2, s + "\n") }

/// A line on stdout (data).
func printOut(_ s: String) { Terminal.writeAll(1, s + "\n") }
