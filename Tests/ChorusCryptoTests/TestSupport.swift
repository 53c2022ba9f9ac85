import Testing
import ChorusCrypto

/// Bytes from a hex string (whitespace ignored). Test vectors only: traps on malformed hex.
func hex(_ string: String) -> [UInt8] {
    let digits = Array(string.filter { !$0.isWhitespace }.utf8)
    precondition(digits.count % 2 == 0, "odd hex length")
    func nibble(_ c: UInt8) -> UInt8 {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: preconditionFailure("bad hex digit")
        }
    }
    return stride(from: 0, to: digits.count, by: 2).map { nibble(digits[$0]) << 4 | nibble(digits[$0 + 1]) }
}

func hexString(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef")
    return String(bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 15)]] })
}

/// `bytes` with bit `bit` of byte `index` flipped.
func flipping(_ bytes: [UInt8], at index: Int, bit: Int = 0) -> [UInt8] {
    var b = bytes
    b[index] ^= UInt8(1) << UInt8(bit % 8)
    return b
}

/// Fixed, reproducible filler bytes (not random) of any length.
func pattern(_ count: Int, seed: UInt8 = 0) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed) &* 7 &+ 3) }
}

/// Expects `body` to throw `CryptoError.wrongLength` with these sizes.
func expectWrongLength(expected: Int, got: Int, sourceLocation: SourceLocation = #_sourceLocation,
                       _ body: () throws -> Void) {
    do {
        try body()
        Issue.record("expected CryptoError.wrongLength(expected: \(expected), got: \(got)), nothing was thrown",
                     sourceLocation: sourceLocation)
    } catch let error as CryptoError {
        guard case let .wrongLength(_, e, g) = error else {
            Issue.record("expected wrongLength, got \(error)", sourceLocation: sourceLocation)
            return
        }
        #expect(e == expected, "expected size", sourceLocation: sourceLocation)
        #expect(g == got, "given size", sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected CryptoError, got \(error)", sourceLocation: sourceLocation)
    }
}

/// Expects `body` to throw `CryptoError.invalidParameters` (any message).
func expectInvalidParameters(sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void) {
    do {
        try body()
        Issue.record("expected CryptoError.invalidParameters, nothing was thrown", sourceLocation: sourceLocation)
    } catch let error as CryptoError {
        guard case .invalidParameters = error else {
            Issue.record("expected invalidParameters, got \(error)", sourceLocation: sourceLocation)
            return
        }
    } catch {
        Issue.record("expected CryptoError, got \(error)", sourceLocation: sourceLocation)
    }
}

/// Expects `body` to throw exactly `CryptoError.authenticationFailed`.
func expectAuthenticationFailure(sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void) {
    #expect(throws: CryptoError.authenticationFailed, sourceLocation: sourceLocation) { try body() }
}
