// Shared by the fuzz targets and the seed generator: the fixed keys of Tests/VectorGen (so the
// committed envelope vectors open), the fixed passphrase of the seed key files, and small helpers.
import ChorusCore
import ChorusCrypto
import ChorusFormat

#if canImport(Glibc)
import Glibc
#endif

public enum Fuzz {
    /// The seed of a fixed key, exactly as Tests/VectorGen/main.swift derives it.
    public static func vectorSeed(_ label: String) -> [UInt8] {
        BLAKE2b.hash(Array("chorus-vectors/\(label)".utf8), outputLength: 32)
    }

    /// The key labelled `label` in Tests/VectorGen ("reviewer-1", "analyst-1", ...).
    public static func vectorKey(_ label: String, _ role: Role) -> UnlockedKey {
        let key = try! SecretKey.derived(fromSeed: SecretBytes(copying: vectorSeed("key/\(label)")))
        return UnlockedKey(role: role, name: label, secret: key)
    }

    /// reviewer-1 (a recipient of every good vector) and analyst-1 (so analyst stanzas open too).
    public static let reviewer = vectorKey("reviewer-1", .reviewer)
    public static let analyst = vectorKey("analyst-1", .analyst)
    public static let keys: [UnlockedKey] = [reviewer, analyst]

    /// The passphrase of the seed secret key files.
    public static let passphrase = Array("correct horse battery staple".utf8)
    /// A fixed clock, so that a run does not depend on the date.
    public static let currentYear = 2026
    public static let arrivalMonth = "2026-11"

    /// Stops the process (a crash that libFuzzer reports and saves) when an invariant is broken.
    public static func check(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
                             file: StaticString = #fileID, line: UInt = #line) {
        if !condition() {
            let text = Array("FUZZ INVARIANT BROKEN at \(file):\(line): \(message())\n".utf8)
            _ = text.withUnsafeBytes { Glibc.write(2, $0.baseAddress, $0.count) }
            abort()
        }
    }

    /// A secret key file's armour around any blob (FORMAT.md 2.3), so a target can mutate the blob itself.
    public static func armour(_ blob: [UInt8]) -> [UInt8] {
        let b64 = Array(Base64.encode(blob).utf8)
        var out = Array((SecretKeyFile.beginLine + "\n").utf8)
        var i = 0
        while i < b64.count {
            out += b64[i ..< min(i + 64, b64.count)]
            out.append(0x0a)
            i += 64
        }
        return out + Array((SecretKeyFile.endLine + "\n").utf8)
    }
}
