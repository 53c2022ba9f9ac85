import Foundation
import Testing
@testable import ChorusStats

@Suite struct RenderTests {
    static let setting = Tables.dimension("setting", ["workplace", "education", "online", nil])
    static let oneField = try! CountTable(dimension: setting, counts: [12, 3, 0, 9], entries: 24)
    static let report = Tables.publish(oneField)

    static let roles = Tables.dimension("role", ["boss", "peer"])
    static let twoFields = try! CountTable(rows: roles, columns: Tables.dimension("reported", ["yes", "no"]),
                                           cells: [[7, 2], [9, 8]], rowTotals: [9, 17], columnTotals: [16, 10], entries: 26)

    @Test func textTableOfOneField() {
        #expect(Self.report.textTable() == """
        Entries by Setting

        24 entries.

        Setting         Entries  Share
        --------------  -------  -----
        workplace            12    50%
        education            <5
        online               <5
        (not answered)        9    38%
        --------------  -------  -----
        All                  24   100%

        Note: Counts under 5 are hidden and shown as "<5" (fewer than 5, possibly none).

        """)
    }

    /// boss/no = 2 is hidden; each of its row and column needs a partner and the four cells
    /// close a cycle, so all four are hidden and the totals stay.
    @Test func textAndCSVOfTwoFields() {
        let r = Tables.publish(Self.twoFields)
        #expect(r.textTable() == """
        Entries by Role and Reported

        26 entries.

        Role \\ Reported  yes  no  All
        ---------------  ---  --  ---
        boss               x  <5    9
        peer               x   x   17
        ---------------  ---  --  ---
        All               16  10   26

        Note: Counts under 5 are hidden and shown as "<5" (fewer than 5, possibly none).
        Note: "x" marks a count of 5 or more hidden so that no "<5" can be worked out from the totals.

        """)
        // The table only: the notes go elsewhere.
        #expect(r.csv() == "Role \\ Reported,yes,no,All\r\nboss,x,<5,9\r\npeer,x,x,17\r\nAll,16,10,26\r\n")
        #expect(BruteForce(report: r, counts: Self.twoFields).leaks() == [])
    }

    @Test func csvQuotesFieldsThatNeedIt() {
        #expect(StatsReport.csvField("plain") == "plain")
        #expect(StatsReport.csvField("a,b") == "\"a,b\"")
        #expect(StatsReport.csvField("say \"hi\"") == "\"say \"\"hi\"\"\"")
        #expect(StatsReport.csvField("two\nlines") == "\"two\nlines\"")
        #expect(StatsReport.csvField("cr\r\nlf") == "\"cr\r\nlf\"")
    }

    @Test func jsonOfOneField() {
        #expect(Self.report.json() == """
        {
          "format": "chorus-stats",
          "version": 1,
          "outcome": "published",
          "fields": [
            {
              "id": "setting",
              "label": "Setting",
              "multi_valued": false,
              "categories_from_data": false,
              "values": ["workplace", "education", "online", null]
            }
          ],
          "parameters": {"min_count": 5, "epsilon": null, "noisy": false, "sensitivity": null},
          "entries": {"count": 24},
          "cells": [{"count": 12}, {"suppressed": true, "fewer_than": 5}, {"suppressed": true, "fewer_than": 5}, {"count": 9}],
          "notes": ["Counts under 5 are hidden and shown as \\"<5\\" (fewer than 5, possibly none)."]
        }

        """)
    }

    @Test func jsonIsMachineReadable() throws {
        let object = try #require(JSONSerialization.jsonObject(with: Data(Self.report.json().utf8)) as? [String: Any])
        #expect(object["format"] as? String == "chorus-stats")
        #expect(object["outcome"] as? String == "published")
        let parameters = try #require(object["parameters"] as? [String: Any])
        #expect(parameters["min_count"] as? Int == 5)
        #expect(parameters["epsilon"] is NSNull)
        #expect(parameters["noisy"] as? Bool == false)
        let field = try #require((object["fields"] as? [[String: Any]])?.first)
        #expect(field["id"] as? String == "setting")
        #expect(field["multi_valued"] as? Bool == false)
        #expect((field["values"] as? [Any])?.last is NSNull)
        let cells = try #require(object["cells"] as? [[String: Any]])
        #expect(cells[0]["count"] as? Int == 12)
        #expect(cells[1]["suppressed"] as? Bool == true && cells[1]["fewer_than"] as? Int == 5)
        #expect(cells[1]["count"] == nil)
        #expect((object["entries"] as? [String: Any])?["count"] as? Int == 24)

        let two = try #require(JSONSerialization.jsonObject(with: Data(Tables.publish(Self.twoFields).json().utf8)) as? [String: Any])
        let rows = try #require(two["cells"] as? [[[String: Any]]])
        #expect(rows.count == 2 && rows[0].count == 2)
        #expect(rows[0][0]["at_least"] as? Int == 5)
        #expect((two["row_totals"] as? [[String: Any]])?.map { $0["count"] as? Int } == [9, 17])

        let few = Tables.publish(Tables.oneField([1, 2]))
        let fewObject = try #require(JSONSerialization.jsonObject(with: Data(few.json().utf8)) as? [String: Any])
        #expect(fewObject["outcome"] as? String == "fewer_than_min_count")
        #expect((fewObject["entries"] as? [String: Any])?["fewer_than"] as? Int == 5)
        #expect(fewObject["cells"] == nil)
        #expect(!few.json().contains("\"count\""))

        let withheld = Tables.publish(Tables.oneField([1, 1]), k: 2)
        #expect(withheld.json().contains("\"outcome\": \"withheld\""))
        #expect(!withheld.json().contains("\"cells\""))
    }

    @Test func jsonEscapesStrings() {
        // Strings go through the one escaper, ChorusFormat's JSONString.
        #expect(JSONValue.string("a\"b\\c\nd\u{1}").text(indent: nil) == "\"a\\\"b\\\\c\\nd\\u0001\"")
    }

    /// Hostile labels and values end up as text, never as markup, and the page loads nothing.
    @Test func htmlEscapesDataAndIsSelfContained() throws {
        let evil = try CountTable.Dimension(fieldID: "f", label: "<b>Label</b> & \"co\"",
                                            values: ["<script>alert(1)</script>", "x\" onmouseover=\"alert(2)", "it's", nil])
        let t = try CountTable(dimension: evil, counts: [10, 2, 7, 1], entries: 20)
        let html = Tables.publish(t).html()
        #expect(!html.contains("<script"))
        #expect(!html.contains("<b>"))
        #expect(!html.contains("onmouseover=\""))
        #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        #expect(html.contains("x&quot; onmouseover=&quot;alert(2)"))
        #expect(html.contains("it&#39;s"))
        #expect(html.contains("&lt;b&gt;Label&lt;/b&gt; &amp; &quot;co&quot;"))
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(html.contains("Content-Security-Policy"))
        #expect(html.contains("@media print"))
        for external in ["src=", "href=", "@import", "url(http", "<link", "<script", "<iframe"] { #expect(!html.contains(external)) }
        // The only URL is the SVG namespace, which is never fetched.
        #expect(html.components(separatedBy: "http://").count - 1 == 1)
        #expect(html.contains("xmlns=\"http://www.w3.org/2000/svg\""))
        #expect(!html.contains("https://"))
    }

    @Test func htmlChartsOnePerFieldWithHatchedHiddenBars() {
        let html = Tables.publish(Self.twoFields).html()
        #expect(html.components(separatedBy: "<svg ").count - 1 == 2)
        #expect(html.contains("<title id=\"chart-1-title\">Entries by Role</title>"))
        #expect(html.contains("<desc id=\"chart-2-desc\">yes: 16; no: 10</desc>"))
        let one = Self.report.html()
        #expect(one.components(separatedBy: "<svg ").count - 1 == 1)
        #expect(one.contains("fill=\"url(#chart-1-hatch)\""))
        #expect(one.contains("<title>education: fewer than 5 (hidden)</title>"))
        #expect(one.contains(">&lt;5</text>"))
    }

    /// `--by setting --by role,reported`: one output holding both tables.
    @Test func severalReportsInOneOutput() throws {
        let reports = [Self.report, Tables.publish(Self.twoFields)]
        let html = StatsReport.rendered(reports, as: .html)
        #expect(html.components(separatedBy: "<!DOCTYPE html>").count - 1 == 1)
        #expect(html.components(separatedBy: "<section>").count - 1 == 2)
        for id in ["t1-chart-1", "t2-chart-1", "t2-chart-2"] { #expect(html.contains("id=\"\(id)-title\"")) }
        #expect(!html.contains("id=\"chart-1"))
        let array = try #require(JSONSerialization.jsonObject(with: Data(StatsReport.rendered(reports, as: .json).utf8)) as? [[String: Any]])
        #expect(array.map { $0["outcome"] as? String } == ["published", "published"])
        #expect(StatsReport.rendered(reports, as: .table) == reports[0].textTable() + "\n" + reports[1].textTable())
        // Several tables: one long table with a column naming the table.
        let long = StatsReport.rendered(reports, as: .csv).components(separatedBy: "\r\n").dropLast()
        #expect(long.first == "table,row,column,count")
        #expect(long.dropFirst().allSatisfy { $0.hasPrefix(reports[0].title + ",") || $0.hasPrefix(reports[1].title + ",") })
    }

    @Test func notesSayWhatTheNumbersAre() throws {
        var tab = try Tabulator(by: [Schema.kind])
        for _ in 0..<40 { try tab.add(StatsRecord(answers: ["kind": ["verbal", "online"]], arrivalMonth: "2025-01")) }
        var rng = SplitMix64(seed: 1)
        let r = try Disclosure.publish(tab.counts(), policy: DisclosurePolicy(epsilon: Epsilon(parsing: "0.5")), random: &rng)
        // CSV holds the table only (chorus stats writes the notes to stderr beside it).
        for format in ReportFormat.allCases where format != .csv {
            let text = r.rendered(as: format)
            #expect(text.contains("epsilon = 0.5"), "\(format)")
            #expect(text.contains("noisy"), "\(format)")
            #expect(text.contains("counts once for each"), "\(format)")
        }
        let json = try #require(JSONSerialization.jsonObject(with: Data(r.json().utf8)) as? [String: Any])
        #expect((json["parameters"] as? [String: Any])?["noisy"] as? Bool == true)
        #expect((json["parameters"] as? [String: Any])?["sensitivity"] as? Int == 10)
        #expect(((json["fields"] as? [[String: Any]])?.first?["multi_valued"]) as? Bool == true)
    }
}
