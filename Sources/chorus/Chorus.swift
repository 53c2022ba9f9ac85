import ArgumentParser
import ChorusCrypto
import ChorusSystem

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
            data (the rest of the work still done), 66 missing input, 69 a server unreachable or refusing for now, 73 cannot create (e.g. a file \
            that exists), 74 I/O error, 76 a server's answer broke the protocol, 77 permission (a secret key readable by others, a wrong passphrase).
            """,
        version: "1.0.0",
        subcommands: [
            InitCommand.self, KeygenCommand.self, KeyCommand.self, RecipientsCommand.self, SubmitCommand.self, WithdrawCommand.self, ImportCommand.self,
            BatchCommand.self, ReviewCommand.self, StatsCommand.self, VerifyCommand.self, ServeCommand.self,
        ]
    )

    /// Like ArgumentParser's own `main`, but every message it prints (usage errors quote argv, which
    /// may hold escape sequences, bidi overrides or zero-width characters) goes through
    /// `terminalSafe` first, so no input can reach the terminal raw.
    static func main() {
        do {
            var arguments = Array(CommandLine.arguments.dropFirst())
            // `chorus` or a group (`chorus recipients`) alone, or help on a topic that does not exist, is
            // a usage error (64) with the help on stderr, not help on stdout with 0.
            if arguments.first == "help" {
                let topic = Array(arguments.dropFirst())
                let (group, named) = command(named: topic)
                if named < topic.count {
                    let names = group.configuration.subcommands.compactMap { $0.configuration.commandName }.joined(separator: ", ")
                    printErr("chorus: error: there is no help topic \(displaySafe(topic.joined(separator: " "), limit: 60)); the subcommands\(group == Chorus.self ? "" : " of \(topic.prefix(named).joined(separator: " "))") are \(names)")
                    terminate(ExitStatus.usage.rawValue)
                }
            } else {
                let (named, count) = command(named: arguments)
                if count == arguments.count && !named.configuration.subcommands.isEmpty {
                    Terminal.write(2, terminalSafe(helpMessage(for: named)) + "\n")
                    terminate(ExitStatus.usage.rawValue)
                }
            }
            if let name = arguments.first, let screen = SecretArguments.commands[name] {
                let screened = screen.screen(Array(arguments.dropFirst()))
                let known = [name] + screened.known
                if let unknown = screened.unknown {
                    // argument-parser's own message (with its suggestion) for the mistyped option; and
                    // if a secret was given too, the reason it is refused.
                    SecretArguments.onlyNamingAnUnknownOption = true
                    do { _ = try parseAsRoot(known + [unknown]) } catch {
                        var text = fullMessage(for: error)
                        if text.hasPrefix("Error: ") { text = "chorus: error: " + text.dropFirst("Error: ".count) }
                        if screened.secret, let reason = SecretArguments.reasons[name] { text += "\nchorus: error: " + reason }
                        Terminal.write(2, terminalSafe(text) + "\n")
                        terminate(ExitStatus.usage.rawValue)
                    }
                    SecretArguments.onlyNamingAnUnknownOption = false
                }
                arguments = [name] + screened.arguments
            }
            let moreFiles = ImportCommand.setAsideFiles(&arguments)
            var command = try parseAsRoot(arguments)
            if var importing = command as? ImportCommand, !moreFiles.isEmpty {
                importing.files += moreFiles
                command = importing
            }
            try command.run()
        } catch {
            let code = exitCode(for: error)
            var text = fullMessage(for: error)
            // One error style for every command: argument-parser's "Error: " becomes "chorus: error: ".
            if text.hasPrefix("Error: ") { text = "chorus: error: " + text.dropFirst("Error: ".count) }
            if !text.isEmpty { Terminal.write(code == .success ? 1 : 2, terminalSafe(text) + "\n") }
            terminate(code.rawValue)
        }
    }
}

extension Chorus {
    /// The command that the first words of `words` name (the root when none does), and how many.
    static func command(named words: [String]) -> (ParsableCommand.Type, Int) {
        var current: ParsableCommand.Type = Chorus.self
        var count = 0
        for word in words {
            guard let next = current.configuration.subcommands.first(where: { $0.configuration.commandName == word }) else { break }
            current = next
            count += 1
        }
        return (current, count)
    }
}

/// A subcommand whose errors come from Chorus's modules: printed as one sentence on stderr, and the
/// process ends with the exit status of their kind (`ExitStatus(for:)`).
protocol ChorusCommand: ParsableCommand {
    func execute() throws
}

extension ChorusCommand {
    func run() throws {
        // Every command may hold a story, answers or a secret key: private files, no core dumps.
        if !ProcessProtection.harden() { warn("could not disable core dumps for this process") }
        do {
            try execute()
        } catch let error as ExitCode {
            throw error
        } catch let error as CleanExit {
            throw error
        } catch {
            fail(error)
        }
    }
}

/// Prints `chorus: error: SENTENCE` on stderr and exits with the error's status.
func fail(_ error: Error) -> Never {
    printErr("chorus: error: \(sentence(for: error))")
    terminate(ExitStatus(for: error).rawValue)
}

/// Ends the process (the global `exit`, which the members named `exit` of a command hide).
func terminate(_ status: Int32) -> Never { exit(status) }

/// Ends the process with `status` after a message was printed.
func exitWith(_ status: ExitStatus) -> ExitCode { ExitCode(status.rawValue) }

/// A warning on stderr.
func warn(_ message: String) { printErr("chorus: warning: \(message)") }

/// A line on stderr. Whatever it quotes, nothing that could steer the terminal (control characters,
/// escape sequences, bidi overrides, zero-width characters) is written raw: see `terminalSafe`.
func printErr(_ s: String) { Terminal.write(2, terminalSafe(s) + "\n") }

/// A line on stdout (data).
func printOut(_ s: String) { Terminal.write(1, s + "\n") }

/// A user-given path made safe to quote in a message (see `displaySafe`).
func shownPath(_ path: String) -> String { displaySafe(path, limit: 200) }
