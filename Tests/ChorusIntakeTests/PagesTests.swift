import ChorusCore
import ChorusCrypto
@testable import ChorusIntake
import Testing

@Suite struct PagesTests {
    @Test func everyTextFromTheQuestionnaireIsEscaped() {
        let hostile = Schema(fields: [
            Schema.Field(id: "kind", label: "<script>alert(1)</script> & \"q\" 'a'", kind: .single, values: ["a-b"], required: true),
        ])
        let page = Pages.form(schema: hostile, reviewers: [], maxStoryBytes: 100, currentYear: 2026, problem: "<img src=x>",
                              story: "</textarea><script>x</script>")
        #expect(!page.contains("<script") && !page.contains("<img") && !page.contains("</textarea><"))
        #expect(page.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;q&quot; &#39;a&#39;"))
        #expect(Pages.escape("a<>&\"'b") == "a&lt;&gt;&amp;&quot;&#39;b")
    }

    @Test func theBuiltInQuestionnaireBecomesAFormWithALabelForEveryControl() {
        let page = Pages.form(schema: .builtIn, reviewers: [], maxStoryBytes: 65536, currentYear: 2026)
        for field in Schema.builtIn.fields {
            #expect(page.contains("name=\"\(field.id)\""), "\(field.id)")
            for (n, value) in (field.values ?? []).enumerated() {
                #expect(page.contains("id=\"f-\(field.id)-\(n)\" name=\"\(field.id)\" value=\"\(value)\""))
                #expect(page.contains("<label for=\"f-\(field.id)-\(n)\">"))
            }
        }
        #expect(page.components(separatedBy: "<fieldset>").count == Schema.builtIn.fields.count + 2, "one fieldset per question and the story")
        #expect(page.contains("<textarea id=\"f-story\" name=\"story\"") && page.contains("<label for=\"f-story\">"))
        #expect(page.contains("action=\"/submit\"") && !page.contains("<script"))
        #expect(!page.contains("(optional) (you may skip"), "the label's own (optional) is not said twice")
    }

    @Test func theReceiptPageShowsTheReceiptOnce() {
        let receipt = Receipt.generate()
        let page = Pages.receipt(receipt)
        #expect(page.components(separatedBy: receipt.text).count == 2)
    }
}
