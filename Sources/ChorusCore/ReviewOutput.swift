import ChorusCrypto
import ChorusFormat
import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `chorus review --format jsonl`: one JSON object per entry, written byte by byte (no Foundation
/// encoder, no intermediate strings). The bytes are those of `JSONEncoder` with `.sortedKeys` and
/// `.withoutEscapingSlashes` (a test compares the two): keys in sorted order, `"` `\` and control
/// characters escaped, everything else (all of UTF-8) as is.
public enum ReviewJSON {
    /// `{"answers":{…},"arrival":"YYYY-MM","quotable":true|false,"story":"…"|null}` and a newline.
    /// `story` is `null` (not left out) when the key opened the answers only, so every line has the
    /// same keys. Bytes of the story that are not UTF-8 become U+FFFD, as a `String` would.
    public static func line(answers: AnswersText, story: UnsafeRawBufferPointer?) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity((story?.count ?? 0) + 512)
        out.append(contentsOf: #"{"answers":{"#.utf8)
        for (n, id) in answers.fields.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }).enumerated() {
            if n > 0 { out.append(UInt8(ascii: ",")) }
            appendString(id.utf8, to: &out)
            out.append(contentsOf: ":[".utf8)
            for (m, value) in answers.fields[id]!.enumerated() {
                if m > 0 { out.append(UInt8(ascii: ",")) }
                appendString(value.utf8, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        }
        out.append(contentsOf: #"},"arrival":"#.utf8)
        appendString(answers.arrivalMonth.utf8, to: &out)
        out.append(contentsOf: #","quotable":"#.utf8)
        out.append(contentsOf: (ReviewText.isCountsOnly(answers) ? "false" : "true").utf8)
        out.append(contentsOf: #","story":"#.utf8)
        if let story {
            if !appendASCIIString(story, to: &out) {
                // Not all ASCII: decoding validates and repairs bad bytes as a String would.
                var text = String(decoding: story, as: UTF8.self)
                text.withUTF8 { appendString(UnsafeRawBufferPointer($0), to: &out) }
            }
        } else {
            out.append(contentsOf: "null".utf8)
        }
        out.append(contentsOf: "}\n".utf8)
        return out
    }

    /// `"` + the bytes, escaped as JSON requires + `"`. Runs of bytes that need no escape are found
    /// eight at a time and copied whole.
    static func appendString(_ bytes: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        let n = bytes.count
        var runStart = 0, i = 0
        while i < n {
            if i + 8 <= n && !mayNeedEscape(bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self)) {
                i += 8
                continue
            }
            let b = bytes[i]
            if b >= 0x20 && b != UInt8(ascii: "\"") && b != UInt8(ascii: "\\") {
                i += 1
                continue
            }
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[runStart ..< i]))
            appendEscape(b, to: &out)
            i += 1
            runStart = i
        }
        out.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[runStart ..< n]))
        out.append(UInt8(ascii: "\""))
    }

    /// `appendString` for bytes that are all ASCII (then valid UTF-8 as they are); false, with `out`
    /// unchanged, as soon as a byte is not.
    static func appendASCIIString(_ bytes: UnsafeRawBufferPointer, to out: inout [UInt8]) -> Bool {
        let n = bytes.count
        var i = 0
        while i + 8 <= n {
            if bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 != 0 { return false }
            i += 8
        }
        while i < n {
            if bytes[i] >= 0x80 { return false }
            i += 1
        }
        appendString(bytes, to: &out)
        return true
    }

    static func appendString(_ text: String.UTF8View, to out: inout [UInt8]) {
        var s = String(text)
        s.withUTF8 { appendString(UnsafeRawBufferPointer($0), to: &out) }
    }

    /// Whether any of the eight bytes of `w` is below 0x20, `"` or `\` (exact for "none": the
    /// classic SWAR tests for a zero byte and for a byte less than n).
    @inline(__always) static func mayNeedEscape(_ w: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
        let control = (w &- ones &* 0x20) & ~w & highs
        let q = w ^ (ones &* 0x22), quote = (q &- ones) & ~q & highs
        let s = w ^ (ones &* 0x5C), backslash = (s &- ones) & ~s & highs
        return (control | quote | backslash) != 0
    }

    private static let hex = Array("0123456789abcdef".utf8)

    @inline(__always) static func appendEscape(_ b: UInt8, to out: inout [UInt8]) {
        switch b {
        case UInt8(ascii: "\""): out.append(contentsOf: #"\""#.utf8)
        case UInt8(ascii: "\\"): out.append(contentsOf: #"\\"#.utf8)
        case 0x08: out.append(contentsOf: #"\b"#.utf8)
        case 0x0C: out.append(contentsOf: #"\f"#.utf8)
        case 0x0A: out.append(contentsOf: #"\n"#.utf8)
        case 0x0D: out.append(contentsOf: #"\r"#.utf8)
        case 0x09: out.append(contentsOf: #"\t"#.utf8)
        default:
            out.append(contentsOf: #"\u00"#.utf8)
            out.append(hex[Int(b >> 4)])
            out.append(hex[Int(b & 0x0F)])
        }
    }
}

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
    /// u32 length of the secret part ‖ nonce ‖ ciphertext ‖ tag, then the clear part.
    static let overhead = 4 + 24 + 16
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

    /// The spilled records: the file, where each record is, and what is not written yet.
    private final class Spill: @unchecked Sendable {
        let fd: Int32
        var offsets: [UInt64] = []
        var lengths: [UInt32] = []
        var end: UInt64 = 0
        var pending: [UInt8] = []
        var pendingStart: UInt64 = 0

        init(fd: Int32) { self.fd = fd }
        deinit { close(fd) }
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
        let sealedLength = 24 + secret.count + 16
        return [UInt8](unsafeUninitializedCapacity: 4 + sealedLength + clear.count) { o, initialized in
            let out = UnsafeMutableRawBufferPointer(o)
            out.storeBytes(of: UInt32(sealedLength).littleEndian, toByteOffset: 0, as: UInt32.self)
            nonce.withUnsafeBytes { (out.baseAddress! + 4).copyMemory(from: $0.baseAddress!, byteCount: 24) }
            // Cannot fail: the key, nonce and output sizes are right by construction.
            try! XChaCha20Poly1305.seal(secret, nonce: nonce, key: key, into: UnsafeMutableRawBufferPointer(rebasing: out[28 ..< 4 + sealedLength]))
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
            count = spill.offsets.count
            var i = count
            while i > 1 {
                let j = Int(Random.uniform(UInt32(i)))
                i -= 1
                spill.offsets.swapAt(i, j)
                spill.lengths.swapAt(i, j)
            }
            recordLength = { Int(spill.lengths[$0]) }
        } else {
            Random.shuffle(&held)
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
        var failure: ChorusError?
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
                record = [UInt8](repeating: 0, count: Int(spill.lengths[i]))
                do {
                    let got = try record.withUnsafeMutableBytes {
                        try Posix.preadFully(spill.fd, into: $0, at: Int(spill.offsets[i]), path: "the temporary file of review")
                    }
                    guard got == record.count else { throw ChorusError.io("cannot read back the temporary file of review: it is shorter than written") }
                } catch let e as ChorusError {
                    slots[k].failure = e
                    return
                } catch {
                    slots[k].failure = ChorusError.io("cannot read back the temporary file of review: \(error)")
                    return
                }
            } else {
                record = held[i]
            }
            record.withUnsafeBytes { r in
                let sealedLength = Int(UInt32(littleEndian: r.loadUnaligned(fromByteOffset: 0, as: UInt32.self)))
                guard sealedLength >= 40, 4 + sealedLength <= r.count else {
                    slots[k].failure = Self.altered
                    return
                }
                var secret = SecretBytes(count: sealedLength - 40)
                let ok = secret.withUnsafeMutableBytes { p in
                    (try? XChaCha20Poly1305.open(UnsafeRawBufferPointer(rebasing: r[28 ..< 4 + sealedLength]), nonce: Array(r[4 ..< 28]),
                                                 key: self.key, into: p)) != nil
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

    private static var altered: ChorusError {
        ChorusError.io("the temporary file of review was altered while chorus ran; nothing more is shown")
    }

    private func append(_ sealed: [UInt8], to spill: Spill) throws {
        guard sealed.count <= Int(UInt32.max) else { throw ChorusError.data("an entry is too large to show") }
        spill.offsets.append(spill.end)
        spill.lengths.append(UInt32(sealed.count))
        spill.end += UInt64(sealed.count)
        spill.pending.append(contentsOf: sealed)
        if spill.pending.count >= Self.writeChunk { try flush(spill) }
    }

    private func flush(_ spill: Spill) throws {
        let n = spill.pending.count
        guard n > 0 else { return }
        if let e = spill.pending.withUnsafeBytes({ Posix.pwriteAll(spill.fd, $0, at: Int(spill.pendingStart)) }) {
            throw ChorusError(Posix.status(e),
                              "cannot write the temporary file of review in \(Posix.shown(temporaryFolder)): \(Posix.reason(e)) (set TMPDIR to a folder with more room)")
        }
        spill.pendingStart += UInt64(n)
        spill.pending.removeAll(keepingCapacity: true)
    }

    private func makeTemporaryFile() throws -> Int32 {
        switch Posix.unnamedTemporaryFile(in: temporaryFolder, prefix: "chorus-review-") {
        case let .success(fd): return fd
        case let .failure(e):
            throw ChorusError(Posix.status(e.code), "cannot create a temporary file in \(Posix.shown(temporaryFolder)) to shuffle the output: \(Posix.reason(e.code)) (set TMPDIR to a writable folder)")
        }
    }
}
