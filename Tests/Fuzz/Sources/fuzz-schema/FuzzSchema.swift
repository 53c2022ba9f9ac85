// libFuzzer target: Schema.load(json:) (FORMAT.md 7.2, the strict JSON parser) and, when the schema
// loads, Schema.answers(from:) (the `--answer FIELD=VALUE` checks). The input is the JSON, then a NUL
// byte, then answer strings one per line; without a NUL the whole input is the JSON.
import ChorusCore
import ChorusFormat
import FuzzSupport

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    let split = bytes.firstIndex(of: 0) ?? size
    let json = Array(bytes[0 ..< split])
    let lines: [String] = split < size
        ? bytes[(split + 1)...].split(separator: 0x0a, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        : []

    let schema: Schema
    do {
        schema = try Schema.load(json: json, source: "fuzz", currentYear: Fuzz.currentYear)
    } catch {
        return 0
    }
    Fuzz.check(schema.validationProblems(currentYear: Fuzz.currentYear).isEmpty, "a loaded schema has problems")
    // What a store and a batch carry must read back as the same schema.
    let canonical = schema.canonicalJSON()
    do {
        let again = try Schema.decode(canonicalJSON: canonical, source: "fuzz", currentYear: Fuzz.currentYear)
        Fuzz.check(again == schema, "canonical JSON reads back as a different schema")
    } catch {
        Fuzz.check(false, "the canonical JSON of a valid schema is rejected: \(error)")
    }
    let isCanonical = (try? Schema.decode(canonicalJSON: json, source: "fuzz", currentYear: Fuzz.currentYear)) != nil
    Fuzz.check(isCanonical == (canonical == json), "decode(canonicalJSON:) disagrees with canonicalJSON()")

    _ = try? schema.partialAnswers(from: lines, currentYear: Fuzz.currentYear)
    if let answers = try? schema.answers(from: lines, arrivalMonth: Fuzz.arrivalMonth, currentYear: Fuzz.currentYear) {
        let encoded = answers.encoded()
        Fuzz.check(encoded.count <= AnswersText.maxBytes, "answers of \(encoded.count) bytes accepted")
        Fuzz.check((try? encoded.withUnsafeBytes { try AnswersText.decode($0) }) == answers, "accepted answers do not decode back")
        for (id, values) in answers.fields {
            guard let field = schema.field(id) else { Fuzz.check(false, "answer for unknown field \(id)"); continue }
            if field.kind == .single || field.kind == .year { Fuzz.check(values.count == 1, "\(values.count) values for a \(field.kind) field") }
            if field.kind != .year { Fuzz.check(values.allSatisfy { field.values?.contains($0) == true }, "a value outside the field's list") }
        }
        for field in schema.fields where field.required { Fuzz.check(answers.fields[field.id] != nil, "required field \(field.id) missing") }
    }
    return 0
}
