/// The one big-endian reader and writer of the wire formats: every `u32` and `u64` of
/// docs/FORMAT.md is read and written here.
public enum BigEndian {
    /// The `u32` at `offset` of `buffer` (the caller has checked the bounds).
    @inline(__always)
    public static func u32(_ buffer: UnsafeRawBufferPointer, at offset: Int) -> UInt32 {
        (UInt32(buffer[offset]) << 24) | (UInt32(buffer[offset + 1]) << 16) | (UInt32(buffer[offset + 2]) << 8) | UInt32(buffer[offset + 3])
    }

    /// The `u64` at `offset` of `buffer` (the caller has checked the bounds).
    @inline(__always)
    public static func u64(_ buffer: UnsafeRawBufferPointer, at offset: Int) -> UInt64 {
        (UInt64(u32(buffer, at: offset)) << 32) | UInt64(u32(buffer, at: offset + 4))
    }

    /// Writes `v` at `offset` of `buffer` (the caller has checked the bounds).
    @inline(__always)
    public static func store(_ v: UInt32, into buffer: UnsafeMutableRawBufferPointer, at offset: Int) {
        buffer[offset] = UInt8(v >> 24)
        buffer[offset + 1] = UInt8((v >> 16) & 0xff)
        buffer[offset + 2] = UInt8((v >> 8) & 0xff)
        buffer[offset + 3] = UInt8(v & 0xff)
    }

    public static func append(_ v: UInt32, to out: inout [UInt8]) {
        out.append(contentsOf: [UInt8(v >> 24), UInt8((v >> 16) & 0xff), UInt8((v >> 8) & 0xff), UInt8(v & 0xff)])
    }

    public static func append(_ v: UInt64, to out: inout [UInt8]) {
        append(UInt32(v >> 32), to: &out)
        append(UInt32(v & 0xffff_ffff), to: &out)
    }

    /// The 4 bytes of `v`.
    public static func bytes(_ v: UInt32) -> [UInt8] {
        var out: [UInt8] = []
        append(v, to: &out)
        return out
    }

    /// The 8 bytes of `v`.
    public static func bytes(_ v: UInt64) -> [UInt8] {
        var out: [UInt8] = []
        append(v, to: &out)
        return out
    }
}

/// Reads big-endian integers and byte runs from a buffer, failing instead of reading past its end.
public struct ByteReader {
    public let buffer: UnsafeRawBufferPointer
    public private(set) var offset = 0
    let what: String

    public init(_ buffer: UnsafeRawBufferPointer, what: String) {
        self.buffer = buffer
        self.what = what
    }

    public var remaining: Int { buffer.count - offset }

    public mutating func bytes(_ n: Int) throws(FormatError) -> UnsafeRawBufferPointer {
        guard n >= 0, n <= remaining else { throw .truncated(what: what) }
        let out = UnsafeRawBufferPointer(rebasing: buffer[offset ..< offset + n])
        offset += n
        return out
    }

    public mutating func array(_ n: Int) throws(FormatError) -> [UInt8] { Array(try bytes(n)) }

    public mutating func u8() throws(FormatError) -> UInt8 { try bytes(1)[0] }

    public mutating func u32() throws(FormatError) -> UInt32 { BigEndian.u32(try bytes(4), at: 0) }

    public mutating func u64() throws(FormatError) -> UInt64 { BigEndian.u64(try bytes(8), at: 0) }
}

/// Lowercase hexadecimal.
public enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    public static func encode<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes exactly lowercase hex; anything else (odd length, upper case, other characters) is nil.
    public static func decode(_ text: some StringProtocol) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(utf8.count / 2)
        var i = 0
        while i < utf8.count {
            guard let hi = value(utf8[i]), let lo = value(utf8[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }

    private static func value(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0") ... UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a") ... UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        default: return nil
        }
    }
}

/// Crockford base32, most significant bit first (no padding characters).
public enum Base32 {
    public static let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ".utf8)

    /// Encodes the bits of `bytes` followed by zero bits up to a multiple of 5.
    public static func encode(_ bytes: [UInt8]) -> String {
        var out = [UInt8]()
        var acc: UInt32 = 0
        var bits = 0
        for b in bytes {
            acc = (acc << 8) | UInt32(b)
            bits += 8
            while bits >= 5 {
                bits -= 5
                out.append(alphabet[Int((acc >> UInt32(bits)) & 31)])
            }
        }
        if bits > 0 { out.append(alphabet[Int((acc << UInt32(5 - bits)) & 31)]) }
        return String(decoding: out, as: UTF8.self)
    }

    /// The 5-bit value of an upper-case alphabet character, or nil.
    public static func value(_ c: UInt8) -> UInt8? {
        guard let i = alphabet.firstIndex(of: c) else { return nil }
        return UInt8(i)
    }
}

/// Standard base64 (RFC 4648) with `=` padding, decoded strictly: the canonical encoding only.
public enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    public static func encode(_ bytes: [UInt8]) -> String {
        var out = [UInt8]()
        var i = 0
        while i + 3 <= bytes.count {
            let v = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
            out += [alphabet[Int(v >> 18)], alphabet[Int((v >> 12) & 63)], alphabet[Int((v >> 6) & 63)], alphabet[Int(v & 63)]]
            i += 3
        }
        let rest = bytes.count - i
        if rest == 1 {
            let v = UInt32(bytes[i]) << 16
            out += [alphabet[Int(v >> 18)], alphabet[Int((v >> 12) & 63)], UInt8(ascii: "="), UInt8(ascii: "=")]
        } else if rest == 2 {
            let v = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8
            out += [alphabet[Int(v >> 18)], alphabet[Int((v >> 12) & 63)], alphabet[Int((v >> 6) & 63)], UInt8(ascii: "=")]
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes, or nil when the text is not the canonical encoding of some bytes.
    public static func decode(_ text: some StringProtocol) -> [UInt8]? {
        let s = Array(text.utf8)
        guard s.count % 4 == 0 else { return nil }
        var out = [UInt8]()
        var i = 0
        while i < s.count {
            let last = i + 4 == s.count
            var vals = [UInt32](repeating: 0, count: 4)
            var pad = 0
            for j in 0 ..< 4 {
                let c = s[i + j]
                if c == UInt8(ascii: "=") {
                    guard last, j >= 2 else { return nil }
                    pad += 1
                } else {
                    guard pad == 0, let k = alphabet.firstIndex(of: c) else { return nil }
                    vals[j] = UInt32(k)
                }
            }
            let v = vals[0] << 18 | vals[1] << 12 | vals[2] << 6 | vals[3]
            out.append(UInt8(v >> 16))
            if pad < 2 { out.append(UInt8((v >> 8) & 0xff)) }
            if pad < 1 { out.append(UInt8(v & 0xff)) }
            // Canonical: the unused bits of the last group must be zero.
            if pad == 2 && (v & 0xffff) != 0 { return nil }
            if pad == 1 && (v & 0xff) != 0 { return nil }
            i += 4
        }
        return out
    }
}
