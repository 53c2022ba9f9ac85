import ChorusCrypto
import ChorusFormat
import ChorusSystem

/// What `Store.closeBatch(out:)` did.
public struct BatchClosing: Sendable, Equatable {
    /// The batch file written, or nil when there was nothing to batch (nothing was written).
    public let path: String?
    /// How many entries the batch holds (and were removed from the inbox).
    public let entryCount: Int
    /// One sentence for each inbox file left where it is because it is not a valid entry.
    public let keptInInbox: [String]
    /// Withdrawn entries (a tombstone exists) that were found in the inbox and removed, not batched.
    public let withdrawnRemoved: Int
}

extension Store {
    /// Closes the inbox into one batch file (FORMAT.md 6): entries in random order, every tombstone of
    /// the store, the store's signed recipients (with its questionnaires), and the BLAKE2b-256 checksum. The file is streamed through
    /// `BatchEncoder` (one envelope in memory at a time) into `tmp/` and published by the one
    /// durable-write recipe, without overwriting, as `batches/<32 random hex>.batch`, or as `out` (a
    /// new file, never overwritten; written through a temporary file in `out`'s folder). Only once the
    /// batch is durable are its entries removed from the inbox. Invalid inbox files are left in place
    /// and listed.
    ///
    /// Holds the store lock (see `withdraw`). A crash at any point leaves every entry in the inbox,
    /// in a complete batch, or in both (readers skip repeated ids); never in neither.
    public func closeBatch(out: String? = nil, progress: ((Int, Int) -> Void)? = nil) throws -> BatchClosing {
        try closeBatch(out: out, progress: progress, checkpoint: { _ in })
    }

    /// The points of `closeBatch` where tests simulate a crash (by throwing from `checkpoint`).
    enum BatchCheckpoint: Equatable {
        /// The batch is complete under its temporary name (not yet published).
        case written
        /// The batch has its final name and its folder is flushed; the inbox is untouched.
        case published
        /// `count` entries have been unlinked from the inbox.
        case removed(count: Int)
    }

    func closeBatch(out: String?, progress: ((Int, Int) -> Void)? = nil, checkpoint: (BatchCheckpoint) throws -> Void) throws -> BatchClosing {
        try withLock { try closeBatchLocked(out: out, progress: progress, checkpoint: checkpoint) }
    }

    private func closeBatchLocked(out: String?, progress: ((Int, Int) -> Void)?, checkpoint: (BatchCheckpoint) throws -> Void) throws -> BatchClosing {
        removeLeftovers()
        // A batch carries the signed recipients, whose questionnaires its readers interpret it with.
        let recipients = try requireSignedRecipients()
        let listing = try listInbox()
        let withdrawn = try tombstones()
        var kept = listing.unexpected
        var chosen: [(name: String, size: Int)] = []
        var withdrawnNames: [String] = []
        // First pass: check every entry, so that the header can state the exact count.
        for name in listing.entries {
            switch try readInboxEntry(name: name) {
            case let .valid(envelope, layout):
                if withdrawn.contains(layout.id) {
                    withdrawnNames.append(name)
                } else {
                    chosen.append((name, envelope.count))
                }
            case let .invalid(problem):
                kept.append(problem + "; it was left in the inbox")
            }
        }
        guard !chosen.isEmpty else {
            try removeFromInbox(names: withdrawnNames)
            return BatchClosing(path: nil, entryCount: 0, keptInInbox: kept, withdrawnRemoved: withdrawnNames.count)
        }
        var rng = SystemRandom()
        chosen.shuffle(using: &rng)

        // The batch's bytes, streamed through the encoder into the durable writer.
        func fill(_ writer: DurableWriter) throws {
            let encoder = try BatchEncoder(entryCount: chosen.count, recipients: recipients, tombstones: Array(withdrawn)) { bytes in
                try writer.write(bytes)
            }
            for (i, (name, size)) in chosen.enumerated() {
                // Read again (one envelope in memory at a time); it must be what the first pass saw.
                guard case let .valid(envelope, _) = try self.readInboxEntry(name: name), envelope.count == size else {
                    throw StoreError(.changedWhileReading, "the inbox entry \(Posix.join(self.inbox.path, name)) changed while the batch was being written; nothing was removed from the inbox")
                }
                try encoder.append(envelope: envelope)
                progress?(i + 1, chosen.count)
            }
            try encoder.finish()
            try checkpoint(.written)
        }

        // Writing and publishing the batch: a full disk or a read-only store is one sentence, the
        // temporary file is removed, and the inbox is untouched.
        let finalPath: String = try SystemError.explaining("write a batch of \(shownPath)", "the inbox was left as it was") {
            if let out {
                try DurableFile.createExclusive(path: out, zeroTimes: true, fill: fill)
                return out
            }
            let outcome = try DurableFile.write(in: batches, name: .random({ Hex.encode(Random.bytes(16)) + ".batch" }), staging: tmp,
                                                tempPrefix: "", zeroTimes: true, fill: fill)
            guard case let .written(name) = outcome else { throw StoreError(.bug, "a batch with a random name was not written") }
            return Posix.join(Posix.join(path, "batches"), name)
        }
        try checkpoint(.published)

        // The batch is durable: only now do its entries leave the inbox.
        try removeFromInbox(names: chosen.map(\.name) + withdrawnNames) { try checkpoint(.removed(count: $0)) }
        return BatchClosing(path: finalPath, entryCount: chosen.count, keptInInbox: kept, withdrawnRemoved: withdrawnNames.count)
    }
}
