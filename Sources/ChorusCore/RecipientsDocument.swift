import ChorusCrypto
import ChorusFormat
import ChorusSystem

/// What the organisation signs for one store (docs/FORMAT.md 7.3): who the recipients are (name,
/// role, public key) and which questionnaires the store's entries answer, the first being the one
/// new submissions are asked. Whoever runs the store, or holds a copy of `Keys/`, cannot change any
/// of it without the organisation's key: a submitter seals only to the recipients it names, and a
/// reader interprets answers only with a questionnaire it names.
public struct RecipientsDocument: Sendable, Equatable {
    public static let formatName = "chorus-recipients"
    public static let version = 2
    /// An envelope holds at most 16 stanzas.
    public static let maxRecipients = EnvelopeFormat.maxStanzas
    public static let maxQuestionnaires = 16
    /// The largest document (body and signature) accepted.
    public static let maxBytes = BatchFormat.maxDocumentLength

    public let organisation: OrganisationKey
    /// The store's id (its `storeId`): a document signed for one store is refused by another.
    public let store: String
    /// Grows by one with each signed change, so that an older document can be told apart.
    public let serial: UInt64
    public let recipients: [RecipientKey]
    /// The current questionnaire first, then the earlier ones whose entries are still read.
    public let questionnaires: [Schema]

    public var current: Schema { questionnaires[0] }

    /// The questionnaire whose digest is `digest`, if the document names it.
    public func questionnaire(digest: [UInt8]) -> Schema? { questionnaires.first { $0.digest == digest } }

    /// Checks every rule of FORMAT.md 7.3; `source` names the document in the error.
    public init(organisation: OrganisationKey, store: String, serial: UInt64, recipients: [RecipientKey], questionnaires: [Schema],
                source: String = "the recipients document") throws(CoreError) {
        func fail(_ why: String) -> CoreError { CoreError(.invalidRecipientsDocument, "\(source): \(why)") }
        guard organisation.name.map(KeyName.isValid) ?? false else { throw fail("the organisation's name is not a valid key name") }
        guard Posix.isLowerHex(store, count: 32) else { throw fail("the store id is not 32 lowercase hex characters") }
        guard serial >= 1 && serial <= Self.maxSerial else { throw fail("the serial is outside 1...\(Self.maxSerial)") }
        guard (1 ... Self.maxRecipients).contains(recipients.count) else {
            throw fail("it names \(recipients.count) recipients; a store has 1 to \(Self.maxRecipients)")
        }
        guard recipients.contains(where: { $0.role == .reviewer }) else { throw fail("it names no reviewer, so no story could be read") }
        guard Set(recipients.map(\.publicKey)).count == recipients.count else { throw fail("it names one key twice") }
        guard Set(recipients.map { $0.name ?? "" }).count == recipients.count else { throw fail("it names two recipients alike") }
        for r in recipients where !(r.name.map(KeyName.isValid) ?? false) { throw fail("a recipient's name is not a valid key name") }
        guard (1 ... Self.maxQuestionnaires).contains(questionnaires.count) else {
            throw fail("it has \(questionnaires.count) questionnaires; a store has 1 to \(Self.maxQuestionnaires)")
        }
        guard Set(questionnaires.map(\.digest)).count == questionnaires.count else { throw fail("it lists one questionnaire twice") }
        for (i, q) in questionnaires.enumerated() {
            do { try q.validate(source: "questionnaire \(i + 1)") } catch { throw fail(error.message) }
        }
        self.organisation = organisation
        self.store = store
        self.serial = serial
        self.recipients = recipients
        self.questionnaires = questionnaires
    }

    /// The largest serial (2^53: exact in every JSON reader).
    public static let maxSerial: UInt64 = 1 << 53

    /// The canonical JSON body: no whitespace, keys in ascending byte order, strings by `JSONString`.
    public func canonicalJSON() -> [UInt8] {
        var out: [UInt8] = []
        func put(_ s: String) { out.append(contentsOf: s.utf8) }
        func string(_ s: String) { JSONString.append(s, to: &out) }
        put(#"{"format":"#); string(Self.formatName)
        put(#","organisation":{"key":"#); string(Hex.encode(organisation.publicKey.rawBytes))
        put(#","name":"#); string(organisation.name ?? "")
        put(#"},"questionnaires":["#)
        for (i, q) in questionnaires.enumerated() {
            if i > 0 { put(",") }
            out += q.canonicalJSON()
        }
        put(#"],"recipients":["#)
        for (i, r) in recipients.enumerated() {
            if i > 0 { put(",") }
            put(#"{"key":"#); string(Hex.encode(r.publicKey.rawBytes))
            put(#","name":"#); string(r.name ?? "")
            put(#","role":"#); string(r.role.description)
            put("}")
        }
        put(#"],"serial":\#(serial),"store":"#); string(store)
        put(#","version":\#(Self.version)}"#)
        return out
    }

    /// Decodes a canonical body: strict JSON, exactly the keys of FORMAT.md 7.3, every rule checked,
    /// and the bytes exactly `canonicalJSON()` of what they decode to.
    static func decode(_ bytes: [UInt8], source: String) throws(CoreError) -> RecipientsDocument {
        func fail(_ why: String) -> CoreError { CoreError(.invalidRecipientsDocument, "\(source): \(why)") }
        let root: StrictJSONValue
        do { root = try StrictJSONParser.parse(bytes) } catch { throw fail("not valid JSON: \(error.why) at column \(error.column)") }
        func object(_ v: StrictJSONValue, _ keys: [String], _ what: String) throws(CoreError) -> [String: StrictJSONValue] {
            guard case let .object(members) = v else { throw fail("\(what) must be a JSON object") }
            var out: [String: StrictJSONValue] = [:]
            for (k, value) in members {
                guard keys.contains(k) else { throw fail("\(what) has the unknown key \"\(displaySafe(k))\"") }
                out[k] = value
            }
            for k in keys where out[k] == nil { throw fail("\(what) has no \"\(k)\"") }
            return out
        }
        func text(_ v: StrictJSONValue?, _ what: String) throws(CoreError) -> String {
            guard case let .string(s)? = v else { throw fail("\(what) must be a string") }
            return s
        }
        func number(_ v: StrictJSONValue?, _ what: String) throws(CoreError) -> UInt64 {
            guard case let .number(n)? = v, let value = UInt64(n) else { throw fail("\(what) must be a whole number") }
            return value
        }
        let top = try object(root, ["format", "organisation", "questionnaires", "recipients", "serial", "store", "version"], "the document")
        guard try text(top["format"], "\"format\"") == formatName else { throw fail("it is not a \(formatName) document") }
        let version = try number(top["version"], "\"version\"")
        guard version == UInt64(Self.version) else { throw fail("it has version \(version); this Chorus reads version \(Self.version)") }
        let org = try object(top["organisation"]!, ["key", "name"], "\"organisation\"")
        let orgKey: OrganisationKey
        do {
            guard let raw = Hex.decode(try text(org["key"], "the organisation's key")), raw.count == 32 else {
                throw fail("the organisation's key must be 64 lowercase hex characters")
            }
            orgKey = OrganisationKey(publicKey: try SigningPublicKey(rawBytes: raw), name: try text(org["name"], "the organisation's name"))
        } catch let e as CoreError {
            throw e
        } catch {
            throw fail("the organisation's key is not a usable signing key")
        }
        guard case let .array(list)? = top["recipients"] else { throw fail("\"recipients\" must be a list") }
        var recipients: [RecipientKey] = []
        for (i, item) in list.enumerated() {
            let r = try object(item, ["key", "name", "role"], "recipient \(i + 1)")
            guard let role = Role(name: try text(r["role"], "a recipient's role")), role.isRecipient else {
                throw fail("recipient \(i + 1) has a role that is neither reviewer nor analyst")
            }
            guard let raw = Hex.decode(try text(r["key"], "a recipient's key")), raw.count == 32, let key = try? PublicKey(rawBytes: raw) else {
                throw fail("recipient \(i + 1) has a key that is not 64 lowercase hex characters of a usable public key")
            }
            recipients.append(RecipientKey(role: role, publicKey: key, name: try text(r["name"], "a recipient's name")))
        }
        guard case let .array(qs)? = top["questionnaires"] else { throw fail("\"questionnaires\" must be a list") }
        var questionnaires: [Schema] = []
        for (i, q) in qs.enumerated() {
            questionnaires.append(try Schema.decodeRoot(q) { why in fail("questionnaire \(i + 1): \(why)") })
        }
        let document = try RecipientsDocument(organisation: orgKey, store: try text(top["store"], "\"store\""),
                                              serial: try number(top["serial"], "\"serial\""), recipients: recipients,
                                              questionnaires: questionnaires, source: source)
        guard document.canonicalJSON() == bytes else { throw fail("it is not in canonical form") }
        return document
    }

    /// A copy with other recipients or questionnaires and the next serial.
    public func changed(recipients: [RecipientKey]? = nil, questionnaires: [Schema]? = nil) throws(CoreError) -> RecipientsDocument {
        try RecipientsDocument(organisation: organisation, store: store, serial: serial + 1, recipients: recipients ?? self.recipients,
                               questionnaires: questionnaires ?? self.questionnaires)
    }
}

/// A recipients document with the organisation's signature, as the store keeps it in
/// `chorus-recipients.signed` and as every batch carries it (docs/FORMAT.md 7.3): the canonical
/// body, a line feed, `ed25519:` and the 128 hex characters of the signature, a line feed. The
/// signature is `crypto_sign_detached("chorus-recipients-2\n" ‖ body)` with the organisation's key
/// named in the body; trust in that key comes from the pin (`OrganisationPins`), not from the file.
public struct SignedRecipients: Sendable, Equatable {
    public static let context = Array("chorus-recipients-2\n".utf8)
    public let document: RecipientsDocument
    /// The file's bytes, exactly.
    public let bytes: [UInt8]

    /// Signs `document` with the organisation's key, which must be the one the document names.
    public static func sign(_ document: RecipientsDocument, with key: UnlockedOrganisationKey) throws(CoreError) -> SignedRecipients {
        guard key.secret.publicKey == document.organisation.publicKey else {
            throw CoreError(.untrustedOrganisation, "the key '\(displaySafe(key.name))' (fingerprint \(key.fingerprint)) is not the organisation key this store's recipients are signed with (\(document.organisation.fingerprint))")
        }
        let body = document.canonicalJSON()
        let signature = key.secret.sign(context + body)
        return SignedRecipients(document: document, bytes: body + Array("\ned25519:\(Hex.encode(signature))\n".utf8))
    }

    private init(document: RecipientsDocument, bytes: [UInt8]) {
        self.document = document
        self.bytes = bytes
    }

    /// Parses and verifies a signed document: its form, every rule of the body, and the signature by
    /// the key the body names. `source` names it in the error.
    public static func parse(_ bytes: [UInt8], source: String) throws(CoreError) -> SignedRecipients {
        func fail(_ why: String) -> CoreError { CoreError(.invalidRecipientsDocument, "\(source): \(why)") }
        guard bytes.count <= RecipientsDocument.maxBytes else { throw fail("it is larger than \(RecipientsDocument.maxBytes) bytes") }
        let tail = 1 + "ed25519:".utf8.count + 128 + 1
        guard bytes.count > tail, bytes.last == 0x0a, bytes[bytes.count - tail] == 0x0a else {
            throw fail("it is not a signed recipients document (a JSON line, then the signature line)")
        }
        let body = Array(bytes[0 ..< bytes.count - tail])
        let signatureLine = String(decoding: bytes[(bytes.count - tail + 1) ..< (bytes.count - 1)], as: UTF8.self)
        guard signatureLine.hasPrefix("ed25519:"), let signature = Hex.decode(signatureLine.dropFirst(8)), signature.count == 64 else {
            throw fail("its last line is not ed25519: and 128 lowercase hex characters")
        }
        guard !body.contains(0x0a) else { throw fail("its body is not one line") }
        let document = try RecipientsDocument.decode(body, source: source)
        guard document.organisation.publicKey.verifies(signature, of: context + body) else {
            throw fail("its signature does not verify: it was altered, or not signed by the organisation key it names")
        }
        return SignedRecipients(document: document, bytes: bytes)
    }
}
