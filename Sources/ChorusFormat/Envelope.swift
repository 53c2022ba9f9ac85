/// The envelope v2 wire layout (docs/FORMAT.md section 5), without any cryptography: what can be
/// checked with no key, and the offsets a decrypter needs.
public enum EnvelopeFormat {
    public static let magic: [UInt8] = Array("CHORUS-E".utf8)
    public static let version: UInt8 = 2
    public static let idLength = 32

    /// The offsets of the fixed header (FORMAT.md 5.2).
    public enum Offset {
        public static let magic = 0
        public static let version = 8
        public static let id = 9
        public static let stanzaCount = 41
        public static let answersLength = 42
        public static let storyLength = 46
        public static let stanzas = 50
    }

    /// The 97-byte plaintext of a stanza (FORMAT.md 5.3): role ‖ MK ‖ AK ‖ SK.
    public enum Stanza {
        public static let role = 0
        public static let macKey = 1 ..< 33
        public static let answersKey = 33 ..< 65
        public static let storyKey = 65 ..< 97
    }

    public static let fixedHeaderLength = Offset.stanzas
    public static let stanzaPlaintextLength = 97
    public static let stanzaLength = 145
    public static let maxStanzas = 16
    public static let macLength = 32
    public static let tagLength = 16
    public static let answersMinimum = 256, answersMaximum = 65536
    public static let storyMinimum = 4096, storyMaximum = 16_777_216
    /// The smallest possible envelope: one stanza, both sections at their minimum.
    public static let minimumLength = fixedHeaderLength + stanzaLength + macLength + answersMinimum + tagLength + storyMinimum + tagLength
    /// The largest possible envelope.
    public static let maximumLength = fixedHeaderLength + maxStanzas * stanzaLength + macLength + answersMaximum + tagLength + storyMaximum + tagLength

    /// The nonce of a section: 23 zero bytes and the section number.
    public static func nonce(section: UInt8) -> [UInt8] { [UInt8](repeating: 0, count: 23) + [section] }
    public static let answersSection: UInt8 = 1
    public static let storySection: UInt8 = 2
    /// `nonce(section:)` of each section, made once.
    public static let answersNonce = nonce(section: answersSection)
    public static let storyNonce = nonce(section: storySection)

    /// The total length of an envelope with `n` stanzas and padded lengths `pa`, `ps`.
    public static func totalLength(stanzas n: Int, answers pa: Int, story ps: Int) -> Int {
        fixedHeaderLength + n * stanzaLength + macLength + pa + tagLength + ps + tagLength
    }

    /// The header (bytes 0 ..< H): magic, version, id, counts, lengths and stanzas.
    public static func header(id: [UInt8], stanzas: [[UInt8]], answersLength pa: Int, storyLength ps: Int) -> [UInt8] {
        precondition(id.count == idLength && !stanzas.isEmpty && stanzas.count <= maxStanzas)
        var out = magic
        out.append(version)
        out += id
        out.append(UInt8(stanzas.count))
        BigEndian.append(UInt32(pa), to: &out)
        BigEndian.append(UInt32(ps), to: &out)
        for s in stanzas {
            precondition(s.count == stanzaLength)
            out += s
        }
        return out
    }
}

/// The offsets of a structurally valid envelope inside its bytes. Obtained only from `parse`, which
/// checks everything that can be checked without a key (FORMAT.md 5.6 step 1).
public struct EnvelopeLayout: Sendable, Equatable {
    public let id: [UInt8]
    public let stanzaCount: Int
    public let answersLength: Int
    public let storyLength: Int

    /// End of the header (start of the MAC).
    public var headerLength: Int { EnvelopeFormat.fixedHeaderLength + stanzaCount * EnvelopeFormat.stanzaLength }
    /// End of the full header (header and MAC).
    public var fullHeaderLength: Int { headerLength + EnvelopeFormat.macLength }
    public func stanzaRange(_ i: Int) -> Range<Int> {
        let start = EnvelopeFormat.fixedHeaderLength + i * EnvelopeFormat.stanzaLength
        return start ..< start + EnvelopeFormat.stanzaLength
    }
    public var macRange: Range<Int> { headerLength ..< fullHeaderLength }
    public var answersRange: Range<Int> { fullHeaderLength ..< fullHeaderLength + answersLength + EnvelopeFormat.tagLength }
    public var storyRange: Range<Int> { answersRange.upperBound ..< answersRange.upperBound + storyLength + EnvelopeFormat.tagLength }
    public var totalLength: Int { storyRange.upperBound }

    /// Checks the framing of an envelope: magic, version, counts, lengths, exact size, distinct stanzas.
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(FormatError) -> EnvelopeLayout {
        let what = "envelope"
        guard bytes.count >= EnvelopeFormat.fixedHeaderLength else {
            if bytes.count >= 8, !bytes.prefix(8).elementsEqual(EnvelopeFormat.magic) { throw .badMagic(what: "Chorus envelope") }
            throw .truncated(what: what)
        }
        guard bytes.prefix(8).elementsEqual(EnvelopeFormat.magic) else { throw .badMagic(what: "Chorus envelope") }
        let version = bytes[EnvelopeFormat.Offset.version]
        guard version == EnvelopeFormat.version else { throw .unsupportedVersion(what: what, version: Int(version)) }
        let id = Array(bytes[EnvelopeFormat.Offset.id ..< EnvelopeFormat.Offset.id + EnvelopeFormat.idLength])
        let n = Int(bytes[EnvelopeFormat.Offset.stanzaCount])
        guard (1 ... EnvelopeFormat.maxStanzas).contains(n) else {
            throw .invalidField(what: what, why: "stanza count \(n) is outside 1...\(EnvelopeFormat.maxStanzas)")
        }
        let pa = Int(BigEndian.u32(bytes, at: EnvelopeFormat.Offset.answersLength))
        let ps = Int(BigEndian.u32(bytes, at: EnvelopeFormat.Offset.storyLength))
        guard Padme.isValidSectionLength(pa, minimum: EnvelopeFormat.answersMinimum, maximum: EnvelopeFormat.answersMaximum) else {
            throw .invalidField(what: what, why: "answers section length \(pa) is not a valid padded length")
        }
        guard Padme.isValidSectionLength(ps, minimum: EnvelopeFormat.storyMinimum, maximum: EnvelopeFormat.storyMaximum) else {
            throw .invalidField(what: what, why: "story section length \(ps) is not a valid padded length")
        }
        let layout = EnvelopeLayout(id: id, stanzaCount: n, answersLength: pa, storyLength: ps)
        if bytes.count < layout.totalLength { throw .truncated(what: what) }
        if bytes.count > layout.totalLength { throw .trailingBytes(what: what) }
        for i in 0 ..< n {
            let a = UnsafeRawBufferPointer(rebasing: bytes[layout.stanzaRange(i)])
            for j in (i + 1) ..< n where a.elementsEqual(UnsafeRawBufferPointer(rebasing: bytes[layout.stanzaRange(j)])) {
                throw .duplicateStanza
            }
        }
        return layout
    }

    public static func parse(_ bytes: [UInt8]) throws(FormatError) -> EnvelopeLayout {
        do {
            return try bytes.withUnsafeBytes { try parse($0) }
        } catch let e as FormatError {
            throw e
        } catch {
            fatalError("unreachable: \(error)")
        }
    }

    /// The declared total length from the first 50 bytes, or nil when they are not a v2 header
    /// (lets a stream reader know how much to read).
    public static func declaredLength(ofHeader prefix: UnsafeRawBufferPointer) -> Int? {
        guard prefix.count >= EnvelopeFormat.fixedHeaderLength, prefix.prefix(8).elementsEqual(EnvelopeFormat.magic) else { return nil }
        let n = Int(prefix[EnvelopeFormat.Offset.stanzaCount])
        guard (1 ... EnvelopeFormat.maxStanzas).contains(n) else { return nil }
        return EnvelopeFormat.totalLength(stanzas: n, answers: Int(BigEndian.u32(prefix, at: EnvelopeFormat.Offset.answersLength)),
                                          story: Int(BigEndian.u32(prefix, at: EnvelopeFormat.Offset.storyLength)))
    }
}

/// A section plaintext: `u32 L ‖ content ‖ zeros` (FORMAT.md 5.5).
public enum SectionPadding {
    /// Builds the padded plaintext for `content`, into `output` (which must be `sectionLength` long).
    public static func fill(_ output: UnsafeMutableRawBufferPointer, content: UnsafeRawBufferPointer) {
        precondition(output.count >= 4 + content.count)
        BigEndian.store(UInt32(content.count), into: output, at: 0)
        if content.count > 0 { UnsafeMutableRawBufferPointer(rebasing: output[4 ..< 4 + content.count]).copyMemory(from: content) }
        for i in (4 + content.count) ..< output.count { output[i] = 0 }
    }

    /// The content range inside a padded plaintext, after checking length, zero padding and canonical size.
    public static func contentRange(_ plaintext: UnsafeRawBufferPointer, minimum: Int, what: String) throws(FormatError) -> Range<Int> {
        guard plaintext.count >= 4 else { throw .truncated(what: what) }
        let l = Int(BigEndian.u32(plaintext, at: 0))
        guard l <= plaintext.count - 4 else { throw .invalidField(what: what, why: "declared length \(l) exceeds the section") }
        var acc: UInt8 = 0
        for i in (4 + l) ..< plaintext.count { acc |= plaintext[i] }
        guard acc == 0 else { throw .nonCanonical(what: "\(what) padding") }
        guard plaintext.count == Padme.sectionLength(content: l, minimum: minimum) else { throw .nonCanonical(what: "\(what) padded length") }
        return 4 ..< 4 + l
    }
}
