import ChorusFormat
import ChorusSystem

#if canImport(Glibc)
import Glibc
#endif

/// What `Store.withdraw(id:)` did. Each case speaks only about the one entry asked for.
public enum WithdrawOutcome: Equatable, Sendable {
    /// The entry was in the inbox: it was removed, and a tombstone was recorded in case a copy exists elsewhere.
    case removedFromInbox
    /// The entry is in a batch of this store: a tombstone was recorded, and review and stats will skip it.
    case tombstonedInBatch
    /// A tombstone for this entry already existed: it was withdrawn before.
    case alreadyWithdrawn
    /// The entry is neither in the inbox nor in the batches kept here; a tombstone was recorded anyway,
    /// so a batch that was carried away and holds it will skip it once it meets this store's next
    /// batch. `unreadableBatches` counts batches here that could not be searched.
    case notFound(unreadableBatches: Int)
}

extension Store {
    // MARK: Tombstones

    /// Records the withdrawal of `id` as the empty file `tombstones/<id hex>`, durably. Returns false
    /// when the tombstone already existed.
    @discardableResult
    public func addTombstone(id: [UInt8]) throws -> Bool {
        let name = try Self.entryName(id)
        let outcome = try DurableFile.write(in: tombstonesFolder, name: .exactly(name), staging: tmp, tempPrefix: "", zeroTimes: true) { _ in }
        guard outcome != .exists else {
            try tombstonesFolder.sync()
            return false
        }
        return true
    }

    public func hasTombstone(id: [UInt8]) throws -> Bool {
        let name = try Self.entryName(id)
        return try Posix.lstatAt(tombstonesFolder.fd.raw, name, path: Posix.join(tombstonesFolder.path, name)) != nil
    }

    /// The ids withdrawn in this store: the names in `tombstones/` that are 64 lowercase hex
    /// (anything else there is ignored here and reported by `verify`).
    public func tombstones() throws -> Set<[UInt8]> {
        var out = Set<[UInt8]>()
        for entry in try Posix.listDirectory(tombstonesFolder.fd.raw, path: tombstonesFolder.path)
        where entry.isPlainName && Self.isEntryName(entry.name) {
            if let id = Hex.decode(entry.name) { out.insert(id) }
        }
        return out
    }

    // MARK: Withdrawal

    /// Withdraws the entry `id` (the hash of a receipt): records a tombstone first, then removes the
    /// entry from the inbox if it is there, or looks for it in this store's batches. Holds the store
    /// lock, so it never interleaves with closing a batch. Says nothing about any other entry.
    public func withdraw(id: [UInt8]) throws -> WithdrawOutcome {
        _ = try Self.entryName(id)
        return try withLock {
            let existed = try hasTombstone(id: id)
            if !existed {
                try SystemError.explaining("record the withdrawal in \(shownPath)", "nothing was withdrawn") { try addTombstone(id: id) }
            }
            let removed = try removeFromInbox(id: id)
            if existed { return .alreadyWithdrawn }
            if removed { return .removedFromInbox }
            var unreadable = 0
            for batch in try listBatches().batches {
                let batchPath = Posix.join(batches.path, batch)
                guard case let .success(fd) = Posix.openAt(batches.fd.raw, batch, O_RDONLY | O_NOFOLLOW | O_NONBLOCK) else {
                    unreadable += 1
                    continue
                }
                do {
                    if try BatchReader.contains(id: id, fd: fd, path: batchPath) { return .tombstonedInBatch }
                } catch {
                    unreadable += 1
                }
            }
            return .notFound(unreadableBatches: unreadable)
        }
    }

    // MARK: Batches

    /// The batch files in `batches/` (regular files named `<32 hex>.batch`, sorted by name) and one
    /// sentence for anything else there.
    public func listBatches() throws -> (batches: [String], unexpected: [String]) {
        var names: [String] = [], unexpected: [String] = []
        for entry in try Posix.listDirectory(batches.fd.raw, path: batches.path) {
            let shown = Posix.join(batches.path, Posix.displayName(entry.rawName))
            guard entry.isPlainName, Self.isBatchName(entry.name) else {
                unexpected.append("\(shown) is not a batch (its name is not 32 lowercase hex characters and .batch); it was not read")
                continue
            }
            guard let st = try Posix.lstatAt(batches.fd.raw, entry.name, path: shown) else { continue }
            if Posix.isRegular(st) {
                names.append(entry.name)
            } else if Posix.isSymlink(st) {
                unexpected.append("\(shown) is a symbolic link, which a Chorus store never contains; it was not followed")
            } else {
                unexpected.append("\(shown) is not a regular file; it was not read")
            }
        }
        return (names.sorted(), unexpected)
    }

    /// Opens the batch `name` of `batches/` for reading (without following a link).
    public func openBatch(name: String) throws -> BatchReader {
        let batchPath = Posix.join(batches.path, name)
        switch Posix.openAt(batches.fd.raw, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK) {
        case let .success(fd): return try BatchReader(fd: fd, path: Posix.join(Posix.join(path, "batches"), name))
        case let .failure(e) where e == ELOOP:
            throw StoreError(.invalidBatch, "\(batchPath) is a symbolic link, which a Chorus store never contains; it was not followed")
        case let .failure(e) where e == ENOENT: throw SystemError(.notFound, "\(batchPath) does not exist", errno: e)
        case let .failure(e): throw SystemError.call("open", batchPath, e)
        }
    }
}
