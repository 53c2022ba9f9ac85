import ChorusCrypto
import ChorusFormat
import ChorusSystem

/// Where the interactive questionnaire talks to the submitter. The real one is
/// `StandardQuestionnaireTerminal`; tests script their own.
public protocol QuestionnaireTerminal: AnyObject {
    /// Shows `text` to the submitter as it is (no newline is added).
    func write(_ text: String)
    /// One line typed by the submitter, without its line ending; nil at end of input (Ctrl-D).
    func readLine() -> String?
    /// Reads part of the story into the start of `buffer` and returns how many bytes it wrote; 0 at
    /// end of input (Ctrl-D on a new line). Throws `.ioError` when reading fails.
    func readStory(into buffer: UnsafeMutableRawBufferPointer) throws(CoreError) -> Int
}

/// What the questionnaire hands back once the submitter confirmed: checked answers and a checked
/// story. The story stays in guarded `SecretBytes` and is wiped when the submission dies; do not copy
/// it into an `Array` or `String`.
public struct Submission: ~Copyable {
    public let answers: AnswersText
    public let story: SecretBytes
    public let storyInfo: Story.Info

    public init(answers: AnswersText, story: consuming SecretBytes, storyInfo: Story.Info) {
        self.answers = answers
        self.story = story
        self.storyInfo = storyInfo
    }
}

/// The interactive questionnaire of `chorus submit` (when the story comes from the terminal): an
/// introduction, one question per schema field, the story, a summary and a confirmation. Every reply
/// is checked by `Schema.partialAnswers` and the whole by `Schema.answers` (the same code that
/// checks `--answer`), and the story by `Story`.
public struct Questionnaire: Sendable {
    public let schema: Schema
    public let arrivalMonth: String
    public let currentYear: Int
    public let maxStoryBytes: Int
    /// Replies that are not accepted for one question before the questionnaire gives up.
    public let maxAttempts: Int

    /// The error thrown when the submitter does not confirm (anything but `y`/`yes`, or end of input).
    public static let cancelled = CoreError(.cancelled, "cancelled; nothing was written")

    /// Throws `.dataError` if `schema` is not valid (its labels are shown on the terminal).
    public init(schema: Schema, arrivalMonth: String, currentYear: Int,
                maxStoryBytes: Int = Story.defaultMaxBytes, maxAttempts: Int = 5) throws(CoreError) {
        try schema.validate(currentYear: currentYear)
        guard AnswersText.isMonth(arrivalMonth) else {
            throw CoreError(.bug, "internal error: the arrival month \"\(displaySafe(arrivalMonth))\" is not YYYY-MM")
        }
        self.schema = schema
        self.arrivalMonth = arrivalMonth
        self.currentYear = currentYear
        self.maxStoryBytes = maxStoryBytes
        self.maxAttempts = max(1, maxAttempts)
    }

    /// Runs the questionnaire on `terminal`. Fields already answered in `given` (raw `--answer`
    /// strings, checked first) are not asked again. Returns only after the submitter typed `y` or
    /// `yes`; throws `Questionnaire.cancelled` otherwise, `.usage` for end of input during the
    /// questions or too many bad replies, `.dataError` for a story that is empty, not UTF-8 or too long.
    public func run(on terminal: some QuestionnaireTerminal, given: [String] = []) throws(CoreError) -> Submission {
        var raw = given
        var answered = try schema.partialAnswers(from: given, currentYear: currentYear)
        let toAsk = schema.fields.filter { answered[$0.id] == nil }

        terminal.write(introduction(questions: toAsk.count))
        for (n, field) in toAsk.enumerated() {
            let question = self.question(field, number: n + 1, of: toAsk.count)
            terminal.write(question)
            var rejected = 0
            asking: while true {
                guard let line = terminal.readLine() else {
                    throw CoreError(.inputEnded, "the input ended before the question \"\(field.id)\" was answered; nothing was written")
                }
                switch interpret(line, for: field) {
                case .skip:
                    break asking
                case let .answer(item, values):
                    raw.append(item)
                    answered[field.id] = values
                    break asking
                case let .rejected(why):
                    rejected += 1
                    if rejected >= maxAttempts {
                        throw CoreError(.tooManyAttempts, "\(maxAttempts) replies to the question \"\(field.id)\" were not accepted; nothing was written")
                    }
                    terminal.write("Not accepted: \(why). Please try again.\n\(question)")
                }
            }
        }

        let answers = try schema.answers(from: raw, arrivalMonth: arrivalMonth, currentYear: currentYear)
        terminal.write("\nType or paste your story. End with Ctrl-D on a new line.\n(At most \(maxStoryBytes) bytes of text.)\n")
        let story = try Story.collect(maxBytes: maxStoryBytes) { (buffer) throws(CoreError) -> Int in
            try terminal.readStory(into: buffer)
        }
        let info = try Story.validate(story, maxBytes: maxStoryBytes)

        terminal.write(summary(answers, story: info))
        terminal.write("Seal and submit? [y/N] ")
        guard let reply = terminal.readLine() else { throw Self.cancelled }
        let word = Schema.normalise(reply.unicodeScalars[...])
        guard word == "y" || word == "yes" else { throw Self.cancelled }
        return Submission(answers: answers, story: story, storyInfo: info)
    }

    // MARK: Text shown

    func introduction(questions: Int) -> String {
        var s = "Chorus: tell what happened to you, anonymously.\n\n"
        if questions > 0 {
            s += "You will be asked \(questions) short question\(questions == 1 ? "" : "s"), then for your story.\n"
        } else {
            s += "Your answers were given on the command line; you will be asked for your story.\n"
        }
        s += "Nothing that identifies you is needed: not your name, and please leave out names and details\n"
        s += "that could point to you or to someone else.\n"
        s += "Your answers and your story are sealed (encrypted) on this computer before anything is saved,\n"
        s += "and nothing is saved until you confirm at the end. You can stop at any time with Ctrl-C.\n"
        return s
    }

    func question(_ field: Schema.Field, number: Int, of total: Int) -> String {
        var s = "\n(\(number) of \(total)) \(field.label)\n"
        var instruction: String
        switch field.kind {
        case .single, .multiple:
            for (k, v) in (field.values ?? []).enumerated() { s += "  \(k + 1)) \(v)\n" }
            instruction = field.kind == .single ? "Enter one number" : "Enter one or more numbers separated by commas (e.g. 1,3)"
        case .year:
            instruction = "Enter a year from \(field.min ?? Schema.earliestYear) to \(currentYear)"
        }
        if !field.required { instruction += ", or press Enter to skip" }
        return s + instruction + ":\n> "
    }

    func summary(_ answers: AnswersText, story: Story.Info) -> String {
        var s = "\nPlease check your answers:\n"
        for field in schema.fields {
            let shown = answers.fields[field.id]?.joined(separator: ", ") ?? "(skipped)"
            s += "  \(field.label): \(shown)\n"
        }
        s += "  Your story: \(story.characterCount) character\(story.characterCount == 1 ? "" : "s") (not shown)\n"
        return s
    }

    // MARK: Replies

    enum Reply: Equatable {
        /// An optional question left empty.
        case skip
        /// The reply as an `--answer` string, and the values it gives.
        case answer(String, [String])
        /// Why the reply was not accepted (one lowercase sentence, input shown through `displaySafe`).
        case rejected(String)
    }

    /// A reply is a list of choice numbers (or the values themselves) separated by commas or spaces,
    /// or a year. Numbers become values here; everything else is checked by `Schema.partialAnswers`.
    func interpret(_ line: String, for field: Schema.Field) -> Reply {
        var scalars = line.unicodeScalars[...]
        while scalars.first == " " { scalars.removeFirst() }
        while scalars.last == " " { scalars.removeLast() }
        if scalars.isEmpty {
            return field.required ? .rejected("this question needs an answer") : .skip
        }
        let item: String
        switch field.kind {
        case .year:
            item = field.id + "=" + String(scalars)
        case .single, .multiple:
            let values = field.values ?? []
            let tokens = scalars.split(whereSeparator: { $0 == "," || $0 == " " })
            if tokens.isEmpty { return .rejected("no choice was given; \(choiceRange(field))") }
            var chosen: [String] = []
            for token in tokens {
                if token.allSatisfy({ ("0" ... "9").contains($0) }) {
                    guard let k = Int(String(token)), (1 ... values.count).contains(k) else {
                        return .rejected("there is no choice \(displaySafe(String(token))); \(choiceRange(field))")
                    }
                    chosen.append(values[k - 1])
                } else {
                    chosen.append(String(token))
                }
            }
            item = field.id + "=" + chosen.joined(separator: ",")
        }
        do {
            let given = try schema.partialAnswers(from: [item], currentYear: currentYear)
            return .answer(item, given[field.id] ?? [])
        } catch {
            return .rejected(error.message)
        }
    }

    func choiceRange(_ field: Schema.Field) -> String {
        let n = field.values?.count ?? 0
        return field.kind == .single ? "enter a number from 1 to \(n)" : "enter numbers from 1 to \(n), separated by commas"
    }
}

/// The questionnaire on file descriptors: questions to `output` (standard error by default, so that
/// standard output carries only the receipt), replies and the story from `input` (standard input).
/// Input is read with `read(2)` a byte at a time for replies, so nothing meant for the story is
/// buffered away, and end of input on a terminal (Ctrl-D) does not stick: the confirmation can still
/// be read after the story.
///
/// Note: a terminal in canonical mode cuts lines longer than 4095 bytes; long stories should be
/// pasted with line breaks or given with `--file`.
public final class StandardQuestionnaireTerminal: QuestionnaireTerminal {
    public let input: Int32
    public let output: Int32
    /// Longer reply lines are cut (the rest of the line is read and dropped).
    public static let maxLineBytes = 4096

    public init(input: Int32 = 0, output: Int32 = 2) {
        self.input = input
        self.output = output
    }

    public func write(_ text: String) { Terminal.write(output, text) }

    public func readLine() -> String? { Terminal.readLine(fd: input, limit: Self.maxLineBytes) }

    public func readStory(into buffer: UnsafeMutableRawBufferPointer) throws(CoreError) -> Int {
        try Story.readSome(input, into: buffer, source: "the terminal")
    }
}
