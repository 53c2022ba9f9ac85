// libFuzzer target: EnvelopeLayout.parse and EnvelopeOpener.open (FORMAT.md 5).
//
// Two kinds of input:
// - anything: parsed, and opened with the fixed reviewer-1 and analyst-1 keys of Tests/VectorGen, so
//   the committed vectors (the seeds) pass the stanza, the MAC and the AEAD and reach the answers;
// - 0xC0 ‖ 97-byte stanza plaintext ‖ answers section plaintext: the harness seals a real envelope
//   around them (EnvelopeSealer.craft, section keys taken from the stanza) so that mutations of the
//   stanza content, the section padding and the answers text get past the cryptography and reach
//   the checks behind it (FORMAT.md 5.6 steps 2 and 5). The stanza is sealed to the key of the role
//   its first byte claims (analyst-1 for 0x02, reviewer-1 otherwise), as a sender does: a stanza
//   sealed to a key of the other role is tampering (step 2), which the vectors
//   fail-role-*-stanza-to-*-key cover.
@_spi(Vectors) import ChorusCore
import ChorusCrypto
import ChorusFormat
import FuzzSupport

let craftMarker: UInt8 = 0xC0
let craftID = [UInt8](repeating: 0x42, count: 32)
let craftSeed = Fuzz.vectorSeed("fuzz/craft")
/// A valid story section plaintext: L = 1, "x", zeros up to 4096.
let craftStory: [UInt8] = [0, 0, 0, 1, UInt8(ascii: "x")] + [UInt8](repeating: 0, count: EnvelopeFormat.storyMinimum - 5)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    openAny(bytes)
    if size >= 1 + EnvelopeFormat.stanzaPlaintextLength, bytes[0] == craftMarker { openCrafted(bytes) }
    return 0
}

func sections(_ n: Int) -> EnvelopeOpener.Sections {
    switch n % 3 {
    case 0: return .answersOnly
    case 1: return .answersAndStory
    default: return .storyIfAvailable
    }
}

func openAny(_ bytes: UnsafeRawBufferPointer) {
    let layout = try? EnvelopeLayout.parse(bytes)
    if let layout {
        Fuzz.check(layout.totalLength == bytes.count, "parse accepted \(bytes.count) bytes but the layout says \(layout.totalLength)")
        let declared = EnvelopeLayout.declaredLength(ofHeader: UnsafeRawBufferPointer(rebasing: bytes[0 ..< EnvelopeFormat.fixedHeaderLength]))
        Fuzz.check(declared == bytes.count, "declaredLength \(String(describing: declared)) disagrees with parse (\(bytes.count))")
        let stanzas = (0 ..< layout.stanzaCount).map { Array(bytes[layout.stanzaRange($0)]) }
        let header = EnvelopeFormat.header(id: layout.id, stanzas: stanzas, answersLength: layout.answersLength, storyLength: layout.storyLength)
        Fuzz.check(header.elementsEqual(bytes[0 ..< layout.headerLength]), "the parsed header does not rebuild the same bytes")
    }
    let want = sections(bytes.count)
    do {
        let opened = try EnvelopeOpener.open(bytes, keys: Fuzz.keys, sections: want)
        checkOpened(opened, layout: layout, want: want)
    } catch {
        if case .malformed = error {
            Fuzz.check(layout == nil, "open says malformed (\(error)) but parse accepted it")
        } else {
            Fuzz.check(layout != nil, "open got past the framing (\(error)) but parse rejected it")
        }
    }
}

func checkOpened(_ opened: borrowing OpenedEnvelope, layout: EnvelopeLayout?, want: EnvelopeOpener.Sections) {
    Fuzz.check(layout != nil, "open succeeded on bytes parse rejects")
    Fuzz.check(opened.id == layout?.id, "opened id differs from the header id")
    Fuzz.check(Fuzz.keys.indices.contains(opened.keyIndex), "key index \(opened.keyIndex) out of range")
    if opened.role == .analyst || want == .answersOnly { Fuzz.check(!opened.hasStory, "a story came out of an analyst stanza or an answers-only open") }
    if want == .answersAndStory { Fuzz.check(opened.hasStory, "answers+story opened without a story") }
    let again = opened.answers.encoded().withUnsafeBytes { try? AnswersText.decode($0) }
    Fuzz.check(again == opened.answers, "opened answers do not round-trip")
}

func openCrafted(_ bytes: UnsafeRawBufferPointer) {
    let stanza = Array(bytes[1 ..< 1 + EnvelopeFormat.stanzaPlaintextLength])
    let body = Array(bytes[(1 + EnvelopeFormat.stanzaPlaintextLength)...])
    // The answers section length must be a valid padded length, or parse rejects before decryption.
    let pa = min(EnvelopeFormat.answersMaximum, Padme.sectionLength(content: max(0, body.count - 4), minimum: EnvelopeFormat.answersMinimum))
    var answersPlain = Array(body.prefix(pa))
    answersPlain += [UInt8](repeating: 0, count: pa - answersPlain.count)
    let envelope: [UInt8]
    do {
        envelope = try EnvelopeSealer.craft(
            id: craftID, stanzas: [(plaintext: stanza, recipient: stanza[0] == Role.analyst.rawValue ? Fuzz.analyst.publicKey : Fuzz.reviewer.publicKey)],
            macKey: Array(stanza[1 ..< 33]), answersKey: Array(stanza[33 ..< 65]), storyKey: Array(stanza[65 ..< 97]),
            answersPlain: answersPlain, storyPlain: craftStory, seed: craftSeed)
    } catch {
        Fuzz.check(false, "craft failed: \(error)")
        return
    }
    let want = sections(bytes.count)
    do {
        let opened = try EnvelopeOpener.open(envelope, keys: Fuzz.keys, sections: want)
        // Everything that opened must be exactly what was sealed.
        let l = Int(answersPlain[0]) << 24 | Int(answersPlain[1]) << 16 | Int(answersPlain[2]) << 8 | Int(answersPlain[3])
        Fuzz.check(opened.answers.encoded() == Array(answersPlain[4 ..< 4 + l]), "crafted answers came out different")
        Fuzz.check(opened.role.rawValue == stanza[0], "crafted role came out different")
        if opened.role == .reviewer && want != .answersOnly {
            switch opened.story {
            case let .some(story): Fuzz.check(story.revealedBytes() == [UInt8(ascii: "x")], "crafted story came out different")
            case .none: Fuzz.check(false, "a crafted reviewer envelope opened without its story")
            }
        }
    } catch {
        switch error {
        case .badStanza, .badSectionContent, .storyNotAvailable: break
        default: Fuzz.check(false, "a crafted envelope failed where it cannot: \(error)")
        }
    }
}
