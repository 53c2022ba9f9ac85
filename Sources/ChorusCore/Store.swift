import ChorusCrypto
import ChorusFormat
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The configuration file of a store, `chorus-store.json` (docs/FORMAT.md 7.2).
public struct StoreConfig: Codable, Equatable, Sendable {
    public static let formatName = "chorus-store"
    public static let currentVersion = 1
    /// The largest story a store may accept: the largest story section less its 4-byte length.
    public static let maxStoryBytesLimit = EnvelopeFormat.storyMaximum - 4

    public var format: String
    public var version: Int
    /// 32 lowercase hex characters, random, made by `init`.
    public var storeId: String
    public var maxStoryBytes: Int
    public var schema: Schema

    public init(storeId: String, maxStoryBytes: Int, schema: Schema) {
        format = Self.formatName
        version = Self.currentVersion
        self.storeId = storeId
        self.maxStoryBytes = maxStoryBytes
        self.schema = schema
    }

    /// The largest story section (padded length) an envelope for this store may have.
    public var maxStorySectionLength: Int {
        Padme.sectionLength(content: maxStoryBytes, minimum: EnvelopeFormat.storyMinimum)
    }

    /// The JSON written to `chorus-store.json`: sorted keys, two-space indentation, final newline.
    public func encoded() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(self)) + [0x0a]
    }
}

/// What `Store.publish(envelope:)` did.
public enum PublishOutcome: Equatable, Sendable {
    /// The envelope is now durably in the inbox.
    case published
    /// An entry with this id was already in the inbox; nothing was written.
    case duplicate
    /// This entry was withdrawn earlier (a tombstone exists); it was not stored.
    case withdrawn
}

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

/// The names in a store's inbox: entries (64 lowercase hex) and anything else, which is never read.
public struct InboxListing: Sendable, Equatable {
    /// Entry file names (64 lowercase hex characters, regular files), in directory order.
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

/// A Chorus directory store (docs/FORMAT.md 7). Every file inside it is reached through a
/// descriptor of its folder with O_NOFOLLOW, so a symbolic link planted inside the store is never
/// followed. Thread-safe: many threads (and processes) may publish at once.
public final class Store: Sendable {
    public static let configName = "chorus-store.json"
    public static let folderNames = ["inbox", "batches", "tombstones", "tmp"]
    static let configSizeLimit = 4 * 1024 * 1024

    /// The path the store was opened with.
    public let path: String
    /// The path made safe to show in a message.
    let shownPath: String
    public let config: StoreConfig
    let root: OwnedFD
    let inboxDir: OwnedFD
    let batchesDir: OwnedFD
    let tombstonesDir: OwnedFD
    let tmpDir: OwnedFD

    // Folder paths for messages.
    var inboxPath: String { Posix.join(shownPath, "inbox") }
    var batchesPath: String { Posix.join(shownPath, "batches") }
    var tombstonesPath: String { Posix.join(shownPath, "tombstones") }
    var tmpPath: String { Posix.join(shownPath, "tmp") }

    private init(path: String, shownPath: String, config: StoreConfig, root: OwnedFD, folders: [OwnedFD]) {
        self.path = path
        self.shownPath = shownPath
        self.config = config
        self.root = root
        inboxDir = folders[0]
        batchesDir = folders[1]
        tombstonesDir = folders[2]
        tmpDir = folders[3]
    }

    static func normalise(_ path: String) -> String {
        var p = path
        while p.count > 1 && p.hasSuffix("/") { p.removeLast() }
        return p
    }

    // MARK: Creating and opening

    /// Creates a store at `path` (a new folder, or an empty one): `chorus-store.json` with a random
    /// store id, and `inbox/`, `batches/`, `tombstones/`, `tmp/`, folders 0700 and the config 0600,
    /// all flushed to disk. Returns false, changing nothing, when `path` already is a valid store.
    /// A folder that is neither empty nor a store is refused.
    @discardableResult
    public static func initialize(at path: String, schema: Schema, maxStoryBytes: Int = 65536) throws -> Bool {
        let real = normalise(path), shownPath = Posix.shown(real)
        guard (1 ... StoreConfig.maxStoryBytesLimit).contains(maxStoryBytes) else {
            throw ChorusError.usage("the largest story size must be between 1 and \(StoreConfig.maxStoryBytesLimit) bytes, not \(maxStoryBytes)")
        }
        try schema.validate(source: "the questionnaire for the store \(shownPath)")
        var created = false
        if mkdir(real, 0o700) == 0 {
            created = true
        } else {
            let e = errno
            switch e {
            case EEXIST: break
            case ENOENT, ENOTDIR:
                throw ChorusError(.cannotCreate, "cannot create the store \(shownPath): its parent folder does not exist")
            default: throw Posix.error("create the store", shownPath, e)
            }
        }
        let root: OwnedFD
        switch Posix.openPath(real, O_RDONLY | O_DIRECTORY | O_NOFOLLOW) {
        case let .success(fd): root = fd
        case let .failure(e) where e == ELOOP || e == ENOTDIR:
            // With O_NOFOLLOW|O_DIRECTORY, Linux reports a link as ENOTDIR: tell the two apart.
            if isLink(real) { throw ChorusError(.cannotCreate, "\(shownPath) is a symbolic link; give the real path of the store folder") }
            throw ChorusError(.cannotCreate, "\(shownPath) exists and is not a folder; choose a new or empty folder for the store")
        case let .failure(e): throw Posix.error("open", shownPath, e)
        }
        if try Posix.lstatAt(root.raw, configName, path: Posix.join(shownPath, configName)) != nil {
            _ = try open(at: real)
            return false
        }
        // Empty, or holding only empty store folders left by an init that was interrupted.
        for entry in try Posix.listDirectory(root.raw, path: shownPath) {
            let sub = Posix.join(shownPath, Posix.displayName(entry.rawName))
            guard folderNames.contains(entry.name), let st = try Posix.lstatAt(root.raw, entry.name, path: sub),
                  Posix.isDirectory(st), case let .success(fd) = Posix.openDirectory(root.raw, entry.name),
                  try Posix.listDirectory(fd.raw, path: sub).isEmpty
            else {
                throw ChorusError(.cannotCreate, "\(shownPath) is not empty and is not a Chorus store; choose a new or empty folder")
            }
        }
        guard fchmod(root.raw, 0o700) == 0 else { throw Posix.error("set the mode of", shownPath, errno) }
        var folders: [OwnedFD] = []
        for name in folderNames {
            let sub = Posix.join(shownPath, name)
            if mkdirat(root.raw, name, 0o700) != 0 && errno != EEXIST { throw Posix.error("create the folder", sub, errno) }
            switch Posix.openDirectory(root.raw, name) {
            case let .success(fd):
                guard fchmod(fd.raw, 0o700) == 0 else { throw Posix.error("set the mode of", sub, errno) }
                folders.append(fd)
            case let .failure(e): throw Posix.error("open the folder", sub, e)
            }
        }
        try Posix.sync(root.raw, path: shownPath)
        let id = Hex.encode(Random.bytes(16))
        let config = StoreConfig(storeId: id, maxStoryBytes: maxStoryBytes, schema: schema)
        let bytes: [UInt8]
        do { bytes = try config.encoded() } catch { throw ChorusError(.software, "cannot encode the configuration of \(shownPath): \(error)") }
        let tmpPath = Posix.join(shownPath, "tmp")
        let writer = try DurableWriter.create(in: folders[3], dirPath: tmpPath, prefix: "")
        try writer.write(bytes)
        try writer.prepare(zeroTimes: false)
        guard try writer.link(to: root, destPath: shownPath, name: configName) else {
            // Another `init` finished first: its store stands.
            writer.discard()
            _ = try open(at: real)
            return false
        }
        try writer.finish(destDir: root, destPath: shownPath)
        if created { try syncParent(of: real) }
        return true
    }

    /// True when `path` itself (not what it points to) is a symbolic link.
    static func isLink(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0 && Posix.isSymlink(st)
    }

    private static func syncParent(of path: String) throws {
        let parent: String
        if let slash = path.lastIndex(of: "/") {
            let p = String(path[..<slash])
            parent = p.isEmpty ? "/" : p
        } else {
            parent = "."
        }
        switch Posix.openPath(parent, O_RDONLY | O_DIRECTORY) {
        case let .success(fd): try Posix.sync(fd.raw, path: Posix.shown(parent))
        case let .failure(e): throw Posix.error("open the folder", Posix.shown(parent), e)
        }
    }

    /// Opens an existing store, refusing with one sentence anything that is not a complete Chorus
    /// store of a version this build reads: a missing folder (`.noInput`), a file, a symbolic link,
    /// a folder without `chorus-store.json`, a config that does not parse or is of a newer version,
    /// a missing or symlinked subfolder (`.dataError`). Opening changes nothing on disk.
    public static func open(at path: String) throws -> Store {
        let real = normalise(path), shownPath = Posix.shown(real)
        let root: OwnedFD
        switch Posix.openPath(real, O_RDONLY | O_DIRECTORY | O_NOFOLLOW) {
        case let .success(fd): root = fd
        case let .failure(e) where e == ENOENT:
            throw ChorusError.noInput("there is no store at \(shownPath): no such folder")
        case let .failure(e) where e == ELOOP || e == ENOTDIR:
            if isLink(real) { throw ChorusError.data("\(shownPath) is a symbolic link; open the store by its real path") }
            throw ChorusError.data("\(shownPath) is a file, not a Chorus store folder")
        case let .failure(e): throw Posix.error("open the store", shownPath, e)
        }
        let configPath = Posix.join(shownPath, configName)
        let configBytes: [UInt8]
        switch Posix.openAt(root.raw, configName, O_RDONLY | O_NOFOLLOW | O_NONBLOCK) {
        case let .success(fd):
            configBytes = try Posix.readRegularFile(fd, limit: configSizeLimit, path: configPath)
        case let .failure(e) where e == ENOENT:
            throw ChorusError.data("\(shownPath) is not a Chorus store: it has no \(configName)")
        case let .failure(e) where e == ELOOP:
            throw ChorusError.data("\(configPath) is a symbolic link, which a Chorus store never contains; it was not followed")
        case let .failure(e): throw Posix.error("open", configPath, e)
        }
        let config = try parseConfig(configBytes, path: shownPath)
        var folders: [OwnedFD] = []
        for name in folderNames {
            let sub = Posix.join(shownPath, name)
            switch Posix.openDirectory(root.raw, name) {
            case let .success(fd): folders.append(fd)
            case let .failure(e) where e == ENOENT:
                throw ChorusError.data("\(sub) is missing, so \(shownPath) is not a complete Chorus store")
            case let .failure(e) where e == ELOOP || e == ENOTDIR:
                if let st = try Posix.lstatAt(root.raw, name, path: sub), Posix.isSymlink(st) {
                    throw ChorusError.data("\(sub) is a symbolic link, which a Chorus store never contains; it was not followed")
                }
                throw ChorusError.data("\(sub) is not a folder, so \(shownPath) is not a valid Chorus store")
            case let .failure(e): throw Posix.error("open the folder", sub, e)
            }
        }
        return Store(path: real, shownPath: shownPath, config: config, root: root, folders: folders)
    }

    /// Parses and checks `chorus-store.json`; `path` is the store's path, for messages.
    static func parseConfig(_ bytes: [UInt8], path: String) throws -> StoreConfig {
        let configPath = Posix.join(path, configName)
        struct Probe: Decodable {
            var format: String?
            var version: Int?
        }
        let data = Data(bytes)
        guard let probe = try? JSONDecoder().decode(Probe.self, from: data) else {
            throw ChorusError.data("\(configPath) does not parse as a JSON object with a \"format\" and a \"version\"")
        }
        guard probe.format == StoreConfig.formatName else {
            throw ChorusError.data("\(path) is not a Chorus store: \(configName) does not say \"format\": \"\(StoreConfig.formatName)\"")
        }
        guard let version = probe.version, version >= 1 else {
            throw ChorusError.data("\(configPath) has no valid \"version\"")
        }
        guard version <= StoreConfig.currentVersion else {
            throw ChorusError.data("\(path) was made by a newer Chorus (store format version \(version)); this version reads version \(StoreConfig.currentVersion) only")
        }
        let config: StoreConfig
        do {
            config = try JSONDecoder().decode(StoreConfig.self, from: data)
        } catch let e as DecodingError {
            throw ChorusError.data("\(configPath) does not parse: \(describe(e))")
        } catch {
            throw ChorusError.data("\(configPath) does not parse")
        }
        guard Posix.isLowerHex(config.storeId, count: 32) else {
            throw ChorusError.data("\(configPath) has a \"storeId\" that is not 32 lowercase hex characters")
        }
        guard (1 ... StoreConfig.maxStoryBytesLimit).contains(config.maxStoryBytes) else {
            throw ChorusError.data("\(configPath) has a \"maxStoryBytes\" outside 1...\(StoreConfig.maxStoryBytesLimit)")
        }
        try config.schema.validate(source: "the schema in \(configPath)")
        return config
    }

    /// A short phrase for a JSON decoding error: which field, and what was wrong.
    static func describe(_ e: DecodingError) -> String {
        func at(_ path: [CodingKey]) -> String {
            path.isEmpty ? "the top level" : "\"" + path.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: "") + "\""
        }
        switch e {
        case let .keyNotFound(key, ctx): return "the field \(at(ctx.codingPath + [key])) is missing"
        case let .typeMismatch(_, ctx): return "\(at(ctx.codingPath)) has the wrong type"
        case let .valueNotFound(_, ctx): return "\(at(ctx.codingPath)) is null"
        case let .dataCorrupted(ctx): return ctx.codingPath.isEmpty ? "it is not valid JSON" : "\(at(ctx.codingPath)) has an invalid value"
        @unknown default: return "it is not a valid configuration"
        }
    }

    // MARK: Locking

    /// Runs `body` holding an exclusive flock on the store folder itself, so that closing a batch and
    /// withdrawing never interleave (in this or any other process). Publishing needs no lock.
    func withLock<T>(_ body: () throws -> T) throws -> T {
        let fd: OwnedFD
        switch Posix.openAt(root.raw, ".", O_RDONLY | O_DIRECTORY) {
        case let .success(f): fd = f
        case let .failure(e): throw Posix.error("open", shownPath, e)
        }
        try Posix.lockExclusive(fd.raw, path: shownPath)
        return try withExtendedLifetime(fd) { try body() }
    }

    // MARK: Entries

    static func entryName(_ id: [UInt8]) throws -> String {
        guard id.count == EnvelopeFormat.idLength else {
            throw ChorusError(.software, "an entry id must be \(EnvelopeFormat.idLength) bytes, not \(id.count)")
        }
        return Hex.encode(id)
    }

    /// True when `name` can name an entry or a tombstone: exactly 64 lowercase hex characters.
    public static func isEntryName(_ name: some StringProtocol) -> Bool {
        Posix.isLowerHex(name, count: EnvelopeFormat.idLength * 2)
    }

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
            throw ChorusError.data("cannot add the submission to the store \(shownPath): \(error)")
        }
        guard layout.storyLength <= config.maxStorySectionLength else {
            throw ChorusError.data("cannot add the submission to the store \(shownPath): its story section (\(layout.storyLength) bytes) is larger than this store accepts (stories up to \(config.maxStoryBytes) bytes)")
        }
        let name = Hex.encode(layout.id)
        let entryPath = Posix.join(inboxPath, name)
        if try Posix.lstatAt(tombstonesDir.raw, name, path: Posix.join(tombstonesPath, name)) != nil {
            return .withdrawn
        }
        if try Posix.lstatAt(inboxDir.raw, name, path: entryPath) != nil {
            // Make the earlier copy durable in case its writer crashed before flushing the folder.
            try Posix.sync(inboxDir.raw, path: inboxPath)
            return .duplicate
        }
        // A full disk or a read-only store is one sentence; the temporary file is removed (by the
        // writer's deinit) and nothing is left half-written.
        let outcome: PublishOutcome = try Posix.explaining("store the submission in \(shownPath)", "nothing was stored") {
            let writer = try DurableWriter.create(in: tmpDir, dirPath: tmpPath, prefix: "")
            try writer.write(envelope)
            try writer.prepare(zeroTimes: true)
            if try writer.link(to: inboxDir, destPath: inboxPath, name: name) {
                try writer.finish(destDir: inboxDir, destPath: inboxPath)
                return .published
            } else {
                writer.discard()
                try Posix.sync(inboxDir.raw, path: inboxPath)
                return .duplicate
            }
        }
        if removingLeftovers { DurableFile.removeLeftovers(in: tmpDir, dirPath: tmpPath) }
        return outcome
    }

    /// The inbox's names: entries (64 lowercase hex, regular files), sorted, and separately one
    /// sentence for anything else found there, which is never read as data. Sorted because the order
    /// in which a file system lists a folder can be the order of arrival (tmpfs, btrfs); entry names
    /// are ids, whose order says nothing about arrival, so no reader follows arrival order.
    public func listInbox() throws -> InboxListing {
        var listing = InboxListing(entries: [], unexpected: [])
        for entry in try Posix.listDirectory(inboxDir.raw, path: inboxPath) {
            let shown = Posix.join(inboxPath, Posix.displayName(entry.rawName))
            guard entry.isPlainName, Self.isEntryName(entry.name) else {
                listing.unexpected.append("\(shown) is not an entry (its name is not 64 lowercase hex characters); it was not read")
                continue
            }
            var type = entry.type
            if type == UInt8(DT_UNKNOWN) {
                guard let st = try Posix.lstatAt(inboxDir.raw, entry.name, path: shown) else { continue }
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
        let shown = Posix.join(inboxPath, Posix.displayName(Array(name.utf8)))
        guard Self.isEntryName(name) else {
            return .invalid(problem: "\(shown) is not an entry (its name is not 64 lowercase hex characters)")
        }
        let fd: OwnedFD
        switch Posix.openAt(inboxDir.raw, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK) {
        case let .success(f): fd = f
        case let .failure(e) where e == ELOOP:
            return .invalid(problem: "\(shown) is a symbolic link, which a Chorus store never contains; it was not followed")
        case let .failure(e): throw Posix.error("open", shown, e)
        }
        let st = try Posix.statFD(fd.raw, path: shown)
        guard Posix.isRegular(st) else { return .invalid(problem: "\(shown) is not a regular file") }
        guard st.st_size <= EnvelopeFormat.maximumLength else {
            return .invalid(problem: "\(shown) is larger than any envelope can be (\(st.st_size) bytes)")
        }
        var bytes = [UInt8](repeating: 0, count: Int(st.st_size))
        let n = try bytes.withUnsafeMutableBytes { try Posix.preadFully(fd.raw, into: $0, at: 0, path: shown) }
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
        guard unlinkat(inboxDir.raw, name, 0) == 0 else {
            let e = errno
            if e == ENOENT { return false }
            throw Posix.error("remove", Posix.join(inboxPath, name), e)
        }
        try Posix.sync(inboxDir.raw, path: inboxPath)
        return true
    }

    // MARK: Tombstones

    /// Records the withdrawal of `id` as the empty file `tombstones/<id hex>`, durably. Returns false
    /// when the tombstone already existed.
    @discardableResult
    public func addTombstone(id: [UInt8]) throws -> Bool {
        let name = try Self.entryName(id)
        let writer = try DurableWriter.create(in: tmpDir, dirPath: tmpPath, prefix: "")
        try writer.prepare(zeroTimes: true)
        guard try writer.link(to: tombstonesDir, destPath: tombstonesPath, name: name) else {
            writer.discard()
            try Posix.sync(tombstonesDir.raw, path: tombstonesPath)
            return false
        }
        try writer.finish(destDir: tombstonesDir, destPath: tombstonesPath)
        return true
    }

    public func hasTombstone(id: [UInt8]) throws -> Bool {
        let name = try Self.entryName(id)
        return try Posix.lstatAt(tombstonesDir.raw, name, path: Posix.join(tombstonesPath, name)) != nil
    }

    /// The ids withdrawn in this store: the names in `tombstones/` that are 64 lowercase hex
    /// (anything else there is ignored here and reported by `verify`).
    public func tombstones() throws -> Set<[UInt8]> {
        var out = Set<[UInt8]>()
        for entry in try Posix.listDirectory(tombstonesDir.raw, path: tombstonesPath)
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
                try Posix.explaining("record the withdrawal in \(shownPath)", "nothing was withdrawn") { try addTombstone(id: id) }
            }
            let removed = try removeFromInbox(id: id)
            if existed { return .alreadyWithdrawn }
            if removed { return .removedFromInbox }
            var unreadable = 0
            for batch in try listBatches().batches {
                let batchPath = Posix.join(batchesPath, batch)
                guard case let .success(fd) = Posix.openAt(batchesDir.raw, batch, O_RDONLY | O_NOFOLLOW | O_NONBLOCK) else {
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

    /// True when `name` is a batch file name: 32 lowercase hex characters and `.batch`.
    public static func isBatchName(_ name: some StringProtocol) -> Bool {
        guard name.hasSuffix(".batch") else { return false }
        return Posix.isLowerHex(name.dropLast(6), count: 32)
    }

    /// The batch files in `batches/` (regular files named `<32 hex>.batch`, sorted by name) and one
    /// sentence for anything else there.
    public func listBatches() throws -> (batches: [String], unexpected: [String]) {
        var batches: [String] = [], unexpected: [String] = []
        for entry in try Posix.listDirectory(batchesDir.raw, path: batchesPath) {
            let shown = Posix.join(batchesPath, Posix.displayName(entry.rawName))
            guard entry.isPlainName, Self.isBatchName(entry.name) else {
                unexpected.append("\(shown) is not a batch (its name is not 32 lowercase hex characters and .batch); it was not read")
                continue
            }
            guard let st = try Posix.lstatAt(batchesDir.raw, entry.name, path: shown) else { continue }
            if Posix.isRegular(st) {
                batches.append(entry.name)
            } else if Posix.isSymlink(st) {
                unexpected.append("\(shown) is a symbolic link, which a Chorus store never contains; it was not followed")
            } else {
                unexpected.append("\(shown) is not a regular file; it was not read")
            }
        }
        return (batches.sorted(), unexpected)
    }

    /// Opens the batch `name` of `batches/` for reading (without following a link).
    public func openBatch(name: String) throws -> BatchReader {
        let batchPath = Posix.join(batchesPath, name)
        switch Posix.openAt(batchesDir.raw, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK) {
        case let .success(fd): return try BatchReader(fd: fd, path: Posix.join(Posix.join(path, "batches"), name))
        case let .failure(e) where e == ELOOP:
            throw ChorusError.data("\(batchPath) is a symbolic link, which a Chorus store never contains; it was not followed")
        case let .failure(e) where e == ENOENT: throw ChorusError.noInput("\(batchPath) does not exist")
        case let .failure(e): throw Posix.error("open", batchPath, e)
        }
    }

    /// The store's schema as it is written into batches: its canonical JSON.
    public var schemaJSON: [UInt8] { config.schema.canonicalJSON() }

    /// Removes crash leftovers from `tmp/` (files no writer holds); returns how many. Never reads them.
    @discardableResult
    public func removeLeftovers() -> Int {
        DurableFile.removeLeftovers(in: tmpDir, dirPath: tmpPath)
    }
}
