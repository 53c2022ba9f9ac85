import ChorusCore
import ChorusFormat
import ChorusSystem

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One envelope handed to a reader (review, stats): structurally valid, not withdrawn, not seen
/// before in these sources. Not yet decrypted.
public struct SourceEnvelope: Sendable {
    public let bytes: [UInt8]
    public let layout: EnvelopeLayout
    /// For an entry of a batch file: the open file and where the envelope's bytes start in it, to
    /// read them again later (`BatchFileHandle.read(offset:length:)` with `bytes.count`). Nil for an
    /// inbox entry (inbox files may be batched and removed meanwhile).
    public let batchPosition: (file: BatchFileHandle, offset: Int)?
    /// The batch or store it came from (shared by its entries), and its position in a batch.
    private let place: String
    private let position: Int?

    init(bytes: [UInt8], layout: EnvelopeLayout, place: String, position: Int?, batchPosition: (file: BatchFileHandle, offset: Int)? = nil) {
        self.bytes = bytes
        self.layout = layout
        self.place = place
        self.position = position
        self.batchPosition = batchPosition
    }

    /// Where it came from, for an error message about this entry only ("batch FILE, entry 7" or
    /// "the inbox of STORE"); never an entry id or an inbox file name. Made only when asked for.
    public var origin: String { position.map { "batch \(place), entry \($0)" } ?? place }
}

/// One item handed to a reader.
public enum SourceItem: Sendable {
    case envelope(SourceEnvelope)
    /// An entry that cannot be used; one sentence that names the batch or store but no entry id.
    case bad(problem: String)
}

/// What reading all the sources found.
public struct SourceSummary: Sendable, Equatable {
    /// Envelopes handed out.
    public var envelopes = 0
    /// Bad entries reported (and skipped).
    public var bad = 0
    /// Entries skipped because they were withdrawn (a tombstone in any source).
    public var withdrawn = 0
    /// Problems with whole sources: a batch that is not valid, a checksum mismatch; one sentence each.
    public var problems: [String] = []

    public init() {}
}

/// Every entry of a list of sources (store folders and batch files) for the readers: inbox entries
/// and the batches of each store, and each batch file given. Before handing out anything it
/// collects the tombstones of all sources (a batch carries the store's tombstones, and a later
/// batch can withdraw an entry of an earlier one), so a withdrawn entry is never released; an entry
/// seen twice (a crash between writing a batch and emptying the inbox leaves one in both; the same
/// batch may be given twice) is released each time: copies are recognised after decryption, by id and
/// header MAC (`Auditor`), because before decryption nothing proves that two envelopes with one id are
/// copies rather than a forgery planted to hide a real entry. Memory: one envelope at a time.
public final class EntrySources {
    public enum Kind: Sendable, Equatable { case store, batch }

    /// One source as given, with its signed recipients.
    public struct Source: Sendable {
        public let path: String
        public let kind: Kind
        /// The store's signed recipients, or those the batch carries; nil when the batch is unreadable.
        public let recipients: SignedRecipients?
    }

    public let sources: [Source]
    /// Every signed recipients document met (a store's, and those of its batches and of each batch
    /// given), each checked for its form and signature: the caller checks their organisation keys.
    public let documents: [SignedRecipients]
    /// Every questionnaire these documents sign, by digest: an entry is interpreted with the one its
    /// answers name, and no other.
    public let questionnaires: [[UInt8]: Schema]
    /// The union of every tombstone found in the sources.
    public let tombstones: Set<[UInt8]>
    private let stores: [String: Store]
    /// What was wrong with the sources before any entry was read (a batch that cannot be opened).
    public private(set) var initialProblems: [String] = []

    /// Opens every source and reads their tombstones and signed recipients. A missing source, a folder
    /// that is not a store, a store that was never signed or whose files disagree with what was
    /// signed, throws; a batch file that is not valid is reported by `forEach` and skipped.
    public init(paths: [String]) throws {
        var sources: [Source] = []
        var documents: [SignedRecipients] = []
        var tombstones = Set<[UInt8]>()
        var stores: [String: Store] = [:]
        var problems: [String] = []
        for path in paths {
            let st: stat
            switch Posix.statPath(path) {
            case let .success(s): st = s
            case let .failure(e) where e.code == ENOENT: throw SystemError(.notFound, "\(Posix.shown(path)) does not exist", errno: e.code)
            case let .failure(e): throw SystemError.call("read", Posix.shown(path), e.code)
            }
            if Posix.isDirectory(st) {
                let store = try Store.open(at: path)
                stores[path] = store
                let signed = try store.requireSignedRecipients()
                documents.append(signed)
                sources.append(Source(path: path, kind: .store, recipients: signed))
                tombstones.formUnion(try store.tombstones())
                for name in try store.listBatches().batches {
                    do {
                        let batch = try store.openBatch(name: name)
                        tombstones.formUnion(batch.tombstones)
                        documents.append(batch.recipients)
                    } catch let e as StoreError where e.kind == .invalidBatch {
                        continue // reported when the batch is read
                    }
                }
            } else {
                do {
                    let reader = try BatchReader(path: path)
                    tombstones.formUnion(reader.tombstones)
                    documents.append(reader.recipients)
                    sources.append(Source(path: path, kind: .batch, recipients: reader.recipients))
                } catch let e as StoreError where e.kind == .invalidBatch {
                    problems.append(e.message)
                    sources.append(Source(path: path, kind: .batch, recipients: nil))
                }
            }
        }
        self.sources = sources
        self.documents = documents
        var questionnaires: [[UInt8]: Schema] = [:]
        for d in documents { for q in d.document.questionnaires { questionnaires[q.digest] = q } }
        self.questionnaires = questionnaires
        self.tombstones = tombstones
        self.stores = stores
        initialProblems = problems
    }

    /// Hands every usable entry to `body`, in order: for each source, a store's inbox then its
    /// batches, or a batch file's entries. `body` may pass the envelope to another thread.
    /// Throws only for I/O errors (and whatever `body` throws).
    public func forEach(_ body: (SourceItem) throws -> Void) throws -> SourceSummary {
        var summary = SourceSummary()
        summary.problems = initialProblems

        func release(_ bytes: [UInt8], _ layout: EnvelopeLayout, _ place: String, _ position: Int?,
                     _ batchPosition: (file: BatchFileHandle, offset: Int)? = nil) throws {
            if !tombstones.isEmpty && tombstones.contains(layout.id) {
                summary.withdrawn += 1
            } else {
                summary.envelopes += 1
                try body(.envelope(SourceEnvelope(bytes: bytes, layout: layout, place: place, position: position, batchPosition: batchPosition)))
            }
        }

        func read(_ reader: BatchReader) throws {
            let place = reader.shownPath
            let s = try reader.forEach { entry in
                switch entry {
                case let .envelope(e):
                    try release(e.bytes, e.layout, place, e.index, (reader.file, e.offset))
                case let .bad(_, problem):
                    summary.bad += 1
                    try body(.bad(problem: problem))
                }
            }
            summary.problems += s.problems
        }

        for source in sources {
            if source.kind == .store, let store = stores[source.path] {
                let listing = try store.listInbox()
                if !listing.unexpected.isEmpty {
                    summary.problems.append("the inbox of \(store.shownPath) holds \(listing.unexpected.count) file\(listing.unexpected.count == 1 ? "" : "s") that \(listing.unexpected.count == 1 ? "is" : "are") not entries; run chorus verify on it")
                }
                let inboxPlace = "the inbox of \(store.shownPath)"
                for name in listing.entries {
                    switch try store.readInboxEntry(name: name) {
                    case let .valid(envelope, layout):
                        try release(envelope, layout, inboxPlace, nil)
                    case .invalid:
                        summary.bad += 1
                        try body(.bad(problem: "an entry in the inbox of \(store.shownPath) is not a valid envelope and was skipped; run chorus verify on the store for details"))
                    }
                }
                for name in try store.listBatches().batches {
                    do {
                        let reader = try store.openBatch(name: name)
                        guard reader.recipients.document.store == store.config.storeId else {
                            summary.problems.append("\(reader.shownPath) carries recipients signed for the store \(reader.recipients.document.store), not for \(store.shownPath); it was not read")
                            continue
                        }
                        try read(reader)
                    } catch let e as StoreError where e.kind == .invalidBatch {
                        summary.problems.append(e.message)
                    }
                }
            } else if source.kind == .batch, source.recipients != nil {
                do {
                    try read(try BatchReader(path: source.path))
                } catch let e as StoreError where e.kind == .invalidBatch {
                    summary.problems.append(e.message)
                }
            }
        }
        return summary
    }
}
