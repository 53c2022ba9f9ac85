/// PADMÉ padding (Nikitin et al., "Reducing Metadata Leakage from Encrypted Files and Communication
/// with PURBs", 2019): rounds a length up so that it leaks O(log log x) bits, with at most 12% overhead.
public enum Padme {
    /// The PADMÉ length for `x` (x >= 1).
    public static func pad(_ x: Int) -> Int {
        precondition(x >= 1, "padme of a non-positive length")
        if x < 2 { return x }
        let e = Int.bitWidth - 1 - x.leadingZeroBitCount          // floor(log2 x)
        let s = (Int.bitWidth - 1 - e.leadingZeroBitCount) + 1    // floor(log2 e) + 1
        let z = e - s
        let mask = (1 << z) - 1
        return (x + mask) & ~mask
    }

    /// The padded plaintext length of a section holding `contentLength` bytes, at least `minimum`.
    public static func sectionLength(content contentLength: Int, minimum: Int) -> Int {
        max(minimum, pad(4 + contentLength))
    }

    /// True when `p` is a length `sectionLength` can produce (used before decryption).
    public static func isValidSectionLength(_ p: Int, minimum: Int, maximum: Int) -> Bool {
        p >= minimum && p <= maximum && pad(p) == p
    }
}
