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
    /// Reads the story, to its end (Ctrl-D at a terminal), into `story` from its start, and returns
    /// its length in bytes: more than `story.count` when it did not fit (the rest was counted, not
    /// kept). Throws `.unreadableStory` when reading fails.
    func readStory(into story: inout SecretBytes) throws(CoreError) -> Int
    /// The text editor the story may be written in (its name, as shown), or nil when there is none
    /// that is safe to use.
    var editorName: String? { get }
    /// Opens the editor on the first `length` bytes of `story` and, once it is closed, puts what was
    /// saved into `story` from its start; returns its length as `readStory` does. When it throws,
    /// `story` is as it was.
    func editStory(_ story: inout SecretBytes, length: Int) throws(CoreError) -> Int
}

extension QuestionnaireTerminal {
    public var editorName: String? { nil }
    public func editStory(_ story: inout SecretBytes, length: Int) throws(CoreError) -> Int {
        throw CoreError(.bug, "internal error: no editor to write the story in")
    }
}

/// What the questionnaire hands back once the submitter chose to submit: checked answers and a
/// checked story. The story stays in guarded `SecretBytes` and is wiped when the submission dies; do
/// not copy it into an `Array` or `String`.
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
/// introduction, one question per schema field, the story (typed, pasted or written in an editor),
/// then everything shown again with the recipients, and a choice: submit, change an answer, edit the
/// story, or discard (asked once more). Nothing typed is lost by a mistake: a reply that is not
/// accepted is asked again, a story that cannot be sent is kept for editing. Every reply is checked
/// by `Schema.partialAnswers` and the whole by `Schema.answers` (the same code that checks
/// `--answer`), and the story by `Story`. The wording is in `SubmitterText`.
public struct Questionnaire: Sendable {
    public let schema: Schema
    public let arrivalMonth: String
    public let currentYear: Int
    public let maxStoryBytes: Int
    /// Replies that are not accepted for one question before the questionnaire gives up (only while
    /// the questions are first asked: after the story, nothing ends the session but the submitter).
    public let maxAttempts: Int
    /// Whom the story will be sealed to, shown before the submitter decides.
    public let recipients: [RecipientKey]

    /// The error thrown when the submitter discards everything.
    public static let cancelled = CoreError(.cancelled, SubmitterText.discarded)

    /// Throws `.dataError` if `schema` is not valid (its labels are shown on the terminal).
    public init(schema: Schema, arrivalMonth: String, currentYear: Int,
                maxStoryBytes: Int = Story.defaultMaxBytes, maxAttempts: Int = 5, recipients: [RecipientKey] = []) throws(CoreError) {
        try schema.validate(currentYear: currentYear)
        guard AnswersText.isMonth(arrivalMonth) else {
            throw CoreError(.bug, "internal error: the arrival month \"\(displaySafe(arrivalMonth))\" is not YYYY-MM")
        }
        self.schema = schema
        self.arrivalMonth = arrivalMonth
        self.currentYear = currentYear
        self.maxStoryBytes = maxStoryBytes
        self.maxAttempts = max(1, maxAttempts)
        self.recipients = recipients
    }

    /// How much of a story over the limit is still kept (so that it can be shortened in an editor
    /// rather than written again): up to twice the limit.
    var storyCapacity: Int { maxStoryBytes + max(maxStoryBytes, 4096) + 1 }

    /// Runs the questionnaire on `terminal`. Fields already answered in `given` (raw `--answer`
    /// strings, checked first) are not asked at first, but may be changed at the end. Returns only
    /// after the submitter chose to submit a story that passes `Story.validate`; throws
    /// `Questionnaire.cancelled` when they discard everything, `.inputEnded` for end of input before
    /// that, `.tooManyAttempts` for too many bad replies to one of the first questions.
    public func run(on terminal: some QuestionnaireTerminal, given: [String] = []) throws(CoreError) -> Submission {
        var chosen = try schema.partialAnswers(from: given, currentYear: currentYear)
        let toAsk = schema.fields.filter { chosen[$0.id] == nil }

        terminal.write(SubmitterText.introduction(questions: toAsk.count))
        for (n, field) in toAsk.enumerated() {
            guard let values = try ask(field, number: n + 1, of: toAsk.count, on: terminal, giveUp: true) else {
                throw CoreError(.inputEnded, SubmitterText.inputEnded(beforeQuestion: field.label))
            }
            chosen[field.id] = values.isEmpty ? nil : values
        }

        var story = SecretBytes(count: storyCapacity, guarded: true)
        var length = try firstStory(&story, on: terminal)
        while true {
            let answers = try schema.answers(from: Self.items(chosen), arrivalMonth: arrivalMonth, currentYear: currentYear)
            let state = check(story, length: length)
            if case let .problem(why) = state { terminal.write(SubmitterText.storyProblem(why)) }
            terminal.write(summary(answers, story: story, state: state))
            terminal.write(SubmitterText.menu(editor: terminal.editorName))
            switch try menuChoice(on: terminal, state: state) {
            case .submit:
                guard case let .ready(info) = state else { continue }
                return Submission(answers: answers, story: story.prefix(length), storyInfo: info)
            case .change:
                guard let index = try whichAnswer(on: terminal) else { continue }
                let field = schema.fields[index]
                if let values = try ask(field, number: index + 1, of: schema.fields.count, on: terminal, giveUp: false) {
                    chosen[field.id] = values.isEmpty ? nil : values
                }
            case .story:
                length = try writeStory(&story, length: length, on: terminal, editor: terminal.editorName != nil)
            case .discard:
                terminal.write(SubmitterText.confirmDiscard)
                guard let reply = terminal.readLine() else { throw CoreError(.inputEnded, SubmitterText.inputEndedAtTheEnd) }
                let word = Schema.normalise(reply.unicodeScalars[...])
                if word == "y" || word == "yes" { throw Self.cancelled }
                terminal.write(SubmitterText.notDiscarded)
            }
        }
    }

    /// Answers as `--answer` strings, for `Schema.answers`.
    static func items(_ chosen: [String: [String]]) -> [String] {
        chosen.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.joined(separator: ","))" }
    }

    // MARK: Questions

    /// Asks `field` until a reply is accepted: its values, [] for a skipped question, nil at end of
    /// input. With `giveUp`, `maxAttempts` bad replies end the questionnaire.
    func ask(_ field: Schema.Field, number: Int, of total: Int, on terminal: some QuestionnaireTerminal,
             giveUp: Bool) throws(CoreError) -> [String]? {
        terminal.write(question(field, number: number, of: total))
        var rejected = 0
        while true {
            guard let line = terminal.readLine() else { return nil }
            switch interpret(line, for: field) {
            case .skip:
                return []
            case let .answer(_, values):
                return values
            case let .rejected(why):
                rejected += 1
                if giveUp && rejected >= maxAttempts {
                    throw CoreError(.tooManyAttempts, SubmitterText.tooManyReplies(maxAttempts, question: field.label))
                }
                terminal.write(SubmitterText.notAccepted(why))
            }
        }
    }

    func question(_ field: Schema.Field, number: Int, of total: Int) -> String {
        var s = SubmitterText.heading(field.label, number: number, of: total)
        if field.id == "consent" { s += SubmitterText.consentPreamble }
        for (k, v) in (field.values ?? []).enumerated() {
            s += SubmitterText.choice(k + 1, v, explanation: SubmitterText.explanation(field: field.id, value: v))
        }
        return s + SubmitterText.instruction(kind: field.kind, required: field.required,
                                                 firstYear: field.min ?? Schema.earliestYear, currentYear: currentYear)
    }

    // MARK: The story

    /// The story's first writing: typed, or in the editor when there is one and the submitter wants it.
    func firstStory(_ story: inout SecretBytes, on terminal: some QuestionnaireTerminal) throws(CoreError) -> Int {
        var useEditor = false
        if let editor = terminal.editorName {
            terminal.write(SubmitterText.howToWrite(editor: editor))
            while true {
                guard let line = terminal.readLine() else { throw CoreError(.inputEnded, SubmitterText.inputEndedAtTheEnd) }
                let word = Schema.normalise(line.unicodeScalars[...])
                if word == "1" { break }
                if word == "2" { useEditor = true; break }
                terminal.write(SubmitterText.enterOneOrTwo)
            }
        }
        return try writeStory(&story, length: 0, on: terminal, editor: useEditor)
    }

    /// Writes the story again: in the editor (starting from what there is), or typed anew.
    func writeStory(_ story: inout SecretBytes, length: Int, on terminal: some QuestionnaireTerminal, editor: Bool) throws(CoreError) -> Int {
        if editor, let name = terminal.editorName {
            terminal.write(SubmitterText.openingEditor(name))
            do {
                return try terminal.editStory(&story, length: min(length, story.count))
            } catch where error.kind != .bug {
                terminal.write(SubmitterText.editorFailed(error.message))
                return length
            }
        }
        story.withUnsafeMutableBytes { b in for k in b.indices { b[k] = 0 } }
        terminal.write(SubmitterText.storyPrompt(maxBytes: maxStoryBytes))
        let n = try terminal.readStory(into: &story)
        let characters = story.withUnsafeBytes { b in b.prefix(min(n, b.count)).reduce(0) { $0 + ($1 & 0xC0 == 0x80 ? 0 : 1) } }
        terminal.write(SubmitterText.storyEnded(characters: characters))
        return n
    }

    enum StoryState {
        case ready(Story.Info)
        case problem(String)
    }

    /// The story checked as soon as it ends, before anything else is asked.
    func check(_ story: borrowing SecretBytes, length: Int) -> StoryState {
        if length > story.count { return .problem(SubmitterText.tooLongToKeep(bytes: story.count, maxBytes: maxStoryBytes)) }
        let result: Result<Story.Info, CoreError> = story.withUnsafeBytes { b in
            Result { () throws(CoreError) -> Story.Info in try Story.validate(UnsafeRawBufferPointer(rebasing: b[0 ..< length]), maxBytes: maxStoryBytes) }
        }
        switch result {
        case let .success(info): return .ready(info)
        case let .failure(error): return .problem(error.message)
        }
    }

    // MARK: Checking before sealing

    func summary(_ answers: AnswersText, story: borrowing SecretBytes, state: StoryState) -> String {
        var s = SubmitterText.checkHeading
        for (k, field) in schema.fields.enumerated() {
            s += SubmitterText.answerLine(k + 1, field.label, answers.fields[field.id])
        }
        switch state {
        case let .ready(info):
            let (first, last) = Self.firstAndLastLines(story, length: info.byteCount)
            s += SubmitterText.storySummary(characters: info.characterCount, bytes: info.byteCount, maxBytes: maxStoryBytes,
                                                first: first, last: last)
        case let .problem(why):
            s += SubmitterText.storyNotReady(why)
        }
        if !recipients.isEmpty {
            s += SubmitterText.recipientsHeading(recipients.count)
            for key in recipients { s += SubmitterText.recipient(key) }
        }
        return s
    }

    /// The first and the last line of the story that are not blank, each cut to `width` characters,
    /// quoted and made safe for the terminal; the last is nil when there is only one.
    static func firstAndLastLines(_ story: borrowing SecretBytes, length: Int, width: Int = 60) -> (String, String?) {
        story.withUnsafeBytes { b in
            let text = UnsafeRawBufferPointer(rebasing: b[0 ..< length])
            let lines = text.split(separator: 0x0A).filter { line in line.contains { $0 != 0x20 && $0 != 0x09 && $0 != 0x0D } }
            func shown(_ line: Slice<UnsafeRawBufferPointer>) -> String {
                var scalars = String(decoding: line, as: UTF8.self).unicodeScalars[...]
                while let f = scalars.first, f == " " || f == "\t" { scalars.removeFirst() }
                while let l = scalars.last, l == " " || l == "\t" || l == "\r" { scalars.removeLast() }
                let cut = scalars.count > width
                return "\"" + terminalSafe(String(String.UnicodeScalarView(scalars.prefix(width)))) + (cut ? "...\"" : "\"")
            }
            guard let first = lines.first else { return ("\"\"", nil) }
            return (shown(first), lines.count > 1 ? shown(lines.last!) : nil)
        }
    }

    enum MenuChoice { case submit, change, story, discard }

    func menuChoice(on terminal: some QuestionnaireTerminal, state: StoryState) throws(CoreError) -> MenuChoice {
        while true {
            guard let line = terminal.readLine() else { throw CoreError(.inputEnded, SubmitterText.inputEndedAtTheEnd) }
            switch Schema.normalise(line.unicodeScalars[...]) {
            case "1", "submit":
                if case let .problem(why) = state { terminal.write(SubmitterText.cannotSubmitYet(why)); continue }
                return .submit
            case "2", "change": return .change
            case "3", "edit": return .story
            case "4", "discard": return .discard
            default: terminal.write(SubmitterText.enterOneToFour)
            }
        }
    }

    /// The index of the field to change, or nil to go back.
    func whichAnswer(on terminal: some QuestionnaireTerminal) throws(CoreError) -> Int? {
        let count = schema.fields.count
        terminal.write(SubmitterText.whichAnswer(count: count))
        while true {
            guard let line = terminal.readLine() else { throw CoreError(.inputEnded, SubmitterText.inputEndedAtTheEnd) }
            let word = Schema.normalise(line.unicodeScalars[...])
            if word.isEmpty { return nil }
            if let k = Int(word), (1 ... count).contains(k) { return k - 1 }
            terminal.write(SubmitterText.enterAnswerNumber(count: count))
        }
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

    /// A reply is a list of choice numbers (or the values themselves, "prefer not to say" with spaces
    /// too) separated by commas or spaces, or a year. Numbers become values here, and the reasons a
    /// reply is not accepted are worded for the submitter; `Schema.partialAnswers` checks the result.
    func interpret(_ line: String, for field: Schema.Field) -> Reply {
        var scalars = line.unicodeScalars[...]
        while scalars.first == " " { scalars.removeFirst() }
        while scalars.last == " " { scalars.removeLast() }
        if scalars.isEmpty {
            return field.required ? .rejected(SubmitterText.needsAnAnswer) : .skip
        }
        let item: String
        switch field.kind {
        case .year:
            let first = field.min ?? Schema.earliestYear
            let digits = scalars.allSatisfy { ("0" ... "9").contains($0) }
            guard digits, scalars.count <= 9, let year = Int(String(scalars)) else {
                return .rejected(SubmitterText.notAYear(displaySafe(String(scalars)), first: first, last: currentYear))
            }
            guard (first ... max(first, currentYear)).contains(year), year <= currentYear else {
                return .rejected(SubmitterText.yearOutOfRange(year, first: first, last: currentYear))
            }
            item = field.id + "=" + String(year)
        case .single, .multiple:
            let values = field.values ?? []
            let single = field.kind == .single
            let whole = String(String.UnicodeScalarView(Schema.normalise(scalars).unicodeScalars.map { $0 == " " ? "-" : $0 }))
            var chosen: [String] = []
            if values.contains(whole) {
                chosen = [whole]
            } else {
                let tokens = scalars.split(whereSeparator: { $0 == "," || $0 == " " })
                if tokens.isEmpty { return .rejected("no choice was given; " + SubmitterText.choiceRange(count: values.count, single: single)) }
                for token in tokens {
                    if token.allSatisfy({ ("0" ... "9").contains($0) }) {
                        guard let k = Int(String(token)), (1 ... values.count).contains(k) else {
                            return .rejected(SubmitterText.noSuchChoice(displaySafe(String(token)), count: values.count, single: single))
                        }
                        chosen.append(values[k - 1])
                    } else {
                        let value = Schema.normalise(token)
                        guard values.contains(value) else {
                            return .rejected(SubmitterText.notAChoice(displaySafe(value), count: values.count, single: single))
                        }
                        chosen.append(value)
                    }
                }
            }
            if single && chosen.count > 1 { return .rejected(SubmitterText.oneOnly) }
            if let twice = chosen.enumerated().first(where: { chosen[..<$0.offset].contains($0.element) }) {
                return .rejected(SubmitterText.twice(twice.element))
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
}

/// The questionnaire on file descriptors: questions to `output` (standard error by default, so that
/// standard output carries only the receipt), replies and the story from `input` (standard input).
/// On a terminal, input is read through `TerminalInput`: without the terminal's own line editor, whose
/// 4095-byte limit on a line would cut a pasted story, and with end of input (Ctrl-D) that does not
/// stick, so that the choices after the story can still be read. While it lives, the terminal is in
/// that mode; `finish()` (or its end) gives the terminal its own mode back.
public final class StandardQuestionnaireTerminal: QuestionnaireTerminal {
    public let input: Int32
    public let output: Int32
    private let reader: TerminalInput
    /// Longer reply lines are cut (the rest of the line is read and dropped).
    public static let maxLineBytes = 4096

    private let editor: StoryEditor?

    public convenience init(input: Int32 = 0, output: Int32 = 2) {
        self.init(input: input, output: output, editor: nil)
    }

    /// With `editor`, the story may also be written in it (see `StoryEditor` for the rules).
    package init(input: Int32, output: Int32, editor: StoryEditor?) {
        self.input = input
        self.output = output
        self.editor = editor
        reader = TerminalInput(input: input, echo: output)
    }

    public var editorName: String? { editor?.name }

    public func editStory(_ story: inout SecretBytes, length: Int) throws(CoreError) -> Int {
        guard let editor else { throw CoreError(.bug, "internal error: no editor to write the story in") }
        reader.suspend()
        defer { reader.resume() }
        do {
            return try editor.edit(&story, length: length)
        } catch {
            throw CoreError(.unreadableStory, error.message, errno: error.errno)
        }
    }

    /// Gives the terminal its own mode back.
    public func finish() { reader.suspend() }

    public func write(_ text: String) { Terminal.write(output, text) }

    public func readLine() -> String? { reader.readLine(limit: Self.maxLineBytes) }

    public func readStory(into story: inout SecretBytes) throws(CoreError) -> Int {
        do {
            return try reader.readText(into: &story, countLimit: Story.maxBytesCountedPastLimit)
        } catch {
            throw CoreError(.unreadableStory, "cannot read the story from the terminal: \(SystemError.reason(error.code))", errno: error.code)
        }
    }
}
