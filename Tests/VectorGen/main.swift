// Regenerates the envelope test vectors (Tests/ChorusCoreTests/Vectors) from fixed keys and seeds.
// Usage: swift run chorus-vectorgen DIR. The output is byte-for-byte reproducible; `make vectors-check`
// regenerates into a temporary folder and compares with the committed files.
@_spi(Vectors) import ChorusCore
import ChorusCrypto
import ChorusFormat
import Foundation

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

let builtInDigest = Schema.builtIn.digest

func answers(_ fields: [String: [String]], questionnaire: [UInt8] = builtInDigest) -> [UInt8] {
    try! AnswersText(arrivalMonth: "2026-11", questionnaire: questionnaire, fields: fields).encoded()
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
    var kind = "envelope"
    var expect: String
    var open: String
    var identities: [FixedKey]
    var comment: String
    var body: [UInt8]
    var answers: [UInt8]? = nil
    var story: [UInt8]? = nil
    /// More header lines (`key: value`), for the vectors of key files and recipients documents.
    var extra: [String] = []
}

/// A vector of another kind than an envelope: a public key file, a secret key file, a signed
/// recipients document. `expect` is `success` or the failure's kind.
@MainActor func addFile(_ name: String, kind: String, expect: String, _ comment: String, _ body: [UInt8], extra: [String] = []) {
    vectors.append(Vector(name: name, kind: kind, expect: expect, open: "-", identities: [], comment: comment, body: body, extra: extra))
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
add("fail-flip-version", expect: "unsupported-version", with: [r1], "the version byte 2 flipped to 0", flip(pair, 8, 0x02))
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
var v3 = pair; v3[8] = 3
add("fail-unknown-version", expect: "unsupported-version", with: [r1], "version 3 is unknown", v3)
var v1 = pair; v1[8] = 1
add("fail-version-1", expect: "unsupported-version", with: [r1], "version 1 envelopes are no longer read", v1)
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
func crafted(_ label: String, to key: FixedKey = r1, stanza: [UInt8]? = nil, answersPlain: [UInt8]? = nil, storyPlain: [UInt8]? = nil) -> [UInt8] {
    let s = stanza ?? ([1] + k.mac + k.answers + k.story)
    return try! EnvelopeSealer.craft(id: receiptID(label), stanzas: [(s, key.recipient.publicKey)], macKey: k.mac, answersKey: k.answers,
                                     storyKey: k.story, answersPlain: answersPlain ?? padded(baseAnswers, 256),
                                     storyPlain: storyPlain ?? padded(storyText, 4096), seed: seed("crafted/\(label)"))
}
add("good-crafted-baseline", expect: "success", with: [r1], "the crafted construction with valid content (baseline for the next vectors)", crafted("baseline"))
add("fail-stanza-unknown-role", expect: "bad-stanza", with: [r1], "a stanza whose role byte is 3", crafted("role3", stanza: [3] + k.mac + k.answers + k.story))
add("fail-stanza-analyst-with-story-key", expect: "bad-stanza", open: "answers", with: [a1], "an analyst stanza that carries a story key",
    crafted("analyst-story", to: a1, stanza: [2] + k.mac + k.answers + k.story))
// Roles bound to keys (FORMAT.md 5.6 step 2): a reader uses its own key's role, never the stanza's.
add("fail-role-reviewer-stanza-to-analyst-key", expect: "role-mismatch", with: [a1],
    "a reviewer stanza (with the story key) sealed to an analyst key: the analyst must not read the story", crafted("role-up", to: a1))
add("fail-role-reviewer-stanza-to-analyst-key-answers", expect: "role-mismatch", open: "answers", with: [a1],
    "the same envelope, answers only: the whole entry is tampered", crafted("role-up", to: a1))
add("fail-role-analyst-stanza-to-reviewer-key", expect: "role-mismatch", with: [r1], "an analyst stanza (no story key) sealed to a reviewer key",
    crafted("role-down", stanza: [2] + k.mac + k.answers + [UInt8](repeating: 0, count: 32)))
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
let digestLine = "questionnaire=\(Hex.encode(builtInDigest))\n"
let unsorted = Array("chorus-answers-2\narrival=2026-11\n\(digestLine)setting=workplace\nconsent=counts-only\n".utf8)
add("fail-answers-not-canonical", expect: "bad-section-content", with: [r1], "answers fields out of order", crafted("unsorted", answersPlain: padded(unsorted, 256)))
add("fail-answers-bad-month", expect: "bad-section-content", with: [r1], "an arrival month of 2026-13",
    crafted("month", answersPlain: padded(Array("chorus-answers-2\narrival=2026-13\n\(digestLine)".utf8), 256)))
add("fail-answers-month-before-2000", expect: "bad-section-content", with: [r1], "an arrival month of 1999-12 (the range is 2000-01 to 9999-12)",
    crafted("month-1999", answersPlain: padded(Array("chorus-answers-2\narrival=1999-12\n\(digestLine)consent=counts-only\n".utf8), 256)))
add("fail-answers-version-1", expect: "bad-section-content", with: [r1], "answers in the version 1 form, with no questionnaire digest",
    crafted("answers-v1", answersPlain: padded(Array("chorus-answers-1\narrival=2026-11\nconsent=counts-only\n".utf8), 256)))
add("fail-answers-questionnaire-short", expect: "bad-section-content", with: [r1], "a questionnaire digest of 62 hex characters",
    crafted("digest-short", answersPlain: padded(Array("chorus-answers-2\narrival=2026-11\nquestionnaire=\(Hex.encode(builtInDigest).dropLast(2))\n".utf8), 256)))

// Stories are text (FORMAT.md 5.5): what submit refuses, a reader refuses.
for (label, story, comment) in [("empty", [UInt8](), "an empty story"), ("nul", Array("one\u{0}two".utf8), "a story with a NUL byte"),
                                ("not-utf8", [0x61, 0xC3, 0x28, 0x62], "a story that is not UTF-8"),
                                ("blank", Array(" \n\t\u{200B}\u{FEFF}".utf8), "a story of whitespace and invisible characters only")] {
    add("fail-story-\(label)", expect: "bad-section-content", with: [r1], comment, crafted("story-\(label)", storyPlain: padded(story, 4096)))
}

// Answers that open but do not fit the questionnaire they name (a reader's checks after opening).
add("fail-answers-year-leading-zero", expect: "answers-not-fitting", with: [r1], "the year written 02019: not the canonical 2019",
    seal("zero-year", to: [r1], answers: answers(["kind": ["verbal"], "setting": ["home"], "perpetrator-role": ["other"], "reported": ["no"],
                                                    "consent": ["counts-only"], "year": ["02019"]])))
add("fail-answers-year-after-arrival", expect: "answers-not-fitting", with: [r1], "a year after the year of arrival (2026)",
    seal("late-year", to: [r1], answers: answers(["kind": ["verbal"], "setting": ["home"], "perpetrator-role": ["other"], "reported": ["no"],
                                                    "consent": ["counts-only"], "year": ["2027"]])))
add("fail-answers-unknown-questionnaire", expect: "unknown-questionnaire", with: [r1], "answers that name a questionnaire the reader does not have",
    seal("other-questionnaire", to: [r1], answers: answers(["consent": ["counts-only"]], questionnaire: seed("another questionnaire"))))

// Public key files (FORMAT.md 2.2).
let pubKeyHex = Hex.encode(r1.recipient.publicKey.rawBytes)
let pubGood = "# chorus public key; name: reviewer-1; role: reviewer; fingerprint: \(r1.recipient.fingerprint)\nchorus-pk-reviewer-2:\(pubKeyHex)\n"
let pubExpect = ["role: reviewer", "key: \(pubKeyHex)", "fingerprint: \(r1.recipient.fingerprint)"]
addFile("good-pubkey", kind: "public-key", expect: "success", "a public key file as keygen writes it", Array(pubGood.utf8), extra: pubExpect)
addFile("good-pubkey-comments-anywhere", kind: "public-key", expect: "success", "comments and empty lines before and after the key line",
        Array("\n# a note\nchorus-pk-reviewer-2:\(pubKeyHex)\n\n# name: later\n".utf8), extra: pubExpect)
addFile("fail-pubkey-no-final-newline", kind: "public-key", expect: "invalid", "the key line does not end with a line feed",
        Array(pubGood.dropLast().utf8))
addFile("fail-pubkey-crlf", kind: "public-key", expect: "invalid", "CRLF line endings", Array(pubGood.replacingOccurrences(of: "\n", with: "\r\n").utf8))
addFile("fail-pubkey-version-1", kind: "public-key", expect: "invalid", "a version 1 key line",
        Array("chorus-pk-reviewer-1:\(pubKeyHex)\n".utf8))
addFile("fail-pubkey-upper-case-hex", kind: "public-key", expect: "invalid", "the key in upper-case hex",
        Array("chorus-pk-reviewer-2:\(pubKeyHex.uppercased())\n".utf8))
addFile("fail-pubkey-trailing-space", kind: "public-key", expect: "invalid", "a space after the key", Array("chorus-pk-reviewer-2:\(pubKeyHex) \n".utf8))
addFile("fail-pubkey-two-key-lines", kind: "public-key", expect: "invalid", "two key lines",
        Array("chorus-pk-reviewer-2:\(pubKeyHex)\nchorus-pk-analyst-2:\(pubKeyHex)\n".utf8))

// Secret key files (FORMAT.md 2.3), with the test-only costs and fixed salt and nonce.
let vectorPassphrase = "a passphrase for vectors"
func secretKeyFile(name: String, role: Role, label: String) -> (text: String, publicHex: String) {
    let salt = Array(seed("seckey/salt/\(label)").prefix(16)), nonce = Array(seed("seckey/nonce/\(label)").prefix(24))
    let secret: SecretBytes, publicKey: [UInt8]
    if role == .organisation {
        let key = try! SigningKey(seed: SecretBytes(copying: seed("seckey/key/\(label)")))
        secret = key.exportSeed()
        publicKey = key.publicKey.rawBytes
    } else {
        let key = try! SecretKey.derived(fromSeed: SecretBytes(copying: seed("seckey/key/\(label)")))
        secret = key.exportSecret()
        publicKey = key.publicKey.rawBytes
    }
    let cost = PasswordHash.Parameters.testOnly
    let wrap = try! PasswordHash.deriveKey(length: 32, passphrase: SecretBytes(copying: Array(vectorPassphrase.utf8)), salt: salt, parameters: cost)
    let ad = SecretKeyFile.associatedData(role: role, opsLimit: cost.opsLimit, memoryBytes: cost.memoryBytes, salt: salt, publicKey: publicKey,
                                          name: name, nonce: nonce)
    let sealed = try! XChaCha20Poly1305.seal(secret, associatedData: ad, nonce: nonce, key: wrap)
    let file = try! SecretKeyFile(role: role, opsLimit: cost.opsLimit, memoryBytes: cost.memoryBytes, salt: salt, publicKey: publicKey, name: name,
                                  nonce: nonce, sealedSecret: sealed)
    return (file.render(), Hex.encode(publicKey))
}
let sk = secretKeyFile(name: "reviewer-sk", role: .reviewer, label: "reviewer")
addFile("good-seckey-reviewer", kind: "secret-key", expect: "success", "a reviewer's secret key file (test-only costs)", Array(sk.text.utf8),
        extra: ["passphrase: \(vectorPassphrase)", "role: reviewer", "key: \(sk.publicHex)"])
// A name of 44 bytes makes a 192-byte blob: 256 base64 characters, four full lines of 64.
let full = secretKeyFile(name: String(repeating: "n", count: 44), role: .analyst, label: "full")
addFile("good-seckey-armour-fills-last-line", kind: "secret-key", expect: "success", "the base64 fills its last line exactly (64 characters)",
        Array(full.text.utf8), extra: ["passphrase: \(vectorPassphrase)", "role: analyst", "key: \(full.publicHex)"])
let org = secretKeyFile(name: "org", role: .organisation, label: "org")
addFile("good-seckey-organisation", kind: "secret-key", expect: "success", "the organisation's secret key file: an Ed25519 seed",
        Array(org.text.utf8), extra: ["passphrase: \(vectorPassphrase)", "role: organisation", "key: \(org.publicHex)"])
addFile("fail-seckey-wrong-passphrase", kind: "secret-key", expect: "wrong-passphrase", "the right file, another passphrase (wrong or damaged look alike)",
        Array(sk.text.utf8), extra: ["passphrase: \(vectorPassphrase)!", "role: reviewer", "key: \(sk.publicHex)"])
var skLines = sk.text.split(separator: "\n").map(String.init)
skLines[1] = String(skLines[1].prefix(63))
addFile("fail-seckey-armour-short-line", kind: "secret-key", expect: "invalid", "an armour line of 63 characters before the last",
        Array((skLines.joined(separator: "\n") + "\n").utf8), extra: ["passphrase: \(vectorPassphrase)"])
addFile("fail-seckey-crlf", kind: "secret-key", expect: "invalid", "CRLF line endings",
        Array(sk.text.replacingOccurrences(of: "\n", with: "\r\n").utf8), extra: ["passphrase: \(vectorPassphrase)"])

// Signed recipients documents (FORMAT.md 7.3): a fixed organisation key signs for a fixed store.
let orgKey = UnlockedOrganisationKey(name: "vector-org", secret: try! SigningKey(seed: SecretBytes(copying: seed("recipients/org"))))
let doc = try! RecipientsDocument(organisation: orgKey.publicKey, store: Hex.encode(seed("recipients/store").prefix(16)), serial: 3,
                                  recipients: [r1.recipient, a1.recipient], questionnaires: [Schema.builtIn])
let signedDoc = try! SignedRecipients.sign(doc, with: orgKey).bytes
let docExtra = ["organisation: \(orgKey.fingerprint)", "store: \(doc.store)", "serial: 3", "recipients: 2",
                "questionnaire: \(Hex.encode(Schema.builtIn.digest))"]
addFile("good-recipients", kind: "recipients", expect: "success", "a store's recipients (a reviewer, an analyst) and the built-in questionnaire",
        signedDoc, extra: docExtra)
var flippedSig = signedDoc; flippedSig[flippedSig.count - 5] = flippedSig[flippedSig.count - 5] == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0")
addFile("fail-recipients-signature", kind: "recipients", expect: "invalid-recipients-document", "one hex digit of the signature changed", flippedSig)
let bodyText = String(decoding: signedDoc, as: UTF8.self)
addFile("fail-recipients-role-edited", kind: "recipients", expect: "invalid-recipients-document",
        "the analyst turned into a reviewer in the body: the signature no longer verifies",
        Array(bodyText.replacingOccurrences(of: "\"role\":\"analyst\"", with: "\"role\":\"reviewer\"").utf8))
addFile("fail-recipients-not-canonical", kind: "recipients", expect: "invalid-recipients-document", "a space in the body (signed as it is)",
        { () -> [UInt8] in
            let body = Array(String(bodyText.prefix { $0 != "\n" }).replacingOccurrences(of: "\"serial\":3", with: "\"serial\": 3").utf8)
            return body + Array("\ned25519:\(Hex.encode(orgKey.secret.sign(SignedRecipients.context + body)))\n".utf8)
        }())
addFile("fail-recipients-no-reviewer", kind: "recipients", expect: "invalid-recipients-document", "signed, but names no reviewer",
        { () -> [UInt8] in
            let body = Array(String(bodyText.prefix { $0 != "\n" }).replacingOccurrences(of: "\"role\":\"reviewer\"", with: "\"role\":\"analyst\"").utf8)
            return body + Array("\ned25519:\(Hex.encode(orgKey.secret.sign(SignedRecipients.context + body)))\n".utf8)
        }())

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
    var text = "kind: \(v.kind)\nexpect: \(v.expect)\nopen: \(v.open)\n"
    for line in v.extra { text += line + "\n" }
    for id in v.identities { text += "identity: \(id.role) \(id.secretHex)\n" }
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
