import ChorusCore
import ChorusCrypto
import ChorusFormat
import ChorusSystem

/// Writes the bytes of a batch (FORMAT.md 6) to a sink as a stream: the header (magic, version,
/// counts, the signed recipients document, tombstones), then each entry as `u32 length ‖ envelope`, then the BLAKE2b-256 of
/// everything before it. Memory: nothing per entry. The number of entries is declared up front and
/// `finish` refuses any other number, so a batch that says E entries holds exactly E.
///
/// `BatchWriter.create(path:...)` writes a new batch file durably; the encoder itself is sink-agnostic
/// (a store closing its inbox, a benchmark generator, a test).
public final class BatchEncoder {
    public let declaredEntries: Int
    public private(set) var writtenEntries = 0
    private let hasher: BLAKE2b.Hasher
    private let sink: (UnsafeRawBufferPointer) throws -> Void
    private var finished = false

    /// Writes the header at once. `recipients` is the store's signed recipients document (it carries
    /// the questionnaires readers interpret the entries with); `tombstones` are entry ids (32 bytes
    /// each, any order, no repeats).
    public init(entryCount: Int, recipients: SignedRecipients, tombstones: [[UInt8]],
                sink: @escaping (UnsafeRawBufferPointer) throws -> Void) throws {
        guard entryCount >= 0 else { throw StoreError(.invalidArgument, "a batch cannot hold \(entryCount) entries") }
        guard recipients.bytes.count <= BatchFormat.maxDocumentLength else {
            throw StoreError(.invalidBatch, "the recipients document is larger than a batch can carry (\(BatchFormat.maxDocumentLength) bytes)")
        }
        guard tombstones.allSatisfy({ $0.count == BatchFormat.idLength }) else {
            throw StoreError(.invalidArgument, "a tombstone must be an entry id of \(BatchFormat.idLength) bytes")
        }
        guard Set(tombstones).count == tombstones.count else { throw StoreError(.invalidArgument, "a tombstone is given twice") }
        do { hasher = try BLAKE2b.Hasher(outputLength: BatchFormat.hashLength) } catch {
            throw StoreError(.bug, "cannot start a BLAKE2b hash: \(error)")
        }
        declaredEntries = entryCount
        self.sink = sink
        try emit(BatchFormat.header(entryCount: UInt64(entryCount), document: recipients.bytes, tombstones: tombstones))
    }

    private func emit(_ bytes: UnsafeRawBufferPointer) throws {
        hasher.update(bytes)
        try sink(bytes)
    }

    private func emit(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try emit($0) } }

    /// Appends one entry. The envelope must be structurally valid (FORMAT.md 5.6 step 1): a batch is
    /// never made to carry a malformed envelope.
    public func append(envelope: UnsafeRawBufferPointer) throws {
        precondition(!finished, "BatchEncoder used after finish")
        guard writtenEntries < declaredEntries else {
            throw StoreError(.invalidArgument, "the batch was declared with \(declaredEntries) entries; no more can be added")
        }
        do { _ = try EnvelopeLayout.parse(envelope) } catch {
            throw StoreError(.invalidEntry, "entry \(writtenEntries + 1) is not a valid envelope: \(error)")
        }
        try emit(BatchFormat.entryPrefix(length: envelope.count))
        try emit(envelope)
        writtenEntries += 1
    }

    public func append(envelope: [UInt8]) throws { try envelope.withUnsafeBytes { try append(envelope: $0) } }

    /// Writes the checksum. Throws, writing nothing, unless exactly the declared number of entries was appended.
    public func finish() throws {
        precondition(!finished, "BatchEncoder finished twice")
        guard writtenEntries == declaredEntries else {
            throw StoreError(.invalidArgument, "the batch was declared with \(declaredEntries) entries but \(writtenEntries) were written")
        }
        finished = true
        let digest = hasher.finalize()
        try digest.withUnsafeBytes { try sink($0) }
    }
}

/// Writing a whole batch file.
public enum BatchWriter {
    /// Creates the new batch file `path` holding `entryCount` entries that `fill` appends: durably (a
    /// temporary file in the same folder, flushed, times set to 0, linked to `path` without overwriting,
    /// the folder flushed; FORMAT.md 7.1), mode 0600. On any error, or if `fill` appends another number of
    /// entries, nothing is left at `path`.
    public static func create(path: String, recipients: SignedRecipients, tombstones: [[UInt8]] = [], entryCount: Int,
                              fill: (BatchEncoder) throws -> Void) throws {
        try DurableFile.createExclusive(path: path, zeroTimes: true) { writer in
            let encoder = try BatchEncoder(entryCount: entryCount, recipients: recipients, tombstones: tombstones) {
                try writer.write($0)
            }
            try fill(encoder)
            try encoder.finish()
        }
    }
}
