import ChorusCore
import ChorusCrypto
import ChorusFormat
import ChorusSystem

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One envelope read from a batch: structurally valid (FORMAT.md 5.6 step 1), not yet decrypted.
public struct BatchEnvelope: Sendable {
    /// Position in the batch, from 1 (the order is random, so it says nothing about arrival).
    public let index: Int
    public let bytes: [UInt8]
    public let layout: EnvelopeLayout
    /// Where the envelope's bytes start in the file (after its length prefix).
    public let offset: Int
}

/// A batch file kept open so that its entries can be read again by position (review reads every
/// entry once to open its answers, and again, in a random order, to show its story). The bytes read
/// again are not covered by the batch checksum; the caller must authenticate them (an envelope's MAC
/// and tags do). Immutable; reads (`pread`) are safe from several threads.
public final class BatchFileHandle: Sendable {
    let fd: OwnedFD
    /// The path made safe to show in a message.
    public let shownPath: String

    init(fd: OwnedFD, shownPath: String) {
        self.fd = fd
        self.shownPath = shownPath
    }

    /// Exactly `length` bytes at `offset`; throws an I/O error if the file is shorter now.
    public func read(offset: Int, length: Int) throws -> [UInt8] {
        var got = 0
        let bytes = try [UInt8](unsafeUninitializedCapacity: length) { buffer, initialized in
            got = try Posix.read(fd.raw, into: UnsafeMutableRawBufferPointer(buffer), at: offset, path: shownPath)
            initialized = got
        }
        guard got == length else { throw StoreError(.changedWhileReading, "cannot read \(shownPath) again: it is shorter than when it was first read (did it change?)") }
        return bytes
    }
}

/// One item of a batch, in file order.
public enum BatchEntry: Sendable {
    case envelope(BatchEnvelope)
    /// An entry that is skipped: its envelope is malformed (reading goes on with the next entry), or
    /// its framing is broken (its length runs past the file; nothing after it can be read).
    /// `problem` is one sentence naming the batch and the entry's position.
    case bad(index: Int, problem: String)
}

/// The outcome of reading a whole batch.
public struct BatchSummary: Sendable, Equatable {
    public let path: String
    /// The number of entries the header declares.
    public let declaredEntries: Int
    /// Entries released as structurally valid envelopes.
    public var envelopes = 0
    /// Entries reported as bad.
    public var badEntries = 0
    /// Declared entries never reached because the framing was lost before them.
    public var unreadEntries = 0
    /// Batch-level problems (lost framing, bytes left over, checksum), one sentence each.
    public var problems: [String] = []
    /// True when the BLAKE2b-256 at the end matched all the bytes before it.
    public var hashMatches = false

    /// Every byte accounted for, every entry valid, and the checksum matches.
    public var isIntact: Bool { problems.isEmpty && hashMatches && badEntries == 0 && unreadEntries == 0 }
}

/// Reads a batch file (FORMAT.md 6) as a stream, in bounded memory: a 256 KiB read buffer and one
/// envelope at a time. The header is checked against the real file size before anything is
/// allocated; the signed recipients document and the tombstones are read at `init`; entries come one by one from
/// `next()` (or `forEach`); when they are exhausted, `summary` holds the batch-level result,
/// including the whole-file checksum, which a stream can only check at the end.
///
/// Not thread-safe (one reader, one thread), but every item is `Sendable`, so envelopes can be
/// handed to other threads for decryption.
public final class BatchReader {
    /// The path as given.
    public let path: String
    /// The path made safe to show in a message.
    let shownPath: String
    public let header: BatchHeader
    public let fileSize: Int
    /// The store's signed recipients document the batch carries (form and signature checked; which
    /// organisation key may sign it is for the caller to check), with its questionnaires.
    public let recipients: SignedRecipients
    /// The withdrawn entry ids the batch carries, in ascending order.
    public let tombstones: [[UInt8]]
    /// Set when `next()` has returned nil.
    public private(set) var summary: BatchSummary?

    private let stream: HashingStream
    /// The open file, for reading entries again by position.
    public let file: BatchFileHandle
    private var index = 0
    private var stopped = false
    private var partial: BatchSummary
    private var hashedEnd: Int { fileSize - BatchFormat.hashLength }

    /// Opens the batch file at `path` (a user-given path: links in it are followed).
    public convenience init(path: String) throws {
        let fd: OwnedFD
        switch Posix.openPath(path, O_RDONLY | O_NONBLOCK) {
        case let .success(f): fd = f
        case let .failure(e) where e == ENOENT: throw SystemError(.notFound, "\(Posix.shown(path)) does not exist", errno: e)
        case let .failure(e): throw SystemError.call("open", Posix.shown(path), e)
        }
        try self.init(fd: fd, path: path)
    }

    init(fd: OwnedFD, path rawPath: String) throws {
        self.path = rawPath
        let path = Posix.shown(rawPath)
        shownPath = path
        let st = try Posix.statFD(fd.raw, path: path)
        guard Posix.isRegular(st) else { throw StoreError(.invalidBatch, "\(path) is not a regular file, so it is not a batch") }
        fileSize = Int(st.st_size)
        let stream = try HashingStream(fd: fd, path: path)
        self.stream = stream
        file = BatchFileHandle(fd: fd, shownPath: path)
        var prefix = [UInt8](repeating: 0, count: BatchFormat.fixedHeaderLength)
        let got = try prefix.withUnsafeMutableBytes { try stream.read(into: $0, hash: true) }
        let size = fileSize
        do {
            header = try prefix.withUnsafeBytes { try BatchHeader.parse(UnsafeRawBufferPointer(rebasing: $0[0 ..< got]), fileSize: UInt64(size)) }
        } catch {
            throw StoreError(.invalidBatch, "\(path) is not a valid Chorus batch: \(error)")
        }
        // The header fits the file size (checked above), so these reads are bounded by the file.
        var document = [UInt8](repeating: 0, count: header.documentLength)
        guard try document.withUnsafeMutableBytes({ try stream.read(into: $0, hash: true) }) == header.documentLength else {
            throw StoreError(.invalidBatch, "\(path) is truncated inside its recipients document")
        }
        recipients = try Self.decodeRecipients(document, path: path)
        var tombstones: [[UInt8]] = []
        // Not `reserveCapacity(header.tombstoneCount)`: the count fits the file size, but a sparse file
        // makes size cheap (2^32 - 1 tombstones fit a 137 GB file that takes no disk space), and
        // reserving by a declared count would allocate 34 GB before reading a byte. The array grows
        // only with tombstones actually read, which are checked one by one.
        tombstones.reserveCapacity(min(header.tombstoneCount, 4096))
        var id = [UInt8](repeating: 0, count: BatchFormat.idLength)
        for i in 0 ..< header.tombstoneCount {
            guard try id.withUnsafeMutableBytes({ try stream.read(into: $0, hash: true) }) == id.count else {
                throw StoreError(.invalidBatch, "\(path) is truncated inside its tombstones")
            }
            if let last = tombstones.last, !last.lexicographicallyPrecedes(id) {
                throw StoreError(.invalidBatch, "\(path) is not a valid Chorus batch: its tombstones are not in strictly ascending order (tombstone \(i + 1))")
            }
            tombstones.append(id)
        }
        self.tombstones = tombstones
        partial = BatchSummary(path: rawPath, declaredEntries: Int(header.entryCount))
    }

    /// The batch's signed recipients document (FORMAT.md 7.3): its form, every rule and its signature.
    static func decodeRecipients(_ bytes: [UInt8], path: String) throws -> SignedRecipients {
        do {
            return try SignedRecipients.parse(bytes, source: "its recipients document")
        } catch {
            throw StoreError(.invalidBatch, "\(path) is not a valid Chorus batch: \(error.message)")
        }
    }

    /// The next entry, or nil once all declared entries were read (or the framing was lost); then
    /// `summary` is set. Throws only for an I/O error.
    public func next() throws -> BatchEntry? {
        if summary != nil { return nil }
        if stopped || index == partial.declaredEntries {
            try finish()
            return nil
        }
        index += 1
        let room = hashedEnd - stream.offset
        guard room >= BatchFormat.entryPrefixLength else {
            return try lose("entry \(index) of \(shownPath) is cut off before its length: the file ends too early")
        }
        var prefix: UInt32 = 0
        _ = try withUnsafeMutableBytes(of: &prefix) { try stream.read(into: $0, hash: true) }
        let length = withUnsafeBytes(of: &prefix) { Int(BigEndian.u32($0, at: 0)) }
        guard length <= room - BatchFormat.entryPrefixLength else {
            return try lose("entry \(index) of \(shownPath) says it is \(length) bytes long, which runs past the end of the file")
        }
        guard length >= EnvelopeFormat.minimumLength, length <= EnvelopeFormat.maximumLength else {
            try stream.skip(length, hash: true)
            partial.badEntries += 1
            return .bad(index: index, problem: "entry \(index) of \(shownPath) is \(length) bytes long, which no envelope can be; it was skipped")
        }
        // Filled straight from the read buffer (no zeroing first): every byte is written, and on a
        // short read only the `got` bytes read are kept.
        let offset = stream.offset
        var got = 0
        let bytes = try [UInt8](unsafeUninitializedCapacity: length) { buffer, initialized in
            got = try stream.read(into: UnsafeMutableRawBufferPointer(buffer), hash: true)
            initialized = got
        }
        guard got == length else {
            return try lose("entry \(index) of \(shownPath) is cut off: the file is shorter than its size said (did it change while being read?)")
        }
        do {
            let layout = try EnvelopeLayout.parse(bytes)
            partial.envelopes += 1
            return .envelope(BatchEnvelope(index: index, bytes: bytes, layout: layout, offset: offset))
        } catch {
            partial.badEntries += 1
            return .bad(index: index, problem: "entry \(index) of \(shownPath) is not a valid envelope (\(error)); it was skipped")
        }
    }

    /// The framing is lost at the current entry: report it, and read no further entries.
    private func lose(_ problem: String) throws -> BatchEntry {
        stopped = true
        partial.badEntries += 1
        let unread = partial.declaredEntries - index
        partial.unreadEntries = unread
        if unread > 0 {
            partial.problems.append("\(shownPath): \(unread) of its \(partial.declaredEntries) entries could not be read after entry \(index)")
        }
        return .bad(index: index, problem: problem)
    }

    /// After the entries: nothing may be left before the checksum, and the checksum must match.
    private func finish() throws {
        let left = hashedEnd - stream.offset
        if left > 0 {
            if !stopped {
                partial.problems.append("\(shownPath) has \(left) bytes between its last entry and its checksum")
            }
            try stream.skip(left, hash: true)
        }
        let computed = stream.finalizeHash()
        var stored = [UInt8](repeating: 0, count: BatchFormat.hashLength)
        let got = try stored.withUnsafeMutableBytes { try stream.read(into: $0, hash: false) }
        if got < stored.count {
            partial.problems.append("\(shownPath) is truncated: its checksum is missing")
        } else if computed != stored {
            partial.problems.append("\(shownPath) does not match its checksum: it is truncated, damaged or was altered")
        } else {
            partial.hashMatches = true
        }
        summary = partial
    }

    /// Reads every entry, calling `body` for each, and returns the summary.
    @discardableResult
    public func forEach(_ body: (BatchEntry) throws -> Void) throws -> BatchSummary {
        while let entry = try next() { try body(entry) }
        return summary!
    }

    /// Whether the batch open at `fd` holds an entry with `id`, found by reading only the length
    /// and the id of each entry (no checksum, no envelope in memory). Throws on a malformed batch.
    static func contains(id: [UInt8], fd: OwnedFD, path: String) throws -> Bool {
        let st = try Posix.statFD(fd.raw, path: path)
        guard Posix.isRegular(st) else { throw StoreError(.invalidBatch, "\(path) is not a regular file") }
        let size = Int(st.st_size)
        var prefix = [UInt8](repeating: 0, count: BatchFormat.fixedHeaderLength)
        let got = try prefix.withUnsafeMutableBytes { (b) in try Posix.read(fd.raw, into: b, at: 0, path: path) }
        let header: BatchHeader
        do {
            header = try prefix.withUnsafeBytes { try BatchHeader.parse(UnsafeRawBufferPointer(rebasing: $0[0 ..< got]), fileSize: UInt64(size)) }
        } catch {
            throw StoreError(.invalidBatch, "\(path) is not a valid Chorus batch: \(error)")
        }
        let end = size - BatchFormat.hashLength
        var offset = header.entriesOffset
        // Each entry's length prefix and the start of its envelope, up to the end of the entry id.
        let idStart = BatchFormat.entryPrefixLength + EnvelopeFormat.Offset.id
        let idEnd = idStart + EnvelopeFormat.idLength
        var head = [UInt8](repeating: 0, count: idEnd)
        for i in 0 ..< Int(header.entryCount) {
            let n = try head.withUnsafeMutableBytes { (b) in try Posix.read(fd.raw, into: b, at: offset, path: path) }
            guard n >= BatchFormat.entryPrefixLength, end - offset >= BatchFormat.entryPrefixLength else { throw StoreError(.invalidBatch, "entry \(i + 1) of \(path) is cut off") }
            let length = head.withUnsafeBytes { Int(BigEndian.u32($0, at: 0)) }
            guard length <= end - offset - 4 else { throw StoreError(.invalidBatch, "entry \(i + 1) of \(path) runs past the end of the file") }
            if n == idEnd, length >= idEnd - BatchFormat.entryPrefixLength, head[idStart ..< idEnd].elementsEqual(id) { return true }
            offset += BatchFormat.entryPrefixLength + length
        }
        return false
    }
}

/// Sequential reads of a file through a buffer, hashing the bytes that the caller asks to hash.
final class HashingStream {
    let fd: OwnedFD
    let path: String
    private let hasher: BLAKE2b.Hasher
    private var buffer: [UInt8]
    private var start = 0, end = 0
    /// Offset in the file of the next byte to be consumed.
    private(set) var offset = 0
    private static let bufferSize = 256 * 1024

    init(fd: OwnedFD, path: String) throws {
        self.fd = fd
        self.path = path
        do { hasher = try BLAKE2b.Hasher(outputLength: BatchFormat.hashLength) } catch {
            throw StoreError(.bug, "cannot start a BLAKE2b hash: \(error)")
        }
        buffer = [UInt8](repeating: 0, count: Self.bufferSize)
    }

    /// Refills the buffer; false at the end of the file.
    private func fill() throws -> Bool {
        let n = try buffer.withUnsafeMutableBytes { b in
            try Posix.read(fd.raw, into: UnsafeMutableRawBufferPointer(rebasing: b[0 ..< Self.bufferSize]), at: offset, path: path)
        }
        start = 0
        end = n
        return n > 0
    }

    /// Copies up to `out.count` bytes into `out`; returns how many (fewer only at the end of the file).
    func read(into out: UnsafeMutableRawBufferPointer, hash: Bool) throws -> Int {
        var done = 0
        while done < out.count {
            if start == end, try !fill() { break }
            let n = min(out.count - done, end - start)
            buffer.withUnsafeBytes { b in
                let chunk = UnsafeRawBufferPointer(rebasing: b[start ..< start + n])
                UnsafeMutableRawBufferPointer(rebasing: out[done ..< done + n]).copyMemory(from: chunk)
                if hash { hasher.update(chunk) }
            }
            start += n
            offset += n
            done += n
        }
        return done
    }

    /// Consumes `count` bytes without keeping them (hashing them if asked); returns how many there were.
    @discardableResult
    func skip(_ count: Int, hash: Bool) throws -> Int {
        var done = 0
        while done < count {
            if start == end, try !fill() { break }
            let n = min(count - done, end - start)
            if hash { buffer.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0[start ..< start + n])) } }
            start += n
            offset += n
            done += n
        }
        return done
    }

    func finalizeHash() -> [UInt8] { hasher.finalize() }
}
