import ChorusSystem
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Recognises the entries already handed out: a set of 64-bit fingerprints (keyed SipHash of id and
/// header MAC), exact up to the birthday bound of 64 bits (about 3·10⁻⁸ for a million entries; a
/// collision could only drop an entry, and nobody can aim for one, since the key is random per
/// process and never leaves it). Only an entry whose id and MAC both match one already handed out is
/// a copy, so an envelope planted with a real id (whose MAC cannot be the real one's without its
/// keys) never hides the real entry.
///
/// Memory stays bounded, whatever the number of entries. The first `memoryLimit` fingerprints live in
/// a `Set`. Past that they are merged, `memoryLimit` at a time, into one sorted file (an unlinked
/// temporary file in `$TMPDIR`, else /tmp: 8 bytes per entry, nothing but these keyed hashes, gone
/// with the process), read and written sequentially. A lookup checks the set, then a Bloom filter of
/// fixed size (1 MiB) over the file, and reads the file (one 4 KiB block, found through a sparse
/// index of 8 bytes per 512 entries) only when the filter says the fingerprint may be there: for a
/// new entry that is rare up to millions of entries, and past that it costs time, never memory or
/// exactness. If no temporary file can be made, the set simply stays in memory.
final class CopyFilter: @unchecked Sendable {
    static let defaultMemoryLimit = 1 << 15
    private let lock = NSLock()
    /// Every fingerprint while there is no file; afterwards, those not yet merged into it.
    private var memory = Set<UInt64>()
    private var file: SortedFingerprintFile?
    private var bloom: [UInt64] = []
    private static let bloomWords = 1 << 17 // 2^23 bits, 1 MiB
    private var fileUnavailable = false
    private let memoryLimit: Int

    init(memoryLimit: Int) {
        self.memoryLimit = max(1, memoryLimit)
    }

    /// True the first time `fingerprint` is seen. Throws only when the temporary file fails (I/O).
    func insert(_ fingerprint: UInt64) throws -> Bool {
        lock.lock(); defer { lock.unlock() }
        if memory.contains(fingerprint) { return false }
        if let file, bloomMayContain(fingerprint), try file.contains(fingerprint) { return false }
        memory.insert(fingerprint)
        if memory.count >= memoryLimit && !fileUnavailable {
            if file == nil {
                file = SortedFingerprintFile()
                if file == nil { fileUnavailable = true; return true }
                bloom = [UInt64](repeating: 0, count: Self.bloomWords)
            }
            let sorted = memory.sorted()
            try file!.merge(sorted)
            for v in sorted { bloomAdd(v) }
            memory.removeAll(keepingCapacity: true)
        }
        return true
    }

    /// Four bit positions from the two halves of the (already uniformly random) fingerprint.
    @inline(__always) private func bloomPositions(_ v: UInt64, _ body: (Int) -> Void) {
        let h1 = UInt32(truncatingIfNeeded: v), h2 = UInt32(truncatingIfNeeded: v >> 32) | 1
        let bits = UInt32(Self.bloomWords * 64)
        for i in 0 ..< 4 as Range<UInt32> { body(Int((h1 &+ i &* h2) % bits)) }
    }

    private func bloomAdd(_ v: UInt64) {
        bloomPositions(v) { bloom[$0 >> 6] |= 1 << UInt64($0 & 63) }
    }

    private func bloomMayContain(_ v: UInt64) -> Bool {
        var all = true
        bloomPositions(v) { if bloom[$0 >> 6] & (1 << UInt64($0 & 63)) == 0 { all = false } }
        return all
    }

    /// Whether the fingerprints have moved to a file (for tests).
    var usesFile: Bool { lock.lock(); defer { lock.unlock() }; return file != nil }
}

/// A sorted set of 64-bit values in an unlinked temporary file, with a sparse index in memory (the
/// first value of every block of 512). Merging streams the old file into a new one. Not thread-safe.
final class SortedFingerprintFile {
    private static let blockValues = 512
    private static let chunkValues = 1 << 15
    private var fd: OwnedFD
    private var count = 0
    private var index: [UInt64] = []
    private var block = [UInt64](repeating: 0, count: SortedFingerprintFile.blockValues)

    /// Nil when no temporary file can be made.
    init?() {
        guard let fd = Self.makeTemporaryFile() else { return nil }
        self.fd = fd
    }

    private static func makeTemporaryFile() -> OwnedFD? {
        try? Posix.unnamedTemporaryFile(in: Posix.temporaryFolder, prefix: "chorus-copies-").get()
    }

    private static func ioError(_ what: String, _ code: Int32) -> SystemError {
        SystemError(SystemError.kind(of: code), "cannot \(what) the temporary file that recognises copies of entries: \(SystemError.reason(code))", errno: code)
    }

    /// Reads `n` values at value offset `at` of `fd` into `buffer`.
    private static func read(_ fd: OwnedFD, _ buffer: inout [UInt64], _ n: Int, at: Int) throws {
        let want = n * 8
        let got: Int
        do {
            got = try buffer.withUnsafeMutableBytes { (b) in
                try Posix.read(fd.raw, into: UnsafeMutableRawBufferPointer(rebasing: b[0 ..< want]), at: at * 8)
            }
        } catch {
            throw ioError("read", Errno.code(of: error))
        }
        guard got == want else { throw ioError("read", EIO) }
    }

    private static func write(_ fd: OwnedFD, _ buffer: [UInt64], _ n: Int, at: Int) throws {
        do {
            try buffer.withUnsafeBytes { (b) in try Posix.writeAll(fd.raw, UnsafeRawBufferPointer(rebasing: b[0 ..< n * 8]), at: at * 8) }
        } catch {
            throw ioError("write", Errno.code(of: error))
        }
    }

    func contains(_ v: UInt64) throws -> Bool {
        guard count > 0 else { return false }
        // The last block whose first value is <= v.
        var lo = 0, hi = index.count
        while hi - lo > 1 {
            let mid = (lo + hi) / 2
            if index[mid] <= v { lo = mid } else { hi = mid }
        }
        guard index[lo] <= v else { return false }
        let start = lo * Self.blockValues, n = min(Self.blockValues, count - start)
        try Self.read(fd, &block, n, at: start)
        var a = 0, b = n
        while a < b {
            let mid = (a + b) / 2
            if block[mid] < v { a = mid + 1 } else { b = mid }
        }
        return a < n && block[a] == v
    }

    /// Adds `sorted` (ascending, none already in the file) by writing a new file.
    func merge(_ sorted: [UInt64]) throws {
        guard let out = Self.makeTemporaryFile() else { throw Self.ioError("create", errno) }
        var newIndex: [UInt64] = []
        newIndex.reserveCapacity((count + sorted.count) / Self.blockValues + 1)
        var input = [UInt64](repeating: 0, count: Self.chunkValues)
        var output = [UInt64](repeating: 0, count: Self.chunkValues)
        var inCount = 0, inPos = 0, readSoFar = 0, newPos = 0, outCount = 0, written = 0
        do {
            func emit(_ v: UInt64) throws {
                if written + outCount == newIndex.count * Self.blockValues { newIndex.append(v) }
                output[outCount] = v
                outCount += 1
                if outCount == Self.chunkValues {
                    try Self.write(out, output, outCount, at: written)
                    written += outCount
                    outCount = 0
                }
            }
            while true {
                if inPos == inCount && readSoFar < count {
                    inCount = min(Self.chunkValues, count - readSoFar)
                    try Self.read(fd, &input, inCount, at: readSoFar)
                    readSoFar += inCount
                    inPos = 0
                }
                let hasOld = inPos < inCount, hasNew = newPos < sorted.count
                if !hasOld && !hasNew { break }
                if hasOld && (!hasNew || input[inPos] < sorted[newPos]) {
                    try emit(input[inPos]); inPos += 1
                } else {
                    try emit(sorted[newPos]); newPos += 1
                }
            }
            if outCount > 0 { try Self.write(out, output, outCount, at: written); written += outCount }
        }
        fd = out
        count = written
        index = newIndex
    }
}
