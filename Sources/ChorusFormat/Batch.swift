/// The batch file framing (docs/FORMAT.md section 6), without cryptography (the whole-file hash is
/// computed by the caller with BLAKE2b).
public enum BatchFormat {
    public static let magic: [UInt8] = Array("CHORUS-B".utf8)
    public static let version: UInt8 = 2

    /// The offsets of the fixed header (FORMAT.md 6).
    public enum Offset {
        public static let magic = 0
        public static let version = 8
        public static let entryCount = 9
        public static let tombstoneCount = 17
        public static let documentLength = 21
        public static let document = 25
    }

    public static let fixedHeaderLength = Offset.document
    /// The length prefix of each entry.
    public static let entryPrefixLength = 4
    /// The largest signed recipients document a batch carries (FORMAT.md 7.3).
    public static let maxDocumentLength = 4 << 20
    public static let hashLength = 32
    public static let idLength = 32
    /// The fewest bytes one entry can take in a batch: its length prefix and the smallest envelope.
    public static let minimumEntryLength = entryPrefixLength + EnvelopeFormat.minimumLength

    /// The header up to and including the tombstones: the counts, the store's signed recipients
    /// document (which carries its questionnaires) and the tombstones in ascending order.
    public static func header(entryCount: UInt64, document: [UInt8], tombstones: [[UInt8]]) -> [UInt8] {
        precondition(document.count <= maxDocumentLength && tombstones.allSatisfy { $0.count == idLength })
        var out = magic
        out.append(version)
        BigEndian.append(entryCount, to: &out)
        BigEndian.append(UInt32(tombstones.count), to: &out)
        BigEndian.append(UInt32(document.count), to: &out)
        out += document
        for t in tombstones.sorted(by: { $0.lexicographicallyPrecedes($1) }) { out += t }
        return out
    }

    /// The 4-byte length prefix of an entry.
    public static func entryPrefix(length: Int) -> [UInt8] { BigEndian.bytes(UInt32(length)) }
}

/// The fixed part of a batch header, checked against the real file size before anything is allocated.
public struct BatchHeader: Equatable, Sendable {
    public let entryCount: UInt64
    public let tombstoneCount: Int
    public let documentLength: Int

    /// Where the document starts, where the tombstones start, and where the entries start.
    public var documentOffset: Int { BatchFormat.fixedHeaderLength }
    public var tombstonesOffset: Int { documentOffset + documentLength }
    public var entriesOffset: Int { tombstonesOffset + tombstoneCount * BatchFormat.idLength }

    /// Parses the first 25 bytes and checks the counts against `fileSize`.
    public static func parse(_ prefix: UnsafeRawBufferPointer, fileSize: UInt64) throws(FormatError) -> BatchHeader {
        let what = "batch"
        if prefix.count >= 8, !prefix.prefix(8).elementsEqual(BatchFormat.magic) { throw .badMagic(what: "Chorus batch") }
        guard prefix.count >= BatchFormat.fixedHeaderLength else { throw .truncated(what: what) }
        var r = ByteReader(prefix, what: what)
        _ = try r.bytes(8)
        let v = try r.u8()
        guard v == BatchFormat.version else { throw .unsupportedVersion(what: what, version: Int(v)) }
        let e = try r.u64()
        let t = try r.u32()
        let c = try r.u32()
        guard c <= BatchFormat.maxDocumentLength else { throw .tooLarge(what: "batch recipients document", limit: BatchFormat.maxDocumentLength) }
        // Everything is checked in 64-bit arithmetic that cannot overflow: e < 2^64, but each entry
        // needs more than 4 KiB, so e is compared after dividing the room left.
        let fixed = UInt64(BatchFormat.fixedHeaderLength) + UInt64(c) + UInt64(t) * UInt64(BatchFormat.idLength) + UInt64(BatchFormat.hashLength)
        guard fixed <= fileSize else {
            throw .invalidField(what: what, why: "declares \(t) tombstones and a \(c)-byte recipients document, more than the file holds")
        }
        let room = fileSize - fixed
        guard e <= room / UInt64(BatchFormat.minimumEntryLength) else {
            throw .invalidField(what: what, why: "declares \(e) entries, more than its \(fileSize) bytes can hold")
        }
        return BatchHeader(entryCount: e, tombstoneCount: Int(t), documentLength: Int(c))
    }
}
