/// A questionnaire: the fields a submitter answers and the values each allows (docs/FORMAT.md 7.2).
/// Kept in the clear in the store's configuration and in every batch.
public struct Schema: Codable, Equatable, Sendable {
    public var fields: [Field]

    public init(fields: [Field]) { self.fields = fields }

    public struct Field: Codable, Equatable, Sendable {
        public enum Kind: String, Codable, Sendable {
            /// Exactly one value from `values`.
            case single
            /// One or more values from `values`.
            case multiple
            /// A year from `min` to the current year.
            case year
        }

        public var id: String
        public var label: String
        public var kind: Kind
        /// The allowed values (`single`, `multiple`); nil for `year`.
        public var values: [String]?
        /// The first allowed year (`year` only).
        public var min: Int?
        public var required: Bool

        public init(id: String, label: String, kind: Kind, values: [String]? = nil, min: Int? = nil, required: Bool) {
            self.id = id; self.label = label; self.kind = kind; self.values = values; self.min = min; self.required = required
        }
    }

    public func field(_ id: String) -> Field? { fields.first { $0.id == id } }

    /// The built-in questionnaire, used by `chorus init` without `--schema`.
    public static let builtIn = Schema(fields: [
        Field(id: "kind", label: "What happened (one or more)", kind: .multiple,
              values: ["verbal", "non-verbal", "physical", "sexual-assault", "rape", "online", "quid-pro-quo", "stalking", "other",
                       "prefer-not-to-say"],
              required: true),
        Field(id: "setting", label: "Where it happened", kind: .single,
              values: ["workplace", "education", "entertainment", "healthcare", "hospitality", "public-space", "online", "home", "other",
                       "prefer-not-to-say"],
              required: true),
        Field(id: "perpetrator-role", label: "Who did it (their role)", kind: .single,
              values: ["supervisor", "colleague", "client-or-customer", "teacher-or-coach", "partner-or-ex", "family",
                       "acquaintance", "stranger", "other", "prefer-not-to-say"],
              required: true),
        Field(id: "year", label: "The year it happened (optional)", kind: .year, min: 1950, required: false),
        Field(id: "reported", label: "Did you report it", kind: .single, values: ["yes", "no", "prefer-not-to-say"], required: true),
        Field(id: "consent", label: "How your story may be used", kind: .single,
              values: ["counts-only", "quote-anonymously"], required: true),
    ])
}
