import ArgumentParser
import ChorusCore
import ChorusCrypto
import ChorusFormat
import ChorusStore
import ChorusSystem

#if canImport(Glibc)
import Glibc
#endif

struct ImportCommand: ChorusCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import envelopes made with `submit --out` into a store.",
        discussion: "Each file's structure is checked (no key is needed); good envelopes are stored durably under their id, exact duplicates are skipped, and each bad file is reported by name while the rest go on (exit 65)."
    )

    @Option(help: "The store to import into.")
    var store: String

    @Argument(help: "Envelope files.")
    var files: [String]

    func validate() throws {
        if files.isEmpty { throw ValidationError("give at least one envelope file to import") }
    }

    /// swift-argument-parser takes time quadratic in the number of values of an array argument (each
    /// value merges the origins of all the values before it): 10,000 envelope paths took 4 s to parse.
    /// For `import`, every envelope path after the first is taken out of `arguments` before parsing and
    /// returned, in order, to be appended to `files` after: the parser still sees the options, `--`,
    /// and one path (so its checks and messages are unchanged). Paths are the arguments that are not
    /// options (`-…`) or the value of `--store`, and everything after `--`.
    static func setAsideFiles(_ arguments: inout [String]) -> [String] {
        guard arguments.first == "import" else { return [] }
        var kept = ["import"], files: [String] = []
        var i = 1, keptOnePath = false
        while i < arguments.count {
            let a = arguments[i]
            if a == "--" {
                let rest = arguments[(i + 1)...]
                kept.append(a)
                if !keptOnePath, let first = rest.first {
                    kept.append(first)
                    files += rest.dropFirst()
                } else {
                    files += rest
                }
                break
            }
            if a == "--store" {
                kept.append(a)
                if i + 1 < arguments.count { kept.append(arguments[i + 1]) }
                i += 2
                continue
            }
            if a.hasPrefix("-") || !keptOnePath {
                kept.append(a)
                if !a.hasPrefix("-") { keptOnePath = true }
            } else {
                files.append(a)
            }
            i += 1
        }
        arguments = kept
        return files
    }

    func execute() throws {
        let target = try Store.open(at: store)
        var imported = 0, duplicates = 0, withdrawn = 0, bad = 0
        var worst = ExitStatus.success
        for path in files {
            do {
                let bytes = try InputFile.read(path, limit: EnvelopeFormat.maximumLength, what: "envelope")
                switch try target.publish(envelope: bytes, removingLeftovers: false) {
                case .published: imported += 1
                case .duplicate: duplicates += 1; printErr("\(shownPath(path)): already in the store; skipped")
                case .withdrawn: withdrawn += 1; printErr("\(shownPath(path)): this entry was withdrawn; skipped")
                }
            } catch {
                bad += 1
                printErr("chorus: error: \(shownPath(path)): \(sentence(for: error))")
                let status = ExitStatus(for: error)
                if status == .ioError || status == .permission { worst = status } else if worst == .success { worst = status }
            }
        }
        target.removeLeftovers()
        printErr("imported \(imported), skipped \(duplicates) duplicate(s) and \(withdrawn) withdrawn, \(bad) bad")
        if worst != .success { throw exitWith(worst) }
    }
}
