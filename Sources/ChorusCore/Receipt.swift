import ChorusCrypto
import ChorusFormat

/// A submitter's receipt (docs/FORMAT.md section 3): 128 random bits, shown once, in a form a person
/// can copy and read back, with a check value that catches typos before any lookup. The store keeps
/// only the entry id, a one-way hash of it.
public struct Receipt: Sendable, Equatable {
    public static let rawLength = 16
    static let checkPersonal = "chorus-rcpt-chk1"
    static let idPersonal = "chorus-receipt-1"

    public let raw: [UInt8]

    public init(raw: [UInt8]) throws {
        guard raw.count == Self.rawLength else { throw CoreError(.invalidReceipt, "a receipt must hold \(Self.rawLength) bytes") }
        self.raw = raw
    }

    /// A fresh random receipt.
    public static func generate() -> Receipt { try! Receipt(raw: Random.bytes(rawLength)) }

    /// The entry id: `PH("chorus-receipt-1", R)`.
    public var entryID: [UInt8] { try! BLAKE2b.personalHash(raw, personal: Self.idPersonal) }

    static func checkValue(_ raw: [UInt8]) -> UInt16 {
        let h = try! BLAKE2b.personalHash(raw, personal: checkPersonal)
        return (UInt16(h[0]) << 2) | UInt16(h[1] >> 6)
    }

    /// The 28 characters without separators.
    var compact: String {
        let c = Self.checkValue(raw)
        let check = [Base32.alphabet[Int(c >> 5)], Base32.alphabet[Int(c & 31)]]
        return Base32.encode(raw) + String(decoding: check, as: UTF8.self)
    }

    /// Seven groups of four upper-case characters joined by `-`.
    public var text: String {
        let c = Array(compact)
        return stride(from: 0, to: c.count, by: 4).map { String(c[$0 ..< min($0 + 4, c.count)]) }.joined(separator: "-")
    }

    /// Reads a receipt typed or pasted by a person. Dashes and spaces are ignored, case is folded, and
    /// `O`, `I`, `L` are read as `0`, `1`, `1`. A typo is reported without any lookup.
    public static func parse(_ input: String) throws -> Receipt {
        var symbols = [UInt8]()
        for scalar in input.unicodeScalars {
            switch scalar {
            case "-", " ", "\t", "\n", "\r": continue
            default: break
            }
            guard scalar.isASCII else { throw CoreError(.invalidReceipt, "the receipt contains a character that is not part of any receipt") }
            var c = UInt8(scalar.value)
            if (UInt8(ascii: "a") ... UInt8(ascii: "z")).contains(c) { c -= 32 }
            switch c {
            case UInt8(ascii: "O"): c = UInt8(ascii: "0")
            case UInt8(ascii: "I"), UInt8(ascii: "L"): c = UInt8(ascii: "1")
            default: break
            }
            guard let v = Base32.value(c) else { throw CoreError(.invalidReceipt, "the receipt contains a character that is not part of any receipt") }
            symbols.append(v)
        }
        guard symbols.count == 28 else {
            throw CoreError(.invalidReceipt, "a receipt has 28 letters and digits (7 groups of 4); this one has \(symbols.count)")
        }
        // 26 symbols carry 130 bits: the 128 bits of R and two zero bits.
        var acc: UInt32 = 0, bits = 0
        var raw = [UInt8]()
        for v in symbols[0 ..< 26] {
            acc = (acc << 5) | UInt32(v)
            bits += 5
            if bits >= 8 {
                bits -= 8
                raw.append(UInt8((acc >> UInt32(bits)) & 0xff))
            }
        }
        guard bits == 2, acc & 0b11 == 0 else { throw CoreError(.invalidReceipt, "this receipt has a typo: please check it letter by letter") }
        let check = (UInt16(symbols[26]) << 5) | UInt16(symbols[27])
        guard check == checkValue(raw) else { throw CoreError(.invalidReceipt, "this receipt has a typo: please check it letter by letter") }
        return try Receipt(raw: raw)
    }
}
