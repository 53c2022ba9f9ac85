import ChorusCrypto
import ChorusFormat

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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
    /// the store, the store's schema, and the BLAKE2b-256 checksum. The file is streamed (one envelope
    /// in memory at a time) into `tmp/`, flushed, its times set to 0, and published without
    /// overwriting as `batches/<32 random hex>.batch`, or as `out` (a new file, never overwritten;
    /// written through a temporary file in `out`'s folder). Only once the batch is durable are its
    /// entries removed from the inbox. Invalid inbox files are left in place and listed.
    ///
    /// Holds the store lock (see `withdraw`). A crash at any point leaves every entry in the inbox,
    /// in a complete batch, or in both (readers skip repeated ids); never in neither.
    public func closeBatch(out: String? = nil) throws -> BatchClosing {
        try closeBatch(out: out, checkpoint: { _ in })
    }

    /// The points of `closeBatch` where tests simulate a crash (by throwing from `checkpoint`).
    enum BatchCheckpoint: Equatable {
        /// The batch is complete and flushed under its temporary name.
        case written
        /// The batch has its final name and its folder is flushed; the inbox is untouched.
        case published
        /// `count` entries have been unlinked from the inbox.
        case removed(count: Int)
    }

    func closeBatch(out: String?, checkpoint: (BatchCheckpoint) throws -> Void) throws -> BatchClosing {
        try withLock { try closeBatchLocked(out: out, checkpoint: checkpoint) }
    }

    private func closeBatchLocked(out: String?, checkpoint: (BatchCheckpoint) throws -> Void) throws -> BatchClosing {
        removeLeftovers()
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
        Random.shuffle(&chosen)

        // Writing and publishing the batch: a full disk or a read-only store is one sentence, the
        // temporary file is removed (by the writer's deinit), and the inbox is untouched.
        let finalPath: String = try Posix.explaining("write a batch of \(shownPath)", "the inbox was left as it was") {
            // The destination folder: batches/ of the store, or the folder of `out`.
            let destDir: OwnedFD, destPath: String, writer: DurableWriter
            if let out {
                let (dirPath, name) = try DurableFile.splitOutputPath(out)
                destDir = try DurableFile.openOutputFolder(dirPath, for: out)
                if try Posix.lstatAt(destDir.raw, name, path: Posix.shown(out)) != nil { throw DurableFile.alreadyExists(out) }
                destPath = Posix.shown(dirPath)
                writer = try DurableWriter.create(in: destDir, dirPath: destPath, prefix: ".chorus-tmp-")
            } else {
                destDir = batchesDir
                destPath = batchesPath
                writer = try DurableWriter.create(in: tmpDir, dirPath: tmpPath, prefix: "")
            }

            let hasher: BLAKE2b.Hasher
            do { hasher = try BLAKE2b.Hasher(outputLength: BatchFormat.hashLength) } catch {
                throw ChorusError(.software, "cannot start a BLAKE2b hash: \(error)")
            }
            let schema = schemaJSON
            guard schema.count <= BatchFormat.maxSchemaLength else {
                throw ChorusError.data("the schema of \(shownPath) is larger than a batch can carry (\(BatchFormat.maxSchemaLength) bytes)")
            }
            let header = BatchFormat.header(entryCount: UInt64(chosen.count), schema: schema, tombstones: Array(withdrawn))
            hasher.update(header)
            try writer.write(header)
            for (name, size) in chosen {
                // Read again (one envelope in memory at a time); it must be what the first pass saw.
                guard case let .valid(envelope, _) = try readInboxEntry(name: name), envelope.count == size else {
                    throw ChorusError.io("the inbox entry \(Posix.join(inboxPath, name)) changed while the batch was being written; nothing was removed from the inbox")
                }
                let prefix = BatchFormat.entryPrefix(length: envelope.count)
                hasher.update(prefix)
                hasher.update(envelope)
                try writer.write(prefix)
                try writer.write(envelope)
            }
            try writer.write(hasher.finalize())
            try writer.prepare(zeroTimes: true)
            try checkpoint(.written)

            // Publish: under a fresh random name in batches/, or exactly as `out`.
            let finalPath: String
            if let out {
                let (_, name) = try DurableFile.splitOutputPath(out)
                guard try writer.link(to: destDir, destPath: destPath, name: name, allowRenameFallback: true) else {
                    writer.discard()
                    throw DurableFile.alreadyExists(out)
                }
                finalPath = out
            } else {
                var name = ""
                var attempts = 0
                repeat {
                    attempts += 1
                    guard attempts <= 8 else { throw ChorusError.io("cannot find a free batch name in \(batchesPath)") }
                    name = Hex.encode(Random.bytes(16)) + ".batch"
                } while try !writer.link(to: destDir, destPath: destPath, name: name)
                finalPath = Posix.join(Posix.join(path, "batches"), name)
            }
            try writer.finish(destDir: destDir, destPath: destPath)
            return finalPath
        }
        try checkpoint(.published)

        // The batch is durable: only now do its entries leave the inbox.
        try removeFromInbox(names: chosen.map(\.name) + withdrawnNames, checkpoint: checkpoint)
        return BatchClosing(path: finalPath, entryCount: chosen.count, keptInInbox: kept, withdrawnRemoved: withdrawnNames.count)
    }

    /// Unlinks inbox names (a missing one is fine) and flushes the inbox folder once.
    private func removeFromInbox(names: [String], checkpoint: (BatchCheckpoint) throws -> Void = { _ in }) throws {
        guard !names.isEmpty else { return }
        for (i, name) in names.enumerated() {
            if unlinkat(inboxDir.raw, name, 0) != 0 {
                let e = errno
                if e != ENOENT { throw Posix.error("remove", Posix.join(inboxPath, name), e) }
            }
            try checkpoint(.removed(count: i + 1))
        }
        try Posix.sync(inboxDir.raw, path: inboxPath)
    }
}
