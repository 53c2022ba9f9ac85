import ChorusCrypto
import ChorusFormat

extension Schema {

    /// The schema as canonical JSON: no whitespace, object keys in ascending byte order, absent
    /// `values`/`min` left out, strings written by `JSONString` (only `"`, `\` and U+0000...U+001F
    /// escaped), everything else as UTF-8. The same schema always gives the same bytes; this is what
    /// a store's configuration and every batch carry.
    public func canonicalJSON() -> [UInt8] {
        var out: [UInt8] = []
        func put(_ s: String) { out.append(contentsOf: s.utf8) }
        func putString(_ s: String) { JSONString.append(s, to: &out) }
        put("{\"fields\":[")
        for (i, f) in fields.enumerated() {
            if i > 0 { put(",") }
            // Keys in byte order: id, kind, label, min, required, values.
            put("{\"id\":"); putString(f.id)
            put(",\"kind\":"); putString(f.kind.rawValue)
            put(",\"label\":"); putString(f.label)
            if let min = f.min { put(",\"min\":\(min)") }
            put(",\"required\":\(f.required ? "true" : "false")")
            if let values = f.values {
                put(",\"values\":[")
                for (j, v) in values.enumerated() {
                    if j > 0 { put(",") }
                    putString(v)
                }
                put("]")
            }
            put("}")
        }
        put("]}")
        return out
    }

    /// The questionnaire's digest (FORMAT.md 7.2): `PH("chorus-quest-1", canonicalJSON())`. Sealed in
    /// every answers text, so a reader interprets the answers with the questionnaire the submitter
    /// was shown, and signed in a store's recipients document.
    public var digest: [UInt8] { try! BLAKE2b.personalHash(canonicalJSON(), personal: "chorus-quest-1") }
}
