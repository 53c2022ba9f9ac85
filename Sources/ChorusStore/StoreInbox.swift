import ChorusCore
import ChorusFormat
import ChorusSystem

#if canImport(Glibc)
import Glibc
#endif

/// What `Store.publish(envelope:)` did.
public enum PublishOutcome: Equatable, Sendable {
    /// The envelope is now durably in the inbox.
    case published
    /// An entry with this id was already in the inbox; nothing was written.
    case duplicate
    /// This entry was withdrawn earlier (a tombstone exists); it was not stored.
    case withdrawn
}

/// The names in a store's inbox: entries (64 lowercase hex) and anything else, which is never read.
public struct InboxListing: Sendable, Equatable {
    /// Entry file names (64 lowercase hex characters, regular files), sorted.
    public var entries: [String]
    /// One sentence for each name that is not an entry (wrong name, a folder, a link…).
    public var unexpected: [String]
}

/// One inbox entry, read and checked without a key.
public enum InboxEntry: Sendable {
    case valid(envelope: [UInt8], layout: EnvelopeLayout)
    /// One sentence naming the file and what is wrong with it.
    case invalid(problem: String)
}

extension Store {
    /// Adds a structurally valid envelope to the inbox as `inbox/<id hex>`, durably (FORMAT.md 7.1):
    /// once this returns `.published`, the envelope survives a crash. The envelope is checked first
    /// (FORMAT.md 5.6 step 1) and must not have a story section larger than this store allows.
    /// With `removingLeftovers` (the default), crash leftovers in `tmp/` that no writer is using are
    /// removed afterwards; a caller that publishes many envelopes in a row (import) passes false and
    /// calls `removeLeftovers()` once at the end.
    @discardableResult
    public func publish(envelope: [UInt8], removingLeftovers: Bool = true) throws -> PublishOutcome {
        let layout: EnvelopeLayout
        do {
            layout = try EnvelopeLayout.parse(envelope)
        } catch {
            throw StoreError(.invalidEntry, "cannot add the submission to the store \(shownPath): \(error)")
        }
        guard layout.storyLength <= config.maxStorySectionLength else {
            throw StoreError(.invalidEntry, "cannot add the submission to the store \(shownPath): its story section (\(layout.storyLength) bytes) is larger than this store accepts (stories up to \(config.maxStoryBytes) bytes)")
        }
        let name = Hex.encode(layout.id)
        if try Posix.lstatAt(tombstonesFolder.fd.raw, name, path: Posix.join(tombstonesFolder.path, name)) != nil {
            return .withdrawn
        }
        if try Posix.lstatAt(inbox.fd.raw, name, path: Posix.join(inbox.path, name)) != nil {
            // Make the earlier copy durable in case its writer crashed before flushing the folder.
            try inbox.sync()
            return .duplicate
        }
        // A full disk or a read-only store is one sentence; the temporary file is removed (by the
        // writer's deinit) and nothing is left half-written.
        let outcome: PublishOutcome = try SystemError.explaining("store the submission in \(shownPath)", "nothing was stored") {
            let written = try DurableFile.write(in: inbox, name: .exactly(name), staging: tmp, tempPrefix: "", zeroTimes: true) {
                try $0.write(envelope)
            }
            guard written != .exists else {
                try inbox.sync()
                return .duplicate
            }
            return .published
        }
        if removingLeftovers { removeLeftovers() }
        return outcome
    }

    /// The inbox's names: entries (64 lowercase hex, regular files), sorted, and separately one
    /// sentence for anything else found there, which is never read as data. Sorted because the order
    /// in which a file system lists a folder can be the order of arrival (tmpfs, btrfs); entry names
    /// are ids, whose order says nothing about arrival, so no reader follows arrival order.
    public func listInbox() throws -> InboxListing {
        var listing = InboxListing(entries: [], unexpected: [])
        for entry in try Posix.listDirectory(inbox.fd.raw, path: inbox.path) {
            let shown = Posix.join(inbox.path, Posix.displayName(entry.rawName))
            guard entry.isPlainName, Self.isEntryName(entry.name) else {
                listing.unexpected.append("\(shown) is not an entry (its name is not 64 lowercase hex characters); it was not read")
                continue
            }
            var type = entry.type
            if type == UInt8(DT_UNKNOWN) {
                guard let st = try Posix.lstatAt(inbox.fd.raw, entry.name, path: shown) else { continue }
                type = Posix.isRegular(st) ? UInt8(DT_REG) : Posix.isSymlink(st) ? UInt8(DT_LNK) : UInt8(DT_DIR)
            }
            switch type {
            case UInt8(DT_REG): listing.entries.append(entry.name)
            case UInt8(DT_LNK): listing.unexpected.append("\(shown) is a symbolic link, which a Chorus store never contains; it was not followed")
            default: listing.unexpected.append("\(shown) is not a regular file; it was not read")
            }
        }
        listing.entries.sort()
        return listing
    }

    /// Reads and checks the inbox entry `name`: a regular file, not a link, at most the largest
    /// envelope, structurally valid, and whose id equals its name.
    public func readInboxEntry(name: String) throws -> InboxEntry {
        let shown = Posix.join(inbox.path, Posix.displayName(Array(name.utf8)))
        guard Self.isEntryName(name) else {
            return .invalid(problem: "\(shown) is not an entry (its name is not 64 lowercase hex characters)")
        }
        let fd: OwnedFD
        switch Posix.openAt(inbox.fd.raw, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK) {
        case let .success(f): fd = f
        case let .failure(e) where e == ELOOP:
            return .invalid(problem: "\(shown) is a symbolic link, which a Chorus store never contains; it was not followed")
        case let .failure(e): throw SystemError.call("open", shown, e)
        }
        let st = try Posix.statFD(fd.raw, path: shown)
        guard Posix.isRegular(st) else { return .invalid(problem: "\(shown) is not a regular file") }
        guard st.st_size <= EnvelopeFormat.maximumLength else {
            return .invalid(problem: "\(shown) is larger than any envelope can be (\(st.st_size) bytes)")
        }
        var bytes = [UInt8](repeating: 0, count: Int(st.st_size))
        let n = try bytes.withUnsafeMutableBytes { (b) in try Posix.read(fd.raw, into: b, at: 0, path: shown) }
        if n < bytes.count { bytes.removeLast(bytes.count - n) }
        let layout: EnvelopeLayout
        do {
            layout = try EnvelopeLayout.parse(bytes)
        } catch {
            return .invalid(problem: "\(shown) is not a valid envelope: \(error)")
        }
        guard Hex.encode(layout.id) == name else {
            return .invalid(problem: "\(shown) holds an envelope whose id does not match its file name")
        }
        return .valid(envelope: bytes, layout: layout)
    }

    /// Removes the entry `id` from the inbox and flushes the folder. Returns false when it was not there.
    @discardableResult
    public func removeFromInbox(id: [UInt8]) throws -> Bool {
        let name = try Self.entryName(id)
        if let e = Posix.unlink(inbox.fd.raw, name) {
            if e == ENOENT { return false }
            throw SystemError.call("remove", Posix.join(inbox.path, name), e)
        }
        try inbox.sync()
        return true
    }

    /// Unlinks inbox names (a missing one is fine) and flushes the inbox folder once; `removed` is
    /// called after each one.
    func removeFromInbox(names: [String], removed: (Int) throws -> Void = { _ in }) throws {
        guard !names.isEmpty else { return }
        for (i, name) in names.enumerated() {
            if let e = Posix.unlink(inbox.fd.raw, name), e != ENOENT { throw SystemError.call("remove", Posix.join(inbox.path, name), e) }
            try removed(i + 1)
        }
        try inbox.sync()
    }
}
