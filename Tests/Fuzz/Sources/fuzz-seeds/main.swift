// Writes the seed corpora of the fuzz targets into Tests/Fuzz/Corpus/<target>/, reproducibly (fixed
// keys, salts and nonces; Ed25519 signatures are deterministic): the committed envelope vectors
// without their text header, crafted-mode envelope inputs, version 2 batches assembled from the
// vectors around a signed recipients document (the fixed organisation key of Tests/VectorGen over
// reviewer-1, analyst-1 and the built-in questionnaire), key files with the test-only and the
// MODERATE costs, schemas with answer lines, `chorus-answers-2` texts, receipts and section plaintexts.
// Each target's folder is emptied first, so a seed that is no longer made does not linger.
//
// Usage (built without sanitizers; scripts/fuzz.sh --seeds does this):
//   swift run --package-path Tests/Fuzz --scratch-path Tests/Fuzz/.build-seeds fuzz-seeds [REPO_ROOT]
@_spi(Vectors) import ChorusCore
import ChorusCrypto
import ChorusFormat
import ChorusStore
import FuzzSupport

#if canImport(Glibc)
import Glibc
#endif

let root: String = {
    if CommandLine.arguments.count > 1 { return CommandLine.arguments[1] }
    // Tests/Fuzz/Sources/fuzz-seeds/main.swift -> the repository root
    var parts = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast(5)
    return parts.joined(separator: "/")
}()
let vectorsDir = root + "/Tests/ChorusCoreTests/Vectors"
let corpusDir = root + "/Tests/Fuzz/Corpus"

func readFile(_ path: String) -> [UInt8] {
    guard let f = fopen(path, "rb") else { fatalError("cannot read \(path)") }
    defer { fclose(f) }
    var out = [UInt8]()
    var buf = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = buf.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, f) }
        if n == 0 { break }
        out += buf[0 ..< n]
    }
    return out
}

/// Removes the regular files of `dir` (not its dot files), so that the folder holds only what this run writes.
func emptyFolder(_ dir: String) {
    guard let d = opendir(dir) else { return }
    var names: [String] = []
    while let e = readdir(d) {
        let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        if !name.hasPrefix(".") { names.append(name) }
    }
    closedir(d)
    for name in names { unlink("\(dir)/\(name)") }
}

var written: [String: Int] = [:]
func write(_ target: String, _ name: String, _ bytes: [UInt8]) {
    let dir = "\(corpusDir)/\(target)"
    mkdir(corpusDir, 0o755)
    mkdir(dir, 0o755)
    if written[target] == nil { emptyFolder(dir) }
    precondition(access("\(dir)/\(name)", F_OK) != 0, "seed \(target)/\(name) written twice")
    let path = "\(dir)/\(name)"
    guard let f = fopen(path, "wb") else { fatalError("cannot write \(path)") }
    _ = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, bytes.count, f) }
    fclose(f)
    written[target, default: 0] += 1
}

/// A vector file: the text header (up to the first blank line) and the envelope bytes.
struct VectorFile {
    let header: String
    let body: [UInt8]
    init(_ name: String) {
        let bytes = readFile("\(vectorsDir)/\(name)")
        let sep = Array("\n\n".utf8)
        var i = 0
        while i + 2 <= bytes.count, !bytes[i ..< i + 2].elementsEqual(sep) { i += 1 }
        precondition(i + 2 <= bytes.count, "vector \(name) has no blank line")
        header = String(decoding: bytes[0 ..< i], as: UTF8.self)
        body = Array(bytes[(i + 2)...])
    }
    var answers: [UInt8]? {
        for line in header.split(separator: "\n") where line.hasPrefix("answers: ") { return Hex.decode(line.dropFirst(9)) }
        return nil
    }
}

// The fixed key of the vectors is the one the fuzz target uses.
let goodOne = VectorFile("good-1-reviewer")
precondition(goodOne.header.contains("identity: reviewer " + Hex.encode(Fuzz.reviewer.secret.exportSecret().revealedBytes())),
             "Fuzz.reviewer is not reviewer-1 of the vectors")

// MARK: fuzz-envelope

let envelopeVectors = [
    "good-1-reviewer", "good-2-analyst-answers", "good-2-reviewers-second", "good-5-reviewer-3", "good-5-analyst-2",
    "good-story-1-byte", "good-story-fills-minimum", "good-story-padme", "good-multi-valued-answers", "good-crafted-baseline",
    "fail-analyst-not-recipient", "fail-duplicate-stanza", "fail-flip-mac", "fail-flip-answers-tag", "fail-sections-swapped",
    "fail-stanza-unknown-role", "fail-stanza-analyst-with-story-key", "fail-stanza-reviewer-without-story-key",
    "fail-stanza-wrong-mac-key", "fail-answers-padding-not-zero", "fail-answers-length-too-large", "fail-story-padded-too-much",
    "fail-answers-not-canonical", "fail-answers-bad-month", "fail-truncated-before-mac", "fail-wrong-magic", "fail-seventeen-stanzas",
    // Version 2: roles bound to keys, answers bound to a questionnaire, version 1 refused.
    "fail-role-reviewer-stanza-to-analyst-key", "fail-role-analyst-stanza-to-reviewer-key", "fail-answers-version-1",
    "fail-answers-questionnaire-short", "fail-answers-unknown-questionnaire", "fail-version-1",
]
for name in envelopeVectors { write("fuzz-envelope", name, VectorFile(name).body) }

func padded(_ content: [UInt8], _ size: Int) -> [UInt8] {
    let l = content.count
    var out = [UInt8(l >> 24 & 0xff), UInt8(l >> 16 & 0xff), UInt8(l >> 8 & 0xff), UInt8(l & 0xff)] + content
    out += [UInt8](repeating: 0, count: size - out.count)
    return out
}
let baseAnswers = goodOne.answers!
let multiAnswers = VectorFile("good-multi-valued-answers").answers!
let keyBytes = BLAKE2b.hash(Array("chorus-fuzz/craft-keys".utf8), outputLength: 64) + BLAKE2b.hash(Array("chorus-fuzz/craft-keys-2".utf8), outputLength: 32)
let craftReviewer = [UInt8(1)] + keyBytes
let craftAnalyst = [UInt8(2)] + Array(keyBytes[0 ..< 64]) + [UInt8](repeating: 0, count: 32)
write("fuzz-envelope", "craft-reviewer", [0xC0] + craftReviewer + padded(baseAnswers, 256))
write("fuzz-envelope", "craft-analyst", [0xC0] + craftAnalyst + padded(multiAnswers, 256))
/// The shortest answers of format 2 (no field answered), for the built-in questionnaire.
let minimalAnswers = Array("chorus-answers-2\narrival=2026-11\nquestionnaire=\(Hex.encode(Schema.builtIn.digest))\n".utf8)
precondition((try? minimalAnswers.withUnsafeBytes { try AnswersText.decode($0) })?.encoded() == minimalAnswers, "minimal answers do not decode")
write("fuzz-envelope", "craft-reviewer-short", [0xC0] + craftReviewer + padded(minimalAnswers, 256))
write("fuzz-envelope", "craft-reviewer-answers-1", [0xC0] + craftReviewer + padded(Array("chorus-answers-1\narrival=2026-11\n".utf8), 256))

// MARK: fuzz-batch

// The signed recipients document of the vectors (Tests/VectorGen: "recipients/org", store
// "recipients/store", serial 3, reviewer-1 and analyst-1, the built-in questionnaire).
let organisation = UnlockedOrganisationKey(name: "vector-org", secret: try! SigningKey(seed: SecretBytes(copying: Fuzz.vectorSeed("recipients/org"))))
let storeID = Hex.encode(Fuzz.vectorSeed("recipients/store").prefix(16))
let vectorRecipients = [RecipientKey(role: .reviewer, publicKey: Fuzz.reviewer.publicKey, name: "reviewer-1"),
                        RecipientKey(role: .analyst, publicKey: Fuzz.analyst.publicKey, name: "analyst-1")]
func signedDocument(serial: UInt64 = 3, questionnaires: [Schema] = [.builtIn]) -> [UInt8] {
    let doc = try! RecipientsDocument(organisation: organisation.publicKey, store: storeID, serial: serial,
                                      recipients: vectorRecipients, questionnaires: questionnaires)
    return try! SignedRecipients.sign(doc, with: organisation).bytes
}
/// Signs `body` as it is (canonical or not) with the organisation key.
func signedAsIs(_ body: [UInt8]) -> [UInt8] {
    body + Array("\ned25519:\(Hex.encode(organisation.secret.sign(SignedRecipients.context + body)))\n".utf8)
}
let document = signedDocument()
precondition(document == VectorFile("good-recipients").body, "the seeds' recipients document is not the good-recipients vector")
precondition((try? SignedRecipients.parse(document, source: "seed")) != nil, "the seeds' recipients document does not parse")

func batch(_ envelopes: [[UInt8]], tombstones: [[UInt8]] = [], document: [UInt8] = document, breakHash: Bool = false) -> [UInt8] {
    var out = BatchFormat.header(entryCount: UInt64(envelopes.count), document: document, tombstones: tombstones)
    for e in envelopes { out += BatchFormat.entryPrefix(length: e.count) + e }
    var hash = BLAKE2b.hash(out, outputLength: BatchFormat.hashLength)
    if breakHash { hash[0] ^= 1 }
    return out + hash
}
let e1 = goodOne.body, e2 = VectorFile("good-2-reviewer-opens-all").body, e5 = VectorFile("good-5-reviewer-3").body
let t1 = Array(repeating: UInt8(0x11), count: 32), t2 = Array(repeating: UInt8(0xee), count: 32)
write("fuzz-batch", "empty", batch([]))
write("fuzz-batch", "one-entry", batch([e1]))
write("fuzz-batch", "three-entries-tombstones", batch([e2, e1, e5], tombstones: [t1, t2]))
write("fuzz-batch", "tombstones-only", batch([], tombstones: [t1, e1[9 ..< 41].map { $0 }, t2].sorted { $0.lexicographicallyPrecedes($1) }))
write("fuzz-batch", "bad-entry-skipped", batch([e1, VectorFile("fail-trailing-byte").body, e2]))
// A 100-byte entry, skipped; the large entry after it leaves the header room for two entries.
write("fuzz-batch", "short-entry-skipped", batch([Array(e1.prefix(100)), VectorFile("good-story-padme").body]))
write("fuzz-batch", "hash-mismatch", batch([e1], breakHash: true))
// Cut inside the second entry (a large one, so the header still fits the shorter file).
var truncated = batch([e1, VectorFile("good-story-padme").body]); truncated.removeLast(300)
write("fuzz-batch", "truncated", truncated)
// A document that names an earlier questionnaire beside the current one (a year field whose label
// needs JSON escapes), at the next serial.
let yearSchema = Schema(fields: [Schema.Field(id: "year", label: "Year \"quoted\" \u{00e9}", kind: .year, min: 1990, required: false)])
write("fuzz-batch", "two-questionnaires", batch([e1], document: signedDocument(serial: 4, questionnaires: [.builtIn, yearSchema])))
// One hex digit of the signature changed: the body decodes, the signature does not verify.
var badSignature = document
let digit = badSignature.count - 5
badSignature[digit] = badSignature[digit] == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0")
precondition((try? SignedRecipients.parse(badSignature, source: "seed")) == nil, "a changed signature still verifies")
write("fuzz-batch", "bad-signature", batch([e1], document: badSignature))
// Signed correctly, but not canonical (a space in the body): refused before the signature counts.
let body = Array(document.prefix { $0 != 0x0a })
let serialKey = Array("\"serial\":".utf8)
let serialAt = (0 ... body.count - serialKey.count).first { body[$0 ..< $0 + serialKey.count].elementsEqual(serialKey) }!
let spaced = Array(body[..<(serialAt + serialKey.count)]) + [0x20] + Array(body[(serialAt + serialKey.count)...])
write("fuzz-batch", "document-not-canonical", batch([e1], document: signedAsIs(spaced)))

// Sanity: the good batches read whole (their entries reach the envelope parser), the two with a
// broken document are refused at the header.
func readsIntact(_ name: String) -> Bool? {
    let path = "/tmp/chorus-fuzz-seeds-\(getpid())"
    let bytes = readFile("\(corpusDir)/fuzz-batch/\(name)")
    guard let f = fopen(path, "wb") else { fatalError("cannot write \(path)") }
    _ = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, bytes.count, f) }
    fclose(f)
    defer { unlink(path) }
    guard let reader = try? BatchReader(path: path), let summary = try? reader.forEach({ _ in }) else { return nil }
    return summary.isIntact
}
for name in ["empty", "one-entry", "three-entries-tombstones", "tombstones-only", "two-questionnaires"] {
    precondition(readsIntact(name) == true, "batch seed \(name) does not read intact")
}
for name in ["bad-entry-skipped", "short-entry-skipped", "hash-mismatch", "truncated"] {
    precondition(readsIntact(name) == false, "batch seed \(name) reads intact")
}
for name in ["bad-signature", "document-not-canonical"] { precondition(readsIntact(name) == nil, "batch seed \(name) is not refused") }

// MARK: fuzz-keyfiles

/// A secret key file (FORMAT.md 2.3, version 2) of `secret` (an X25519 secret key, or the Ed25519
/// seed of an organisation key) with a fixed salt and nonce.
func secretFile(role: Role, name: String, publicKey: [UInt8], secret: borrowing SecretBytes, cost: PasswordHash.Parameters, label: String) -> SecretKeyFile {
    let salt = Array(BLAKE2b.hash(Array("chorus-fuzz/salt/\(label)".utf8), outputLength: 16))
    let nonce = Array(BLAKE2b.hash(Array("chorus-fuzz/nonce/\(label)".utf8), outputLength: 24))
    let wrap = try! PasswordHash.deriveKey(length: 32, passphrase: SecretBytes(copying: Fuzz.passphrase), salt: salt, parameters: cost)
    let ad = SecretKeyFile.associatedData(role: role, opsLimit: cost.opsLimit, memoryBytes: cost.memoryBytes, salt: salt,
                                          publicKey: publicKey, name: name, nonce: nonce)
    let sealed = try! XChaCha20Poly1305.seal(secret, associatedData: ad, nonce: nonce, key: wrap)
    return try! SecretKeyFile(role: role, opsLimit: cost.opsLimit, memoryBytes: cost.memoryBytes, salt: salt,
                              publicKey: publicKey, name: name, nonce: nonce, sealedSecret: sealed)
}
func secretFile(_ key: UnlockedKey, cost: PasswordHash.Parameters, label: String) -> SecretKeyFile {
    secretFile(role: key.role, name: key.name, publicKey: key.publicKey.rawBytes, secret: key.secret.exportSecret(), cost: cost, label: label)
}
let skReviewer = secretFile(Fuzz.reviewer, cost: .testOnly, label: "reviewer")
let skAnalyst = secretFile(Fuzz.analyst, cost: .testOnly, label: "analyst")
let skModerate = secretFile(Fuzz.reviewer, cost: .moderate, label: "moderate")
let skOrganisation = secretFile(role: .organisation, name: organisation.name, publicKey: organisation.publicKey.publicKey.rawBytes,
                                secret: organisation.secret.exportSeed(), cost: .testOnly, label: "organisation")
// Sanity: the test-cost files unlock with the fixed passphrase.
for f in [skReviewer, skAnalyst] {
    _ = try! KeyFiles.unlock(Array(f.render().utf8), passphrase: SecretBytes(copying: Fuzz.passphrase), path: "seed")
}
_ = try! KeyFiles.unlockOrganisation(Array(skOrganisation.render().utf8), passphrase: SecretBytes(copying: Fuzz.passphrase), path: "seed")
write("fuzz-keyfiles", "secret-reviewer-test-cost", Array(skReviewer.render().utf8))
write("fuzz-keyfiles", "secret-analyst-test-cost", Array(skAnalyst.render().utf8))
write("fuzz-keyfiles", "secret-reviewer-moderate", Array(skModerate.render().utf8))
write("fuzz-keyfiles", "blob-reviewer-test-cost", skReviewer.blob)
write("fuzz-keyfiles", "blob-analyst-test-cost", skAnalyst.blob)
write("fuzz-keyfiles", "secret-organisation-test-cost", Array(skOrganisation.render().utf8))
write("fuzz-keyfiles", "blob-organisation-test-cost", skOrganisation.blob)
let r1pub = RecipientKey(role: .reviewer, publicKey: Fuzz.reviewer.publicKey, name: "reviewer-1")
let a1pub = RecipientKey(role: .analyst, publicKey: Fuzz.analyst.publicKey, name: "analyst-1")
write("fuzz-keyfiles", "public-reviewer", Array(r1pub.fileText.utf8))
write("fuzz-keyfiles", "public-analyst", Array(a1pub.fileText.utf8))
write("fuzz-keyfiles", "public-organisation", Array(organisation.publicKey.fileText.utf8))
write("fuzz-keyfiles", "public-bare", Array("chorus-pk-reviewer-2:\(Hex.encode(Fuzz.reviewer.publicKey.rawBytes))\n".utf8))
write("fuzz-keyfiles", "public-comments", Array("# a comment\n#name: x\n\n# chorus public key; name:  \u{00e9}l\u{00e8}ne ; fingerprint: none\nchorus-pk-analyst-2:\(Hex.encode(Fuzz.analyst.publicKey.rawBytes))\n".utf8))
// Refused: a version 1 key line (FORMAT.md 2.2 names the version).
write("fuzz-keyfiles", "public-version-1", Array("chorus-pk-reviewer-1:\(Hex.encode(Fuzz.reviewer.publicKey.rawBytes))\n".utf8))
for name in ["public-reviewer", "public-analyst", "public-organisation", "public-bare", "public-comments"] {
    precondition((try? PublicKeyFile.parse(readFile("\(corpusDir)/fuzz-keyfiles/\(name)"))) != nil, "seed \(name) is not a valid public key file")
}
precondition((try? PublicKeyFile.parse(readFile("\(corpusDir)/fuzz-keyfiles/public-version-1"))) == nil, "a version 1 public key file parses")

// MARK: fuzz-schema

let schemaJSON = Schema.builtIn.canonicalJSON()

let builtInLines = "kind=verbal,physical\nsetting=workplace\nperpetrator-role=supervisor\nyear=2019\nreported=no\nconsent=counts-only"
write("fuzz-schema", "builtin-canonical", schemaJSON + [0] + Array(builtInLines.utf8))
write("fuzz-schema", "builtin-normalised-answers", schemaJSON + [0] + Array(" Kind = Verbal , ONLINE \nkind=other\nSETTING=home\nperpetrator-role=family\nreported=yes\nconsent=quote-anonymously".utf8))
write("fuzz-schema", "builtin-missing-required", schemaJSON + [0] + Array("kind=verbal".utf8))
write("fuzz-schema", "year-schema", yearSchema.canonicalJSON() + [0] + Array("year=1999".utf8))
let pretty = """
\u{FEFF}{
  "fields": [
    { "id": "setting", "label": "Where it happened \\u00e9\\ud83d\\ude00 \\\\ \\/", "kind": "single",
      "values": ["workplace", "education", "other"], "required": true },
    { "id": "kind", "label": "What", "kind": "multiple", "values": ["a", "b-2", "c3"], "required": false },
    { "id": "y", "label": "Year", "kind": "year", "min": 1.5e3, "required": false },
    { "id": "z", "label": "Z", "kind": "year", "min": 2000, "required": true }
  ]
}
"""
write("fuzz-schema", "pretty", Array(pretty.utf8) + [0] + Array("setting=other\nkind=a,c3\nz=2001\ny=2026".utf8))
write("fuzz-schema", "json-values", Array("[null, true, false, -0.5e-3, {\"a\": [1, 2, {}]}, \"\\n\\t\\r\\b\\f\\\"\"]".utf8))
write("fuzz-schema", "duplicate-key", Array("{\"fields\": [], \"fields\": []}".utf8))
write("fuzz-schema", "deep", Array(String(repeating: "[", count: 40).utf8))

// MARK: fuzz-answers

write("fuzz-answers", "answers-base", baseAnswers)
write("fuzz-answers", "answers-multi", multiAnswers)
write("fuzz-answers", "answers-minimal", minimalAnswers)
// Refused: format 1 (no questionnaire line), and a questionnaire digest one hex digit short.
write("fuzz-answers", "answers-version-1", Array("chorus-answers-1\narrival=2026-11\nkind=verbal\n".utf8))
write("fuzz-answers", "answers-questionnaire-short", Array(minimalAnswers.prefix(minimalAnswers.count - 2)) + [0x0a])
let many = try! AnswersText(arrivalMonth: "2000-01", questionnaire: [UInt8](repeating: 0x5a, count: AnswersText.questionnaireLength), fields: Dictionary(uniqueKeysWithValues: (0 ..< 64).map { ("f\($0)", ["v", "w-\($0)"]) }))
write("fuzz-answers", "answers-64-fields", many.encoded())
let receipt = try! Receipt(raw: Array(Fuzz.vectorSeed("receipt/fuzz").prefix(16)))
write("fuzz-answers", "receipt", Array(receipt.text.utf8))
func replacing(_ s: String, _ map: [Character: Character]) -> String { String(s.map { map[$0] ?? $0 }) }
write("fuzz-answers", "receipt-lower-spaced", Array(replacing(receipt.text.lowercased(), ["-": " "]).utf8))
write("fuzz-answers", "receipt-confusables", Array(replacing(receipt.text, ["0": "O", "1": "l"]).utf8))
write("fuzz-answers", "section-answers", padded(baseAnswers, 256))
write("fuzz-answers", "section-story", padded(Array("x".utf8), 4096))
write("fuzz-answers", "section-story-padme", padded([UInt8](repeating: 0x61, count: 4500), Padme.sectionLength(content: 4500, minimum: 4096)))

for (target, n) in written.sorted(by: { $0.key < $1.key }) { print("\(target): \(n) seeds") }
