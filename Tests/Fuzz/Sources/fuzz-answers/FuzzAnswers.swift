// libFuzzer target: the small text parsers. Every input goes to AnswersText.decode (FORMAT.md 4),
// Receipt.parse (section 3, as text) and SectionPadding.contentRange (5.5 step 5, for both minimums;
// inside an envelope it is reached only behind the AEAD).
import ChorusCore
import ChorusFormat
import FuzzSupport

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)

    if let answers = try? AnswersText.decode(bytes) {
        Fuzz.check(answers.encoded().elementsEqual(bytes), "decode accepted a non-canonical encoding")
        Fuzz.check(answers.fields.count <= AnswersText.maxFields, "more than \(AnswersText.maxFields) fields accepted")
        let rebuilt = try? AnswersText(arrivalMonth: answers.arrivalMonth, questionnaire: answers.questionnaire, fields: answers.fields)
        Fuzz.check(rebuilt == answers, "decoded answers cannot be rebuilt")
    }

    let text = String(decoding: bytes, as: UTF8.self)
    if let receipt = try? Receipt.parse(text) {
        Fuzz.check(receipt.raw.count == Receipt.rawLength, "receipt of \(receipt.raw.count) bytes")
        Fuzz.check((try? Receipt.parse(receipt.text)) == receipt, "receipt text does not round-trip")
        Fuzz.check(receipt.entryID.count == 32, "entry id is not 32 bytes")
    }

    for minimum in [EnvelopeFormat.answersMinimum, EnvelopeFormat.storyMinimum] {
        if let range = try? SectionPadding.contentRange(bytes, minimum: minimum, what: "section") {
            Fuzz.check(range.lowerBound == 4 && range.upperBound <= size, "content range \(range) outside \(size) bytes")
            Fuzz.check(Padme.sectionLength(content: range.count, minimum: minimum) == size, "padded length is not canonical")
            var refilled = [UInt8](repeating: 0xff, count: size)
            refilled.withUnsafeMutableBytes { SectionPadding.fill($0, content: UnsafeRawBufferPointer(rebasing: bytes[range])) }
            Fuzz.check(refilled.elementsEqual(bytes), "fill does not reproduce an accepted section")
        }
    }
    return 0
}
