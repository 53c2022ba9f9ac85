import ChorusCore
import ChorusFormat
import ChorusSystem

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One batch file as seen by `verify`.
public struct VerifiedBatch: Sendable, Equatable {
    public let path: String
    /// Structurally valid entries.
    public var entries: Int
    /// Bad entries, and entries that could not be reached.
    public var badEntries: Int
    /// Header, framing and checksum all fine (bad entries aside).
    public var intact: Bool
}

/// What a structural check (no key, nothing decrypted, no content shown) found in a store or a batch.
public struct VerifyReport: Sendable, Equatable {
    public let source: String
    /// Valid inbox entries, and inbox files that are not valid entries.
    public var inboxEntries = 0
    public var inboxBad = 0
    /// Batch files whose header, framing and checksum are fine, and those that are not.
    public var batchesOK = 0
    public var batchesBad = 0
    public var batches: [VerifiedBatch] = []
    /// Tombstones (withdrawals) in the store.
    public var tombstones = 0
    /// Crash leftovers in `tmp/` (files no writer is working on); they are never read.
    public var leftovers = 0
    /// Whether the store has a valid signed recipients document (stores only).
    public var signed = false
    /// Names that have no place in a store (wrong names, links, folders).
    public var unexpected = 0
    /// Everything wrong, one sentence each, naming the file.
    public var problems: [String] = []

    /// All valid entries in batches.
    public var batchEntries: Int { batches.reduce(0) { $0 + $1.entries } }
    public var batchBadEntries: Int { batches.reduce(0) { $0 + $1.badEntries } }
    /// Nothing wrong was found.
    public var isClean: Bool { problems.isEmpty }

    public init(source: String) { self.source = source }
}

/// Structural verification without a key (FORMAT.md 5.6 step 1, 6, 7): never decrypts anything,
/// never shows entry content, never changes anything on disk.
public enum StoreVerifier {
    /// Verifies `path`: a store when it is a folder, a batch file otherwise.
    public static func verify(source path: String) throws -> VerifyReport {
        if case let .success(st) = Posix.statPath(path), Posix.isDirectory(st) { return try verify(store: path) }
        return try verify(batchFile: path)
    }

    /// Verifies a batch file. A file that is not a valid batch is a finding in the report; a missing
    /// or unreadable file throws.
    public static func verify(batchFile path: String) throws -> VerifyReport {
        var report = VerifyReport(source: path)
        do {
            let reader = try BatchReader(path: path)
            check(reader, into: &report)
        } catch let e as StoreError where e.kind == .invalidBatch {
            report.batchesBad += 1
            report.batches.append(VerifiedBatch(path: path, entries: 0, badEntries: 0, intact: false))
            report.problems.append(e.message)
        }
        return report
    }

    private static func check(_ reader: BatchReader, into report: inout VerifyReport) {
        var batch = VerifiedBatch(path: reader.path, entries: 0, badEntries: 0, intact: false)
        do {
            let summary = try reader.forEach { entry in
                if case let .bad(_, problem) = entry { report.problems.append(problem) }
            }
            batch.entries = summary.envelopes
            batch.badEntries = summary.badEntries + summary.unreadEntries
            batch.intact = summary.problems.isEmpty && summary.hashMatches
            report.problems += summary.problems
        } catch {
            report.problems.append("\(reader.shownPath) could not be read to the end: \(error)")
        }
        if batch.intact { report.batchesOK += 1 } else { report.batchesBad += 1 }
        report.batches.append(batch)
    }

    /// Verifies a store: its configuration and folders, every inbox entry, every batch, the
    /// tombstones, leftovers in `tmp/`, file modes (0700 folders, 0600 files) and file times (0).
    /// A folder that is not a store throws (status `.dataError` or `.noInput`).
    public static func verify(store path: String) throws -> VerifyReport {
        let store = try Store.open(at: path)
        var report = VerifyReport(source: store.path)
        let shownStore = store.shownPath
        var keptTimes = 0

        func inspect(_ dir: OwnedFD, _ name: String, _ shown: String, folder: Bool, timed: Bool) {
            guard let st = try? Posix.lstatAt(dir.raw, name, path: shown) else { return }
            if st.st_mode & 0o077 != 0 {
                report.problems.append("\(shown) is open to other users (mode \(String(st.st_mode & 0o7777, radix: 8))); chorus makes \(folder ? "folders 0700" : "files 0600")")
            }
            if timed, st.st_mtim.tv_sec != 0 { keptTimes += 1 }
        }

        // The store folder itself and what sits at its top.
        if let st = try? Posix.statFD(store.root.fd.raw, path: shownStore), st.st_mode & 0o077 != 0 {
            report.problems.append("\(shownStore) is open to other users (mode \(String(st.st_mode & 0o7777, radix: 8))); chorus makes folders 0700")
        }
        for entry in try Posix.listDirectory(store.root.fd.raw, path: shownStore) {
            if entry.name == Store.configName || entry.name == Store.recipientsName {
                inspect(store.root.fd, entry.name, Posix.join(shownStore, entry.name), folder: false, timed: false)
            } else if Store.folderNames.contains(entry.name) {
                inspect(store.root.fd, entry.name, Posix.join(shownStore, entry.name), folder: true, timed: false)
            } else {
                report.unexpected += 1
                report.problems.append("\(Posix.join(shownStore, Posix.displayName(entry.rawName))) is not part of a Chorus store; it was not read")
            }
        }

        // The signed recipients: their form and signature, the store they name, and the configuration's
        // questionnaire against them. (Which organisation key signed them is checked with a key.)
        do {
            report.signed = try store.signedRecipients() != nil
        } catch let e as StoreError {
            report.problems.append(e.message)
        } catch let e as CoreError {
            report.problems.append(e.message)
        }

        // Inbox.
        let inbox = try store.listInbox()
        report.unexpected += inbox.unexpected.count
        report.problems += inbox.unexpected
        for name in inbox.entries {
            switch try store.readInboxEntry(name: name) {
            case .valid:
                report.inboxEntries += 1
                inspect(store.inbox.fd, name, Posix.join(store.inbox.path, name), folder: false, timed: true)
            case let .invalid(problem):
                report.inboxBad += 1
                report.problems.append(problem)
            }
        }

        // Batches.
        let batches = try store.listBatches()
        report.unexpected += batches.unexpected.count
        report.problems += batches.unexpected
        for name in batches.batches {
            inspect(store.batches.fd, name, Posix.join(store.batches.path, name), folder: false, timed: true)
            do {
                check(try store.openBatch(name: name), into: &report)
            } catch let e as StoreError where e.kind == .invalidBatch {
                report.batchesBad += 1
                report.batches.append(VerifiedBatch(path: Posix.join(Posix.join(store.path, "batches"), name), entries: 0, badEntries: 0, intact: false))
                report.problems.append(e.message)
            }
        }

        // Tombstones.
        for entry in try Posix.listDirectory(store.tombstonesFolder.fd.raw, path: store.tombstonesFolder.path) {
            let shown = Posix.join(store.tombstonesFolder.path, Posix.displayName(entry.rawName))
            if entry.isPlainName, Store.isEntryName(entry.name),
               let st = try Posix.lstatAt(store.tombstonesFolder.fd.raw, entry.name, path: shown), Posix.isRegular(st) {
                report.tombstones += 1
                inspect(store.tombstonesFolder.fd, entry.name, shown, folder: false, timed: true)
            } else {
                report.unexpected += 1
                report.problems.append("\(shown) is not a tombstone (an empty file named by 64 lowercase hex characters); it was not read")
            }
        }

        // Leftovers: files in tmp/ that no writer holds (they are never read).
        for entry in try Posix.listDirectory(store.tmp.fd.raw, path: store.tmp.path) {
            if entry.isPlainName, case let .success(fd) = Posix.openAt(store.tmp.fd.raw, entry.name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK),
               let st = try? Posix.statFD(fd.raw, path: entry.name), Posix.isRegular(st) {
                if Posix.tryLockExclusive(fd.raw) { report.leftovers += 1 }
            } else {
                report.leftovers += 1
            }
        }

        if keptTimes > 0 {
            report.problems.append("\(keptTimes) file\(keptTimes == 1 ? "" : "s") in \(shownStore) keep\(keptTimes == 1 ? "s" : "") a modification time, which can reveal when it arrived; chorus sets it to 1970-01-01")
        }
        return report
    }
}
