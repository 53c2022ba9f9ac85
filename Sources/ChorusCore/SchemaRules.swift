import ChorusFormat
import ChorusSystem

// MARK: - The rules of a questionnaire (docs/FORMAT.md 7.2)

extension Schema {
    public func validate(currentYear: Int = Schema.currentYear, source: String = "the schema") throws(CoreError) {
        if let problem = validationProblems(currentYear: currentYear).first { throw CoreError(.invalidSchema, "\(source): \(problem)") }
    }

    /// Every rule of docs/FORMAT.md 7.2 this schema breaks, one lowercase sentence each, in field order;
    /// empty when the schema is valid.
    public func validationProblems(currentYear: Int = Schema.currentYear) -> [String] {
        var problems: [String] = []
        if fields.isEmpty { problems.append("it has no fields; a schema needs 1 to \(Schema.maxFields)") }
        if fields.count > Schema.maxFields {
            problems.append("it has \(fields.count) fields, more than the limit of \(Schema.maxFields)")
        }
        var ids: [[UInt8]] = []
        for (i, f) in fields.enumerated() {
            let name = "field \(i + 1) (\"\(displaySafe(f.id))\")"
            if f.id == "arrival" {
                problems.append("\(name) uses the reserved id \"arrival\" (it holds the arrival month); choose another id")
            } else if f.id == "questionnaire" {
                problems.append("\(name) uses the reserved id \"questionnaire\" (it holds the questionnaire's digest); choose another id")
            } else if !AnswersText.isFieldID(f.id) {
                problems.append("\(name) has an invalid id; an id is 1 to 32 lowercase ASCII letters, digits and \"-\", starting with a letter")
            }
            if let j = ids.firstIndex(of: Array(f.id.utf8)) {
                problems.append("\(name) has the same id as field \(j + 1); ids must be unique")
            }
            ids.append(Array(f.id.utf8))
            if let why = Schema.labelProblem(f.label) { problems.append("\(name) has a label that \(why)") }
            switch f.kind {
            case .single, .multiple:
                if f.min != nil { problems.append("\(name) has \"min\", which only a \"year\" field may have") }
                guard let values = f.values else {
                    problems.append("\(name) has no \"values\"; a \"\(f.kind.rawValue)\" field needs 1 to \(Schema.maxValues)")
                    continue
                }
                if values.isEmpty || values.count > Schema.maxValues {
                    problems.append("\(name) has \(values.count) values; a \"\(f.kind.rawValue)\" field needs 1 to \(Schema.maxValues)")
                }
                var seen: [[UInt8]] = []
                for v in values {
                    if !AnswersText.isValue(v) {
                        problems.append("\(name) has the invalid value \"\(displaySafe(v))\"; a value is 1 to 48 lowercase ASCII letters, digits and \"-\", not starting with \"-\"")
                    } else if seen.contains(Array(v.utf8)) {
                        problems.append("\(name) lists the value \"\(displaySafe(v))\" twice; values must be unique")
                    }
                    seen.append(Array(v.utf8))
                }
            case .year:
                if f.values != nil { problems.append("\(name) is a \"year\" field and must not have \"values\"") }
                if let min = f.min {
                    if min < Schema.earliestYear || min > currentYear {
                        problems.append("\(name) has \"min\" \(min), outside \(Schema.earliestYear) to \(currentYear) (the current year)")
                    }
                } else {
                    problems.append("\(name) is a \"year\" field without \"min\" (the first allowed year, \(Schema.earliestYear) or later)")
                }
            }
        }
        if problems.isEmpty {
            let worst = worstCaseAnswersBytes(currentYear: currentYear)
            if worst > AnswersText.maxBytes {
                problems.append("answering every value of every field would take \(worst) bytes, more than the \(AnswersText.maxBytes)-byte limit of the answers; use fewer or shorter ids and values")
            }
        }
        return problems
    }

    /// The size of the largest answers text this schema allows.
    func worstCaseAnswersBytes(currentYear: Int) -> Int {
        var total = AnswersText.header.utf8.count + 1 + "arrival=YYYY-MM\n".utf8.count + "questionnaire=\n".utf8.count + 64
        for f in fields {
            let valueBytes: Int
            switch f.kind {
            case .year: valueBytes = String(max(currentYear, f.min ?? 0)).utf8.count
            case .single: valueBytes = (f.values ?? []).map(\.utf8.count).max() ?? 0
            case .multiple:
                let vs = f.values ?? []
                valueBytes = vs.reduce(0) { $0 + $1.utf8.count } + max(0, vs.count - 1)
            }
            total += f.id.utf8.count + 1 + valueBytes + 1
        }
        return total
    }

    /// Why a label is not acceptable, or nil.
    static func labelProblem(_ label: String) -> String? {
        let count = label.unicodeScalars.count
        if count == 0 { return "is empty; a label is 1 to \(maxLabelLength) characters" }
        if count > maxLabelLength { return "is \(count) characters long, more than the limit of \(maxLabelLength)" }
        if label.unicodeScalars.allSatisfy({ $0.properties.isWhitespace }) { return "is only whitespace" }
        if let bad = label.unicodeScalars.first(where: { !isLabelScalar($0) }) {
            return "contains the control or invisible formatting character \(displaySafe(String(Character(bad))))"
        }
        return nil
    }

    /// Labels are shown on the submitter's terminal: no control characters (C0, DEL, C1), no line or
    /// paragraph separators, no invisible format characters (bidi overrides and isolates, zero-width
    /// space, BOM, ...) except ZWNJ and ZWJ (needed by some scripts and emoji), no private-use or
    /// non-character code points.
    static func isLabelScalar(_ u: Unicode.Scalar) -> Bool {
        if u.value == 0x200C || u.value == 0x200D { return true }
        if u.properties.isNoncharacterCodePoint { return false }
        switch u.properties.generalCategory {
        case .control, .format, .lineSeparator, .paragraphSeparator, .privateUse, .surrogate: return false
        default: return true
        }
    }
}
