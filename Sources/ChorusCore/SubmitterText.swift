import ChorusFormat
import ChorusSystem

/// Every sentence a submitter reads (the interactive questionnaire of `chorus submit`, the receipt,
/// and `chorus withdraw`), in one place, so that a survivor advocate can read all of it at once and
/// a translator can translate it without reading code. The people reading these may be writing the hardest thing they have ever written: short
/// sentences, plain words, no internal terms (no "field", "schema", "envelope", "tombstone"), and
/// always a way forward. The questions' own labels and values come from the store's questionnaire.
///
/// Everything here is printable ASCII or text that went through `terminalSafe`.
public enum SubmitterText {
    // MARK: Opening

    static func introduction(questions: Int) -> String {
        var s = "Chorus: tell what happened to you, anonymously.\n\n"
        if questions > 0 {
            s += "You will be asked \(questions) short question\(questions == 1 ? "" : "s"), then for your story.\n"
        } else {
            s += "Your answers were given on the command line; you will be asked for your story.\n"
        }
        s += "Before anything is sent, you will see it all again and can change any of it.\n"
        s += "Nothing that identifies you is needed: not your name. Please leave out names and details\n"
        s += "that could point to you or to someone else.\n"
        s += "Your answers and your story are sealed (encrypted) on this computer before anything is saved,\n"
        s += "and nothing is saved until you choose to submit at the end. You can stop at any time with Ctrl-C.\n"
        return s
    }

    // MARK: Questions

    static func heading(_ label: String, number: Int, of total: Int) -> String {
        "\n(\(number) of \(total)) \(terminalSafe(label))\n"
    }

    /// A value as the submitter reads it: `prefer-not-to-say` becomes "prefer not to say".
    public static func shown(_ value: String) -> String { value.replacingDashes() }

    static func choice(_ number: Int, _ value: String, explanation: String?) -> String {
        var s = "  \(number)) \(shown(value))\n"
        if let explanation { s += "       \(explanation)\n" }
        return s
    }

    static func instruction(kind: Schema.Field.Kind, required: Bool, firstYear: Int, currentYear: Int) -> String {
        var s: String
        switch kind {
        case .single: s = "Enter one number."
        case .multiple: s = "Enter one or more numbers, separated by commas (for example 1,3)."
        case .year: s = "Enter a year from \(firstYear) to \(currentYear)."
        }
        s += required ? " This question needs an answer." : " You may skip this question: just press Enter."
        return s + "\n> "
    }

    /// Said after a reply that was not accepted; only the prompt is shown again, not the whole question.
    static func notAccepted(_ why: String) -> String { "Not accepted: \(why). Please try again.\n> " }

    static let needsAnAnswer = "this question needs an answer"

    static func noSuchChoice(_ shown: String, count: Int, single: Bool) -> String {
        "there is no choice \(shown); " + choiceRange(count: count, single: single)
    }

    static func notAChoice(_ shown: String, count: Int, single: Bool) -> String {
        "\"\(shown)\" is not one of the choices; " + choiceRange(count: count, single: single)
    }

    static func choiceRange(count: Int, single: Bool) -> String {
        single ? "enter a number from 1 to \(count)" : "enter numbers from 1 to \(count), separated by commas"
    }

    static let oneOnly = "this question takes only one answer"
    static func twice(_ value: String) -> String { "\"\(shown(value))\" was chosen twice" }
    static func notAYear(_ shown: String, first: Int, last: Int) -> String { "\"\(shown)\" is not a year; enter a year from \(first) to \(last), in digits" }
    static func yearOutOfRange(_ year: Int, first: Int, last: Int) -> String { "\(year) is not between \(first) and \(last)" }

    /// What a choice of the consent question means, for the values Chorus knows.
    public static func explanation(field: String, value: String) -> String? {
        guard field == "consent" else { return nil }
        switch value {
        case "counts-only": return "The reviewers read your story, but never quote it. Your answers are only counted with many others."
        case "quote-anonymously": return "The reviewers may quote words of your story in what they publish, leaving out anything that could identify you."
        case "prefer-not-to-say": return "Treated like counts-only: your story is read, never quoted."
        default: return nil
        }
    }

    /// Said before the choices of the consent question: who reads the story.
    public static let consentPreamble = """
        Who reads your story: only the reviewers shown at the end, before you submit. They open it on
        their own computer. Analysts see your answers only, never your story, and publish only counts
        of many stories together.

        """

    // MARK: The story

    static func storyPrompt(maxBytes: Int) -> String {
        """

        Now your story. Type or paste it below. It can be as long as you need, up to \(maxBytes) bytes
        (in English, about as many letters). Line breaks are kept.
        When you are done, press Ctrl-D (at the end of the text or on a new line).

        """
    }

    static func howToWrite(editor: String) -> String {
        """

        How would you like to write your story?
          1) Type or paste it here
          2) Write it in your text editor (\(terminalSafe(editor)))
        > 
        """
    }

    static let enterOneOrTwo = "Please enter 1 or 2.\n> "

    static func openingEditor(_ editor: String) -> String {
        "\nOpening \(terminalSafe(editor)). Write your story, save it, and close the editor to come back here.\n"
    }

    static func editorFailed(_ why: String) -> String { "\nThe editor did not finish: \(why). Your story is as it was before.\n" }

    static func storyEnded(characters: Int) -> String { "\n(Your story has ended: \(characters) character\(characters == 1 ? "" : "s").)\n" }

    static func tooLongToKeep(bytes: Int, maxBytes: Int) -> String {
        "your story was more than \(bytes) bytes, far over the limit of \(maxBytes) bytes, and could not be kept; please write a shorter one"
    }

    static func storyProblem(_ why: String) -> String { "\nYour story cannot be sent as it is: \(why).\n" }

    // MARK: Checking before sealing

    static let checkHeading = "\nPlease check everything before it is sealed:\n"

    static func answerLine(_ number: Int, _ label: String, _ values: [String]?) -> String {
        let shownValues = values.map { $0.map(shown).joined(separator: ", ") } ?? "(skipped)"
        return "  \(number)) \(terminalSafe(label)): \(shownValues)\n"
    }

    static func storySummary(characters: Int, bytes: Int, maxBytes: Int, first: String, last: String?) -> String {
        var s = "  Your story: \(characters) character\(characters == 1 ? "" : "s") (\(bytes) of at most \(maxBytes) bytes)\n"
        s += "     it begins: \(first)\n"
        if let last { s += "     it ends:   \(last)\n" }
        return s
    }

    static func storyNotReady(_ why: String) -> String { "  Your story: cannot be sent yet: \(why)\n" }

    static let noStoryYet = "  Your story: not written yet\n"

    static func recipientsHeading(_ count: Int) -> String {
        count == 1 ? "  It will be sealed so that only this key can open it:\n" : "  It will be sealed so that only these \(count) keys can open it:\n"
    }

    static func recipient(_ key: RecipientKey) -> String {
        let name = displaySafe(key.name ?? "(unnamed)")
        let what = key.role == .reviewer ? "reads your story and your answers" : "sees your answers only, never your story"
        return "    \(name) (\(key.role), fingerprint \(key.fingerprint)): \(what)\n"
    }

    static func menu(editor: String?) -> String {
        """

        What would you like to do?
          1) Submit
          2) Change an answer
          3) \(editor.map { "Edit the story (in \(terminalSafe($0)))" } ?? "Write the story again")
          4) Discard everything
        > 
        """
    }

    static let enterOneToFour = "Please enter 1, 2, 3 or 4.\n> "

    static func cannotSubmitYet(_ why: String) -> String { "Your story cannot be sent yet: \(why). Choose 3 to change it.\n> " }

    static func whichAnswer(count: Int) -> String {
        "Which answer would you like to change? Enter its number (1 to \(count)), or just press Enter to go back.\n> "
    }

    static func enterAnswerNumber(count: Int) -> String { "Please enter a number from 1 to \(count), or just press Enter to go back.\n> " }

    static let confirmDiscard = "Discard your answers and your story? Nothing will be saved.\nType yes to discard them, or just press Enter to go back.\n> "

    static let notDiscarded = "Nothing was discarded.\n"

    // MARK: The submission page (chorus serve, in a browser)

    /// The page's opening paragraphs. The page is plain HTML; these are plain text, escaped by the page.
    public static let webIntroduction = [
        "Tell what happened to you, anonymously.",
        "Nothing that identifies you is needed: not your name. Please leave out names and details that could point to you or to someone else.",
        "Nothing is saved until you press the button at the end. Your answers and your story are then sealed (encrypted) on this server, for the reviewers only, and the server keeps only the sealed copy.",
    ]

    public static func webStoryLabel(maxBytes: Int) -> String {
        "Your story. It can be as long as you need, up to \(maxBytes) bytes (in English, about as many letters). Line breaks are kept."
    }

    public static let webOptional = "(you may skip this question)"
    public static let webSubmit = "Seal and send"
    public static func webYearHint(first: Int, last: Int) -> String { "A year from \(first) to \(last), in digits." }
    public static let webNotSent = "Nothing was stored yet. Please check what is named below, then press the button again."
    /// Said before the choices of the consent question on the page (the page lists the reviewers there).
    public static let webConsentPreamble = "Who reads your story: only these reviewers, on their own computers, where it is unsealed. Analysts see your answers only, never your story, and publish only counts of many stories together."
    public static func webNeedsAnswer(_ label: String) -> String { "\"\(label)\" needs an answer." }
    public static func webBadYear(_ label: String, first: Int, last: Int) -> String { "\"\(label)\": enter a year from \(first) to \(last), in digits." }
    public static func webStoryProblem(_ why: String) -> String { "Your story cannot be sent as it is: \(why)." }
    public static let webNoStory = "Your story is empty; please write it in the box."
    public static let webSealedHeading = "Your story is sealed and stored."
    public static let webReceiptIntro = "This is your receipt. It is shown only once, on this page:"
    public static let webKeepTheReceipt = "Write it down or copy it somewhere private. With it, and only with it, you can withdraw your story later, on this site's page for withdrawing (/withdraw) or with chorus withdraw."
    public static let webWithdrawHeading = "Withdraw your story"
    public static let webWithdrawIntro = "Type the receipt you were given when you sent your story (7 groups of 4 letters and digits; dashes, spaces and case do not matter)."
    public static let webWithdrawButton = "Withdraw my story"
    public static let webWithdrawReceiptLabel = "Your receipt"
    public static let webBusy = "The server cannot take stories right now. Nothing was saved. Please try again in a few minutes."
    public static let webOnlyThisPage = "This form was not sent by this server's page. Nothing was saved."

    // MARK: The receipt (submit) and withdrawing (withdraw)

    public static func sealed(into place: String?) -> String {
        "Your story is sealed\(place.map { " into \($0)" } ?? " and stored"). The line above is your receipt: it is shown only once."
    }

    public static let keepTheReceipt = "Keep it somewhere private. With it, and only with it, you can withdraw your story later (chorus withdraw)."

    public static let typeTheReceipt = """
        Type the receipt you were given (7 groups of 4 letters and digits; dashes, spaces and case do not matter).
        It is shown as you type; run with --hide-receipt if someone could see your screen.
        """

    public static func youTyped(_ grouped: String) -> String { "You typed:  \(grouped)" }

    public static func notAReceipt(_ why: String, triesLeft left: Int) -> String {
        "That is not a receipt: \(why). Please try again (\(left) \(left == 1 ? "try" : "tries") left)."
    }

    public static let withdrawnFromInbox = "Your story is withdrawn: it was removed from the store's inbox, and any copy of it is skipped wherever stories are read or counted."
    public static let withdrawnFromBatch = "Your story is withdrawn: it was already in a closed batch for the reviewers; from now on it is skipped wherever stories are read or counted."
    public static let alreadyWithdrawn = "This story was already withdrawn; there is nothing more to do."
    /// `withdraw --to URL`: the server answers alike whether or not the story was there.
    public static let withdrawnRemotely = "Your story is withdrawn: the server removed it if it was there, and marked it so that any copy is skipped wherever stories are read or counted. (The server answers the same whether or not it had your story, so that a receipt cannot be used to learn anything.)"

    // MARK: Endings (error sentences: lowercase, one sentence)

    static let discarded = "discarded as you asked; nothing was written"
    static func inputEnded(beforeQuestion label: String) -> String {
        "the questions stopped before \"\(terminalSafe(label))\" was answered (the input ended); nothing was written"
    }
    static let inputEndedAtTheEnd = "the input ended before you chose to submit; nothing was written"
    static func tooManyReplies(_ n: Int, question label: String) -> String {
        "\(n) replies to \"\(terminalSafe(label))\" were not accepted, so the questions stopped; nothing was written"
    }
}

extension String {
    fileprivate func replacingDashes() -> String { String(map { $0 == "-" ? " " : $0 }) }
}
