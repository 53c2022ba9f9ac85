// Writes the seed corpora of the fuzz targets into Tests/Fuzz/Corpus/<target>/, reproducibly (fixed
// keys, salts and nonces): the committed envelope vectors without their text header, crafted-mode
// envelope inputs, batches assembled from the vectors, key files with the test-only and the MODERATE
// costs, schemas with answer lines, answers texts, receipts and section plaintexts.
//
// Usage (built without sanitizers; scripts/fuzz.sh --seeds does this):
//   swift run --package-path Tests/Fuzz --scratch-path Tests/Fuzz/.build-seeds fuzz-seeds [REPO_ROOT]
@_spi(Vectors) import ChorusCore
import ChorusCrypto
import ChorusFormat
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

var written: [String: Int] = [:]
func write(_ target: String, _ name: String, _ bytes: [UInt8]) {
    let dir = "\(corpusDir)/\(target)"
    mkdir(corpusDir, 0o755)
    mkdir(dir, 0o755)
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
precondition(goodOne.header.contains("identity: " + Hex.encode(Fuzz.reviewer.secret.exportSecret().revealedBytes())),
             "Fuzz.reviewer is not reviewer-1 of the vectors")

// MARK: fuzz-envelope

let envelopeVectors = [
    "good-1-reviewer", "good-2-analyst-answers", "good-2-reviewers-second", "good-5-reviewer-3", "good-5-analyst-2",
    "good-story-1-byte", "good-story-fills-minimum", "good-story-padme", "good-multi-valued-answers", "good-crafted-baseline",
    "fail-analyst-not-recipient", "fail-duplicate-stanza", "fail-flip-mac", "fail-flip-answers-tag", "fail-sections-swapped",
    "fail-stanza-unknown-role", "fail-stanza-analyst-with-story-key", "fail-stanza-reviewer-without-story-key",
    "fail-stanza-wrong-mac-key", "fail-answers-padding-not-zero", "fail-answers-length-too-large", "fail-story-padded-too-much",
    "fail-answers-not-canonical", "fail-answers-bad-month", "fail-truncated-before-mac", "fail-wrong-magic", "fail-seventeen-stanzas",
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
write("fuzz-envelope", "craft-reviewer-short", [0xC0] + craftReviewer + Array(padded(Array("chorus-answers-1\narrival=2026-11\n".utf8), 256)))

// MARK: fuzz-batch

let schemaJSON = Schema.builtIn.canonicalJSON()
func batch(_ envelopes: [[UInt8]], tombstones: [[UInt8]] = [], schema: [UInt8] = schemaJSON, breakHash: Bool = false) -> [UInt8] {
    var out = BatchFormat.header(entryCount: UInt64(envelopes.count), schema: schema, tombstones: tombstones)
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
write("fuzz-batch", "short-entry-skipped", batch([Array(e1.prefix(100)), e2]))
write("fuzz-batch", "hash-mismatch", batch([e1], breakHash: true))
var truncated = batch([e1, e2]); truncated.removeLast(300)
write("fuzz-batch", "truncated", truncated)
let yearSchema = Schema(fields: [Schema.Field(id: "year", label: "Year \"quoted\"\t\u{00e9}", kind: .year, min: 1990, required: false)])
write("fuzz-batch", "year-schema", batch([e1], schema: yearSchema.canonicalJSON()))

// MARK: fuzz-keyfiles

func secretFile(_ key: UnlockedKey, cost: PasswordHash.Parameters, label: String) -> SecretKeyFile {
    let salt = Array(BLAKE2b.hash(Array("chorus-fuzz/salt/\(label)".utf8), outputLength: 16))
    let nonce = Array(BLAKE2b.hash(Array("chorus-fuzz/nonce/\(label)".utf8), outputLength: 24))
    let wrap = try! PasswordHash.deriveKey(length: 32, passphrase: SecretBytes(copying: Fuzz.passphrase), salt: salt, parameters: cost)
    let ad = SecretKeyFile.associatedData(role: key.role, opsLimit: cost.opsLimit, memoryBytes: cost.memoryBytes, salt: salt,
                                          publicKey: key.publicKey.rawBytes, name: key.name, nonce: nonce)
    let sealed = try! XChaCha20Poly1305.seal(key.secret.exportSecret(), associatedData: ad, nonce: nonce, key: wrap)
    return try! SecretKeyFile(role: key.role, opsLimit: cost.opsLimit, memoryBytes: cost.memoryBytes, salt: salt,
                              publicKey: key.publicKey.rawBytes, name: key.name, nonce: nonce, sealedSecret: sealed)
}
let skReviewer = secretFile(Fuzz.reviewer, cost: .testOnly, label: "reviewer")
let skAnalyst = secretFile(Fuzz.analyst, cost: .testOnly, label: "analyst")
let skModerate = secretFile(Fuzz.reviewer, cost: .moderate, label: "moderate")
// Sanity: the test-cost files unlock with the fixed passphrase.
for f in [skReviewer, skAnalyst] {
    _ = try! KeyFiles.unlock(Array(f.render().utf8), passphrase: SecretBytes(copying: Fuzz.passphrase), path: "seed")
}
write("fuzz-keyfiles", "secret-reviewer-test-cost", Array(skReviewer.render().utf8))
write("fuzz-keyfiles", "secret-analyst-test-cost", Array(skAnalyst.render().utf8))
write("fuzz-keyfiles", "secret-reviewer-moderate", Array(skModerate.render().utf8))
write("fuzz-keyfiles", "blob-reviewer-test-cost", skReviewer.blob)
write("fuzz-keyfiles", "blob-analyst-test-cost", skAnalyst.blob)
let r1pub = RecipientKey(role: .reviewer, publicKey: Fuzz.reviewer.publicKey, name: "reviewer-1")
let a1pub = RecipientKey(role: .analyst, publicKey: Fuzz.analyst.publicKey, name: "analyst-1")
write("fuzz-keyfiles", "public-reviewer", Array(r1pub.fileText.utf8))
write("fuzz-keyfiles", "public-analyst", Array(a1pub.fileText.utf8))
write("fuzz-keyfiles", "public-bare", Array("chorus-pk-reviewer-1:\(Hex.encode(Fuzz.reviewer.publicKey.rawBytes))\n".utf8))
write("fuzz-keyfiles", "public-comments", Array("# a comment\n#name: x\n\n# chorus public key; name:  \u{00e9}l\u{00e8}ne ; fingerprint: none\nchorus-pk-analyst-1:\(Hex.encode(Fuzz.analyst.publicKey.rawBytes))".utf8))

// MARK: fuzz-schema

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
write("fuzz-answers", "answers-minimal", Array("chorus-answers-1\narrival=2026-11\n".utf8))
let many = try! AnswersText(arrivalMonth: "1999-01", questionnaire: [UInt8](repeating: 0x5a, count: AnswersText.questionnaireLength), fields: Dictionary(uniqueKeysWithValues: (0 ..< 64).map { ("f\($0)", ["v", "w-\($0)"]) }))
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
