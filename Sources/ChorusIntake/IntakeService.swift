import ChorusCore
import ChorusCrypto
import ChorusFormat
import ChorusStore
import ChorusSystem
import NIOConcurrencyHelpers
import NIOCore

/// What `chorus serve` does with each request, apart from HTTP: every method here is synchronous
/// and may block on the disk (the server runs them on its own thread pool). Nothing here logs, and
/// no answer names a path of the server, an id, a count, or says whether an entry existed.
public final class IntakeService: Sendable {
    public let store: Store
    public let limits: IntakeLimits
    /// The organisation key the server was started with: a recipients document signed by another
    /// key is never handed out nor sealed to (`chorus serve` pins it at start).
    public let organisation: String
    private let inbox: NIOLockedValueBox<InboxCount>

    private struct InboxCount {
        var entries: Int
        var counted: NIODeadline
    }

    /// Checks that the store is signed by `organisation` and counts its inbox.
    public init(store: Store, limits: IntakeLimits, organisation: String) throws {
        self.store = store
        var limits = limits
        // No envelope this store would take is longer than this.
        limits.maxEnvelopeBytes = min(limits.maxEnvelopeBytes,
                                      EnvelopeFormat.maximumLength - EnvelopeFormat.storyMaximum + store.config.maxStorySectionLength)
        self.limits = limits
        self.organisation = organisation
        self.inbox = NIOLockedValueBox(InboxCount(entries: try store.listInbox().entries.count, counted: .now()))
        // Crash leftovers are removed once, here. Each publish below leaves `tmp/` alone: with many
        // writers in one process, a cleaner after every write kept catching other writers' files in
        // the moment between their creation and their lock (found by the serve benchmark: about one
        // 503 in 5,000 posts).
        store.removeLeftovers()
        _ = try currentRecipients()
    }

    // MARK: Recipients

    /// The store's signed recipients, read again on each call (an organisation that adds or rotates a
    /// key needs no restart), checked as every reader checks them and signed by the pinned key.
    public func currentRecipients() throws -> SignedRecipients {
        let signed = try store.requireSignedRecipients()
        guard signed.document.organisation.fingerprint == organisation else {
            throw StoreError(.notAsSigned, "the store's recipients are now signed by the organisation key \(signed.document.organisation.fingerprint), not by \(organisation), the key this server was started with; restart chorus serve with --org-fingerprint to accept it")
        }
        return signed
    }

    /// `GET /v1/recipients`: the signed document exactly as the organisation signed it.
    public func recipients() -> Reply {
        guard let signed = try? currentRecipients() else { return Self.unavailable }
        return Reply(status: 200, contentType: "application/json", body: signed.bytes)
    }

    /// The story limit of this store, for the `Chorus-Max-Story-Bytes` header and the form.
    public var maxStoryBytes: Int { store.config.maxStoryBytes }

    // MARK: Capacity

    static let unavailable = Reply.sentence(503, "the server cannot take submissions right now; nothing was stored; try again later", retryAfter: 300)

    /// Nil when a new entry may be stored; else the 503 answer (inbox quota reached, or the store's
    /// file system below its free-space floor). The inbox is counted again when the quota seems
    /// reached (batches empty it) at most once a second.
    public func refusal() -> Reply? {
        switch Posix.availableBytes(store.path) {
        case let .success(free) where free >= limits.minFreeBytes: break
        default: return Self.unavailable
        }
        let full: Bool = inbox.withLockedValue { count in
            guard count.entries >= limits.inboxQuota else { return false }
            let now = NIODeadline.now()
            if now - count.counted >= .seconds(1), let listed = try? store.listInbox() {
                count.entries = listed.entries.count
                count.counted = now
            }
            return count.entries >= limits.inboxQuota
        }
        return full ? Self.unavailable : nil
    }

    private func counted(_ outcome: PublishOutcome) {
        if outcome == .published { inbox.withLockedValue { $0.entries += 1 } }
    }

    // MARK: The API

    /// `POST /v1/envelopes`: the checks of `chorus import`, then durable in the inbox before the
    /// answer. A duplicate or a withdrawn entry gets the same 201 as a new one, and nothing is written.
    public func acceptEnvelope(_ bytes: UnsafeRawBufferPointer) -> Reply {
        let layout: EnvelopeLayout
        do {
            layout = try EnvelopeLayout.parse(bytes)
        } catch {
            return .sentence(400, "the body is not a Chorus envelope: \(error)")
        }
        guard layout.storyLength <= store.config.maxStorySectionLength else {
            return .sentence(413, "the envelope's story section (\(layout.storyLength) bytes) is larger than this store accepts (stories up to \(store.config.maxStoryBytes) bytes)")
        }
        if let refusal = refusal() { return refusal }
        do {
            counted(try store.publish(envelope: Array(bytes), removingLeftovers: false))
            return Reply(status: 201)
        } catch {
            return Self.unavailable
        }
    }

    /// What withdrawing with a receipt typed or sent as text came to.
    enum Withdrawal { case done, notAReceipt(String), failed }

    /// `Store.withdraw` for the receipt in `text`: the same outcome whether the entry was in the
    /// inbox, in a batch, already withdrawn, or never here (a tombstone is recorded in every case).
    func withdraw(receiptText text: String) -> Withdrawal {
        let receipt: Receipt
        do {
            receipt = try Receipt.parse(text)
        } catch {
            return .notAReceipt((error as? CoreError)?.message ?? "this is not a receipt")
        }
        do {
            _ = try store.withdraw(id: receipt.entryID)
            return .done
        } catch {
            return .failed
        }
    }

    /// `POST /v1/withdraw`: the receipt as text; one answer whether or not the story was here.
    public func withdraw(_ bytes: UnsafeRawBufferPointer) -> Reply {
        guard bytes.count <= 1024 else { return .sentence(413, "a receipt is at most 1024 bytes") }
        switch withdraw(receiptText: String(decoding: bytes, as: UTF8.self)) {
        case .done: return .sentence(200, "withdrawn")
        case let .notAReceipt(why): return .sentence(400, "the body is not a receipt: \(why)")
        case .failed: return Self.unavailable
        }
    }

    /// `GET /health`: that the server answers and can take a submission now; no count of anything.
    public func health() -> Reply {
        if refusal() != nil || (try? currentRecipients()) == nil { return .sentence(503, "not accepting submissions", retryAfter: 300) }
        return .sentence(200, "ok")
    }

    // MARK: The pages

    /// `POST /withdraw`: the receipt typed in the page's one field; the rules of `withdraw` above.
    public func withdrawForm(_ body: UnsafeMutableRawBufferPointer) -> Reply {
        defer { body.initializeMemory(as: UInt8.self, repeating: 0) }
        guard let form = try? FormBody(parsing: UnsafeRawBufferPointer(body), storyField: "receipt"), form.fields.isEmpty,
              let typed = form.story?.withUnsafeBytes({ String(decoding: $0, as: UTF8.self) })
        else { return .page(400, Pages.error(status: 400, SubmitterText.webOnlyThisPage)) }
        switch withdraw(receiptText: typed) {
        case .done: return .page(200, Pages.withdrawn())
        case let .notAReceipt(why): return .page(400, Pages.withdrawForm(problem: why))
        case .failed: return .page(503, Pages.error(status: 503, SubmitterText.webBusy), retryAfter: 300)
        }
    }

    public func formPage(currentYear: Int) -> Reply {
        guard let signed = try? currentRecipients() else { return .page(503, Pages.error(status: 503, SubmitterText.webBusy), retryAfter: 300) }
        return .page(200, Pages.form(schema: signed.document.current, reviewers: signed.document.recipients, maxStoryBytes: maxStoryBytes,
                                     currentYear: currentYear))
    }

    /// `POST /submit`: the form's answers are checked against the questionnaire, the story with
    /// `Story.validate`, and both are sealed here, to the store's signed recipients, with the
    /// library's own code; the story lives in guarded memory, wiped when this returns, and `body`
    /// (the request as received) is overwritten with zeros before this returns.
    public func submitForm(_ body: UnsafeMutableRawBufferPointer, arrivalMonth: String, currentYear: Int) -> Reply {
        defer { body.initializeMemory(as: UInt8.self, repeating: 0) }
        guard let signed = try? currentRecipients() else { return .page(503, Pages.error(status: 503, SubmitterText.webBusy), retryAfter: 300) }
        let schema = signed.document.current
        let onlyThisPage = Reply.page(400, Pages.error(status: 400, SubmitterText.webOnlyThisPage))
        var form: FormBody
        do {
            form = try FormBody(parsing: UnsafeRawBufferPointer(body), storyField: Pages.storyField)
        } catch {
            return onlyThisPage
        }
        // The choices made, to fill the form in again if it must come back.
        var filled = Pages.Filled()
        var raw: [String] = []
        for (name, value) in form.fields {
            guard let field = schema.field(name) else { return onlyThisPage }
            if field.kind == .year {
                let typed = value.trimmingSpaces
                filled.year[name] = typed
                if typed.isEmpty { continue }
            } else {
                filled.values[name, default: []].insert(value)
            }
            raw.append("\(name)=\(value)")
        }
        let story = form.story.take()
        // Only for a form that comes back: the story as text, to fill it in again.
        func text(_ story: borrowing SecretBytes) -> String { story.withUnsafeBytes { String(decoding: $0, as: UTF8.self) } }
        func shown(_ story: borrowing SecretBytes?) -> String? { story?.withUnsafeBytes { String(decoding: $0, as: UTF8.self) } }
        func again(_ problem: String, status: Int = 400, story text: String?) -> Reply {
            .page(status, Pages.form(schema: schema, reviewers: signed.document.recipients, maxStoryBytes: maxStoryBytes, currentYear: currentYear, problem: problem,
                                     filled: filled, story: text), retryAfter: status == 503 ? 300 : nil)
        }
        if let field = schema.fields.first(where: { $0.required && filled.values[$0.id] == nil && (filled.year[$0.id] ?? "").isEmpty }) {
            return again(SubmitterText.webNeedsAnswer(field.label), story: shown(story))
        }
        for field in schema.fields where field.kind == .year {
            if let typed = filled.year[field.id], !typed.isEmpty, (try? schema.partialAnswers(from: ["\(field.id)=\(typed)"], currentYear: currentYear)) == nil {
                return again(SubmitterText.webBadYear(field.label, first: field.min ?? Schema.earliestYear, last: currentYear), story: shown(story))
            }
        }
        let answers: AnswersText
        do {
            answers = try schema.answers(from: raw, arrivalMonth: arrivalMonth, currentYear: currentYear)
        } catch {
            // Values the page does not offer, or a single choice given twice.
            return onlyThisPage
        }
        guard let story, story.count > 0 else { return again(SubmitterText.webNoStory, story: nil) }
        do {
            _ = try Story.validate(story, maxBytes: maxStoryBytes)
        } catch {
            return again(SubmitterText.webStoryProblem(error.message), story: text(story))
        }
        if refusal() != nil { return again(SubmitterText.webBusy, status: 503, story: text(story)) }
        let receipt = Receipt.generate()
        do {
            let envelope = try EnvelopeSealer.seal(id: receipt.entryID, answers: answers.encoded(), story: story, recipients: signed.document.recipients)
            switch try store.publish(envelope: envelope, removingLeftovers: false) {
            case .published: counted(.published)
            case .duplicate, .withdrawn:
                // A one-in-2^128 event: another receipt would be needed; say so rather than lose it.
                return .page(503, Pages.error(status: 503, SubmitterText.webBusy), retryAfter: 1)
            }
        } catch {
            return .page(503, Pages.error(status: 503, SubmitterText.webBusy), retryAfter: 300)
        }
        return .page(200, Pages.receipt(receipt))
    }
}
