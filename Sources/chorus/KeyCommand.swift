import ArgumentParser
import ChorusCore

struct KeyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "key",
        abstract: "Show what a key file is.",
        subcommands: [KeyShowCommand.self]
    )
}

struct KeyShowCommand: ChorusCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Print a key's fingerprint, role and name.",
        discussion: """
            For a public key file (.pub) or a secret key file, one line per file on stdout: the \
            fingerprint, the role and the name, as keygen and recipients list print them. A secret key \
            file shows them without its passphrase (they are authenticated only when it is unlocked). \
            Compare fingerprints with the key's owner over a channel you trust.
            """
    )

    @Argument(help: "Public or secret key files.")
    var files: [String]

    func validate() throws {
        if files.isEmpty { throw ValidationError("give at least one key file") }
    }

    func execute() throws {
        for file in files { printOut(try KeyFiles.describe(file).line) }
    }
}
