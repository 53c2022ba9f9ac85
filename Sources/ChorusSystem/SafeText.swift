/// Text from outside (argv, file names, file contents, answers, stories) is never written raw to a
/// terminal. Two rules, both here:
///
/// - `displaySafe` is for a piece of input *quoted inside a message* (a path, a value, a key name):
///   it keeps printable ASCII only, doubles a backslash, and writes every other Unicode scalar as
///   `\u{XXXX}`. Quoted input is short and must be unambiguous, so look-alike letters, combining
///   marks and invisible characters are shown as what they are, not as what they resemble.
/// - `terminalSafe` is for *text meant to be read* (a story shown to a reviewer, and, as a last line
///   of defence, every line written to stderr): it keeps every printable character of every script,
///   line feeds and tabs, and writes as `\u{XXXX}` exactly the scalars that could steer or fool a
///   terminal or a reader: control characters (C0 but LF and TAB, DEL, C1: so no escape sequence),
///   format characters (bidi overrides and isolates, zero-width characters, BOM, ...), line and
///   paragraph separators, private-use, surrogate, unassigned and non-character code points.

/// `s` made safe to quote inside a message: printable ASCII (U+0020...U+007E) is kept, a backslash
/// becomes `\\`, every other Unicode scalar becomes `\u{XXXX}` (upper-case hex, at least 4 digits).
/// At most `limit` scalars of `s` are shown; a longer string ends in `...`. Always printable ASCII.
public func displaySafe(_ s: String, limit: Int = 64) -> String {
    var out = ""
    var shown = 0
    for u in s.unicodeScalars {
        if shown == max(limit, 0) {
            out += "..."
            break
        }
        switch u.value {
        case 0x5C: out += "\\\\"
        case 0x20 ... 0x7E: out.unicodeScalars.append(u)
        default: out += escapedScalar(u)
        }
        shown += 1
    }
    return out
}

/// `s` with every scalar that could steer or fool a terminal written as `\u{XXXX}` (the rule above);
/// everything else, including a backslash and printable non-ASCII text, is kept as it is.
public func terminalSafe(_ s: String) -> String {
    guard s.unicodeScalars.contains(where: mustEscapeForTerminal) else { return s }
    var out = String.UnicodeScalarView()
    for u in s.unicodeScalars {
        if mustEscapeForTerminal(u) {
            out.append(contentsOf: escapedScalar(u).unicodeScalars)
        } else {
            out.append(u)
        }
    }
    return String(out)
}

/// Whether `terminalSafe` escapes `u`.
public func mustEscapeForTerminal(_ u: Unicode.Scalar) -> Bool {
    if u.value == 0x0A || u.value == 0x09 { return false }
    if u.properties.isNoncharacterCodePoint { return true }
    switch u.properties.generalCategory {
    case .control, .format, .lineSeparator, .paragraphSeparator, .privateUse, .surrogate, .unassigned: return true
    default: return false
    }
}

/// A scalar written as `\u{XXXX}` (upper-case hex, at least 4 digits): printable ASCII that names it.
public func escapedScalar(_ u: Unicode.Scalar) -> String {
    let hex = String(u.value, radix: 16, uppercase: true)
    return "\\u{" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex + "}"
}

/// `&`, `<`, `>`, `"` and `'` as character references, everything else as it is: safe in HTML text
/// and in quoted attribute values (the HTML report and the intake's pages).
public func htmlEscaped(_ s: String) -> String {
    var out = ""
    out.reserveCapacity(s.utf8.count)
    for ch in s.unicodeScalars {
        switch ch {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&#39;"
        default: out.unicodeScalars.append(ch)
        }
    }
    return out
}

extension String {
    /// Without U+0020 at either end (what a person may type around a short answer).
    public var trimmingSpaces: String {
        var s = Substring(self)
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return String(s)
    }
}
