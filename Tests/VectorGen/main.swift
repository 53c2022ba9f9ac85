// Regenerates the envelope test vectors (Tests/ChorusCoreTests/Vectors) from fixed keys and seeds.
// Usage: swift run chorus-vectorgen DIR. The output is byte-for-byte reproducible; `make vectors-check`
// regenerates into a temporary folder and compares with the committed files.
@_spi(Vectors) import ChorusCore
import ChorusCrypto
import ChorusFormat

#if canImport(Glibc)
import Glibc
#endif

func seed(_ label: String) -> [UInt8] { BLAKE2b.hash(Array("chorus-vectors/\(label)".utf8), outputLength: 32) }

struct FixedKey {
    let label: String
    let role: Role
    let secretHex: String
    let recipient: RecipientKey
    init(_ label: String, _ role: Role) {
        self.label = label
        self.role = role
        let key = try! SecretKey.derived(fromSeed: SecretBytes(copying: seed("key/\(label)")))
        secretHex = Hex.encode(key.exportSecret().revealedBytes())
        recipient = RecipientKey(role: role, publicKey: key.publicKey, name: label)
    }
}

let r1 = FixedKey("reviewer-1", .reviewer), r2 = FixedKey("reviewer-2", .reviewer), r3 = FixedKey("reviewer-3", .reviewer)
let r4 = FixedKey("reviewer-4", .reviewer)
let a1 = FixedKey("analyst-1", .analyst), a2 = FixedKey("analyst-2", .analyst)

let storyText = Array("""
    It started with remarks about my clothes in team meetings. Then he began to stand too close when nobody \
    else was in the room. I moved desks twice. When I said no, my shifts were cut.
    """.utf8)

func answers(_ fields: [String: [String]]) -> [UInt8] {
    try! AnswersText(arrivalMonth: "2026-11", fields: fields).encoded()
}

let baseAnswers = answers(["kind": ["verbal", "quid-pro-quo"], "setting": ["workplace"], "perpetrator-role": ["supervisor"],
                           "reported": ["no"], "consent": ["counts-only"], "year": ["2024"]])

func receiptID(_ label: String) -> [UInt8] { try! Receipt(raw: Array(seed("receipt/\(label)").prefix(16))).entryID }

func seal(_ label: String, to keys: [FixedKey], answers a: [UInt8] = baseAnswers, story: [UInt8] = storyText) -> [UInt8] {
    try! EnvelopeSealer.seal(id: receiptID(label), answers: a, story: SecretBytes(copying: story),
                             recipients: keys.map(\.recipient), randomness: .deterministic(seed: seed("envelope/\(label)")))
}

struct Vector {
    var name: String
    var expect: String
    var open: String
    var identities: [FixedKey]
    var comment: String
    var body: [UInt8]
    var answers: [UInt8]? = nil
    var story: [UInt8]? = nil
}

var vectors: [Vector] = []
@MainActor func add(_ name: String, expect: String, open: String = "answers+story", with ids: [FixedKey], _ comment: String, _ body: [UInt8],
         answers: [UInt8]? = nil, story: [UInt8]? = nil) {
    vectors.append(Vector(name: name, expect: expect, open: open, identities: ids, comment: comment, body: body,
                          answers: expect == "success" ? (answers ?? baseAnswers) : nil,
                          story: expect == "success" && open == "answers+story" ? (story ?? storyText) : nil))
}

// Good envelopes.
let one = seal("one", to: [r1])
add("good-1-reviewer", expect: "success", with: [r1], "one reviewer recipient, answers and story", one)
add("good-1-reviewer-answers-only", expect: "success", open: "answers", with: [r1], "a reviewer may ask for the answers only", one)
let pair = seal("pair", to: [r1, a1])
add("good-2-reviewer-opens-all", expect: "success", with: [r1], "reviewer and analyst recipients; the reviewer opens everything", pair)
add("good-2-analyst-answers", expect: "success", open: "answers", with: [a1], "reviewer and analyst recipients; the analyst opens the answers", pair)
let twoReviewers = seal("two-reviewers", to: [r1, r2])
add("good-2-reviewers-second", expect: "success", with: [r2], "two reviewers; the second key opens", twoReviewers)
let five = seal("five", to: [r1, r2, r3, a1, a2])
add("good-5-reviewer-3", expect: "success", with: [r3], "five recipients (3 reviewers, 2 analysts); reviewer 3 opens", five)
add("good-5-analyst-2", expect: "success", open: "answers", with: [a2], "five recipients; analyst 2 opens the answers", five)
add("good-5-two-identities", expect: "success", with: [r4, r2], "five recipients; of two keys given, the second is a recipient", five)
let oneByte = seal("one-byte", to: [r1], story: Array("x".utf8))
add("good-story-1-byte", expect: "success", with: [r1], "a 1-byte story is padded to the 4096-byte minimum", oneByte, story: Array("x".utf8))
let exact = [UInt8](repeating: UInt8(ascii: "a"), count: 4092)
add("good-story-fills-minimum", expect: "success", with: [r1], "a 4092-byte story exactly fills the 4096-byte minimum section",
    seal("fills", to: [r1], story: exact), story: exact)
let long = (0 ..< 10_000).map { UInt8(ascii: "a") + UInt8($0 % 26) }
add("good-story-padme", expect: "success", with: [r1], "a 10000-byte story is padded with PADME to 10240 bytes",
    seal("long", to: [r1], story: long), story: long)
let multi = answers(["kind": ["online", "physical", "stalking", "verbal"], "setting": ["online"], "perpetrator-role": ["stranger"],
                     "reported": ["yes"], "consent": ["quote-anonymously"]])
add("good-multi-valued-answers", expect: "success", with: [r1], "several values for one field, no optional year",
    seal("multi", to: [r1, a1], answers: multi), answers: multi)

// Key-related failures.
add("fail-analyst-asks-story", expect: "story-not-available", with: [a1], "an analyst key asking for the story gets nothing", pair)
add("fail-not-recipient", expect: "not-recipient", with: [r4], "a key that is not a recipient", five)
add("fail-analyst-not-recipient", expect: "not-recipient", open: "answers", with: [a2], "an analyst key that is not a recipient", pair)

// Truncation at every boundary of a 2-stanza envelope.
let h = 50 + 2 * 145
for (cut, label) in [(0, "empty"), (8, "after-magic"), (9, "after-version"), (41, "after-id"), (42, "after-stanza-count"),
                     (50, "after-lengths"), (50 + 145, "after-first-stanza"), (h, "before-mac"), (h + 32, "before-answers"),
                     (h + 32 + 256 + 16, "before-story"), (pair.count - 1, "last-byte")] {
    add("fail-truncated-\(label)", expect: "truncated", with: [r1], "the envelope cut to its first \(cut) bytes", Array(pair.prefix(cut)))
}

// A flipped bit in each part.
func flip(_ b: [UInt8], _ at: Int, _ bit: UInt8 = 0x01) -> [UInt8] { var c = b; c[at] ^= bit; return c }
add("fail-flip-magic", expect: "bad-magic", with: [r1], "a bit flipped in the magic", flip(pair, 3))
add("fail-flip-version", expect: "unsupported-version", with: [r1], "the version byte flipped to 3", flip(pair, 8, 0x02))
add("fail-flip-id", expect: "header-mac-mismatch", with: [r1], "a bit flipped in the entry id", flip(pair, 20))
add("fail-flip-stanza-count", expect: "truncated", with: [r1], "stanza count 2 flipped to 3: the size no longer matches", flip(pair, 41))
add("fail-flip-answers-length", expect: "malformed", with: [r1], "answers length 256 flipped to 257: not a padded length", flip(pair, 45))
add("fail-flip-story-length", expect: "malformed", with: [r1], "story length 4096 flipped to 4097: not a padded length", flip(pair, 49))
add("fail-flip-stanza", expect: "not-recipient", with: [r1], "a bit flipped in the only stanza for this key", flip(one, 50 + 100))
add("fail-flip-mac", expect: "header-mac-mismatch", with: [r1], "a bit flipped in the header MAC", flip(pair, h + 5))
add("fail-flip-answers", expect: "section-auth-failed", with: [r1], "a bit flipped in the answers ciphertext", flip(pair, h + 32 + 10))
add("fail-flip-answers-tag", expect: "section-auth-failed", with: [r1], "a bit flipped in the answers tag", flip(pair, h + 32 + 256 + 3))
add("fail-flip-story", expect: "section-auth-failed", with: [r1], "a bit flipped in the story ciphertext", flip(pair, h + 32 + 272 + 100))
add("fail-flip-story-tag", expect: "section-auth-failed", with: [r1], "a bit flipped in the story tag", flip(pair, pair.count - 1))
add("good-flip-story-answers-only", expect: "success", open: "answers", with: [a1],
    "a damaged story does not stop the answers from opening for an analyst (the story is not decrypted)", flip(pair, h + 32 + 272 + 100))

// Framing.
add("fail-wrong-magic", expect: "bad-magic", with: [r1], "an age file is not a Chorus envelope", Array("age-encryption.org/v1\n-> X25519 abc\n".utf8) + [UInt8](repeating: 0, count: 64))
var v2 = pair; v2[8] = 2
add("fail-unknown-version", expect: "unsupported-version", with: [r1], "version 2 is unknown", v2)
add("fail-trailing-byte", expect: "trailing-bytes", with: [r1], "one extra byte after the story section", pair + [0])
var zeroStanzas = Array(one.prefix(50)); zeroStanzas[41] = 0
add("fail-zero-stanzas", expect: "malformed", with: [r1], "a stanza count of 0", zeroStanzas + Array(one[50...]))
var seventeen = one; seventeen[41] = 17
add("fail-seventeen-stanzas", expect: "malformed", with: [r1], "a stanza count of 17, above the limit of 16", seventeen)
let shortStanza = Array(pair[0 ..< 50 + 144]) + Array(pair[(50 + 145)...])
add("fail-stanza-too-short", expect: "truncated", with: [r1], "the first stanza one byte short (144 bytes)", shortStanza)
let longStanza = Array(pair[0 ..< 50 + 145]) + [0] + Array(pair[(50 + 145)...])
add("fail-stanza-too-long", expect: "trailing-bytes", with: [r1], "the first stanza one byte long (146 bytes)", longStanza)
var dup = Array(pair[0 ..< 50 + 145]); dup += Array(pair[50 ..< 50 + 145]); dup += Array(pair[(50 + 290)...])
add("fail-duplicate-stanza", expect: "duplicate-stanza", with: [r1], "the same stanza twice", dup)

// Splicing parts of two envelopes.
let other = seal("other", to: [r1, a1])
var spliced = pair; spliced.replaceSubrange((50 + 145) ..< (50 + 290), with: other[(50 + 145) ..< (50 + 290)])
spliced.replaceSubrange(50 ..< 195, with: other[50 ..< 195])
add("fail-stanzas-from-other-envelope", expect: "header-mac-mismatch", with: [r1], "both stanzas taken from another envelope", spliced)
var swappedAnswers = pair; swappedAnswers.replaceSubrange((h + 32) ..< (h + 32 + 272), with: other[(h + 32) ..< (h + 32 + 272)])
add("fail-answers-from-other-envelope", expect: "section-auth-failed", with: [r1], "the answers section of another envelope", swappedAnswers)
var swappedSections = Array(pair[0 ..< 42]) + [0, 0, 0x10, 0, 0, 0, 1, 0] + Array(pair[50 ..< h + 32])
swappedSections += Array(pair[(h + 32 + 272)...]) + Array(pair[(h + 32) ..< (h + 32 + 272)])
add("fail-sections-swapped", expect: "malformed", with: [r1], "story and answers sections swapped, lengths swapped too", swappedSections)

// Crafted envelopes: valid MAC and tags, invalid content.
let fk = seed("crafted/file-key")
let k = try! EnvelopeSealer.derivedKeys(fileKey: fk)
func padded(_ content: [UInt8], _ size: Int, lengthOverride: Int? = nil) -> [UInt8] {
    let l = lengthOverride ?? content.count
    var out = [UInt8(l >> 24 & 0xff), UInt8(l >> 16 & 0xff), UInt8(l >> 8 & 0xff), UInt8(l & 0xff)] + content
    out += [UInt8](repeating: 0, count: size - out.count)
    return out
}
func crafted(_ label: String, stanza: [UInt8]? = nil, answersPlain: [UInt8]? = nil, storyPlain: [UInt8]? = nil) -> [UInt8] {
    let s = stanza ?? ([1] + k.mac + k.answers + k.story)
    return try! EnvelopeSealer.craft(id: receiptID(label), stanzas: [(s, r1.recipient.publicKey)], macKey: k.mac, answersKey: k.answers,
                                     storyKey: k.story, answersPlain: answersPlain ?? padded(baseAnswers, 256),
                                     storyPlain: storyPlain ?? padded(storyText, 4096), seed: seed("crafted/\(label)"))
}
add("good-crafted-baseline", expect: "success", with: [r1], "the crafted construction with valid content (baseline for the next vectors)", crafted("baseline"))
add("fail-stanza-unknown-role", expect: "bad-stanza", with: [r1], "a stanza whose role byte is 3", crafted("role3", stanza: [3] + k.mac + k.answers + k.story))
add("fail-stanza-analyst-with-story-key", expect: "bad-stanza", with: [r1], "an analyst stanza that carries a story key",
    crafted("analyst-story", stanza: [2] + k.mac + k.answers + k.story))
add("fail-stanza-reviewer-without-story-key", expect: "bad-stanza", with: [r1], "a reviewer stanza whose story key is all zero",
    crafted("reviewer-zero", stanza: [1] + k.mac + k.answers + [UInt8](repeating: 0, count: 32)))
add("fail-stanza-wrong-mac-key", expect: "header-mac-mismatch", with: [r1], "a stanza whose MAC key is not the one used for the MAC",
    crafted("wrong-mac", stanza: [1] + k.answers + k.answers + k.story))
var dirtyPadding = padded(baseAnswers, 256); dirtyPadding[255] = 1
add("fail-answers-padding-not-zero", expect: "bad-section-content", with: [r1], "a non-zero padding byte in the answers", crafted("dirty", answersPlain: dirtyPadding))
add("fail-answers-length-too-large", expect: "bad-section-content", with: [r1], "an answers length prefix larger than the section",
    crafted("overlong", answersPlain: padded(baseAnswers, 256, lengthOverride: 300)))
add("fail-story-padded-too-much", expect: "bad-section-content", with: [r1], "a short story padded to 8192 bytes instead of 4096",
    crafted("overpadded", storyPlain: padded(storyText, 8192)))
let unsorted = Array("chorus-answers-1\narrival=2026-11\nsetting=workplace\nconsent=counts-only\n".utf8)
add("fail-answers-not-canonical", expect: "bad-section-content", with: [r1], "answers fields out of order", crafted("unsorted", answersPlain: padded(unsorted, 256)))
add("fail-answers-bad-month", expect: "bad-section-content", with: [r1], "an arrival month of 2026-13",
    crafted("month", answersPlain: padded(Array("chorus-answers-1\narrival=2026-13\n".utf8), 256)))

// Writing.
guard CommandLine.arguments.count == 2 else {
    print("usage: chorus-vectorgen DIR")
    exit(64)
}
let dir = CommandLine.arguments[1]
mkdir(dir, 0o755)
var names = Set<String>()
for v in vectors {
    precondition(names.insert(v.name).inserted, "duplicate vector name \(v.name)")
    var text = "expect: \(v.expect)\nopen: \(v.open)\n"
    for id in v.identities { text += "identity: \(id.secretHex)\n" }
    if let a = v.answers { text += "answers: \(Hex.encode(a))\n" }
    if let s = v.story { text += "story-length: \(s.count)\nstory-blake2b: \(Hex.encode(BLAKE2b.hash(s)))\n" }
    text += "comment: \(v.comment)\n\n"
    let bytes = Array(text.utf8) + v.body
    let path = "\(dir)/\(v.name)"
    guard let f = fopen(path, "wb") else { fatalError("cannot write \(path)") }
    _ = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, bytes.count, f) }
    fclose(f)
}
print("wrote \(vectors.count) vectors to \(dir)")
