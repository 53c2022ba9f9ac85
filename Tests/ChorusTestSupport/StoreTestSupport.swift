import Foundation
import Synchronization
import Testing
import ChorusCore
import ChorusCrypto
import ChorusFormat
import ChorusStore
import ChorusSystem

#if canImport(Glibc)
import Glibc
#endif

// Helpers shared by the unit tests of every module (one copy of each).

/// A structurally valid envelope (FORMAT.md 5.6 step 1) with random stanzas, MAC and sections: no
/// cryptography, so it cannot be opened, but every structural check passes.
public func fakeEnvelope(id: [UInt8] = Random.bytes(32), stanzas: Int = 1, answers: Int = 256, story: Int = 4096) -> [UInt8] {
    let st = (0 ..< stanzas).map { _ in Random.bytes(EnvelopeFormat.stanzaLength) }
    return EnvelopeFormat.header(id: id, stanzas: st, answersLength: answers, storyLength: story)
        + Random.bytes(EnvelopeFormat.macLength + answers + EnvelopeFormat.tagLength + story + EnvelopeFormat.tagLength)
}

/// The id (bytes 9 ..< 41) of an envelope.
public func envelopeID(_ envelope: [UInt8]) -> [UInt8] { Array(envelope[EnvelopeFormat.Offset.id ..< EnvelopeFormat.Offset.id + EnvelopeFormat.idLength]) }

/// A fresh folder under /tmp, removed (without following links) when the value goes.
public final class ScratchDir: @unchecked Sendable {
    public let path: String

    public init() {
        var template = Array("/tmp/chorus-store-test-XXXXXX".utf8CString)
        let p = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(p != nil, "mkdtemp failed")
        path = String(cString: p!)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    public func sub(_ name: String) -> String { path + "/" + name }
}

/// Runs `body` with the process umask set to `mask`, restoring it afterwards.
public func withUmask<T>(_ mask: mode_t, _ body: () throws -> T) rethrows -> T {
    let old = umask(mask)
    defer { umask(old) }
    return try body()
}

/// The bytes of a file (following links), or nil.
public func readFile(_ path: String) -> [UInt8]? {
    FileManager.default.contents(atPath: path).map { Array($0) }
}

/// Writes a plain file for a test setup (mode 0600).
public func writeFile(_ path: String, _ bytes: [UInt8]) {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    precondition(fd >= 0, "cannot create \(path)")
    _ = fchmod(fd, 0o600)
    bytes.withUnsafeBytes { b in
        var done = 0
        while done < b.count { done += write(fd, b.baseAddress! + done, b.count - done) }
    }
    close(fd)
}

/// The names in a folder, sorted ([] when it does not exist).
public func names(in path: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
}

/// `lstat` of a path (not following a link).
public func lstatOf(_ path: String) -> stat? {
    var st = stat()
    return lstat(path, &st) == 0 ? st : nil
}

public func permissions(_ path: String) -> mode_t? { lstatOf(path).map { $0.st_mode & 0o7777 } }

public func isSymlink(_ path: String) -> Bool { lstatOf(path).map { $0.st_mode & S_IFMT == S_IFLNK } ?? false }

/// Expects `body` to throw an error of type `E` and kind `kind` whose message contains every
/// fragment and is one line of printable ASCII; returns the message.
@discardableResult
public func expectFailure<E: KindedError>(_ type: E.Type, _ kind: E.Kind, _ fragments: [String] = [],
                                          sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void) -> String? {
    do {
        try body()
        Issue.record("expected \(E.self)(\(kind)) with \(fragments); nothing was thrown", sourceLocation: sourceLocation)
        return nil
    } catch let e as E {
        #expect(e.kind == kind, "kind of \(e.message.debugDescription)", sourceLocation: sourceLocation)
        for f in fragments {
            #expect(e.message.contains(f), "\(e.message.debugDescription) lacks \(f.debugDescription)", sourceLocation: sourceLocation)
        }
        #expect(e.message.unicodeScalars.allSatisfy { (0x20 ... 0x7e).contains($0.value) }, "not one printable line: \(e.message.debugDescription)",
                sourceLocation: sourceLocation)
        return e.message
    } catch {
        Issue.record("expected \(E.self)(\(kind)), got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

/// A new store in a scratch folder, with the built-in schema.
/// A new store in a scratch folder, with the built-in schema, signed by the test organisation for the
/// test recipients unless `signed` is false.
public func makeStore(_ dir: ScratchDir, name: String = "store", maxStoryBytes: Int = 65536, signed: Bool = true,
                      recipients: [RecipientKey]? = nil) throws -> Store {
    let path = dir.sub(name)
    #expect(try Store.initialize(at: path, schema: .builtIn, maxStoryBytes: maxStoryBytes))
    let store = try Store.open(at: path)
    guard signed else { return store }
    try sign(store, recipients: recipients ?? TestKeys.recipients)
    return try Store.open(at: path)
}

/// Keys made once for every test of a process (test-only costs).
public enum TestKeys {
    public static let organisation = try! makeOrganisationKey()
    public static let reviewerFile = try! makeKey("test-reviewer", .reviewer)
    public static let analystFile = try! makeKey("test-analyst", .analyst)
    public static let reviewer = try! unlock(reviewerFile.file)
    public static let analyst = try! unlock(analystFile.file)
    public static var recipients: [RecipientKey] { [reviewerFile.recipient, analystFile.recipient] }
}

/// Signs `recipients` and `questionnaires` (the store's questionnaire by default) for `store` with the
/// test organisation key, and installs them.
@discardableResult
public func sign(_ store: Store, recipients: [RecipientKey], questionnaires: [Schema]? = nil, serial: UInt64 = 1) throws -> SignedRecipients {
    let doc = try RecipientsDocument(organisation: TestKeys.organisation.publicKey, store: store.config.storeId, serial: serial,
                                     recipients: recipients, questionnaires: questionnaires ?? [store.config.schema])
    let signed = try SignedRecipients.sign(doc, with: TestKeys.organisation)
    try store.install(signed)
    return signed
}

/// A signed recipients document for a made-up store (for batches built by hand).
public let handDocument: [UInt8] = {
    let doc = try! RecipientsDocument(organisation: TestKeys.organisation.publicKey, store: String(repeating: "ab", count: 16), serial: 1,
                                      recipients: TestKeys.recipients, questionnaires: [.builtIn])
    return try! SignedRecipients.sign(doc, with: TestKeys.organisation).bytes
}()

/// Every envelope of a batch file, its tombstones and its summary, read with `BatchReader`.
public func readBatch(_ path: String) throws -> (envelopes: [[UInt8]], bad: [String], tombstones: [[UInt8]], summary: BatchSummary) {
    let reader = try BatchReader(path: path)
    var envelopes: [[UInt8]] = [], bad: [String] = []
    let summary = try reader.forEach { entry in
        switch entry {
        case let .envelope(e): envelopes.append(e.bytes)
        case let .bad(_, problem): bad.append(problem)
        }
    }
    return (envelopes, bad, reader.tombstones, summary)
}

/// `handDocument`, parsed.
public let handRecipients: SignedRecipients = try! SignedRecipients.parse(handDocument, source: "the test document")

/// A batch file built by hand (FORMAT.md 6), so that tests can break any part of it: tombstones are
/// written in the order given; counts and lengths can be overridden; the hash is correct unless
/// `hash` is given.
public func handBatch(document: [UInt8] = handDocument,
               tombstones: [[UInt8]] = [], entries: [[UInt8]] = [],
               entryCount: UInt64? = nil, tombstoneCount: UInt32? = nil, documentLength: UInt32? = nil,
               between: [UInt8] = [], hash: [UInt8]? = nil) -> [UInt8] {
    func u32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8((v >> 16) & 0xff), UInt8((v >> 8) & 0xff), UInt8(v & 0xff)] }
    func u64(_ v: UInt64) -> [UInt8] { stride(from: 56, through: 0, by: -8).map { UInt8((v >> UInt64($0)) & 0xff) } }
    var out = Array("CHORUS-B".utf8) + [BatchFormat.version]
    out += u64(entryCount ?? UInt64(entries.count))
    out += u32(tombstoneCount ?? UInt32(tombstones.count))
    out += u32(documentLength ?? UInt32(document.count))
    out += document
    for t in tombstones { out += t }
    for e in entries { out += u32(UInt32(e.count)) + e }
    out += between
    out += hash ?? BLAKE2b.hash(out)
    return out
}

/// A value that many threads can change: the one lock-guarded box of the tests.
public final class Shared<T: Sendable>: Sendable {
    private let state: Mutex<T>
    public init(_ value: T) { state = Mutex(value) }
    public var value: T { state.withLock { $0 } }
    public func mutate(_ f: (inout T) -> Void) { state.withLock { f(&$0) } }
}

/// A collector that many threads can append to.
public final class Collector<T: Sendable>: Sendable {
    private let items = Shared<[T]>([])
    public init() {}
    public func append(_ item: T) { items.mutate { $0.append(item) } }
    public var all: [T] { items.value }
}

/// Runs `body(i)` on `count` real threads at once and waits for all of them.
public func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let done = DispatchSemaphore(value: 0)
    let start = DispatchSemaphore(value: 0)
    for i in 0 ..< count {
        let t = Thread {
            start.wait()
            body(i)
            done.signal()
        }
        t.start()
    }
    for _ in 0 ..< count { start.signal() }
    for _ in 0 ..< count { done.wait() }
}

/// Answers that fit the built-in questionnaire: every required field, with `fields` replacing any.
public func builtInAnswers(month: String = "2026-11", _ fields: [String: [String]] = [:]) throws -> [UInt8] {
    var all: [String: [String]] = ["kind": ["other"], "setting": ["home"], "perpetrator-role": ["other"], "reported": ["no"],
                                   "consent": ["counts-only"]]
    for (k, v) in fields { all[k] = v }
    return try AnswersText(arrivalMonth: month, questionnaire: Schema.builtIn.digest, fields: all).encoded()
}
