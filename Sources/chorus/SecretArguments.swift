import ArgumentParser

/// The commands that refuse a secret on the command line (`submit` a story, `withdraw` a receipt)
/// look at their arguments before argument-parser does, for two reasons:
///
/// - a mistyped option (`--anwser kind=verbal`, `--bogus`) must get argument-parser's own "Unknown
///   option ... Did you mean ...?", as in every other subcommand, and not be taken for a story;
/// - a story must never be parsed as options: "-he hurt me" is, to argument-parser, `-h` (help) and
///   more, which would show the help and exit 0 instead of refusing it.
///
/// So each word is classed: a known option and its value; an unknown option (`--word` or `-x`, with
/// no spaces), whose next word is taken as its value unless it has a space; or a secret (anything
/// else: a positional word, everything after `--`). Secrets are replaced by a placeholder before
/// parsing, so the command's own `validate()` refuses them with its reason and nothing quotes them.
struct SecretArguments {
    /// Options that take a value.
    let valueOptions: Set<String>
    /// Options that take none.
    let flags: Set<String>

    init(valueOptions: Set<String>, flags: Set<String> = []) {
        self.valueOptions = valueOptions
        self.flags = flags.union(["-h", "--help", "--version"])
    }

    struct Screened {
        /// The first unknown option, as typed.
        var unknown: String?
        /// Whether some word looks like a secret given on the command line.
        var secret = false
        /// The arguments with every secret replaced by a placeholder.
        var arguments: [String] = []
        /// The known options and their values only.
        var known: [String] = []
    }

    static func optionLike(_ s: String) -> Bool {
        let u = Array(s.utf8)
        func word(_ part: ArraySlice<UInt8>) -> Bool {
            !part.isEmpty && part.allSatisfy { (0x61 ... 0x7A).contains($0 | 0x20) || (0x30 ... 0x39).contains($0) || $0 == 0x2D }
        }
        if u.count >= 3 && u[0] == 0x2D && u[1] == 0x2D { return word(u[2...].prefix { $0 != 0x3D }) }
        return u.count == 2 && u[0] == 0x2D && word(u[1...])
    }

    func screen(_ args: [String]) -> Screened {
        var out = Screened()
        var placed = false
        var i = 0
        while i < args.count {
            let a = args[i]
            let name = a.hasPrefix("--") ? String(a.prefix { $0 != "=" }) : a
            if a == "--" {
                if i + 1 < args.count && !placed { out.arguments.append(Self.placeholder) }
                out.secret = out.secret || i + 1 < args.count
                break
            } else if valueOptions.contains(name) {
                out.arguments.append(a)
                out.known.append(a)
                if name == a, i + 1 < args.count {
                    out.arguments.append(args[i + 1])
                    out.known.append(args[i + 1])
                    i += 1
                }
            } else if flags.contains(a) {
                out.arguments.append(a)
                out.known.append(a)
            } else if Self.optionLike(a) {
                if out.unknown == nil { out.unknown = a }
                if name == a, i + 1 < args.count, !args[i + 1].hasPrefix("-") {
                    if args[i + 1].contains(" ") { out.secret = true }
                    i += 1
                }
            } else {
                if !placed { out.arguments.append(Self.placeholder) }
                placed = true
                out.secret = true
            }
            i += 1
        }
        return out
    }

    /// What a secret is replaced by: one positional word, which the command's `validate()` refuses.
    static let placeholder = "secret"

    /// Set while the arguments are parsed only to get argument-parser's message for an unknown option:
    /// the guarded commands' `validate()` then says nothing (it would speak first).
    nonisolated(unsafe) static var onlyNamingAnUnknownOption = false

    /// Why each guarded command refuses a secret on the command line.
    static let reasons: [String: String] = ["submit": SubmitCommand.storyRefusal, "withdraw": WithdrawCommand.receiptRefusal]

    /// The guarded commands, by name.
    static let commands: [String: SecretArguments] = [
        "submit": SecretArguments(valueOptions: ["--store", "--out", "--to", "--proxy", "--recipients", "--org-fingerprint", "--answer", "--file", "--schema"]),
        "withdraw": SecretArguments(valueOptions: ["--store", "--to", "--proxy"], flags: ["--hide-receipt"]),
    ]
}
