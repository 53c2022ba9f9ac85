import ChorusCrypto
import ChorusFormat
import ChorusSystem
import Dispatch
import Synchronization

/// Holds one record per opened entry and gives them back in a uniformly random order, so the order of
/// `chorus review` follows neither the sources (an inbox is listed in the file system's order, which
/// on tmpfs or btrfs is the order of arrival) nor the order in which threads finished.
///
/// A record is a small secret part, sealed when the record is made (`seal`, on any thread) with
/// XChaCha20-Poly1305 under a random key that lives only in this process's guarded memory, and a
/// clear part that must need no protection (review keeps the envelope itself, which is encrypted
/// already, in the clear part, and the stanza's keys in the secret part). Records are held in memory
/// up to `memoryLimit` bytes; past that, all of them move to an unlinked temporary file, so memory
/// stays bounded whatever the number of entries, and the file is unreadable once the process is gone.
/// What stays in memory then is 12 bytes per record (its offset and length), which the final
/// Fisher–Yates shuffle permutes. `drain` opens the records again on several threads, a window at a
/// time, and hands out what its `open` made of each, in the shuffled order.
///
/// `seal` may be called from any thread; `add` and `drain` from one caller at a time.
public final class ShuffledSpool: @unchecked Sendable {
    public static let defaultMemoryLimit = 16 << 20
    /// A record: `u32 S` (little-endian, the length of the sealed part) ‖ the sealed part (nonce ‖
    /// ciphertext ‖ tag, `S` bytes) ‖ the clear part.
    enum Record {
        static let sealedLength = 0 ..< 4
        static let nonce = 4 ..< 28
        static let ciphertext = 28
        static let tagLength = 16
        /// The bytes a record adds to its secret part: the length, the nonce and the tag.
        static let overhead = 4 + 24 + 16
        /// The sealed part's bytes besides the ciphertext: the nonce and the tag.
        static let sealedOverhead = 24 + 16
    }
    static let overhead = Record.overhead
    private static let writeChunk = 1 << 20
    private static let windowBytes = 4 << 20
    /// At most this many records per window: what `open` makes of a small record (a place in a batch)
    /// can be much larger than the record.
    private static let windowRecords = 128
    private let memoryLimit: Int
    private let temporaryFolder: String
    private let key = SecretBytes.random(count: 32, guarded: true)
    private let noncePrefix = Random.bytes(16) + [UInt8](repeating: 0, count: 8)
    private let sealed = Atomic<UInt64>(0)
    private var held: [[UInt8]] = []
    private var heldBytes = 0
    private var spill: Spill?

    /// Where one spilled record is in the temporary file.
    private struct Place {
        let offset: UInt64
        let length: UInt32
    }

    /// The spilled records: the file, where each record is, and what is not written yet.
    private final class Spill: @unchecked Sendable {
        let fd: OwnedFD
        var places: [Place] = []
        var end: UInt64 = 0
        var pending: [UInt8] = []
        var pendingStart: UInt64 = 0

        init(fd: OwnedFD) { self.fd = fd }
    }

    /// `temporaryFolder` is where the file goes when records spill ($TMPDIR, else /tmp, by default).
    public init(memoryLimit: Int = defaultMemoryLimit, temporaryFolder: String? = nil) {
        self.memoryLimit = max(0, memoryLimit)
        self.temporaryFolder = temporaryFolder ?? Posix.temporaryFolder
    }

    /// Whether records have moved to the temporary file (for tests).
    public var hasSpilled: Bool { spill != nil }

    /// A record of `secret` (sealed) and `clear` (kept as is), for `add` (thread-safe). The nonce is a
    /// counter (never repeated under this spool's key) after 16 random bytes.
    public func seal(secret: UnsafeRawBufferPointer, clear: UnsafeRawBufferPointer) -> [UInt8] {
        precondition(secret.count <= Int(UInt32.max) - Self.overhead, "secret part too large")
        let n = sealed.add(1, ordering: .relaxed).oldValue
        var nonce = noncePrefix
        for i in 0 ..< 8 { nonce[16 + i] = UInt8(truncatingIfNeeded: n >> (8 * UInt64(i))) }
        let sealedLength = Record.sealedOverhead + secret.count
        return [UInt8](unsafeUninitializedCapacity: 4 + sealedLength + clear.count) { o, initialized in
            let out = UnsafeMutableRawBufferPointer(o)
            out.storeBytes(of: UInt32(sealedLength).littleEndian, toByteOffset: 0, as: UInt32.self)
            nonce.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: out[Record.nonce]).copyMemory(from: $0) }
            // Cannot fail: the key, nonce and output sizes are right by construction.
            try! XChaCha20Poly1305.seal(secret, nonce: nonce, key: key,
                                        into: UnsafeMutableRawBufferPointer(rebasing: out[Record.ciphertext ..< 4 + sealedLength]))
            if clear.count > 0 { (out.baseAddress! + 4 + sealedLength).copyMemory(from: clear.baseAddress!, byteCount: clear.count) }
            initialized = out.count
        }
    }

    /// Takes a record made by `seal`. Throws only when the temporary file cannot be made or written.
    public func add(_ record: [UInt8]) throws {
        precondition(record.count >= Self.overhead, "not a record made by seal")
        if let spill {
            try append(record, to: spill)
            return
        }
        heldBytes += record.count
        held.append(record)
        if heldBytes > memoryLimit {
            let spill = try Spill(fd: makeTemporaryFile())
            self.spill = spill
            for record in held { try append(record, to: spill) }
            held = []
            heldBytes = 0
        }
    }

    /// Calls `open` with the secret part (in wiped memory) and the clear part of every record, on
    /// `threads` threads, a window of a few MiB of records at a time, then `body` on the caller's
    /// thread with each result (in place, so that it can wipe it), every record once, in a uniformly
    /// random order; then forgets the records. A record that does not unseal (the temporary file was altered) stops everything.
    public func drain<T>(threads: Int = 1, open: @escaping @Sendable (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> T,
                         _ body: (inout T) throws -> Void) throws {
        let count: Int
        var recordLength: (Int) -> Int
        if let spill {
            try flush(spill)
            count = spill.places.count
            var rng = SystemRandom()
            spill.places.shuffle(using: &rng)
            recordLength = { Int(spill.places[$0].length) }
        } else {
            var rng = SystemRandom()
            held.shuffle(using: &rng)
            count = held.count
            let held = self.held
            recordLength = { held[$0].count }
        }
        defer {
            held = []
            heldBytes = 0
            spill = nil
        }
        var start = 0
        while start < count {
            // A window: up to windowBytes and windowRecords of records (at least one).
            var end = start, bytes = 0
            while end < count && (end == start || (bytes + recordLength(end) <= Self.windowBytes && end - start < Self.windowRecords)) {
                bytes += recordLength(end)
                end += 1
            }
            // Each result is handed over in place, so that `body` can wipe what it holds.
            var results = try openWindow(start ..< end, threads: threads, open: open)
            for i in results.indices { try body(&results[i]) }
            start = end
        }
    }

    /// What `open` made of one record, or why the record could not be read.
    private final class Slot<T>: @unchecked Sendable {
        var value: T?
        var failure: Error?
    }

    private func openWindow<T>(_ range: Range<Int>, threads: Int,
                               open: @escaping @Sendable (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> T) throws -> [T] {
        let slots = range.map { _ in Slot<T>() }
        let spill = self.spill
        let held = self.held
        let work: @Sendable (Int) -> Void = { k in
            let i = range.lowerBound + k
            var record: [UInt8]
            if let spill {
                let place = spill.places[i]
                record = [UInt8](repeating: 0, count: Int(place.length))
                do {
                    let got = try record.withUnsafeMutableBytes { (b) in
                        try Posix.read(spill.fd.raw, into: b, at: Int(place.offset), path: "the temporary file of review")
                    }
                    guard got == record.count else {
                        throw ReadingError(.temporaryFileAltered, "cannot read back the temporary file of review: it is shorter than written")
                    }
                } catch {
                    slots[k].failure = error
                    return
                }
            } else {
                record = held[i]
            }
            record.withUnsafeBytes { r in
                let sealedLength = Int(UInt32(littleEndian: r.loadUnaligned(fromByteOffset: Record.sealedLength.lowerBound, as: UInt32.self)))
                guard sealedLength >= Record.sealedOverhead, 4 + sealedLength <= r.count else {
                    slots[k].failure = Self.altered
                    return
                }
                var secret = SecretBytes(count: sealedLength - Record.sealedOverhead)
                let ok = secret.withUnsafeMutableBytes { p in
                    (try? XChaCha20Poly1305.open(UnsafeRawBufferPointer(rebasing: r[Record.ciphertext ..< 4 + sealedLength]),
                                                 nonce: Array(r[Record.nonce]), key: self.key, into: p)) != nil
                }
                guard ok else {
                    slots[k].failure = Self.altered
                    return
                }
                slots[k].value = secret.withUnsafeBytes { open($0, UnsafeRawBufferPointer(rebasing: r[(4 + sealedLength)...])) }
            }
        }
        if threads > 1 && range.count > 1 {
            DispatchQueue.concurrentPerform(iterations: range.count, execute: work)
        } else {
            for k in 0 ..< range.count { work(k) }
        }
        return try slots.map { slot in
            if let failure = slot.failure { throw failure }
            return slot.value!
        }
    }

    private static var altered: ReadingError {
        ReadingError(.temporaryFileAltered, "the temporary file of review was altered while chorus ran; nothing more is shown")
    }

    private func append(_ sealed: [UInt8], to spill: Spill) throws {
        guard sealed.count <= Int(UInt32.max) else { throw ReadingError(.entryTooLarge, "an entry is too large to show") }
        spill.places.append(Place(offset: spill.end, length: UInt32(sealed.count)))
        spill.end += UInt64(sealed.count)
        spill.pending.append(contentsOf: sealed)
        if spill.pending.count >= Self.writeChunk { try flush(spill) }
    }

    private func flush(_ spill: Spill) throws {
        let n = spill.pending.count
        guard n > 0 else { return }
        do {
            try spill.pending.withUnsafeBytes { (b) in try Posix.writeAll(spill.fd.raw, b, at: Int(spill.pendingStart)) }
        } catch {
            throw SystemError(SystemError.kind(of: Errno.code(of: error)),
                              "cannot write the temporary file of review in \(Posix.shown(temporaryFolder)): \(SystemError.reason(Errno.code(of: error))) (set TMPDIR to a folder with more room)",
                              errno: Errno.code(of: error))
        }
        spill.pendingStart += UInt64(n)
        spill.pending.removeAll(keepingCapacity: true)
    }

    private func makeTemporaryFile() throws -> OwnedFD {
        switch Posix.unnamedTemporaryFile(in: temporaryFolder, prefix: "chorus-review-") {
        case let .success(fd): return fd
        case let .failure(e):
            throw SystemError(SystemError.kind(of: e.code),
                              "cannot create a temporary file in \(Posix.shown(temporaryFolder)) to shuffle the output: \(SystemError.reason(e.code)) (set TMPDIR to a writable folder)",
                              errno: e.code)
        }
    }
}
