import ChorusFormat

/// Rendering opened entries for a reviewer, safely: story text keeps every printable character of
/// every script, but control characters (escape sequences that could drive the reviewer's terminal),
/// bidirectional overrides and zero-width characters are shown as visible `\u{XXXX}` escapes.
public enum ReviewText {
    /// Whether a scalar is shown escaped in terminal text.
    static func mustEscape(_ u: Unicode.Scalar) -> Bool {
        switch u.value {
        case 0x0A, 0x09: return false                      // newline and tab stay
        case 0x00 ... 0x1F, 0x7F ... 0x9F: return true       // C0, DEL, C1 controls (ESC, CSI, OSC…)
        case 0x200B ... 0x200F, 0x2028 ... 0x202E, 0x2060 ... 0x2069, 0xFEFF, 0xFFF9 ... 0xFFFB: return true
        default: return false
        }
    }

    /// `s` with every dangerous scalar escaped.
    public static func terminalSafe(_ s: String) -> String {
        var out = String.UnicodeScalarView()
        for u in s.unicodeScalars {
            if mustEscape(u) {
                out.append(contentsOf: escapedScalar(u).unicodeScalars)
            } else {
                out.append(u)
            }
        }
        return String(out)
    }

    /// Whether the submitter asked that the story be used for counts only (never quoted).
    public static func isCountsOnly(_ answers: AnswersText) -> Bool {
        answers.fields["consent"] != ["quote-anonymously"]
    }

    /// A readable block for one story: the answers in the schema's order (labels from the schema when it
    /// is known), the arrival month, a flag when it must not be quoted, then the story.
    public static func block(answers: AnswersText, story: String?, schema: Schema?) -> String {
        var lines: [String] = []
        let order = (schema?.fields.map(\.id) ?? []) + answers.fields.keys.sorted().filter { id in !(schema?.fields.contains { $0.id == id } ?? false) }
        lines.append("arrived:   \(answers.arrivalMonth)")
        for id in order {
            guard let values = answers.fields[id] else { continue }
            lines.append("\(id): \(values.joined(separator: ", "))")
        }
        if isCountsOnly(answers) {
            lines.append("!! consent: counts-only. Read it, but do NOT quote this story anywhere.")
        }
        var text = lines.joined(separator: "\n") + "\n"
        if let story {
            text += "\n" + terminalSafe(story) + (story.hasSuffix("\n") ? "" : "\n")
        } else {
            text += "\n(story not shown: it needs a reviewer key)\n"
        }
        return text
    }
}
