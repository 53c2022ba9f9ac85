import ChorusCore
import ChorusFormat
import ChorusSystem

/// Rendering opened entries for a reviewer, safely: story text goes through `terminalSafe`, which
/// keeps every printable character of every script but shows control characters (escape sequences
/// that could drive the reviewer's terminal), bidirectional overrides and zero-width characters as
/// visible `\u{XXXX}` escapes.
public enum ReviewText {
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
