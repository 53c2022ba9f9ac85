import ChorusCore
import ChorusCrypto
import ChorusFormat
import Foundation
import Testing

/// The numbers of a row of `--format table` output whose label is `label` (without the share
/// column of a one-field table: `tableShare` reads it).
func tableRow(_ out: String, _ label: String) -> [String]? {
    for line in out.split(separator: "\n") where line.hasPrefix(label + " ") {
        return line.dropFirst(label.count).split(separator: " ").map(String.init).filter { !$0.hasSuffix("%") }
    }
    return nil
}

/// The share column of a row of a one-field `--format table` output, if shown.
func tableShare(_ out: String, _ label: String) -> String? {
    for line in out.split(separator: "\n") where line.hasPrefix(label + " ") {
        return line.split(separator: " ").last.map(String.init).flatMap { $0.hasSuffix("%") ? $0 : nil }
    }
    return nil
}

/// Every run of digits in `s`.
func digitRuns(in s: String) -> [String] {
    s.split(whereSeparator: { !$0.isNumber }).map(String.init)
}

/// `s` without the dates (`YYYY-MM-DD`) a report says it was made on.
func withoutDates(_ s: String) -> String {
    s.replacingOccurrences(of: #"[0-9]{4}-[0-9]{2}-[0-9]{2}"#, with: "DATE", options: .regularExpression)
}

func jsonObject(_ r: Run) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], "\(r)")
}

@Suite struct StatsCLITests {
    /// `--by setting` over the fixture: workplace 8, education 6, home 1. Home is hidden as `<5`,
    /// and so is one more category (else home would be 15 - 8 - 6): the suppressor may pick an
    /// empty one. That leaves home 0 or 1 only, a range of 1, which the joint audit refuses (a
    /// hidden number must range over at least 2 values): it hides education (6) as `x` too, and
    /// home may then be 0 to 2. `--by consent`, quote-anonymously 2 of 15: the only other count, 13, must be
    /// hidden too, as `x`. The same in every format, with the analyst's key and the reviewer's.
    @Test func suppressionInEveryFormatWithAnalystAndReviewerKeys() throws {
        let (cli, fx) = try Fixture.copy()
        let analyst = try cli.run(["stats"] + anaKeyArgs + [fx.batch, "--by", "setting"])
        #expect(analyst.status == 0, "\(analyst)")
        #expect(analyst.problems.isEmpty, "\(analyst.stderr)")
        #expect(tableRow(analyst.stdout, "workplace") == ["8"])
        #expect(tableRow(analyst.stdout, "education") == ["x"])
        // Shares of the entries beside the counts shown, none beside a hidden one.
        #expect(tableShare(analyst.stdout, "workplace") == "53%" && tableShare(analyst.stdout, "All") == "100%")
        #expect(tableShare(analyst.stdout, "education") == nil && tableShare(analyst.stdout, "home") == nil)
        #expect(tableRow(analyst.stdout, "home") == ["<5"])
        #expect(tableRow(analyst.stdout, "All") == ["15"])
        let settings = ["entertainment", "healthcare", "hospitality", "public-space", "online", "other"]
        #expect(settings.compactMap { tableRow(analyst.stdout, $0) }.filter { $0 == ["<5"] }.count == 1, "exactly one complement")
        #expect(settings.compactMap { tableRow(analyst.stdout, $0) }.filter { $0 == ["0"] }.count == 5)
        #expect(analyst.stdout.contains("Note: Counts under 5 are hidden and shown as \"<5\" (fewer than 5, possibly none)."))
        let reviewer = try cli.run(["stats"] + revKeyArgs + ["store", "--by", "setting"])
        #expect(reviewer.status == 0, "\(reviewer)")
        // The same numbers, in release 2 of the log instead of release 1.
        #expect(reviewer.stdout.replacingOccurrences(of: "Release 2 of", with: "Release 1 of") == analyst.stdout)
        let consent = try cli.run(["stats"] + anaKeyArgs + [fx.batch, "--by", "consent"])
        #expect(consent.status == 0, "\(consent)")
        #expect(tableRow(consent.stdout, "counts-only") == ["x"] && tableRow(consent.stdout, "quote-anonymously") == ["<5"])
        #expect(tableRow(consent.stdout, "All") == ["15"])
        #expect(consent.stdout.contains("Note: \"x\" marks a count of 5 or more hidden so that no \"<5\" can be worked out from the totals."))

        let json = try cli.run(["stats"] + anaKeyArgs + [fx.batch, "--by", "setting", "--format", "json"])
        #expect(json.status == 0, "\(json)")
        let o = try jsonObject(json)
        #expect(o["outcome"] as? String == "published")
        let parameters = try #require(o["parameters"] as? [String: Any])
        #expect(parameters["min_count"] as? Int == 5 && parameters["noisy"] as? Bool == false && parameters["epsilon"] is NSNull)
        #expect((o["entries"] as? [String: Int]) == ["count": 15])
        let cells = try #require(o["cells"] as? [[String: Any]])
        #expect(cells.count == 10)
        #expect(cells[0] as? [String: Int] == ["count": 8] && cells[1]["at_least"] as? Int == 5 && cells[1]["count"] == nil)
        #expect(cells[7]["suppressed"] as? Bool == true && cells[7]["fewer_than"] as? Int == 5 && cells[7]["count"] == nil)
        let consentJSON = try jsonObject(try cli.run(["stats"] + anaKeyArgs + [fx.batch, "--by", "consent", "--format", "json"]))
        let consentCells = try #require(consentJSON["cells"] as? [[String: Any]])
        #expect(consentCells[0]["suppressed"] as? Bool == true && consentCells[0]["at_least"] as? Int == 5 && consentCells[0]["count"] == nil)
        #expect(consentCells[1]["suppressed"] as? Bool == true && consentCells[1]["fewer_than"] as? Int == 5)

        let csv = try cli.run(["stats"] + anaKeyArgs + [fx.batch, "--by", "setting", "--format", "csv"])
        #expect(csv.status == 0, "\(csv)")
        let records = csv.stdout.components(separatedBy: "\r\n")
        #expect(records.first == "Where it happened,Entries")
        for row in ["workplace,8", "education,x", "home,<5", "All,15"] { #expect(records.contains(row), "\(row)") }
        #expect(!records.contains("home,1"))
        let consentCSV = try cli.run(["stats"] + anaKeyArgs + [fx.batch, "--by", "consent", "--format", "csv"])
        #expect(consentCSV.stdout.components(separatedBy: "\r\n").contains("counts-only,x"))
        #expect(consentCSV.stdout.components(separatedBy: "\r\n").contains("quote-anonymously,<5"))

        let html = try cli.run(["stats"] + anaKeyArgs + [fx.batch, "--by", "setting", "--by", "consent", "--format", "html"])
        #expect(html.status == 0, "\(html)")
        #expect(html.stdout.hasPrefix("<!DOCTYPE html>"))
        #expect(html.stdout.contains("<tr><th scope=\"row\">home</th><td class=\"suppressed\"><abbr title=\"fewer than 5 (hidden)\">&lt;5</abbr></td><td></td></tr>"))
        #expect(html.stdout.contains("<tr><th scope=\"row\">counts-only</th><td class=\"suppressed\"><abbr title=\"5 or more (hidden)\">x</abbr></td><td></td></tr>"))
        #expect(html.stdout.contains("<tr><th scope=\"row\">workplace</th><td>8</td><td>53%</td></tr>"))
        #expect(html.stdout.contains("Hatched cells are hidden counts"))
        #expect(html.stdout.contains("<title>home: fewer than 5 (hidden)</title>"), "the chart marks the hidden bar")
        #expect(html.stdout.contains("<title>counts-only: 5 or more (hidden)</title>"))
        #expect(!html.stdout.contains("<script") && html.stdout.components(separatedBy: "<svg ").count == 3)
        for r in [analyst, json, csv, html, consent] { expectNoIDs(r.stdout + r.stderr, fx.stories.map(\.idHex)) }
    }

    @Test func crossTabArrivalMonthYearAndMultiValuedFields() throws {
        let (cli, fx) = try Fixture.copy()
        let cross = try cli.run(["stats"] + anaKeyArgs + [fx.batch, "--by", "setting,perpetrator-role"])
        #expect(cross.status == 0, "\(cross)")
        #expect(cross.stdout.hasPrefix("Entries by Where it happened and Who did it\n"), "headings use the short label")
        #expect(cross.stdout.contains("Where it happened \\ Who did it (their role)  supervisor  colleague"))
        // Column totals are the one-field counts: supervisor, colleague and stranger 5 each.
        let all = try #require(tableRow(cross.stdout, "All"))
        #expect(all.count == 11 && Array(all.prefix(2)) == ["5", "5"] && all.last == "15", "\(all)")
        // Every cell of this table is 1 to 3, so every non-zero cell is hidden.
        let workplace = try #require(tableRow(cross.stdout, "workplace"))
        #expect(workplace.count == 11 && workplace.prefix(10).allSatisfy { $0 == "<5" || $0 == "0" || $0 == "x" })
        let crossJSON = try jsonObject(try cli.run(["stats"] + anaKeyArgs + [fx.batch, "--by", "setting,perpetrator-role", "--format", "json"]))
        #expect((crossJSON["fields"] as? [[String: Any]])?.map { $0["id"] as? String } == ["setting", "perpetrator-role"])
        #expect((crossJSON["cells"] as? [[Any]])?.count == 10 && (crossJSON["row_totals"] as? [Any])?.count == 10)

        let month = try cli.run(["stats"] + anaKeyArgs + [fx.batch, "--by", "arrival-month"])
        #expect(month.status == 0, "\(month)")
        let arrival = try #require(try cli.run(["review"] + revKeyArgs + ["--format", "jsonl", fx.batch]).jsonLines().first?["arrival"] as? String)
        #expect(tableRow(month.stdout, arrival) == ["15"], "\(month.stdout)")
        #expect(month.stdout.contains("the categories run from the first to the last one with entries"))
        let fixed = try cli.run(["stats"] + anaKeyArgs + [fx.batch, "--by", "arrival-month", "--months", "\(arrival)..\(arrival)"])
        #expect(fixed.status == 0, "\(fixed)")
        #expect(tableRow(fixed.stdout, arrival) == ["15"] && !fixed.stdout.contains("categories run from"))
        let outside = try cli.run(["stats"] + anaKeyArgs + [fx.batch, "--by", "arrival-month", "--months", "2000-01..2000-12"])
        #expect(outside.status == 0, "\(outside)")
        #expect(outside.stderr.contains("15 entries arrived outside --months 2000-01..2000-12 and are counted in no table"), "\(outside.stderr)")
        #expect(outside.stdout.contains("Fewer than 5 entries: nothing else is published."))

        let year = try cli.run(["stats"] + anaKeyArgs + [fx.batch, "--by", "year", "--min-count", "3"])
        #expect(year.status == 0, "\(year)")
        #expect(tableRow(year.stdout, "1950-1954") != nil && tableRow(year.stdout, "1995-1999") != nil)
        #expect(tableRow(year.stdout, "2000-2004") == ["3"] && tableRow(year.stdout, "2005-2009") == ["4"])
        #expect(tableRow(year.stdout, "2015-2019") == ["<3"])
        #expect(tableRow(year.stdout, "(not answered)") == ["3"])
        #expect(tableRow(year.stdout, "All") == ["15"])
        #expect(year.stdout.contains("Year it happened") || year.stdout.contains("year it happened"))

        let kind = try cli.run(["stats"] + anaKeyArgs + [fx.batch, "--by", "kind", "--format", "csv"])
        #expect(kind.status == 0, "\(kind)")
        let records = kind.stdout.components(separatedBy: "\r\n")
        for row in ["verbal,15", "physical,5", "rape,0", "All,15"] { #expect(records.contains(row), "\(row)") }
        #expect(kind.stderr.contains("counts once for each, so these counts add up to more than the number of entries"))

        // Several tables in one output; without --by, one per field.
        let several = try cli.run(["stats"] + anaKeyArgs + [fx.batch, "--by", "setting", "--by", "kind", "--format", "json"])
        let array = try #require(try JSONSerialization.jsonObject(with: Data(several.stdout.utf8)) as? [[String: Any]])
        #expect(array.count == 2)
        let every = try cli.run(["stats"] + anaKeyArgs + [fx.batch])
        #expect(every.status == 0)
        #expect(every.stdout.components(separatedBy: "Entries by ").count - 1 == 6)
    }

    @Test func unknownFieldIsNamedWithTheListOfFields() throws {
        let (cli, fx) = try Fixture.copy()
        let r = try cli.run(["stats"] + anaKeyArgs + [fx.batch, "--by", "colour"])
        #expect(r.status == 64, "\(r)")
        #expect(r.stderr.contains("--by colour: no such field; the fields are kind, setting, perpetrator-role, year, reported, consent, arrival-month"))
        #expect(r.stdout.isEmpty)
        let inPair = try cli.run(["stats"] + anaKeyArgs + [fx.batch, "--by", "setting,colour"])
        #expect(inPair.status == 64)
        #expect(inPair.stderr.contains("--by colour: no such field"))
        for spec in ["setting,setting", "setting,kind,year"] {
            let bad = try cli.run(["stats"] + anaKeyArgs + [fx.batch, "--by", spec])
            #expect(bad.status == 64, "\(bad)")
            #expect(bad.stderr.contains("give one field or two different fields joined by a comma"))
        }
        // A mistyped field is reported before the key is unlocked (a wrong passphrase is not reached).
        try cli.write("wrong", "not the passphrase\n")
        let early = try cli.run(["stats", "--key", "ana.key", "--passphrase-file", "wrong", fx.batch, "--by", "colour"])
        #expect(early.status == 64, "\(early)")
        let format = try cli.run(["stats"] + anaKeyArgs + [fx.batch, "--format", "pdf"])
        #expect(format.status == 64)
        #expect(format.stderr.contains("one of 'table', 'json', 'csv' or 'html'"))
    }

    /// Every `--by` of one field or two (and all of them at once) gives CSV that Python's csv
    /// module reads as rectangular rows, with nothing else in it.
    @Test func everyCSVIsOneRectangularTable() throws {
        let (cli, fx) = try Fixture.copy()
        let fields = ["kind", "setting", "perpetrator-role", "year", "reported", "consent", "arrival-month"]
        var specs = fields
        for a in fields.indices { for b in fields.indices where a < b { specs.append(fields[a] + "," + fields[b]) } }
        let check = """
        import csv, sys
        rows = list(csv.reader(open(sys.argv[1], newline="")))
        assert len(rows) >= 2, rows
        assert all(len(r) == len(rows[0]) for r in rows), rows
        assert all(r[0] for r in rows), rows
        print(len(rows), len(rows[0]))
        """
        try cli.write("check.py", check)
        func parses(_ args: [String]) throws {
            let r = try cli.run(["stats"] + anaKeyArgs + [fx.batch, "--format", "csv"] + args)
            #expect(r.status == 0, "\(args): \(r)")
            try cli.write("out.csv", r.stdout)
            let py = Process()
            py.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            py.arguments = ["python3", cli.path("check.py"), cli.path("out.csv")]
            py.standardInput = FileHandle.nullDevice
            py.standardOutput = FileHandle.nullDevice
            #expect(FileManager.default.createFile(atPath: cli.path("py.err"), contents: nil))
            py.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: cli.path("py.err")))
            try py.run()
            py.waitUntilExit()
            let err = (try? String(contentsOfFile: cli.path("py.err"), encoding: .utf8)) ?? ""
            #expect(py.terminationStatus == 0, "\(args): \(err)\n\(r.stdout)")
        }
        for spec in specs { try parses(["--by", spec]) }
        try parses(specs.flatMap { ["--by", $0] })
    }

    @Test func minimumCountEdgeCases() throws {
        let (cli, fx) = try Fixture.copy()
        let refused = try cli.run(["stats"] + anaKeyArgs + [fx.batch, "--by", "setting", "--min-count", "1"])
        #expect(refused.status == 64, "\(refused)")
        #expect(refused.stderr.contains("--min-count below 2 publishes counts of single entries; add --unsafe-small-cells"))
        #expect(refused.stdout.isEmpty)
        let unsafe = try cli.run(["stats"] + anaKeyArgs + [fx.batch, "--by", "setting", "--min-count", "1", "--unsafe-small-cells"])
        #expect(unsafe.status == 0, "\(unsafe)")
        #expect(tableRow(unsafe.stdout, "home") == ["1"] && tableRow(unsafe.stdout, "education") == ["6"])
        #expect(unsafe.stdout.contains("No count is hidden"))
        let zero = try cli.run(["stats"] + anaKeyArgs + [fx.batch, "--min-count", "0", "--unsafe-small-cells"])
        #expect(zero.status == 64)
        #expect(zero.stderr.contains("--min-count must be at least 1"))
        // K = 2: "<2" would leave home 0 or 1, a range of 1, which no hiding can widen: the joint
        // audit withholds the table.
        let two = try cli.run(["stats"] + anaKeyArgs + [fx.batch, "--by", "setting", "--min-count", "2"])
        #expect(two.status == 0, "\(two)")
        #expect(tableRow(two.stdout, "home") == nil && tableRow(two.stdout, "workplace") == nil)
        #expect(two.stdout.contains("15 entries. The table is withheld."), "\(two.stdout)")
        // K = 9: workplace (8) and education (6) are small now too.
        let nine = try cli.run(["stats"] + anaKeyArgs + [fx.batch, "--by", "setting", "--min-count", "9", "--format", "csv"])
        #expect(nine.status == 0, "\(nine)")
        let rows = nine.stdout.components(separatedBy: "\r\n")
        for row in ["workplace,<9", "education,<9", "home,<9", "All,15"] { #expect(rows.contains(row), "\(row)") }
    }

    /// Fewer than K entries in all: nothing but "fewer than K" is published, in any format.
    @Test func totalUnderKPublishesOnlyFewerThanK() throws {
        let (cli, fx) = try Fixture.copy()
        let sentence = "Fewer than 20 entries: nothing else is published."
        let table = try cli.run(["stats"] + anaKeyArgs + [fx.batch, "--by", "setting", "--min-count", "20"])
        #expect(table.status == 0, "\(table)")
        #expect(table.stdout.contains(sentence))
        #expect(digitRuns(in: withoutDates(table.stdout)).allSatisfy { $0 == "20" }, "\(table.stdout)")
        #expect(tableRow(table.stdout, "workplace") == nil)
        let csv = try cli.run(["stats"] + anaKeyArgs + [fx.batch, "--by", "setting", "--min-count", "20", "--format", "csv"])
        #expect(csv.stdout == "Where it happened,Entries\r\nAll,<20\r\n", "\(csv.stdout)")
        #expect(csv.stderr.contains(sentence))
        #expect(digitRuns(in: withoutDates(csv.stdout)).allSatisfy { $0 == "20" }, "\(csv.stdout)")
        let json = try cli.run(["stats"] + anaKeyArgs + [fx.batch, "--by", "setting,reported", "--min-count", "20", "--format", "json"])
        let o = try jsonObject(json)
        #expect(o["outcome"] as? String == "fewer_than_min_count")
        #expect((o["entries"] as? [String: Int]) == ["fewer_than": 20])
        #expect(o["cells"] == nil && o["row_totals"] == nil && o["column_totals"] == nil)
        #expect(!withoutDates(json.stdout).contains("15") && !json.stdout.contains("\"count\""))
        let html = try cli.run(["stats"] + anaKeyArgs + [fx.batch, "--by", "setting", "--min-count", "20", "--format", "html"])
        #expect(html.stdout.contains(sentence))
        #expect(!html.stdout.contains("<table") && !html.stdout.contains("<svg") && !html.stdout.contains(">15<"))

        // A store that really holds fewer than 5.
        let small = try CLI.withStore()
        for i in 0 ..< 3 { try small.submit("small store story \(i)") }
        for format in ["table", "csv", "json", "html"] {
            let r = try small.run(["stats", "--key", "ana.key", "--passphrase-file", "pass", "store", "--by", "setting", "--format", format])
            #expect(r.status == 0, "\(r)")
            #expect((format == "csv" ? r.stderr : r.stdout).contains(format == "json" ? "\"fewer_than\": 5" : "Fewer than 5 entries: nothing else is published."), "\(format)")
            #expect(!r.stdout.contains(">3<") && !r.stdout.contains("\"count\": 3") && tableRow(r.stdout, "workplace") == nil)
            if format != "html" { #expect(digitRuns(in: withoutDates(r.stdout)).allSatisfy { $0 == "5" || $0 == "1" }, "\(r.stdout)") }
            #expect(!r.stdout.contains("arrived"), "the months of fewer than K entries are not said")
        }
    }

    /// `--epsilon`: every format says epsilon and that the numbers are noisy.
    @Test func differentialPrivacyIsSaidInEveryFormat() throws {
        let (cli, fx) = try Fixture.copy()
        let common = anaKeyArgs + [fx.batch, "--by", "setting", "--epsilon", "0.5", "--budget", "100", "--releases", "rel"]
        let table = try cli.run(["stats"] + common)
        #expect(table.status == 0, "\(table)")
        #expect(table.stdout.contains("Note: The numbers are noisy: differential privacy with epsilon = 0.5 (sensitivity 1)."))
        #expect(table.stdout.contains("(noisy) entries."))
        let json = try cli.run(["stats"] + common + ["--format", "json"])
        let o = try jsonObject(json)
        let p = try #require(o["parameters"] as? [String: Any])
        #expect(p["epsilon"] as? Double == 0.5 && p["noisy"] as? Bool == true && p["sensitivity"] as? Int == 1)
        #expect((o["notes"] as? [String])?.contains { $0.contains("epsilon = 0.5") && $0.contains("noisy") } == true)
        let csv = try cli.run(["stats"] + common + ["--format", "csv"])
        #expect(csv.stderr.contains("The numbers are noisy: differential privacy with epsilon = 0.5"))
        #expect(!csv.stdout.contains("noisy"), "the CSV holds the table only")
        let html = try cli.run(["stats"] + common + ["--format", "html"])
        #expect(html.stdout.contains("The numbers are noisy: differential privacy with epsilon = 0.5"))
        // A multi-valued field: one entry touches up to 10 cells and the total.
        let kind = try jsonObject(try cli.run(["stats"] + anaKeyArgs + [fx.batch, "--by", "kind", "--epsilon", "0.5", "--budget", "100",
                                                                     "--releases", "rel", "--format", "json"]))
        #expect((kind["parameters"] as? [String: Any])?["sensitivity"] as? Int == 11)
        // Months taken from the data would leak outside the noise.
        let months = try cli.run(["stats"] + anaKeyArgs + [fx.batch, "--by", "arrival-month", "--epsilon", "0.5", "--releases", "rel"])
        #expect(months.status == 64)
        #expect(months.stderr.contains("needs a fixed range, --months YYYY-MM..YYYY-MM"))
        for bad in ["0", "-1", "abc", "0.1234567"] {
            let r = try cli.run(["stats"] + anaKeyArgs + [fx.batch, "--epsilon", bad, "--releases", "rel"])
            #expect(r.status == 64, "\(bad): \(r)")
            #expect(r.stderr.contains("epsilon"))
        }
    }

    /// The release log refuses a noisy release that would take an entry over its budget, says what
    /// is left, spends nothing then, and keeps the budget per entry whatever the path (a copy, a
    /// link, or the store that holds the batch): one account for the same entries.
    @Test func theBudgetIsPerEntryWhateverThePath() throws {
        let (cli, fx) = try Fixture.copy()
        try FileManager.default.copyItem(atPath: cli.path(fx.batch), toPath: cli.path("copy.batch"))
        try FileManager.default.createSymbolicLink(atPath: cli.path("link.batch"), withDestinationPath: cli.path(fx.batch))
        func stats(_ source: String, _ epsilon: String, releases: String? = "one") throws -> Run {
            try cli.run(["stats"] + anaKeyArgs + [source, "--by", "setting", "--epsilon", epsilon, "--budget", "1"]
                        + (releases.map { ["--releases", $0] } ?? []))
        }
        let first = try stats(fx.batch, "0.6")
        #expect(first.status == 0, "\(first)")
        #expect(first.stderr.contains("chorus: privacy budget: release 1 spent epsilon 0.6 on every entry it counted; the least any of them has left is 0.4 of 1"), "\(first.stderr)")
        let copy = try stats("copy.batch", "0.6")
        #expect(copy.status == 77, "\(copy)")
        #expect(copy.stdout.isEmpty, "nothing is published")
        #expect(copy.stderr.contains("this release needs epsilon 0.6, but some of these entries have only 0.4 of their privacy budget of 1 left; nothing was spent and nothing is shown"), "\(copy.stderr)")
        // The refusal spent nothing: 0.4 is still there, through the link.
        let link = try stats("link.batch", "0.4")
        #expect(link.status == 0, "\(link)")
        #expect(link.stdout.contains("(noisy) entries"))
        #expect(try stats("copy.batch", "0.000001").status == 77)
        // The store holds the batch: the same entries, the same (spent) budget.
        let store = try stats("store", "0.1")
        #expect(store.status == 77, "\(store)")
        #expect(store.stderr.contains("have only 0 of their privacy budget"), "\(store.stderr)")

        // The other way round: the store first, then its batch alone under another path.
        #expect(try stats("store", "1", releases: "two").status == 0)
        let batchAfterStore = try stats("link.batch", "0.1", releases: "two")
        #expect(batchAfterStore.status == 77, "\(batchAfterStore)")

        // The default log lives next to the (first) key; several tables cost epsilon each.
        let twoTables = try cli.run(["stats"] + anaKeyArgs + [fx.batch, "--by", "setting", "--by", "reported", "--epsilon", "0.4"])
        #expect(twoTables.status == 0, "\(twoTables)")
        #expect(twoTables.stderr.contains("spent epsilon 0.8 (2 tables at 0.4 each)"), "\(twoTables.stderr)")
        #expect(FileManager.default.fileExists(atPath: cli.path("chorus-releases/log.json")))
        let over = try stats(fx.batch, "0.3", releases: nil)
        #expect(over.status == 77, "\(over)")
        #expect(over.stderr.contains("have only 0.2 of their privacy budget"))
        let multi = try cli.run(["stats"] + anaKeyArgs + ["copy.batch", "--by", "setting", "--by", "kind", "--epsilon", "0.15"])
        #expect(multi.status == 77, "\(multi)")
        #expect(multi.stderr.contains("needs epsilon 0.3 (2 tables at 0.15 each)"))
        #expect(try stats(fx.batch, "0.2", releases: nil).status == 0)
    }

    /// Stats opens the answers only: an entry whose story section is damaged still counts with a
    /// reviewer key, while review (which opens the story) reports it.
    @Test func statsNeverDecryptsAStory() throws {
        let (cli, fx) = try Fixture.copy()
        var parts = try BatchParts(try cli.read(fx.batch))
        let e = parts.entries[3]
        let story = EnvelopeBytes.storySection(e)
        #expect(story.count == WireInts.u32(e, 46) + 16 && story.upperBound == e.count)
        parts.entries[3] = EnvelopeBytes.flipping(e, at: story.lowerBound + story.count / 2)
        try cli.write("story-damaged.batch", bytes: parts.bytes())
        let stats = try cli.run(["stats"] + revKeyArgs + ["story-damaged.batch", "--by", "setting", "--format", "json"])
        #expect(stats.status == 0, "\(stats)")
        #expect(stats.problems.isEmpty, "\(stats.stderr)")
        #expect((try jsonObject(stats)["entries"] as? [String: Int]) == ["count": 15])
        let review = try cli.run(["review"] + revKeyArgs + ["--format", "jsonl", "story-damaged.batch"])
        #expect(review.status == 65, "\(review)")
        #expect(try review.jsonStories().count == 14)
        #expect(review.problems == ["chorus: 1 entry: a section failed authentication (altered or swapped); skipped"])
        let verify = try cli.run(["verify", "story-damaged.batch"] + revKeyArgs)
        #expect(verify.status == 65)
        #expect(verify.stdout.contains("opened 14 entries, 1 section-auth-failed"))
    }

    @Test func badEntriesAreCountedAfterTheGoodOutput() throws {
        let (cli, fx) = try Fixture.copy()
        let (mixed, _, all) = try makeMixedBatch(cli, fx)
        try cli.write("mixed.batch", bytes: mixed.bytes())
        let expected = [
            "chorus: 1 entry: a section failed authentication (altered or swapped); skipped",
            "chorus: 1 entry: header altered (MAC mismatch); skipped",
            "chorus: 1 entry: not sealed to the given key(s); skipped",
            "chorus: 2 entries: not a valid envelope (malformed); skipped",
        ]
        for format in ["table", "json", "csv", "html"] {
            let r = try cli.run(["stats"] + revKeyArgs + ["mixed.batch", "--by", "setting", "--min-count", "2", "--format", format])
            #expect(r.status == 65, "\(format): \(r)")
            // (With CSV the notes are on stderr too.)
            #expect(r.problems.filter { $0.hasPrefix("chorus: ") && $0.contains("entr") && $0.contains("skipped") }.sorted() == expected, "\(format): \(r.stderr)")
            expectNoIDs(r.stdout + r.stderr, all)
            // Five good entries and the one with a damaged story (stats never opens stories): 6.
            switch format {
            case "table": #expect(tableRow(r.stdout, "All") == ["6"] || r.stdout.contains("6 entries. The table is withheld."), "\(r.stdout)")
            case "json": #expect((try jsonObject(r)["entries"] as? [String: Int]) == ["count": 6])
            case "csv": #expect(r.stdout.components(separatedBy: "\r\n").contains("All,6") || r.stdout.contains("6 entries. The table is withheld."))
            default: #expect(r.stdout.contains("6 entries.") && r.stdout.hasSuffix("</html>\n"))
            }
        }
        // Junk files in an inbox are counted, not shown.
        try cli.write("store/inbox/" + String(repeating: "cd", count: 32), "junk")
        let store = try cli.run(["stats"] + anaKeyArgs + ["store", "--by", "setting"])
        #expect(store.status == 65, "\(store)")
        #expect(tableRow(store.stdout, "All") == ["15"])
        #expect(store.problems == ["chorus: 1 entry: not a valid envelope (malformed); skipped"], "\(store.stderr)")
        #expect(!store.stderr.contains("cdcdcdcd"))
    }

    @Test func withdrawnEntriesAreNotCounted() throws {
        let (cli, fx) = try Fixture.copy()
        let first = try #require(fx.stories.first { $0.setting == "workplace" })
        #expect(try cli.run(["withdraw", "--store", "store"], stdin: first.receipt).status == 0)
        let gone = try cli.submit("withdrawn from the inbox", answers: Fixture.answers(15).args)
        #expect(try cli.run(["withdraw", "--store", "store"], stdin: gone).status == 0)
        try cli.submit("kept", answers: Fixture.answers(9).args)
        let exact = ["--by", "setting", "--min-count", "1", "--unsafe-small-cells"]
        let r = try cli.run(["stats"] + anaKeyArgs + ["store"] + exact + ["--format", "csv"])
        #expect(r.status == 0, "\(r)")
        let rows = r.stdout.components(separatedBy: "\r\n")
        for row in ["workplace,7", "education,7", "home,1", "All,15"] { #expect(rows.contains(row), "\(row): \(r.stdout)") }
        // The next batch carries the tombstone to wherever the batches go.
        let b2 = try cli.run(["batch", "--store", "store"]).stdout.trimmingCharacters(in: .newlines)
        let batches = try cli.run(["stats"] + anaKeyArgs + [fx.batch, b2] + exact)
        #expect(batches.status == 0, "\(batches)")
        #expect(tableRow(batches.stdout, "workplace") == ["7"] && tableRow(batches.stdout, "All") == ["15"])
    }

    @Test func rotatedKeysTogetherAndAWrongKey() throws {
        let cli = try CLI()
        try cli.makeKeys(reviewer: "old", analyst: nil)
        #expect(try cli.run(["keygen", "--name", "new", "--role", "reviewer", "--passphrase-file", "pass", "--secret-out", "new.key",
                             "--public-out", "next/new.pub", "--kdf-cost", "test-only"]).status == 0)
        try cli.initStore("store")
        for i in 0 ..< 3 { try cli.submit("old \(i)") }
        for i in 0 ..< 3 {
            #expect(try cli.run(["submit", "--store", "store", "--recipients", "next/new.pub"] + CLI.answers, stdin: "new \(i)").status == 0)
        }
        #expect(try cli.run(["batch", "--store", "store"]).status == 0)
        let both = try cli.run(["stats", "--key", "old.key", "--key", "new.key", "--passphrase-file", "pass", "store", "--by", "setting"])
        #expect(both.status == 0, "\(both)")
        #expect(tableRow(both.stdout, "workplace") == ["6"])
        let old = try cli.run(["stats", "--key", "old.key", "--passphrase-file", "pass", "store", "--by", "setting", "--format", "json"])
        #expect(old.status == 65, "\(old)")
        #expect(old.stderr.contains("3 entries: not sealed to the given key(s); skipped"))
        #expect((try jsonObject(old)["entries"] as? [String: Int]) == ["fewer_than": 5])

        let (fcli, fx) = try Fixture.copy()
        let wrong = try fcli.run(["stats", "--key", "other.key", "--passphrase-file", "pass", fx.batch, "--by", "setting"])
        #expect(wrong.status == 65, "\(wrong)")
        #expect(wrong.stderr.contains("the reviewer key 'other' (fingerprint \(fx.otherFingerprint)) is a recipient of no entry in these sources"))
        #expect(wrong.stderr.contains("15 entries: not sealed to the given key(s); skipped"))
        #expect(wrong.stdout.contains("Fewer than 5 entries"))
    }
}
