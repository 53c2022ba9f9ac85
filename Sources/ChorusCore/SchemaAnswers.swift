import ChorusCrypto
import ChorusFormat
import ChorusSystem

// MARK: - Checking answers

extension Schema {
    /// Checks raw `--answer FIELD=VALUE[,VALUE]...` strings (repeatable; `kind=a,b` and `kind=a`
    /// `kind=b` mean the same) against the schema and builds the canonical answers.
    ///
    /// Normalisation: spaces (U+0020) around the field and around each value are dropped and ASCII
    /// upper case is folded to lower case; nothing else. Any other character outside `[a-z0-9-]` (tabs,
    /// control characters, bidi overrides, zero-width characters, combining marks, non-ASCII
    /// look-alikes, fullwidth forms) is rejected. Errors are `.invalidAnswer`, one sentence naming the
    /// field and the allowed values, quoting the input only through `displaySafe`. The answers carry
    /// this questionnaire's digest, so that readers interpret them with it and no other.
    public func answers(from raw: [String], arrivalMonth: String, currentYear: Int) throws(CoreError) -> AnswersText {
        guard AnswersText.isMonth(arrivalMonth) else {
            throw CoreError(.bug, "internal error: the arrival month \"\(displaySafe(arrivalMonth))\" is not YYYY-MM")
        }
        let given = try partialAnswers(from: raw, currentYear: currentYear)
        let missing = fields.filter { $0.required && given[$0.id] == nil }
        if let first = missing.first {
            var message = "the required field \"\(first.id)\" has no answer; add --answer \(first.id)=VALUE with \(allowedDescription(first, currentYear: currentYear))"
            if missing.count > 1 { message += " (also missing: \(missing.dropFirst().map(\.id).joined(separator: ", ")))" }
            throw CoreError(.invalidAnswer, message)
        }
        do {
            return try AnswersText(arrivalMonth: arrivalMonth, questionnaire: digest, fields: given)
        } catch {
            throw CoreError(.invalidAnswer, "the answers do not fit the answers format: \(error)")
        }
    }

    /// Like `answers(from:arrivalMonth:currentYear:)` but without the check for missing required
    /// fields: the normalised values given so far, by field id (used by the questionnaire to check one
    /// reply, and to skip the questions already answered on the command line).
    public func partialAnswers(from raw: [String], currentYear: Int) throws(CoreError) -> [String: [String]] {
        var given: [String: [String]] = [:]
        for item in raw {
            let scalars = item.unicodeScalars
            guard let eq = scalars.firstIndex(of: "=") else {
                throw CoreError(.invalidAnswer, "the answer \"\(displaySafe(item))\" is not in the form FIELD=VALUE (it has no \"=\"); known fields: \(knownFields)")
            }
            let fieldName = Self.normalise(scalars[..<eq])
            if fieldName.isEmpty {
                throw CoreError(.invalidAnswer, "the answer \"\(displaySafe(item))\" has no field name before \"=\"; known fields: \(knownFields)")
            }
            guard Self.isToken(fieldName), let field = fields.first(where: { Array($0.id.utf8) == Array(fieldName.utf8) }) else {
                let note = Self.isToken(fieldName) ? "" : " (it contains characters other than lowercase ASCII letters, digits and \"-\")"
                throw CoreError(.invalidAnswer, "unknown field \"\(displaySafe(fieldName))\"\(note); known fields: \(knownFields)")
            }
            let valueScalars = scalars[scalars.index(after: eq)...]
            for part in valueScalars.split(separator: ",", omittingEmptySubsequences: false) {
                let value = Self.normalise(part)
                let allowed = allowedDescription(field, currentYear: currentYear)
                if value.isEmpty {
                    throw CoreError(.invalidAnswer, "the field \"\(field.id)\" was given an empty value; \(allowed)")
                }
                let canonical: String
                switch field.kind {
                case .year:
                    let digits = Array(value.utf8)
                    guard (1 ... 9).contains(digits.count), digits.allSatisfy({ (UInt8(ascii: "0") ... UInt8(ascii: "9")).contains($0) }),
                          let year = Int(value)
                    else {
                        throw CoreError(.invalidAnswer, "the year \"\(displaySafe(value))\" for field \"\(field.id)\" is not a number; \(allowed)")
                    }
                    let min = field.min ?? Schema.earliestYear
                    guard (min ... Swift.max(min, currentYear)).contains(year), year <= currentYear else {
                        throw CoreError(.invalidAnswer, "the year \(year) for field \"\(field.id)\" is out of range; \(allowed)")
                    }
                    canonical = String(year)
                case .single, .multiple:
                    guard Self.isToken(value) else {
                        throw CoreError(.invalidAnswer, "the value \"\(displaySafe(value))\" for field \"\(field.id)\" contains characters other than lowercase ASCII letters, digits and \"-\"; \(allowed)")
                    }
                    guard (field.values ?? []).contains(where: { Array($0.utf8) == Array(value.utf8) }) else {
                        throw CoreError(.invalidAnswer, "unknown value \"\(displaySafe(value))\" for field \"\(field.id)\"; \(allowed)")
                    }
                    canonical = value
                }
                let previous = given[field.id] ?? []
                if previous.contains(where: { Array($0.utf8) == Array(canonical.utf8) }) {
                    throw CoreError(.invalidAnswer, "the value \"\(canonical)\" was given twice for field \"\(field.id)\"; give each value once")
                }
                if field.kind != .multiple, let other = previous.first {
                    let what = field.kind == .year ? "one year" : "one value"
                    throw CoreError(.invalidAnswer, "the field \"\(field.id)\" takes \(what) but was given two (\"\(other)\" and \"\(canonical)\"); \(allowed)")
                }
                given[field.id] = previous + [canonical]
            }
        }
        return given
    }

    /// "known fields" list for messages.
    var knownFields: String { fields.map(\.id).joined(separator: ", ") }

    /// What a field accepts, for messages: "allowed values: a, b" or "enter a year from X to Y".
    public func allowedDescription(_ field: Field, currentYear: Int) -> String {
        switch field.kind {
        case .year: return "enter a year from \(field.min ?? Schema.earliestYear) to \(currentYear)"
        case .single: return "allowed values (one): \((field.values ?? []).joined(separator: ", "))"
        case .multiple: return "allowed values (one or more): \((field.values ?? []).joined(separator: ", "))"
        }
    }

    /// Drops U+0020 around the token and folds ASCII upper case; keeps every other scalar as it is.
    static func normalise(_ scalars: Substring.UnicodeScalarView) -> String {
        var view = scalars
        while view.first == " " { view.removeFirst() }
        while view.last == " " { view.removeLast() }
        var out = String.UnicodeScalarView()
        for u in view {
            if (0x41 ... 0x5A).contains(u.value) {
                out.append(Unicode.Scalar(u.value + 0x20)!)
            } else {
                out.append(u)
            }
        }
        return String(out)
    }

    /// Only `[a-z0-9-]`, non-empty.
    static func isToken(_ s: String) -> Bool {
        !s.isEmpty && s.unicodeScalars.allSatisfy {
            ("a" ... "z").contains($0) || ("0" ... "9").contains($0) || $0 == "-"
        }
    }
}

extension Schema {
    /// Whether opened answers fit this questionnaire (FORMAT.md 4: they carry its digest; known
    /// fields, allowed values, one value for single choices, a year written canonically from the
    /// field's minimum to the year of arrival, required fields present): the same checks as when
    /// sealing. Used by readers, which must not count or show answers a hostile sender made up.
    public func accepts(_ answers: AnswersText) -> Bool {
        guard answers.questionnaire == digest else { return false }
        let raw = answers.fields.keys.sorted().map { "\($0)=\(answers.fields[$0]!.joined(separator: ","))" }
        return (try? self.answers(from: raw, arrivalMonth: answers.arrivalMonth, currentYear: answers.arrivalYear)) == answers
    }
}

/// The check `Schema.accepts` makes, done once per schema instead of once per entry: whether
/// answers fit the questionnaire exactly as `Schema.answers(from:arrivalMonth:currentYear:)` would
/// rebuild them (the questionnaire's digest; every field known; a value the field allows; one value
/// for a single-valued field and for a year; a year written canonically, from the field's minimum to
/// the year of arrival; every required field answered). Same result as `schema.accepts(answers)`,
/// without building strings.
public struct AnswersAcceptor: Sendable {
    private struct Rule: Sendable {
        let kind: Schema.Field.Kind
        let values: Set<String>
        let minYear: Int
    }
    private let rules: [String: Rule]
    private let required: [String]
    private let digest: [UInt8]

    public init(schema: Schema) {
        var rules: [String: Rule] = [:]
        for f in schema.fields where rules[f.id] == nil {
            // Answers are ASCII; on ASCII strings `==` is byte equality, as the schema's check uses.
            let values = Set((f.values ?? []).filter { $0.utf8.allSatisfy { $0 < 0x80 } })
            rules[f.id] = Rule(kind: f.kind, values: values, minYear: f.min ?? Schema.earliestYear)
        }
        self.rules = rules
        required = schema.fields.filter(\.required).map(\.id)
        digest = schema.digest
    }

    public func accepts(_ answers: AnswersText) -> Bool {
        guard answers.questionnaire == digest else { return false }
        let arrivalYear = answers.arrivalYear
        for (id, values) in answers.fields {
            guard let rule = rules[id], !values.isEmpty else { return false }
            switch rule.kind {
            case .single:
                guard values.count == 1, rule.values.contains(values[0]) else { return false }
            case .multiple:
                for (i, v) in values.enumerated() {
                    guard rule.values.contains(v) else { return false }
                    for w in values[..<i] where w == v { return false } // a value given twice
                }
            case .year:
                guard values.count == 1, Self.isYear(values[0], from: rule.minYear, to: arrivalYear) else { return false }
            }
        }
        for id in required where answers.fields[id] == nil { return false }
        return true
    }

    /// 1 to 9 digits, the canonical decimal form (no leading zero) of a year from `min` to `last`.
    private static func isYear(_ text: String, from min: Int, to last: Int) -> Bool {
        let u = text.utf8
        guard (1 ... 9).contains(u.count), u.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let year = Int(text) else { return false }
        guard year >= min, year <= Swift.max(min, last), year <= last else { return false }
        return String(year) == text
    }
}
