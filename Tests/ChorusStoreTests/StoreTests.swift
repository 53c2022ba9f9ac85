import Foundation
import Testing
import ChorusCore
import ChorusCrypto
import ChorusFormat
import ChorusSystem
import ChorusTestSupport
@testable import ChorusStore

#if canImport(Glibc)
import Glibc
#endif

@Suite("Store: init, open, publish, tombstones")
struct StoreTests {
    // MARK: init

    @Test("init creates the layout: folders 0700, a 0600 config with a random store id, the schema and the story limit")
    func initializeLayout() throws {
        let dir = ScratchDir()
        let path = dir.sub("store")
        #expect(try Store.initialize(at: path, schema: .builtIn, maxStoryBytes: 30000))
        #expect(names(in: path) == ["batches", "chorus-store.json", "inbox", "tmp", "tombstones"])
        #expect(permissions(path) == 0o700)
        for f in Store.folderNames { #expect(permissions(path + "/" + f) == 0o700, "\(f)") }
        #expect(permissions(path + "/chorus-store.json") == 0o600)
        for f in Store.folderNames { #expect(names(in: path + "/" + f).isEmpty, "\(f) is empty") }

        let json = try #require(readFile(path + "/chorus-store.json"))
        let config = try JSONDecoder().decode(StoreConfig.self, from: Data(json))
        #expect(config.format == "chorus-store" && config.version == 1)
        #expect(config.maxStoryBytes == 30000)
        #expect(config.schema == .builtIn)
        #expect(config.storeId.count == 32 && Hex.decode(config.storeId) != nil)

        let store = try Store.open(at: path)
        #expect(store.config == config)
    }

    @Test("init on an existing store changes nothing and returns false; two stores get different ids")
    func initializeTwice() throws {
        let dir = ScratchDir()
        #expect(try Store.initialize(at: dir.sub("a"), schema: .builtIn))
        let before = try #require(readFile(dir.sub("a/chorus-store.json")))
        #expect(try !Store.initialize(at: dir.sub("a"), schema: Schema(fields: [Schema.builtIn.fields[0]]), maxStoryBytes: 10))
        #expect(readFile(dir.sub("a/chorus-store.json")) == before)
        #expect(try Store.initialize(at: dir.sub("b"), schema: .builtIn))
        #expect(try Store.open(at: dir.sub("a")).config.storeId != Store.open(at: dir.sub("b")).config.storeId)
    }

    @Test("init refuses a non-empty folder that is not a store and a file; accepts an empty folder and an interrupted init")
    func initializeRefuses() throws {
        let dir = ScratchDir()
        #expect(mkdir(dir.sub("full"), 0o755) == 0)
        writeFile(dir.sub("full/notes.txt"), [1])
        expectFailure(StoreError.self, .cannotCreate, ["not empty", "not a Chorus store", dir.sub("full")]) {
            try Store.initialize(at: dir.sub("full"), schema: .builtIn)
        }
        #expect(names(in: dir.sub("full")) == ["notes.txt"])

        writeFile(dir.sub("file"), [1])
        expectFailure(StoreError.self, .cannotCreate, ["not a folder"]) { try Store.initialize(at: dir.sub("file"), schema: .builtIn) }
        expectFailure(StoreError.self, .cannotCreate, ["parent folder does not exist"]) {
            try Store.initialize(at: dir.sub("no/such/store"), schema: .builtIn)
        }
        expectFailure(StoreError.self, .invalidArgument, ["largest story"]) { try Store.initialize(at: dir.sub("x"), schema: .builtIn, maxStoryBytes: 0) }

        #expect(mkdir(dir.sub("empty"), 0o755) == 0)
        #expect(try Store.initialize(at: dir.sub("empty"), schema: .builtIn))
        #expect(permissions(dir.sub("empty")) == 0o700)

        // An init interrupted after making some folders, before the config.
        #expect(mkdir(dir.sub("half"), 0o700) == 0 && mkdir(dir.sub("half/inbox"), 0o700) == 0 && mkdir(dir.sub("half/tmp"), 0o700) == 0)
        #expect(try Store.initialize(at: dir.sub("half"), schema: .builtIn))
        _ = try Store.open(at: dir.sub("half"))
    }

    @Test("a store's folders are 0700 and its files 0600 whatever the umask", arguments: [mode_t(0), 0o022, 0o777])
    func storeModes(mask: mode_t) throws {
        let dir = ScratchDir()
        let path = dir.sub("store")
        try withUmask(mask) {
            #expect(try Store.initialize(at: path, schema: .builtIn))
            try sign(try Store.open(at: path), recipients: TestKeys.recipients)
            let store = try Store.open(at: path)
            let e = fakeEnvelope()
            try store.publish(envelope: e)
            try store.addTombstone(id: Random.bytes(32))
            try store.publish(envelope: fakeEnvelope())
            _ = try store.closeBatch()
            try store.publish(envelope: fakeEnvelope())
        }
        #expect(permissions(path) == 0o700)
        for f in Store.folderNames { #expect(permissions(path + "/" + f) == 0o700, "\(f)") }
        #expect(permissions(path + "/chorus-store.json") == 0o600)
        #expect(permissions(path + "/" + Store.recipientsName) == 0o600)
        for f in ["inbox", "batches", "tombstones"] {
            let files = names(in: path + "/" + f)
            #expect(files.count == 1)
            for n in files { #expect(permissions(path + "/" + f + "/" + n) == 0o600, "\(f)/\(n)") }
        }
        #expect(try StoreVerifier.verify(store: path).isClean)
    }

    // MARK: open

    struct OpenCase: Sendable, CustomTestStringConvertible {
        let name: String
        let kind: StoreError.Kind
        let fragment: String
        let setup: @Sendable (String) -> Void
        var testDescription: String { name }
    }

    static func config(_ json: String) -> @Sendable (String) -> Void {
        { path in
            let real = path + "-real"
            _ = try? Store.initialize(at: real, schema: .builtIn)
            _ = rename(real, path)
            _ = unlink(path + "/chorus-store.json")
            writeFile(path + "/chorus-store.json", Array(json.utf8))
        }
    }

    static let openCases: [OpenCase] = [
        OpenCase(name: "missing folder", kind: .noStore, fragment: "no such folder") { _ in },
        OpenCase(name: "a file instead of the folder", kind: .notAStore, fragment: "is a file") { writeFile($0, [1]) },
        OpenCase(name: "an empty folder", kind: .notAStore, fragment: "has no chorus-store.json") { mkdir($0, 0o700) },
        OpenCase(name: "the store folder is a link", kind: .notAStore, fragment: "symbolic link") { path in
            _ = try? Store.initialize(at: path + "-real", schema: .builtIn)
            symlink(path + "-real", path)
        },
        OpenCase(name: "config not JSON", kind: .notAStore, fragment: "does not parse", setup: config("{not json")),
        OpenCase(name: "config of something else", kind: .notAStore, fragment: "is not a Chorus store",
                 setup: config(#"{"format":"other","version":1}"#)),
        OpenCase(name: "newer version", kind: .notAStore, fragment: "newer Chorus (store format version 2)",
                 setup: config(#"{"format":"chorus-store","version":2,"somethingNew":true}"#)),
        OpenCase(name: "config missing a field", kind: .notAStore, fragment: "\"storeId\" is missing",
                 setup: config(#"{"format":"chorus-store","version":1,"maxStoryBytes":5,"schema":{"fields":[]}}"#)),
        OpenCase(name: "a nested field of the wrong type is named by its path", kind: .notAStore,
                 fragment: "\"schema.fields[0].label\" has the wrong type",
                 setup: config(#"{"format":"chorus-store","version":1,"storeId":"00112233445566778899aabbccddeeff","maxStoryBytes":5,"schema":{"fields":[{"id":"a","label":7,"kind":"single","values":["x"],"required":true}]}}"#)),
        OpenCase(name: "bad store id", kind: .notAStore, fragment: "storeId",
                 setup: config(#"{"format":"chorus-store","version":1,"storeId":"XYZ","maxStoryBytes":5,"schema":{"fields":[{"id":"a","label":"A","kind":"single","values":["x"],"required":true}]}}"#)),
        OpenCase(name: "config is a link", kind: .notAStore, fragment: "symbolic link") { path in
            _ = try? Store.initialize(at: path, schema: .builtIn)
            rename(path + "/chorus-store.json", path + "-config")
            symlink(path + "-config", path + "/chorus-store.json")
        },
        OpenCase(name: "inbox is a link", kind: .notAStore, fragment: "inbox is a symbolic link") { path in
            _ = try? Store.initialize(at: path, schema: .builtIn)
            mkdir(path + "-elsewhere", 0o700)
            rmdir(path + "/inbox")
            symlink(path + "-elsewhere", path + "/inbox")
        },
        OpenCase(name: "tombstones missing", kind: .notAStore, fragment: "tombstones is missing") { path in
            _ = try? Store.initialize(at: path, schema: .builtIn)
            rmdir(path + "/tombstones")
        },
        OpenCase(name: "batches is a file", kind: .notAStore, fragment: "batches is not a folder") { path in
            _ = try? Store.initialize(at: path, schema: .builtIn)
            rmdir(path + "/batches")
            writeFile(path + "/batches", [1])
        },
    ]

    @Test("open refuses, with one sentence, anything that is not a complete store of a known version", arguments: openCases)
    func openRefuses(_ c: OpenCase) {
        let dir = ScratchDir()
        let path = dir.sub("store")
        c.setup(path)
        expectFailure(StoreError.self, c.kind, [c.fragment]) { _ = try Store.open(at: path) }
    }

    // MARK: publish

    @Test("publish writes inbox/<id hex>, whole, 0600, time 0, leaving tmp/ empty; the same envelope again is a duplicate")
    func publish() throws {
        let dir = ScratchDir()
        let store = try makeStore(dir)
        let envelope = fakeEnvelope(stanzas: 3, answers: 512, story: 8192)
        #expect(try store.publish(envelope: envelope) == .published)
        let name = Hex.encode(envelopeID(envelope))
        let file = store.path + "/inbox/" + name
        #expect(names(in: store.path + "/inbox") == [name])
        #expect(readFile(file) == envelope)
        #expect(permissions(file) == 0o600)
        #expect(lstatOf(file)?.st_mtim.tv_sec == 0)
        #expect(names(in: store.path + "/tmp").isEmpty)
        #expect(try store.publish(envelope: envelope) == .duplicate)
        #expect(try store.listInbox() == InboxListing(entries: [name], unexpected: []))
        guard case let .valid(bytes, layout) = try store.readInboxEntry(name: name) else {
            Issue.record("the entry does not read back")
            return
        }
        #expect(bytes == envelope && layout.id == envelopeID(envelope))
    }

    @Test("publish refuses an envelope that is not structurally valid, or whose story is larger than the store allows")
    func publishRefuses() throws {
        let dir = ScratchDir()
        let store = try makeStore(dir, maxStoryBytes: 1000)
        let good = fakeEnvelope()
        expectFailure(StoreError.self, .invalidEntry, ["cannot add the submission", "truncated"]) { try store.publish(envelope: Array(good.dropLast())) }
        expectFailure(StoreError.self, .invalidEntry, ["bytes after its end"]) { try store.publish(envelope: good + [0]) }
        expectFailure(StoreError.self, .invalidEntry, ["wrong magic"]) { try store.publish(envelope: [UInt8](repeating: 0x41, count: 5000)) }
        expectFailure(StoreError.self, .invalidEntry, ["larger than this store accepts"]) { try store.publish(envelope: fakeEnvelope(story: 8192)) }
        #expect(names(in: store.path + "/inbox").isEmpty)
        #expect(names(in: store.path + "/tmp").isEmpty)
        #expect(try store.publish(envelope: good) == .published)
    }

    @Test("a symbolic link planted at an entry's name is never followed: publish reports a duplicate, the target is untouched")
    func symlinkedEntry() throws {
        let dir = ScratchDir()
        let store = try makeStore(dir)
        let envelope = fakeEnvelope()
        let name = Hex.encode(envelopeID(envelope))
        let victim = dir.sub("victim")
        writeFile(victim, Array("not yours".utf8))
        #expect(symlink(victim, store.path + "/inbox/" + name) == 0)

        #expect(try store.publish(envelope: envelope) == .duplicate)
        #expect(readFile(victim) == Array("not yours".utf8))
        let listing = try store.listInbox()
        #expect(listing.entries.isEmpty)
        #expect(listing.unexpected.count == 1 && listing.unexpected[0].contains("symbolic link"))
        guard case let .invalid(problem) = try store.readInboxEntry(name: name) else {
            Issue.record("a link was read as an entry")
            return
        }
        #expect(problem.contains("symbolic link") && problem.contains(name))
        let closing = try store.closeBatch()
        #expect(closing.path == nil && closing.entryCount == 0 && closing.keptInInbox.count == 1)
        #expect(isSymlink(store.path + "/inbox/" + name))
        #expect(readFile(victim) == Array("not yours".utf8))
    }

    @Test("listInbox names only 64-hex regular files as entries and reports everything else")
    func listInbox() throws {
        let dir = ScratchDir()
        let store = try makeStore(dir)
        let envelope = fakeEnvelope()
        try store.publish(envelope: envelope)
        let inbox = store.path + "/inbox/"
        writeFile(inbox + "README", [1])
        writeFile(inbox + Hex.encode(Random.bytes(32)).uppercased(), [1])
        writeFile(inbox + String(Hex.encode(Random.bytes(32)).dropLast()), [1])
        writeFile(inbox + "bad\u{1b}[31mname", [1])
        #expect(mkdir(inbox + Hex.encode(Random.bytes(32)), 0o700) == 0)
        let listing = try store.listInbox()
        #expect(listing.entries == [Hex.encode(envelopeID(envelope))])
        #expect(listing.unexpected.count == 5)
        #expect(listing.unexpected.allSatisfy { $0.unicodeScalars.allSatisfy { (0x20 ... 0x7e).contains($0.value) } })
    }

    @Test("the inbox is listed in the order of its names, not in the order the file system keeps (arrival on tmpfs)")
    func inboxListedInNameOrder() throws {
        let dir = ScratchDir()
        let store = try makeStore(dir)
        var names: [String] = []
        for _ in 0 ..< 40 {
            let e = fakeEnvelope()
            try store.publish(envelope: e)
            names.append(Hex.encode(envelopeID(e)))
        }
        let listed = try store.listInbox().entries
        #expect(listed == names.sorted())
        #expect(listed != names, "40 random ids came out sorted in arrival order")
    }

    // MARK: tombstones

    @Test("tombstones are durable empty 0600 files with time 0; a repeat says so; odd names are ignored")
    func tombstones() throws {
        let dir = ScratchDir()
        let store = try makeStore(dir)
        let a = Random.bytes(32), b = Random.bytes(32)
        #expect(try store.addTombstone(id: a))
        #expect(try store.addTombstone(id: b))
        #expect(try !store.addTombstone(id: a))
        writeFile(store.path + "/tombstones/junk", [1])
        #expect(try store.tombstones() == [a, b])
        #expect(try store.hasTombstone(id: a) && !store.hasTombstone(id: Random.bytes(32)))
        let file = store.path + "/tombstones/" + Hex.encode(a)
        #expect(readFile(file) == [])
        #expect(permissions(file) == 0o600)
        #expect(lstatOf(file)?.st_mtim.tv_sec == 0)
        #expect(names(in: store.path + "/tmp").isEmpty)
    }

    @Test("an envelope whose entry was withdrawn is not stored again")
    func publishWithdrawn() throws {
        let dir = ScratchDir()
        let store = try makeStore(dir)
        let envelope = fakeEnvelope()
        try store.addTombstone(id: envelopeID(envelope))
        #expect(try store.publish(envelope: envelope) == .withdrawn)
        #expect(names(in: store.path + "/inbox").isEmpty)
    }

    // MARK: leftovers

    @Test("crash leftovers in tmp/ are never read as data and are removed by the next write")
    func leftovers() throws {
        let dir = ScratchDir()
        let store = try makeStore(dir)
        let tmp = store.path + "/tmp/"
        let lookalike = fakeEnvelope()
        writeFile(tmp + Hex.encode(envelopeID(lookalike)), lookalike) // a whole envelope, still only a leftover
        writeFile(tmp + "half-written", Array(lookalike.prefix(1000)))
        writeFile(dir.sub("outside"), [5])
        #expect(symlink(dir.sub("outside"), tmp + "link") == 0)

        let report = try StoreVerifier.verify(store: store.path)
        #expect(report.leftovers == 3)
        #expect(report.inboxEntries == 0)
        var seen = 0
        _ = try EntrySources(paths: [store.path]).forEach { _ in seen += 1 }
        #expect(seen == 0)
        #expect(try store.closeBatch().path == nil)

        let envelope = fakeEnvelope()
        #expect(try store.publish(envelope: envelope) == .published)
        #expect(names(in: store.path + "/tmp").isEmpty)
        #expect(readFile(dir.sub("outside")) == [5])
        #expect(names(in: store.path + "/inbox") == [Hex.encode(envelopeID(envelope))])
    }
}
