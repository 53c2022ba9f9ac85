import ChorusCore
import ChorusCrypto
import ChorusSystem
import HTTPTypes

/// The pages of the submission form: plain HTML that works with JavaScript off (no script at all),
/// with one stylesheet from the same server, readable on a phone (one column, large targets) and
/// with a screen reader (a fieldset and legend per question, labels on every control). Every text
/// from outside the code (the questionnaire's labels and values) goes through `escape`.
public enum Pages {
    /// The field of the form that carries the story.
    public static let storyField = "story"

    /// `&`, `<`, `>`, `"` and `'` as character references; everything else as it is.
    public static func escape(_ text: String) -> String { htmlEscaped(text) }

    static func page(title: String, _ body: String) -> String {
        """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="referrer" content="no-referrer">
        <title>\(escape(title))</title>
        <link rel="stylesheet" href="/style.css">
        </head>
        <body>
        <main>
        \(body)
        </main>
        </body>
        </html>

        """
    }

    /// What the submitter chose before a form came back with a problem, to fill it in again.
    public struct Filled: Sendable {
        public var values: [String: Set<String>] = [:]
        public var year: [String: String] = [:]
        public init() {}
    }

    /// The submission form for `schema`. With `problem`, the sentence shown above it (the form came
    /// back), `filled` the choices made, and `story` the story as it was sent, filled in again so that
    /// nothing is lost (a copy outside guarded memory, as the page itself is).
    public static func form(schema: Schema, reviewers: [RecipientKey], maxStoryBytes: Int, currentYear: Int, problem: String? = nil,
                            filled: Filled = Filled(), story: String? = nil) -> String {
        var b = "<h1>Chorus</h1>\n"
        for p in SubmitterText.webIntroduction { b += "<p>\(escape(p))</p>\n" }
        if let problem {
            b += "<div class=\"problem\" role=\"alert\"><p>\(escape(SubmitterText.webNotSent))</p><p><strong>\(escape(problem))</strong></p></div>\n"
        }
        b += "<form method=\"post\" action=\"/submit\" accept-charset=\"utf-8\" autocomplete=\"off\">\n"
        for (index, field) in schema.fields.enumerated() {
            let id = escape(field.id)
            b += "<fieldset>\n<legend>\(index + 1). \(escape(field.label))"
            if !field.required && !field.label.lowercased().contains("optional") {
                b += " <span class=\"hint\">\(escape(SubmitterText.webOptional))</span>"
            }
            b += "</legend>\n"
            if field.id == "consent" {
                b += "<p>\(escape(SubmitterText.webConsentPreamble))</p>\n<ul class=\"reviewers\">\n"
                for key in reviewers where key.role == .reviewer {
                    b += "<li>\(escape(key.name ?? "(unnamed)")) <span class=\"hint\">(key \(escape(key.fingerprint)))</span></li>\n"
                }
                b += "</ul>\n"
            }
            switch field.kind {
            case .single, .multiple:
                let type = field.kind == .single ? "radio" : "checkbox"
                let chosen = filled.values[field.id] ?? []
                for (n, value) in (field.values ?? []).enumerated() {
                    let control = "f-\(id)-\(n)"
                    let required = field.required && field.kind == .single && n == 0 ? " required" : ""
                    let checked = chosen.contains(value) ? " checked" : ""
                    b += "<div class=\"choice\"><input type=\"\(type)\" id=\"\(control)\" name=\"\(id)\" value=\"\(escape(value))\"\(required)\(checked)>"
                    b += " <label for=\"\(control)\">\(escape(SubmitterText.shown(value)))"
                    if let explanation = SubmitterText.explanation(field: field.id, value: value) {
                        b += "<br><span class=\"hint\">\(escape(explanation))</span>"
                    }
                    b += "</label></div>\n"
                }
            case .year:
                let first = field.min ?? Schema.earliestYear
                let control = "f-\(id)"
                b += "<label for=\"\(control)\" class=\"hint\">\(escape(SubmitterText.webYearHint(first: first, last: currentYear)))</label>\n"
                b += "<input type=\"text\" inputmode=\"numeric\" pattern=\"[0-9]{4}\" maxlength=\"4\" size=\"6\" id=\"\(control)\" name=\"\(id)\""
                b += " value=\"\(escape(filled.year[field.id] ?? ""))\"\(field.required ? " required" : "")>\n"
            }
            b += "</fieldset>\n"
        }
        b += "<fieldset>\n<legend>\(schema.fields.count + 1). \(escape("Your story"))</legend>\n"
        b += "<label for=\"f-story\">\(escape(SubmitterText.webStoryLabel(maxBytes: maxStoryBytes)))</label>\n"
        b += "<textarea id=\"f-story\" name=\"\(storyField)\" rows=\"16\" required>"
        if let story { b += escape(story) }
        b += "</textarea>\n</fieldset>\n"
        b += "<p><button type=\"submit\">\(escape(SubmitterText.webSubmit))</button></p>\n</form>\n"
        return page(title: "Chorus: tell what happened", b)
    }

    /// The page that shows the receipt, once.
    public static func receipt(_ receipt: Receipt) -> String {
        var b = "<h1>\(escape(SubmitterText.webSealedHeading))</h1>\n"
        b += "<p>\(escape(SubmitterText.webReceiptIntro))</p>\n"
        b += "<p class=\"receipt\"><code id=\"receipt\">\(escape(receipt.text))</code></p>\n"
        b += "<p>\(escape(SubmitterText.webKeepTheReceipt))</p>\n"
        return page(title: "Chorus: your receipt", b)
    }

    /// The page for withdrawing a story with its receipt (`GET /withdraw`), with a problem above
    /// the form when the receipt typed was not one.
    public static func withdrawForm(problem: String? = nil) -> String {
        var b = "<h1>\(escape(SubmitterText.webWithdrawHeading))</h1>\n<p>\(escape(SubmitterText.webWithdrawIntro))</p>\n"
        if let problem { b += "<div class=\"problem\" role=\"alert\"><p><strong>\(escape(problem))</strong></p></div>\n" }
        b += "<form method=\"post\" action=\"/withdraw\" accept-charset=\"utf-8\" autocomplete=\"off\">\n"
        b += "<p><label for=\"f-receipt\">\(escape(SubmitterText.webWithdrawReceiptLabel))</label><br>\n"
        b += "<input type=\"text\" id=\"f-receipt\" name=\"receipt\" size=\"40\" maxlength=\"100\" autocapitalize=\"characters\" spellcheck=\"false\" required></p>\n"
        b += "<p><button type=\"submit\">\(escape(SubmitterText.webWithdrawButton))</button></p>\n</form>\n"
        return page(title: "Chorus: withdraw your story", b)
    }

    /// The answer to a withdrawal: the same page whether or not the story was there.
    public static func withdrawn() -> String {
        page(title: "Chorus: withdrawn", "<h1>\(escape(SubmitterText.webWithdrawHeading))</h1>\n<p>\(escape(SubmitterText.withdrawnRemotely))</p>\n")
    }

    /// An error page: one heading and one sentence, the same for every visitor.
    public static func error(status: Int, _ sentence: String) -> String {
        page(title: "Chorus: \(status)", "<h1>\(escape(HTTPResponse.Status(code: status).reasonPhrase))</h1>\n<p>\(escape(sentence))</p>\n")
    }

    /// The one stylesheet (`GET /style.css`).
    public static let stylesheet = """
        body { margin: 0; font: 1.1rem/1.5 system-ui, sans-serif; color: #111; background: #fff; }
        main { max-width: 40rem; margin: 0 auto; padding: 1rem; }
        fieldset { border: 1px solid #888; border-radius: 4px; margin: 1.25rem 0; padding: 0.75rem 1rem; }
        legend { font-weight: bold; padding: 0 0.25rem; }
        h1 { font-size: clamp(1.5rem, 6vw, 2rem); }
        .choice { margin: 0.5rem 0; display: flex; align-items: flex-start; gap: 0.5rem; }
        .choice input { flex: none; width: 1.3rem; height: 1.3rem; margin-top: 0.2rem; }
        .hint { color: #444; font-size: 0.95rem; }
        textarea { width: 100%; box-sizing: border-box; font: inherit; }
        input[type=text] { font: inherit; }
        button { font: inherit; padding: 0.6rem 1.2rem; }
        .problem { border: 2px solid #a00; padding: 0 1rem; margin: 1rem 0; }
        .receipt code { font-size: clamp(1rem, 4.5vw, 1.4rem); white-space: nowrap; }
        :focus { outline: 3px solid #06c; outline-offset: 2px; }

        """
}
