import ChorusCore
import ChorusCrypto
import ChorusFormat
import ChorusSystem

#if canImport(Glibc)
import Glibc
#endif

/// A Chorus directory store (docs/FORMAT.md 7). Every file inside it is reached through a
/// descriptor of its folder with O_NOFOLLOW, so a symbolic link planted inside the store is never
/// followed. Thread-safe: many threads (and processes) may publish at once.
public final class Store: Sendable {
    public static let configName = StoreConfig.fileName
    public static let folderNames = ["inbox", "batches", "tombstones", "tmp"]

    /// The path the store was opened with.
    public let path: String
    /// The path made safe to show in a message.
    package let shownPath: String
    public let config: StoreConfig
    package let root: Folder
    package let inbox: Folder
    package let batches: Folder
    package let tombstonesFolder: Folder
    package let tmp: Folder

    private init(path: String, config: StoreConfig, root: Folder, folders: [Folder]) {
        self.path = path
        self.shownPath = root.path
        self.config = config
        self.root = root
        inbox = folders[0]
        batches = folders[1]
        tombstonesFolder = folders[2]
        tmp = folders[3]
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
            throw StoreError(.invalidArgument, "the largest story size must be between 1 and \(StoreConfig.maxStoryBytesLimit) bytes, not \(maxStoryBytes)")
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
                throw StoreError(.cannotCreate, "cannot create the store \(shownPath): its parent folder does not exist")
            default: throw SystemError.call("create the store", shownPath, e)
            }
        }
        let root: Folder
        switch Posix.openPath(real, O_RDONLY | O_DIRECTORY | O_NOFOLLOW) {
        case let .success(fd): root = Folder(fd, path: shownPath)
        case let .failure(e) where e == ELOOP || e == ENOTDIR:
            // With O_NOFOLLOW|O_DIRECTORY, Linux reports a link as ENOTDIR: tell the two apart.
            if Posix.isLink(real) { throw StoreError(.cannotCreate, "\(shownPath) is a symbolic link; give the real path of the store folder") }
            throw StoreError(.cannotCreate, "\(shownPath) exists and is not a folder; choose a new or empty folder for the store")
        case let .failure(e): throw SystemError.call("open", shownPath, e)
        }
        if try Posix.lstatAt(root.fd.raw, configName, path: Posix.join(shownPath, configName)) != nil {
            _ = try open(at: real)
            return false
        }
        // Empty, or holding only empty store folders left by an init that was interrupted.
        for entry in try Posix.listDirectory(root.fd.raw, path: shownPath) {
            let sub = Posix.join(shownPath, Posix.displayName(entry.rawName))
            guard folderNames.contains(entry.name), let st = try Posix.lstatAt(root.fd.raw, entry.name, path: sub),
                  Posix.isDirectory(st), case let .success(fd) = Posix.openDirectory(root.fd.raw, entry.name),
                  try Posix.listDirectory(fd.raw, path: sub).isEmpty
            else {
                throw StoreError(.cannotCreate, "\(shownPath) is not empty and is not a Chorus store; choose a new or empty folder")
            }
        }
        try Posix.setMode(root.fd.raw, 0o700, path: shownPath)
        var folders: [Folder] = []
        for name in folderNames {
            let sub = Posix.join(shownPath, name)
            if mkdirat(root.fd.raw, name, 0o700) != 0 && errno != EEXIST { throw SystemError.call("create the folder", sub, errno) }
            switch Posix.openDirectory(root.fd.raw, name) {
            case let .success(fd):
                try Posix.setMode(fd.raw, 0o700, path: sub)
                folders.append(Folder(fd, path: sub))
            case let .failure(e): throw SystemError.call("open the folder", sub, e)
            }
        }
        try Posix.sync(root.fd.raw, path: shownPath)
        let config = StoreConfig(storeId: Hex.encode(Random.bytes(16)), maxStoryBytes: maxStoryBytes, schema: schema)
        let bytes: [UInt8]
        do { bytes = try config.encoded() } catch { throw StoreError(.bug, "cannot encode the configuration of \(shownPath): \(error)") }
        let outcome = try DurableFile.write(in: root, name: .exactly(configName), staging: folders[3], tempPrefix: "", zeroTimes: false) {
            try $0.write(bytes)
        }
        guard outcome != .exists else {
            // Another `init` finished first: its store stands.
            _ = try open(at: real)
            return false
        }
        if created { try Folder.open(Posix.split(real).folder).sync() }
        return true
    }

    /// Opens an existing store, refusing with one sentence anything that is not a complete Chorus
    /// store of a version this build reads: a missing folder (`.noStore`), a file, a symbolic link,
    /// a folder without `chorus-store.json`, a config that does not parse or is of a newer version,
    /// a missing or symlinked subfolder (`.notAStore`). Opening changes nothing on disk.
    public static func open(at path: String) throws -> Store {
        let real = normalise(path), shownPath = Posix.shown(real)
        func fail(_ message: String) -> StoreError { StoreError(.notAStore, message) }
        let root: Folder
        switch Posix.openPath(real, O_RDONLY | O_DIRECTORY | O_NOFOLLOW) {
        case let .success(fd): root = Folder(fd, path: shownPath)
        case let .failure(e) where e == ENOENT:
            throw StoreError(.noStore, "there is no store at \(shownPath): no such folder")
        case let .failure(e) where e == ELOOP || e == ENOTDIR:
            if Posix.isLink(real) { throw fail("\(shownPath) is a symbolic link; open the store by its real path") }
            throw fail("\(shownPath) is a file, not a Chorus store folder")
        case let .failure(e): throw SystemError.call("open the store", shownPath, e)
        }
        let configPath = Posix.join(shownPath, configName)
        let configBytes: [UInt8]
        switch Posix.openAt(root.fd.raw, configName, O_RDONLY | O_NOFOLLOW | O_NONBLOCK) {
        case let .success(fd):
            do {
                configBytes = try InputFile.readRegular(fd, limit: StoreConfig.sizeLimit, path: configPath)
            } catch let error as SystemError where error.kind == .notARegularFile || error.kind == .tooLarge {
                throw fail(error.message)
            }
        case let .failure(e) where e == ENOENT:
            throw fail("\(shownPath) is not a Chorus store: it has no \(configName)")
        case let .failure(e) where e == ELOOP:
            throw fail("\(configPath) is a symbolic link, which a Chorus store never contains; it was not followed")
        case let .failure(e): throw SystemError.call("open", configPath, e)
        }
        let config = try StoreConfig.parse(configBytes, store: shownPath)
        var folders: [Folder] = []
        for name in folderNames {
            let sub = Posix.join(shownPath, name)
            switch Posix.openDirectory(root.fd.raw, name) {
            case let .success(fd): folders.append(Folder(fd, path: sub))
            case let .failure(e) where e == ENOENT:
                throw fail("\(sub) is missing, so \(shownPath) is not a complete Chorus store")
            case let .failure(e) where e == ELOOP || e == ENOTDIR:
                if let st = try Posix.lstatAt(root.fd.raw, name, path: sub), Posix.isSymlink(st) {
                    throw fail("\(sub) is a symbolic link, which a Chorus store never contains; it was not followed")
                }
                throw fail("\(sub) is not a folder, so \(shownPath) is not a valid Chorus store")
            case let .failure(e): throw SystemError.call("open the folder", sub, e)
            }
        }
        return Store(path: real, config: config, root: root, folders: folders)
    }

    // MARK: Locking

    /// Runs `body` holding an exclusive flock on the store folder itself, so that closing a batch and
    /// withdrawing never interleave (in this or any other process). Publishing needs no lock.
    func withLock<T>(_ body: () throws -> T) throws -> T {
        let fd: OwnedFD
        switch Posix.openAt(root.fd.raw, ".", O_RDONLY | O_DIRECTORY) {
        case let .success(f): fd = f
        case let .failure(e): throw SystemError.call("open", shownPath, e)
        }
        try Posix.lockExclusive(fd.raw, path: shownPath)
        return try withExtendedLifetime(fd) { try body() }
    }

    // MARK: Names

    static func entryName(_ id: [UInt8]) throws(StoreError) -> String {
        guard id.count == EnvelopeFormat.idLength else {
            throw StoreError(.bug, "an entry id must be \(EnvelopeFormat.idLength) bytes, not \(id.count)")
        }
        return Hex.encode(id)
    }

    /// True when `name` can name an entry or a tombstone: exactly 64 lowercase hex characters.
    public static func isEntryName(_ name: some StringProtocol) -> Bool {
        Posix.isLowerHex(name, count: EnvelopeFormat.idLength * 2)
    }

    /// True when `name` is a batch file name: 32 lowercase hex characters and `.batch`.
    public static func isBatchName(_ name: some StringProtocol) -> Bool {
        guard name.hasSuffix(".batch") else { return false }
        return Posix.isLowerHex(name.dropLast(6), count: 32)
    }

    /// Removes crash leftovers from `tmp/` (files no writer holds); returns how many. Never reads them.
    @discardableResult
    public func removeLeftovers() -> Int { DurableFile.removeLeftovers(in: tmp) }
}

extension Folder {
    /// Flushes the folder to disk, so that the names in it survive a crash.
    package func sync() throws(SystemError) { try Posix.sync(fd.raw, path: path) }
}

// MARK: - The signed recipients

extension Store {
    /// The file that holds the organisation's signed recipients and questionnaires (FORMAT.md 7.3).
    public static let recipientsName = "chorus-recipients.signed"

    /// The store's signed recipients document, checked: its form and signature, that it was signed for
    /// this store, and that the questionnaire in the configuration is the current one it signs (an
    /// operator who edits `chorus-store.json` is found out here). Nil when the store was never signed.
    /// Which organisation key may sign it is for the caller to check (`OrganisationPins`).
    public func signedRecipients() throws -> SignedRecipients? {
        let shown = Posix.join(shownPath, Self.recipientsName)
        let bytes: [UInt8]
        switch Posix.openAt(root.fd.raw, Self.recipientsName, O_RDONLY | O_NOFOLLOW | O_NONBLOCK) {
        case let .success(fd):
            do {
                bytes = try InputFile.readRegular(fd, limit: RecipientsDocument.maxBytes, path: shown)
            } catch let error as SystemError where error.kind == .notARegularFile || error.kind == .tooLarge {
                throw StoreError(.notAsSigned, error.message)
            }
        case let .failure(e) where e == ENOENT: return nil
        case let .failure(e) where e == ELOOP:
            throw StoreError(.notAsSigned, "\(shown) is a symbolic link, which a Chorus store never contains; it was not followed")
        case let .failure(e): throw SystemError.call("open", shown, e)
        }
        let signed = try SignedRecipients.parse(bytes, source: shown)
        try checkSigned(signed.document, source: shown)
        return signed
    }

    /// The signed recipients, or one sentence saying the store was never signed.
    public func requireSignedRecipients() throws -> SignedRecipients {
        guard let signed = try signedRecipients() else {
            throw StoreError(.unsigned, "the store \(shownPath) has no signed recipients yet: the organisation signs them with chorus recipients add --store \(shownPath) --org-key ORG.key PUBLIC-KEY...")
        }
        return signed
    }

    /// A document signed for this store, whose current questionnaire is the configuration's.
    func checkSigned(_ document: RecipientsDocument, source: String) throws {
        guard document.store == config.storeId else {
            throw StoreError(.notAsSigned, "\(source) was signed for the store \(document.store), not for this one (\(config.storeId)); it was copied from another store")
        }
        guard document.current.digest == config.schema.digest else {
            throw StoreError(.notAsSigned, "the questionnaire in \(Posix.join(shownPath, Self.configName)) is not the one the organisation signed in \(source): the configuration was changed; nothing in this store is read with it (the organisation sets a questionnaire with chorus recipients questionnaire)")
        }
    }

    /// Replaces the signed recipients with `signed` (after checking it was signed for this store), and
    /// the configuration's questionnaire with its current one, each atomically and durably: the
    /// document first, then the configuration (a crash between them leaves them disagreeing, which
    /// readers refuse until this runs again).
    public func install(_ signed: SignedRecipients) throws {
        guard signed.document.store == config.storeId else {
            throw StoreError(.notAsSigned, "the recipients were signed for the store \(signed.document.store), not for \(shownPath) (\(config.storeId))")
        }
        try SystemError.explaining("write the recipients of \(shownPath)", "nothing was changed") {
            try DurableFile.write(in: root, name: .exactly(Self.recipientsName), staging: tmp, tempPrefix: "", zeroTimes: false, replacing: true) {
                try $0.write(signed.bytes)
            }
            if signed.document.current != config.schema {
                var updated = config
                updated.schema = signed.document.current
                let bytes: [UInt8]
                do { bytes = try updated.encoded() } catch { throw StoreError(.bug, "cannot encode the configuration of \(shownPath): \(error)") }
                try DurableFile.write(in: root, name: .exactly(Self.configName), staging: tmp, tempPrefix: "", zeroTimes: false, replacing: true) {
                    try $0.write(bytes)
                }
            }
        }
    }
}
