import Foundation
import Testing
import ChorusCrypto
import ChorusFormat
import ChorusSystem
import ChorusTestSupport
@testable import ChorusCore

#if canImport(Glibc)
import Glibc
#endif

/// A scripted submitter: replies line by line (then end of input), a story served in small chunks,
/// and everything written collected.
final class QuestionnaireScript: QuestionnaireTerminal {
    private let replies: [String]
    private var stories: [[UInt8]]
    private(set) var output = ""
    private(set) var linesRead = 0
    private(set) var storyReads = 0

    init(_ replies: [String], story: [UInt8]) {
        self.replies = replies
        self.stories = [story]
    }

    /// One story for each time the story is asked for.
    init(_ replies: [String], stories: [[UInt8]]) {
        self.replies = replies
        self.stories = stories
    }

    convenience init(_ replies: [String], story: String = "It happened at work.\nÇa suffit.\n") {
        self.init(replies, story: Array(story.utf8))
    }

    func write(_ text: String) { output += text }

    func readLine() -> String? {
        defer { linesRead += 1 }
        return linesRead < replies.count ? replies[linesRead] : nil
    }

    func readStory(into buffer: inout SecretBytes) throws(CoreError) -> Int {
        storyReads += 1
        let story = stories.count > 1 ? stories.removeFirst() : stories[0]
        let n = min(buffer.count, story.count)
        buffer.withUnsafeMutableBytes { b in for k in 0 ..< n { b[k] = story[k] } }
        return story.count
    }

    func count(_ fragment: String) -> Int { output.components(separatedBy: fragment).count - 1 }

    /// The hints written after replies that were not accepted.
    var hints: [String] {
        // A hint follows the "> " prompt (on a terminal, after the echoed reply), and ends in a new prompt.
        output.split(separator: "\n").compactMap { line in line.range(of: "Not accepted: ").map { String(line[$0.lowerBound...]) } }
    }

    /// Whether exactly one hint was shown, containing `fragment` and asking to try again.
    func showedOneHint(containing fragment: String) -> Bool {
        hints.count == 1 && hints[0].contains(fragment) && hints[0].hasSuffix(". Please try again.")
    }
}

/// Nothing the questionnaire prints could steer the terminal (what `terminalSafe` would escape), and
/// everything but the submitter's own story is printable ASCII.
private func isSafeOutput(_ s: String) -> Bool {
    s.unicodeScalars.allSatisfy { !mustEscapeForTerminal($0) }
        && s.replacingOccurrences(of: "\"Ça suffit.\"", with: "").unicodeScalars.allSatisfy { (0x20 ... 0x7E).contains($0.value) || $0 == "\n" }
}

private let goodReplies = ["1,3", "1", "2", "2019", "2", "1"]

@Suite struct QuestionnaireTests {
    let questionnaire: Questionnaire

    init() throws {
        questionnaire = try Questionnaire(schema: .builtIn, arrivalMonth: testMonth, currentYear: testYear)
    }

    @Test func fullSession() throws {
        let story = "It happened at work.\nÇa suffit. Quinn-Harbour\n"
        let terminal = QuestionnaireScript(goodReplies + ["1"], story: story)
        let submission = try questionnaire.run(on: terminal)

        #expect(submission.answers.encoded() == Array(SchemaTests.Answers.expected.utf8))
        #expect(submission.answers == (try Schema.builtIn.answers(from: SchemaTests.Answers.complete, arrivalMonth: testMonth, currentYear: testYear)))
        let storyBytes = submission.story.revealedBytes()
        let guarded = submission.story.isGuarded
        #expect(storyBytes == Array(story.utf8))
        #expect(guarded)
        let info = submission.storyInfo
        #expect(info == Story.Info(byteCount: story.utf8.count, characterCount: story.unicodeScalars.count))
        #expect(terminal.linesRead == 7)

        let out = terminal.output
        // Introduction.
        for fragment in ["anonymously", "You will be asked 6 short questions, then for your story", "Nothing that identifies you is needed",
                         "sealed (encrypted)", "nothing is saved until you choose to submit", "see it all again and can change any of it", "Ctrl-C"] {
            #expect(out.contains(fragment), "intro lacks \(fragment)")
        }
        // Questions, numbered choices and instructions; each says whether it may be skipped.
        for fragment in ["(1 of 6) What happened (one or more)\n", "  1) verbal\n", "  9) other\n",
                         "Enter one or more numbers, separated by commas (for example 1,3). This question needs an answer.\n> ",
                         "(2 of 6) Where it happened\n", "  6) public space\n", "Enter one number. This question needs an answer.\n> ",
                         "(3 of 6) Who did it (their role)\n", "  10) prefer not to say\n",
                         "(4 of 6) The year it happened (optional)\nEnter a year from 1950 to 2026. You may skip this question: just press Enter.\n> ",
                         "(5 of 6) Did you report it\n", "(6 of 6) How your story may be used\n", "Who reads your story: only the reviewers",
                         "  1) counts only\n       The reviewers read your story, but never quote it.",
                         "  2) quote anonymously\n       The reviewers may quote words of your story",
                         "Type or paste it below", "press Ctrl-D", "up to 65536 bytes"] {
            #expect(out.contains(fragment), "output lacks \(fragment.debugDescription)")
        }
        #expect(terminal.count("You may skip this question") == 1)  // only the optional question
        #expect(terminal.count("This question needs an answer.") == 5)
        // Summary: answers, the story's size and its first and last lines.
        for fragment in ["Please check everything before it is sealed:\n", "  1) What happened (one or more): physical, verbal\n", "  2) Where it happened: workplace\n",
                         "  3) Who did it (their role): colleague\n", "  4) The year it happened (optional): 2019\n", "  5) Did you report it: no\n",
                         "  6) How your story may be used: counts only\n",
                         "  Your story: \(story.unicodeScalars.count) characters (\(story.utf8.count) of at most 65536 bytes)\n",
                         "     it begins: \"It happened at work.\"\n", "     it ends:   \"Ça suffit. Quinn-Harbour\"\n",
                         "What would you like to do?\n  1) Submit\n  2) Change an answer\n  3) Write the story again\n  4) Discard everything\n> "] {
            #expect(out.contains(fragment), "summary lacks \(fragment.debugDescription)")
        }
        #expect(out.hasSuffix("4) Discard everything\n> "))
        // Order: intro, questions, story prompt, summary, choices.
        let order = ["Ctrl-C", "(1 of 6)", "(6 of 6)", "Type or paste", "Please check everything", "What would you like to do?"]
        let positions = order.map { out.range(of: $0)!.lowerBound }
        #expect(positions == positions.sorted())
    }

    @Test func optionalQuestionCanBeSkipped() throws {
        var replies = goodReplies
        replies[3] = ""
        let terminal = QuestionnaireScript(replies + ["submit"], story: "Ça va.")
        let submission = try questionnaire.run(on: terminal)
        #expect(submission.answers.fields["year"] == nil)
        #expect(submission.answers.fields.count == 5)
        #expect(terminal.output.contains("  4) The year it happened (optional): (skipped)\n"))
        #expect(terminal.output.contains("  Your story: 6 characters (7 of at most 65536 bytes)\n     it begins: \"Ça va.\"\n\nWhat would"))
    }

    @Test(arguments: [
        ("0", "there is no choice 0; enter a number from 1 to 10"),
        ("11", "there is no choice 11; enter a number from 1 to 10"),
        ("99999999999999999999999", "there is no choice 99999999999999999999999"),
        ("1,2", "this question takes only one answer"),
        ("1 2", "this question takes only one answer"),
        ("1,1", "this question takes only one answer"),
        ("office", "\"office\" is not one of the choices; enter a number from 1 to 10"),
        ("-1", "\"-1\" is not one of the choices"),
        ("1.0", "\"1.0\" is not one of the choices"),
        ("", "this question needs an answer"),
        ("   ", "this question needs an answer"),
        (",, ,", "no choice was given; enter a number from 1 to 10"),
        ("\u{202E}1", "\"\\u{202E}1\""),
        ("\u{FF11}", "\"\\u{FF11}\""),
        ("1\u{200B}", "\"1\\u{200B}\""),
        ("\u{1B}[2J\u{1B}[H", "\"\\u{001B}[2j\\u{001B}[h\""),  // ASCII letters are folded before the check
        ("\u{0661}", "\"\\u{0661}\""),
        ("work\u{0430}", "\"work\\u{0430}\""),
        ("1\t", "\"1\\u{0009}\""),
    ])
    func badReplyIsAskedAgain(_ bad: String, _ hint: String) throws {
        var replies = goodReplies
        replies.insert(bad, at: 1)  // before the answer to "setting"
        let terminal = QuestionnaireScript(replies + ["1"])
        let submission = try questionnaire.run(on: terminal)
        #expect(submission.answers.fields["setting"] == ["workplace"])
        #expect(terminal.showedOneHint(containing: hint), "\(terminal.hints.description)")
        #expect(terminal.count("(2 of 6) Where it happened\n") == 1)  // only the prompt is shown again
        #expect(terminal.count("(1 of 6) What happened") == 1)
        #expect(terminal.count("Not accepted") == 1)
        #expect(isSafeOutput(terminal.output), "unsafe output: \(terminal.output.debugDescription)")
    }

    @Test(arguments: [
        ("1,1", "\"verbal\" was chosen twice"),
        ("1,11", "there is no choice 11; enter numbers from 1 to 10, separated by commas"),
        ("verbal,verb\u{0430}l", "\"verb\\u{0430}l\""),
        ("", "this question needs an answer"),
    ])
    func badReplyToMultipleChoice(_ bad: String, _ hint: String) throws {
        let terminal = QuestionnaireScript([bad] + goodReplies + ["1"])
        let submission = try questionnaire.run(on: terminal)
        #expect(submission.answers.fields["kind"] == ["physical", "verbal"])
        #expect(terminal.showedOneHint(containing: hint), "\(terminal.hints.description)")
        #expect(terminal.count("(1 of 6) What happened") == 1)
        #expect(isSafeOutput(terminal.output))
    }

    @Test(arguments: [
        ("1949", "1949 is not between 1950 and 2026"),
        ("2027", "2027 is not between 1950 and 2026"),
        ("nineteen", "\"nineteen\" is not a year; enter a year from 1950 to 2026, in digits"),
        ("2019,2020", "\"2019,2020\" is not a year"),
        ("\u{0662}\u{0660}\u{0661}\u{0669}", "\"\\u{0662}\\u{0660}\\u{0661}\\u{0669}\" is not a year"),
        ("2019\u{202E}", "\"2019\\u{202E}\""),
    ])
    func badYearIsAskedAgain(_ bad: String, _ hint: String) throws {
        var replies = goodReplies
        replies.insert(bad, at: 3)
        let terminal = QuestionnaireScript(replies + ["1"])
        let submission = try questionnaire.run(on: terminal)
        #expect(submission.answers.fields["year"] == ["2019"])
        #expect(terminal.showedOneHint(containing: hint), "\(terminal.hints.description)")
        #expect(terminal.count("(4 of 6) The year it happened") == 1)
        #expect(isSafeOutput(terminal.output))
    }

    @Test func valueNamesAndSpacesAreAccepted() throws {
        let terminal = QuestionnaireScript(["Verbal, 3", " workplace ", "COLLEAGUE", " 2019 ", "no", "2"] + [" 1 "])
        let submission = try questionnaire.run(on: terminal)
        #expect(submission.answers.fields == ["kind": ["physical", "verbal"], "setting": ["workplace"], "perpetrator-role": ["colleague"],
                                             "year": ["2019"], "reported": ["no"], "consent": ["quote-anonymously"]])
        #expect(!terminal.output.contains("Not accepted"))
    }

    @Test func tooManyBadRepliesGiveUp() {
        let terminal = QuestionnaireScript(["1"] + Array(repeating: "99", count: 10))
        expectFailure(CoreError.self, .tooManyAttempts, ["5 replies to \"Where it happened\" were not accepted", "nothing was written"]) {
            _ = try questionnaire.run(on: terminal)
        }
        #expect(terminal.linesRead == 6)
        #expect(terminal.count("Not accepted") == 4)
        #expect(terminal.storyReads == 0)
        #expect(!terminal.output.contains("Seal and submit"))
    }

    @Test func retryLimitIsConfigurable() throws {
        let strict = try Questionnaire(schema: .builtIn, arrivalMonth: testMonth, currentYear: testYear, maxAttempts: 2)
        let terminal = QuestionnaireScript(["0", "0", "1"])
        expectFailure(CoreError.self, .tooManyAttempts, ["2 replies to \"What happened (one or more)\""]) { _ = try strict.run(on: terminal) }
        #expect(terminal.linesRead == 2)
        // One bad reply is still allowed.
        let ok = QuestionnaireScript(["0"] + goodReplies + ["1"])
        #expect(try strict.run(on: ok).answers.fields["kind"] == ["physical", "verbal"])
    }

    @Test(arguments: 0 ... 5)
    func endOfInputDuringTheQuestions(answered: Int) {
        let terminal = QuestionnaireScript(Array(goodReplies.prefix(answered)))
        let label = Schema.builtIn.fields[answered].label
        expectFailure(CoreError.self, .inputEnded, ["the questions stopped before \"\(label)\" was answered", "nothing was written"]) {
            _ = try questionnaire.run(on: terminal)
        }
        #expect(terminal.storyReads == 0)
        #expect(!terminal.output.contains("Type or paste your story"))
    }

    @Test func endOfInputAfterABadReply() {
        let terminal = QuestionnaireScript(["1", "42"])
        expectFailure(CoreError.self, .inputEnded, ["stopped before \"Where it happened\""]) { _ = try questionnaire.run(on: terminal) }
    }

    @Test func otherRepliesAtTheChoicesAreAskedAgainWithoutTheWholeMenu() throws {
        let terminal = QuestionnaireScript(goodReplies + ["y", "n", "", "5", "Submit"])
        #expect(try questionnaire.run(on: terminal).answers.fields.count == 6)
        #expect(terminal.count("Please enter 1, 2, 3 or 4.\n> ") == 4)
        #expect(terminal.count("What would you like to do?") == 1)
        #expect(terminal.storyReads == 1)
    }

    @Test(arguments: ["yes", "y", " YES "])
    func discardAsksOnceMore(_ reply: String) {
        let terminal = QuestionnaireScript(goodReplies + ["4", reply])
        #expect(throws: Questionnaire.cancelled) { _ = try questionnaire.run(on: terminal) }
        #expect(Questionnaire.cancelled.message == "discarded as you asked; nothing was written")
        #expect(Questionnaire.cancelled.kind == .cancelled)
        #expect(terminal.output.hasSuffix("Type yes to discard them, or just press Enter to go back.\n> "))
    }

    @Test(arguments: ["", "no", "n", "1"])
    func notConfirmingADiscardGoesBack(_ reply: String) throws {
        let terminal = QuestionnaireScript(goodReplies + ["4", reply, "1"])
        #expect(try questionnaire.run(on: terminal).answers.fields.count == 6)
        #expect(terminal.count("Nothing was discarded.") == 1)
        #expect(terminal.count("What would you like to do?") == 2)
    }

    @Test func endOfInputAtTheChoicesWritesNothing() {
        let terminal = QuestionnaireScript(goodReplies)
        expectFailure(CoreError.self, .inputEnded, ["the input ended before you chose to submit", "nothing was written"]) {
            _ = try questionnaire.run(on: terminal)
        }
        #expect(terminal.linesRead == 7)
    }

    @Test func changeOneAnswerWithoutRetypingTheStory() throws {
        // Change answer 5 ("Did you report it") to yes; then answer 4 (the year): a bad reply, then skipped.
        let terminal = QuestionnaireScript(goodReplies + ["2", "9", "5", "1", "2", "4", "1800", "", "1"])
        let submission = try questionnaire.run(on: terminal)
        #expect(submission.answers.fields["reported"] == ["yes"])
        #expect(submission.answers.fields["year"] == nil)
        #expect(submission.answers.fields["kind"] == ["physical", "verbal"])
        #expect(submission.story.revealedBytes() == Array("It happened at work.\nÇa suffit.\n".utf8))
        #expect(terminal.storyReads == 1)
        #expect(terminal.count("Please enter a number from 1 to 6, or just press Enter to go back.") == 1)
        #expect(terminal.count("(5 of 6) Did you report it") == 2)
        #expect(terminal.count("Not accepted: 1800 is not between 1950 and 2026. Please try again.") == 1)
        #expect(terminal.output.contains("  5) Did you report it: yes\n"))
        #expect(terminal.count("What would you like to do?") == 3)
    }

    @Test func emptyAnswerNumberGoesBackToTheChoices() throws {
        let terminal = QuestionnaireScript(goodReplies + ["2", "", "1"])
        #expect(try questionnaire.run(on: terminal).answers.fields["reported"] == ["no"])
        #expect(terminal.count("What would you like to do?") == 2)
    }

    @Test func aStoryThatCannotBeSentIsSaidAtOnceAndCanBeWrittenAgain() throws {
        let small = try Questionnaire(schema: .builtIn, arrivalMonth: testMonth, currentYear: testYear, maxStoryBytes: 50)
        let stories = ["", " \n\u{200B}\n", String(repeating: "x", count: 80), "caf\u{E9}", "a\u{0}b", String(repeating: "z", count: 5000), "Short."]
        var bytes = stories.map { Array($0.utf8) }
        bytes[3] = [0x63, 0x61, 0x66, 0xE9, 0x0A]  // Latin-1, not UTF-8
        let terminal = QuestionnaireScript(goodReplies + ["1"] + Array(repeating: "3", count: 6) + ["1"], stories: bytes)
        let submission = try small.run(on: terminal)
        #expect(submission.story.revealedBytes() == Array("Short.".utf8))
        #expect(terminal.storyReads == 7)
        for problem in ["the story is empty", "the story has only whitespace", "the story is 80 bytes, more than this store's limit of 50 bytes",
                        "the story is not valid UTF-8", "the story contains a NUL byte", "your story was more than 4147 bytes, far over the limit of 50 bytes, and could not be kept"] {
            #expect(terminal.count("Your story cannot be sent as it is: \(problem)") == 1, "\(problem)")
        }
        #expect(terminal.count("Your story cannot be sent yet: the story is empty") == 1)  // "1" chosen too early
        #expect(!terminal.output.contains("xxxx"))
        #expect(terminal.output.contains("up to 50 bytes"))
    }

    @Test func storyReadErrorsPassThrough() {
        final class Failing: QuestionnaireTerminal {
            let inner = QuestionnaireScript(goodReplies + ["1"])
            func write(_ text: String) { inner.write(text) }
            func readLine() -> String? { inner.readLine() }
            func readStory(into buffer: inout SecretBytes) throws(CoreError) -> Int {
                throw CoreError(.unreadableStory, "cannot read the story from the terminal: input/output error")
            }
        }
        expectFailure(CoreError.self, .unreadableStory, ["cannot read the story"]) { _ = try questionnaire.run(on: Failing()) }
    }

    @Test func theStoryCanBeWrittenAndEditedInAnEditor() throws {
        final class WithEditor: QuestionnaireTerminal {
            let inner: QuestionnaireScript
            var edits: [[UInt8]]
            var given: [[UInt8]] = []
            init(_ replies: [String], edits: [String]) { inner = QuestionnaireScript(replies); self.edits = edits.map { Array($0.utf8) } }
            func write(_ text: String) { inner.write(text) }
            func readLine() -> String? { inner.readLine() }
            func readStory(into buffer: inout SecretBytes) throws(CoreError) -> Int { try inner.readStory(into: &buffer) }
            var editorName: String? { "fake-editor" }
            func editStory(_ story: inout SecretBytes, length: Int) throws(CoreError) -> Int {
                given.append(story.withUnsafeBytes { Array($0.prefix(length)) })
                guard !edits.isEmpty else { throw CoreError(.unreadableStory, "the editor ended with status 1") }
                let next = edits.removeFirst()
                story.withUnsafeMutableBytes { b in for (k, v) in next.enumerated() { b[k] = v } }
                return next.count
            }
        }
        // Write it in the editor; edit it once; a failed edit keeps it as it was; submit.
        let terminal = WithEditor(goodReplies + ["x", "2", "3", "3", "1"], edits: ["first draft\n", "second draft\n"])
        let submission = try questionnaire.run(on: terminal)
        #expect(submission.story.revealedBytes() == Array("second draft\n".utf8))
        #expect(terminal.given == [[], Array("first draft\n".utf8), Array("second draft\n".utf8)])
        let out = terminal.inner.output
        #expect(out.contains("  2) Write it in your text editor (fake-editor)\n"))
        #expect(out.contains("Please enter 1 or 2."))
        #expect(out.contains("3) Edit the story (in fake-editor)"))
        #expect(out.contains("The editor did not finish: the editor ended with status 1. Your story is as it was before."))
        #expect(terminal.inner.storyReads == 0)
    }

    @Test func answersGivenOnTheCommandLineAreNotAskedAgain() throws {
        let terminal = QuestionnaireScript(["2", "", "2", "1", "1"])
        let submission = try questionnaire.run(on: terminal, given: ["kind=verbal", "KIND=physical", "setting=home"])
        #expect(submission.answers.fields == ["kind": ["physical", "verbal"], "setting": ["home"], "perpetrator-role": ["colleague"],
                                             "reported": ["no"], "consent": ["counts-only"]])
        let out = terminal.output
        #expect(out.contains("You will be asked 4 short questions"))
        #expect(out.contains("(1 of 4) Who did it (their role)\n"))
        #expect(out.contains("(4 of 4) How your story may be used\n"))
        #expect(!out.contains("of 6)"))
        #expect(!out.contains("What happened (one or more)\n"))
        #expect(out.contains("  1) What happened (one or more): physical, verbal\n"))  // in the summary
    }

    @Test func everythingGivenOnTheCommandLine() throws {
        let terminal = QuestionnaireScript(["1"])
        let submission = try questionnaire.run(on: terminal, given: SchemaTests.Answers.complete)
        #expect(submission.answers.encoded() == Array(SchemaTests.Answers.expected.utf8))
        #expect(terminal.output.contains("Your answers were given on the command line"))
        #expect(!terminal.output.contains("(1 of"))
    }

    @Test func badGivenAnswersFailBeforeAnyQuestion() {
        let terminal = QuestionnaireScript(goodReplies + ["1"])
        expectFailure(CoreError.self, .invalidAnswer, ["the value \"verb\\u{0430}l\" for field \"kind\" contains characters other than", "allowed values"]) {
            _ = try questionnaire.run(on: terminal, given: ["kind=verb\u{0430}l"])
        }
        #expect(terminal.output.isEmpty)
        #expect(terminal.linesRead == 0)
    }

    @Test func invalidSchemaOrMonthIsRefused() {
        let schema = Schema(fields: [.init(id: "kind", label: "What\u{202E}", kind: .single, values: ["a"], required: true)])
        expectFailure(CoreError.self, .invalidSchema, ["label that contains", "\\u{202E}"]) {
            _ = try Questionnaire(schema: schema, arrivalMonth: testMonth, currentYear: testYear)
        }
        expectFailure(CoreError.self, .bug, ["arrival month"]) {
            _ = try Questionnaire(schema: .builtIn, arrivalMonth: "November", currentYear: testYear)
        }
    }

    @Test func customSchemaWithRequiredYearAndOptionalChoice() throws {
        let schema = Schema(fields: [
            .init(id: "born", label: "Année", kind: .year, min: 1900, required: true),
            .init(id: "colour", label: "Colour", kind: .multiple, values: ["red", "blue"], required: false),
        ])
        let q = try Questionnaire(schema: schema, arrivalMonth: testMonth, currentYear: testYear)
        let terminal = QuestionnaireScript(["", "1900", "", "1"])
        let submission = try q.run(on: terminal)
        #expect(submission.answers.fields == ["born": ["1900"]])
        #expect(terminal.output.contains("(1 of 2) Année\nEnter a year from 1900 to 2026. This question needs an answer.\n> "))
        #expect(terminal.output.contains("Not accepted: this question needs an answer. Please try again.\n> "))
        #expect(terminal.output.contains("Enter one or more numbers, separated by commas (for example 1,3). You may skip this question: just press Enter.\n> "))
        #expect(terminal.output.contains("  2) Colour: (skipped)\n"))
    }

    // MARK: The standard terminal on file descriptors

    private static func makePipe() -> (read: Int32, write: Int32) {
        var fds: [Int32] = [-1, -1]
        precondition(pipe(&fds) == 0)
        return (fds[0], fds[1])
    }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + done, $0.count - done) }
            precondition(n > 0)
            done += n
        }
    }

    private static func readAll(_ fd: Int32) -> String {
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if n <= 0 { break }
            out += buffer[0 ..< n]
        }
        return String(decoding: out, as: UTF8.self)
    }

    @Test func standardTerminalReadsLines() {
        let input = Self.makePipe()
        Self.writeAll(input.write, Array("first\r\nsecond\n\n".utf8) + [UInt8](repeating: 0x61, count: 5000) + Array("\nlast".utf8))
        close(input.write)
        let terminal = StandardQuestionnaireTerminal(input: input.read, output: -1)
        #expect(terminal.readLine() == "first")
        #expect(terminal.readLine() == "second")
        #expect(terminal.readLine() == "")
        #expect(terminal.readLine() == String(repeating: "a", count: StandardQuestionnaireTerminal.maxLineBytes))
        #expect(terminal.readLine() == "last")
        #expect(terminal.readLine() == nil)
        #expect(terminal.readLine() == nil)
        close(input.read)
    }

    @Test func standardTerminalOverPipesEndsWhenInputEnds() throws {
        // A pipe's end of input is final: after the story there is nothing left to choose with.
        let input = Self.makePipe()
        let output = Self.makePipe()
        Self.writeAll(input.write, Array("1,3\n1\n2\n\n2\n1\nPiped story, ça va.\n".utf8))
        close(input.write)
        let terminal = StandardQuestionnaireTerminal(input: input.read, output: output.write)
        expectFailure(CoreError.self, .inputEnded, ["the input ended before you chose to submit"]) { _ = try questionnaire.run(on: terminal) }
        close(output.write)
        close(input.read)
        let shown = Self.readAll(output.read)
        close(output.read)
        #expect(shown.contains("(1 of 6) What happened (one or more)\n"))
        #expect(shown.contains("  4) The year it happened (optional): (skipped)\n"))
        #expect(shown.contains("  Your story: 20 characters (21 of at most 65536 bytes)\n"))
        #expect(shown.contains("     it begins: \"Piped story, ça va.\"\n"))
        #expect(shown.hasSuffix("4) Discard everything\n> "))
    }

    /// A pseudo-terminal whose master side the test types into.
    private static func openPseudoTerminal() throws -> (master: Int32, slave: Int32) {
        // posix_openpt/unlockpt/ptsname are not exported by the Glibc module: the Linux ioctls instead.
        let master = open("/dev/ptmx", O_RDWR | O_NOCTTY)
        try #require(master >= 0)
        var unlock: Int32 = 0
        var number: UInt32 = 0
        try #require(ioctl(master, 0x4004_5431 /* TIOCSPTLCK */, &unlock) == 0)
        try #require(ioctl(master, 0x8004_5430 /* TIOCGPTN */, &number) == 0)
        let slave = open("/dev/pts/\(number)", O_RDWR | O_NOCTTY)
        try #require(slave >= 0)
        return (master, slave)
    }

    @Test func standardTerminalOnAPseudoTerminal() throws {
        // On a terminal, Ctrl-D ends the story but not the input: the choices are read after it. The
        // terminal's own line editor is off (it would keep 4095 bytes of a line): the reader edits.
        let (master, slave) = try Self.openPseudoTerminal()
        defer { close(master); close(slave) }
        let output = Self.makePipe()
        let terminal = StandardQuestionnaireTerminal(input: slave, output: output.write)
        var settings = termios()
        try #require(tcgetattr(slave, &settings) == 0)
        #expect(settings.c_lflag & tcflag_t(ICANON) == 0)
        #expect(settings.c_lflag & tcflag_t(ISIG) != 0)

        let long = String(repeating: "long line ", count: 500)  // 5000 bytes, one line
        // Backspace (DEL) erases a character, Ctrl-U the line, Ctrl-W a word; an arrow key is no text.
        let script = "1,3\n1\n2\n2019\n2\n1\nTyped storx\u{7F}y.\nnot this\u{15}Second line\u{1B}[A.\n\(long)\nwrong word\u{17}\u{17}end\u{04}1\n"
        Self.writeAll(master, Array(script.utf8))
        let submission = try questionnaire.run(on: terminal)
        terminal.finish()
        try #require(tcgetattr(slave, &settings) == 0)
        #expect(settings.c_lflag & tcflag_t(ICANON) != 0)  // given back
        close(output.write)
        let shown = Self.readAll(output.read)
        close(output.read)
        #expect(submission.answers.encoded() == Array(SchemaTests.Answers.expected.utf8))
        let typed = submission.story.revealedBytes()
        #expect(typed == Array("Typed story.\nSecond line.\n\(long)\nend".utf8))
        #expect(shown.contains("Typed storx\u{8} \u{8}y."))  // the echo, erased on screen too
        #expect(!shown.contains("\u{1B}"))
        #expect(shown.hasSuffix("4) Discard everything\n> 1\n"))
    }

    @Test func erasingOnAPseudoTerminalRemovesWholeCharactersNotBytes() throws {
        let (master, slave) = try Self.openPseudoTerminal()
        defer { close(master); close(slave) }
        let output = Self.makePipe()
        let terminal = StandardQuestionnaireTerminal(input: slave, output: output.write)
        // "ç" is two bytes and "日" three: one Backspace each. Then a line longer than the 4095 bytes
        // a terminal's own editor keeps.
        Self.writeAll(master, Array("ça\u{7F}\u{7F}ok 日\u{7F}!\n".utf8) + [UInt8](repeating: 0x62, count: 6000) + [0x0A])
        #expect(terminal.readLine() == "ok !")
        #expect(terminal.readLine() == String(repeating: "b", count: StandardQuestionnaireTerminal.maxLineBytes))
        terminal.finish()
        close(output.write)
        close(output.read)
    }
}

