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
    private let story: [UInt8]
    private let chunk: Int
    private var storyOffset = 0
    private(set) var output = ""
    private(set) var linesRead = 0
    private(set) var storyReads = 0

    init(_ replies: [String], story: [UInt8], chunk: Int = 5) {
        self.replies = replies
        self.story = story
        self.chunk = chunk
    }

    convenience init(_ replies: [String], story: String = "It happened at work.\nÇa suffit.\n") {
        self.init(replies, story: Array(story.utf8))
    }

    func write(_ text: String) { output += text }

    func readLine() -> String? {
        defer { linesRead += 1 }
        return linesRead < replies.count ? replies[linesRead] : nil
    }

    func readStory(into buffer: UnsafeMutableRawBufferPointer) throws(CoreError) -> Int {
        storyReads += 1
        let n = min(chunk, buffer.count, story.count - storyOffset)
        for k in 0 ..< n { buffer[k] = story[storyOffset + k] }
        storyOffset += n
        return n
    }

    func count(_ fragment: String) -> Int { output.components(separatedBy: fragment).count - 1 }

    /// The hints written after replies that were not accepted.
    var hints: [String] {
        // A hint follows the "> " prompt (on a terminal, after the echoed reply).
        output.split(separator: "\n").compactMap { line in line.range(of: "Not accepted: ").map { String(line[$0.lowerBound...]) } }
    }

    /// Whether exactly one hint was shown, containing `fragment` and asking to try again.
    func showedOneHint(containing fragment: String) -> Bool {
        hints.count == 1 && hints[0].contains(fragment) && hints[0].hasSuffix(". Please try again.")
    }
}

/// Everything the questionnaire prints for the built-in schema must be printable ASCII or newlines.
private func isSafeOutput(_ s: String) -> Bool {
    s.unicodeScalars.allSatisfy { (0x20 ... 0x7E).contains($0.value) || $0 == "\n" }
}

private let goodReplies = ["1,3", "1", "2", "2019", "2", "1"]

@Suite struct QuestionnaireTests {
    let questionnaire: Questionnaire

    init() throws {
        questionnaire = try Questionnaire(schema: .builtIn, arrivalMonth: testMonth, currentYear: testYear)
    }

    @Test func fullSession() throws {
        let story = "It happened at work.\nÇa suffit. Quinn-Harbour\n"
        let terminal = QuestionnaireScript(goodReplies + ["y"], story: story)
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
                         "sealed (encrypted)", "nothing is saved until you confirm", "Ctrl-C"] {
            #expect(out.contains(fragment), "intro lacks \(fragment)")
        }
        // Questions, numbered choices and instructions.
        for fragment in ["(1 of 6) What happened (one or more)\n", "  1) verbal\n", "  9) other\n",
                         "Enter one or more numbers separated by commas (e.g. 1,3):\n> ",
                         "(2 of 6) Where it happened\n", "  6) public-space\n", "Enter one number:\n> ",
                         "(3 of 6) Who did it (their role)\n", "  10) prefer-not-to-say\n",
                         "(4 of 6) The year it happened (optional)\nEnter a year from 1950 to 2026, or press Enter to skip:\n> ",
                         "(5 of 6) Did you report it\n", "(6 of 6) How your story may be used\n", "  2) quote-anonymously\n",
                         "Type or paste your story. End with Ctrl-D on a new line.\n", "(At most 65536 bytes of text.)"] {
            #expect(out.contains(fragment), "output lacks \(fragment.debugDescription)")
        }
        #expect(terminal.count("press Enter to skip") == 1)  // only the optional question
        // Summary: answers, the story's size, never the story.
        for fragment in ["Please check your answers:\n", "  What happened (one or more): physical, verbal\n", "  Where it happened: workplace\n",
                         "  Who did it (their role): colleague\n", "  The year it happened (optional): 2019\n", "  Did you report it: no\n",
                         "  How your story may be used: counts-only\n", "  Your story: \(story.unicodeScalars.count) characters (not shown)\n",
                         "Seal and submit? [y/N] "] {
            #expect(out.contains(fragment), "summary lacks \(fragment.debugDescription)")
        }
        #expect(!out.contains("Quinn-Harbour"))
        #expect(!out.contains("happened at work"))
        #expect(out.hasSuffix("Seal and submit? [y/N] "))
        #expect(isSafeOutput(out))
        // Order: intro, questions, story prompt, summary, confirmation.
        let order = ["Ctrl-C", "(1 of 6)", "(6 of 6)", "Type or paste your story", "Please check your answers", "Seal and submit?"]
        let positions = order.map { out.range(of: $0)!.lowerBound }
        #expect(positions == positions.sorted())
    }

    @Test func optionalQuestionCanBeSkipped() throws {
        var replies = goodReplies
        replies[3] = ""
        let terminal = QuestionnaireScript(replies + ["yes"], story: "Ça va.")
        let submission = try questionnaire.run(on: terminal)
        #expect(submission.answers.fields["year"] == nil)
        #expect(submission.answers.fields.count == 5)
        #expect(terminal.output.contains("  The year it happened (optional): (skipped)\n"))
        #expect(terminal.output.contains("  Your story: 6 characters (not shown)\n"))
    }

    @Test(arguments: [
        ("0", "there is no choice 0; enter a number from 1 to 9"),
        ("10", "there is no choice 10; enter a number from 1 to 9"),
        ("99999999999999999999999", "there is no choice 99999999999999999999999"),
        ("1,2", "the field \"setting\" takes one value but was given two (\"workplace\" and \"education\")"),
        ("1 2", "takes one value but was given two"),
        ("1,1", "the value \"workplace\" was given twice"),
        ("office", "unknown value \"office\" for field \"setting\"; allowed values (one): workplace, education"),
        ("-1", "unknown value \"-1\""),
        ("1.0", "\"1.0\" for field \"setting\" contains characters other than lowercase ASCII"),
        ("", "this question needs an answer"),
        ("   ", "this question needs an answer"),
        (",, ,", "no choice was given; enter a number from 1 to 9"),
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
        let terminal = QuestionnaireScript(replies + ["y"])
        let submission = try questionnaire.run(on: terminal)
        #expect(submission.answers.fields["setting"] == ["workplace"])
        #expect(terminal.showedOneHint(containing: hint), "\(terminal.hints.description)")
        #expect(terminal.count("(2 of 6) Where it happened\n") == 2)
        #expect(terminal.count("(1 of 6) What happened") == 1)
        #expect(terminal.count("Not accepted") == 1)
        #expect(isSafeOutput(terminal.output), "unsafe output: \(terminal.output.debugDescription)")
    }

    @Test(arguments: [
        ("1,1", "the value \"verbal\" was given twice for field \"kind\""),
        ("1,10", "there is no choice 10; enter numbers from 1 to 9, separated by commas"),
        ("verbal,verb\u{0430}l", "\"verb\\u{0430}l\""),
        ("", "this question needs an answer"),
    ])
    func badReplyToMultipleChoice(_ bad: String, _ hint: String) throws {
        let terminal = QuestionnaireScript([bad] + goodReplies + ["y"])
        let submission = try questionnaire.run(on: terminal)
        #expect(submission.answers.fields["kind"] == ["physical", "verbal"])
        #expect(terminal.showedOneHint(containing: hint), "\(terminal.hints.description)")
        #expect(terminal.count("(1 of 6) What happened") == 2)
        #expect(isSafeOutput(terminal.output))
    }

    @Test(arguments: [
        ("1949", "the year 1949 for field \"year\" is out of range; enter a year from 1950 to 2026"),
        ("2027", "the year 2027 for field \"year\" is out of range"),
        ("nineteen", "the year \"nineteen\" for field \"year\" is not a number; enter a year from 1950 to 2026"),
        ("2019,2020", "the field \"year\" takes one year but was given two"),
        ("\u{0662}\u{0660}\u{0661}\u{0669}", "\"\\u{0662}\\u{0660}\\u{0661}\\u{0669}\" for field \"year\" is not a number"),
        ("2019\u{202E}", "\"2019\\u{202E}\""),
    ])
    func badYearIsAskedAgain(_ bad: String, _ hint: String) throws {
        var replies = goodReplies
        replies.insert(bad, at: 3)
        let terminal = QuestionnaireScript(replies + ["y"])
        let submission = try questionnaire.run(on: terminal)
        #expect(submission.answers.fields["year"] == ["2019"])
        #expect(terminal.showedOneHint(containing: hint), "\(terminal.hints.description)")
        #expect(terminal.count("(4 of 6) The year it happened") == 2)
        #expect(isSafeOutput(terminal.output))
    }

    @Test func valueNamesAndSpacesAreAccepted() throws {
        let terminal = QuestionnaireScript(["Verbal, 3", " workplace ", "COLLEAGUE", " 2019 ", "no", "2"] + [" YES "])
        let submission = try questionnaire.run(on: terminal)
        #expect(submission.answers.fields == ["kind": ["physical", "verbal"], "setting": ["workplace"], "perpetrator-role": ["colleague"],
                                             "year": ["2019"], "reported": ["no"], "consent": ["quote-anonymously"]])
        #expect(!terminal.output.contains("Not accepted"))
    }

    @Test func tooManyBadRepliesGiveUp() {
        let terminal = QuestionnaireScript(["1"] + Array(repeating: "99", count: 10))
        expectFailure(CoreError.self, .tooManyAttempts, ["5 replies to the question \"setting\" were not accepted", "nothing was written"]) {
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
        expectFailure(CoreError.self, .tooManyAttempts, ["2 replies to the question \"kind\""]) { _ = try strict.run(on: terminal) }
        #expect(terminal.linesRead == 2)
        // One bad reply is still allowed.
        let ok = QuestionnaireScript(["0"] + goodReplies + ["y"])
        #expect(try strict.run(on: ok).answers.fields["kind"] == ["physical", "verbal"])
    }

    @Test(arguments: 0 ... 5)
    func endOfInputDuringTheQuestions(answered: Int) {
        let terminal = QuestionnaireScript(Array(goodReplies.prefix(answered)))
        let field = Schema.builtIn.fields[answered].id
        expectFailure(CoreError.self, .inputEnded, ["the input ended before the question \"\(field)\" was answered", "nothing was written"]) {
            _ = try questionnaire.run(on: terminal)
        }
        #expect(terminal.storyReads == 0)
        #expect(!terminal.output.contains("Type or paste your story"))
    }

    @Test func endOfInputAfterABadReply() {
        let terminal = QuestionnaireScript(["1", "42"])
        expectFailure(CoreError.self, .inputEnded, ["input ended before the question \"setting\""]) { _ = try questionnaire.run(on: terminal) }
    }

    @Test(arguments: ["n", "N", "no", "", " ", "yes please", "ja", "y es", "\u{200B}y", "y\u{0301}", "\u{FF59}", "yes\u{1B}"])
    func anythingButYesCancels(_ reply: String) {
        let terminal = QuestionnaireScript(goodReplies + [reply])
        #expect(throws: Questionnaire.cancelled) { _ = try questionnaire.run(on: terminal) }
        #expect(Questionnaire.cancelled.message == "cancelled; nothing was written")
        #expect(Questionnaire.cancelled.kind == .cancelled)
        #expect(terminal.output.hasSuffix("Seal and submit? [y/N] "))
    }

    @Test func endOfInputAtTheConfirmationCancels() {
        let terminal = QuestionnaireScript(goodReplies)
        #expect(throws: Questionnaire.cancelled) { _ = try questionnaire.run(on: terminal) }
        #expect(terminal.linesRead == 7)
    }

    @Test(arguments: ["y", "Y", "yes", "YES", "Yes", " y ", "  yes"])
    func yesSubmits(_ reply: String) throws {
        let terminal = QuestionnaireScript(goodReplies + [reply])
        #expect(try questionnaire.run(on: terminal).answers.fields.count == 6)
    }

    @Test func badStoriesStopBeforeTheConfirmation() throws {
        let empty = QuestionnaireScript(goodReplies + ["y"], story: "")
        expectFailure(CoreError.self, .invalidStory, ["the story is empty", "nothing was submitted"]) { _ = try questionnaire.run(on: empty) }
        #expect(!empty.output.contains("Seal and submit"))
        #expect(empty.linesRead == 6)

        let blank = QuestionnaireScript(goodReplies + ["y"], story: " \n\u{200B}\n")
        expectFailure(CoreError.self, .invalidStory, ["only whitespace"]) { _ = try questionnaire.run(on: blank) }

        let small = try Questionnaire(schema: .builtIn, arrivalMonth: testMonth, currentYear: testYear, maxStoryBytes: 50)
        let long = QuestionnaireScript(goodReplies + ["y"], story: String(repeating: "x", count: 80))
        let message = expectFailure(CoreError.self, .invalidStory, ["the story is 80 bytes", "limit of 50 bytes"]) { _ = try small.run(on: long) }
        #expect(message?.contains("xxx") == false)
        #expect(long.output.contains("(At most 50 bytes of text.)"))

        let latin1 = QuestionnaireScript(goodReplies + ["y"], story: [0x63, 0x61, 0x66, 0xE9, 0x0A])
        expectFailure(CoreError.self, .invalidStory, ["not valid UTF-8", "at 4 of 5"]) { _ = try questionnaire.run(on: latin1) }

        let nul = QuestionnaireScript(goodReplies + ["y"], story: [0x61, 0x00, 0x62])
        expectFailure(CoreError.self, .invalidStory, ["NUL byte"]) { _ = try questionnaire.run(on: nul) }
    }

    @Test func storyReadErrorsPassThrough() {
        final class Failing: QuestionnaireTerminal {
            let inner = QuestionnaireScript(goodReplies + ["y"])
            func write(_ text: String) { inner.write(text) }
            func readLine() -> String? { inner.readLine() }
            func readStory(into buffer: UnsafeMutableRawBufferPointer) throws(CoreError) -> Int {
                throw CoreError(.unreadableStory, "cannot read the story from the terminal: input/output error")
            }
        }
        expectFailure(CoreError.self, .unreadableStory, ["cannot read the story"]) { _ = try questionnaire.run(on: Failing()) }
    }

    @Test func answersGivenOnTheCommandLineAreNotAskedAgain() throws {
        let terminal = QuestionnaireScript(["2", "", "2", "1", "y"])
        let submission = try questionnaire.run(on: terminal, given: ["kind=verbal", "KIND=physical", "setting=home"])
        #expect(submission.answers.fields == ["kind": ["physical", "verbal"], "setting": ["home"], "perpetrator-role": ["colleague"],
                                             "reported": ["no"], "consent": ["counts-only"]])
        let out = terminal.output
        #expect(out.contains("You will be asked 4 short questions"))
        #expect(out.contains("(1 of 4) Who did it (their role)\n"))
        #expect(out.contains("(4 of 4) How your story may be used\n"))
        #expect(!out.contains("of 6)"))
        #expect(!out.contains("What happened (one or more)\n"))
        #expect(out.contains("  What happened (one or more): physical, verbal\n"))  // in the summary
    }

    @Test func everythingGivenOnTheCommandLine() throws {
        let terminal = QuestionnaireScript(["y"])
        let submission = try questionnaire.run(on: terminal, given: SchemaTests.Answers.complete)
        #expect(submission.answers.encoded() == Array(SchemaTests.Answers.expected.utf8))
        #expect(terminal.output.contains("Your answers were given on the command line"))
        #expect(!terminal.output.contains("(1 of"))
    }

    @Test func badGivenAnswersFailBeforeAnyQuestion() {
        let terminal = QuestionnaireScript(goodReplies + ["y"])
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
        let terminal = QuestionnaireScript(["", "1900", "", "y"])
        let submission = try q.run(on: terminal)
        #expect(submission.answers.fields == ["born": ["1900"]])
        #expect(terminal.output.contains("(1 of 2) Année\nEnter a year from 1900 to 2026:\n> "))
        #expect(terminal.output.contains("Not accepted: this question needs an answer. Please try again.\n"))
        #expect(terminal.output.contains("Enter one or more numbers separated by commas (e.g. 1,3), or press Enter to skip:\n> "))
        #expect(terminal.output.contains("  Colour: (skipped)\n"))
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

    @Test func standardTerminalOverPipesCancelsWhenInputEnds() throws {
        // A pipe's end of input is final: after the story there is nothing left to confirm with.
        let input = Self.makePipe()
        let output = Self.makePipe()
        Self.writeAll(input.write, Array("1,3\n1\n2\n\n2\n1\nPiped story, ça va.\n".utf8))
        close(input.write)
        let terminal = StandardQuestionnaireTerminal(input: input.read, output: output.write)
        #expect(throws: Questionnaire.cancelled) { _ = try questionnaire.run(on: terminal) }
        close(output.write)
        close(input.read)
        let shown = Self.readAll(output.read)
        close(output.read)
        #expect(shown.contains("(1 of 6) What happened (one or more)\n"))
        #expect(shown.contains("  The year it happened (optional): (skipped)\n"))
        #expect(shown.contains("  Your story: 20 characters (not shown)\n"))
        #expect(shown.hasSuffix("Seal and submit? [y/N] "))
        #expect(!shown.contains("Piped story"))
    }

    @Test func standardTerminalOnAPseudoTerminal() throws {
        // On a terminal, Ctrl-D ends the story but not the input: the confirmation is read after it.
        // posix_openpt/unlockpt/ptsname are not exported by the Glibc module: the Linux ioctls instead.
        let master = open("/dev/ptmx", O_RDWR | O_NOCTTY)
        try #require(master >= 0)
        defer { close(master) }
        var unlock: Int32 = 0
        var number: UInt32 = 0
        try #require(ioctl(master, 0x4004_5431 /* TIOCSPTLCK */, &unlock) == 0)
        try #require(ioctl(master, 0x8004_5430 /* TIOCGPTN */, &number) == 0)
        let slave = open("/dev/pts/\(number)", O_RDWR | O_NOCTTY)
        try #require(slave >= 0)
        defer { close(slave) }
        var settings = termios()
        try #require(tcgetattr(slave, &settings) == 0)
        settings.c_lflag &= ~tcflag_t(ECHO)
        try #require(tcsetattr(slave, TCSANOW, &settings) == 0)

        let output = Self.makePipe()
        let script = "1,3\n1\n2\n2019\n2\n1\nTyped story.\nSecond line.\n\u{04}y\n"
        Self.writeAll(master, Array(script.utf8))
        let terminal = StandardQuestionnaireTerminal(input: slave, output: output.write)
        let submission = try questionnaire.run(on: terminal)
        close(output.write)
        let shown = Self.readAll(output.read)
        close(output.read)
        #expect(submission.answers.encoded() == Array(SchemaTests.Answers.expected.utf8))
        let typed = submission.story.revealedBytes()
        #expect(typed == Array("Typed story.\nSecond line.\n".utf8))
        #expect(shown.contains("  Your story: 26 characters (not shown)\n"))
        #expect(shown.hasSuffix("Seal and submit? [y/N] "))
    }
}
