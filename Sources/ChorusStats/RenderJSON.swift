import ChorusFormat
/// A JSON value whose objects keep their key order, so output is byte-for-byte deterministic.
indirect enum JSONValue: Equatable {
    case null
    case bool(Bool)
    case int(Int)
    /// A number written exactly as given (an ε's decimal digits).
    case decimal(String)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    static func == (a: JSONValue, b: JSONValue) -> Bool { a.text(indent: nil) == b.text(indent: nil) }

    /// The text, pretty-printed with two-space indentation when `indent` is given.
    func text(indent: Int? = 0) -> String {
        let pad = indent.map { String(repeating: "  ", count: $0 + 1) }
        let close = indent.map { String(repeating: "  ", count: $0) }
        let next = indent.map { $0 + 1 }
        switch self {
        case .null: return "null"
        case let .bool(b): return b ? "true" : "false"
        case let .int(n): return String(n)
        case let .decimal(d): return d
        case let .string(s): return JSONString.quoted(s)
        case let .array(items):
            guard !items.isEmpty else { return "[]" }
            if items.allSatisfy(\.isFlat) {
                return "[" + items.map { $0.text(indent: nil) }.joined(separator: ", ") + "]"
            }
            guard let pad, let close else { return "[" + items.map { $0.text(indent: nil) }.joined(separator: ",") + "]" }
            return "[\n" + items.map { pad + $0.text(indent: next) }.joined(separator: ",\n") + "\n" + close + "]"
        case let .object(pairs):
            guard !pairs.isEmpty else { return "{}" }
            if isFlat || indent == nil {
                return "{" + pairs.map { JSONString.quoted($0.0) + ": " + $0.1.text(indent: nil) }.joined(separator: ", ") + "}"
            }
            return "{\n" + pairs.map { pad! + JSONString.quoted($0.0) + ": " + $0.1.text(indent: next) }.joined(separator: ",\n") + "\n" + close! + "}"
        }
    }

    /// A scalar, or an object of scalars: written on one line.
    var isFlat: Bool {
        switch self {
        case .array: return false
        case let .object(pairs): return pairs.allSatisfy { if case .object = $0.1 { return false } else if case .array = $0.1 { return false } else { return true } }
        default: return true
        }
    }
}

extension StatsReport {
    /// Machine-readable JSON:
    ///
    /// - `format` `"chorus-stats"`, `version` 1;
    /// - `outcome`: `"published"`, `"fewer_than_min_count"` or `"withheld"`;
    /// - `fields`: id, label, `multi_valued`, `categories_from_data`, `values` (`null` is
    ///   "not answered");
    /// - `parameters`: `min_count`, `epsilon` (a number, or `null`), `noisy`, `sensitivity`
    ///   (or `null`);
    /// - `release` (when the table is part of one): `number` (in the release log, or `null`),
    ///   `date` (UTC), `first_month` and `last_month` of arrival (`null` when not said);
    /// - `entries`: `{"count": n}`, `{"suppressed": true, "at_least": K}`, or
    ///   `{"fewer_than": K}` when nothing is published;
    /// - published tables only: `cells` (a list for one field, a list of rows for two), and for
    ///   two fields `row_totals` and `column_totals`; each number is `{"count": n}`,
    ///   `{"suppressed": true, "fewer_than": K}` or `{"suppressed": true, "at_least": K}`;
    /// - `notes`: the footnotes of the other formats.
    public func json() -> String { jsonValue.text() + "\n" }

    /// The JSON object of ``json()``.
    var jsonValue: JSONValue {
        func count(_ c: PublishedCount) -> JSONValue {
            switch c {
            case let .exact(n): return .object([("count", .int(n))])
            case let .fewerThan(k): return .object([("suppressed", .bool(true)), ("fewer_than", .int(k))])
            case let .atLeast(k): return .object([("suppressed", .bool(true)), ("at_least", .int(k))])
            }
        }
        let outcomeName: String
        switch outcome {
        case .published: outcomeName = "published"
        case .fewerThanMinimum: outcomeName = "fewer_than_min_count"
        case .withheld: outcomeName = "withheld"
        }
        var pairs: [(String, JSONValue)] = [
            ("format", .string("chorus-stats")),
            ("version", .int(1)),
            ("outcome", .string(outcomeName)),
            ("fields", .array(dimensions.map { d in
                .object([
                    ("id", .string(d.fieldID)),
                    ("label", .string(d.label)),
                    ("multi_valued", .bool(d.multiValued)),
                    ("categories_from_data", .bool(d.rangeFromData)),
                    ("values", .array(d.values.map { $0.map(JSONValue.string) ?? .null })),
                ])
            })),
            ("parameters", .object([
                ("min_count", .int(minCount)),
                ("epsilon", noise.map { .decimal($0.epsilon.description) } ?? .null),
                ("noisy", .bool(noise != nil)),
                ("sensitivity", noise.map { .int($0.sensitivity) } ?? .null),
            ])),
        ]
        if let release {
            pairs.append(("release", .object([
                ("number", release.number.map { .int($0) } ?? .null),
                ("date", .string(release.date)),
                ("first_month", release.period.map { .string($0.first) } ?? .null),
                ("last_month", release.period.map { .string($0.last) } ?? .null),
            ])))
        }
        switch outcome {
        case .fewerThanMinimum:
            pairs.append(("entries", .object([("fewer_than", .int(minCount))])))
        case let .withheld(entries):
            pairs.append(("entries", .object([("count", .int(entries))])))
        case let .published(p):
            pairs.append(("entries", count(p.entries)))
            if dimensions.count == 1 {
                pairs.append(("cells", .array(p.cells.map(count))))
            } else {
                let c = columnCount
                pairs.append(("cells", .array((0..<rowCount).map { i in .array((0..<c).map { count(p.cells[i * c + $0]) }) })))
                pairs.append(("row_totals", .array(p.rowTotals.map(count))))
                pairs.append(("column_totals", .array(p.columnTotals.map(count))))
            }
        }
        pairs.append(("notes", .array(notes.map(JSONValue.string))))
        return .object(pairs)
    }
}
