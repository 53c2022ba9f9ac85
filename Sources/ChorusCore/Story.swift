import ChorusCrypto
import ChorusSystem

/// Checks and reading of a story: the bytes a submitter typed, pasted or piped.
///
/// A story must be non-empty UTF-8 text (not only whitespace or invisible characters), without NUL
/// bytes, at most the store's `maxStoryBytes`. Errors are `.dataError` (exit 65) with one sentence
/// that gives sizes and byte offsets but never quotes the story.
///
/// Nothing here turns the story into a `String` or an `Array` (neither can be wiped): the reading
/// functions fill `SecretBytes` in guarded memory (locked out of swap, wiped when it dies).
public enum Story {
    /// The default limit of a store (`maxStoryBytes` in its configuration): 64 KiB.
    public static let defaultMaxBytes = 65536

    /// When a story is over the limit, the reader keeps counting (and discarding) up to this many
    /// more bytes so the error can say how large it was, then stops.
    public static let maxBytesCountedPastLimit = 16 << 20

    /// What a valid story looks like from outside.
    public struct Info: Equatable, Sendable {
        /// Its size in bytes (what the limit is about).
        public let byteCount: Int
        /// Its length in characters (Unicode scalars), as shown to the submitter.
        public let characterCount: Int
    }

    /// Checks story bytes; see the type's documentation for the rules.
    public static func validate(_ bytes: UnsafeRawBufferPointer, maxBytes: Int = defaultMaxBytes) throws(CoreError) -> Info {
        guard bytes.count <= maxBytes else { throw tooLarge(size: "\(bytes.count) bytes", maxBytes: maxBytes) }
        guard bytes.count > 0 else { throw CoreError(.invalidStory, "the story is empty; nothing was submitted") }
        // One pass over the bytes: ASCII (nearly all of most stories) byte by byte, and each longer
        // sequence decoded as the standard's well-formed UTF-8 (no overlong forms, no surrogates,
        // nothing above U+10FFFF), exactly what Swift's UTF-8 decoder accepts.
        let n = bytes.count
        var offset = 0
        var scalars = 0
        var visible = false
        func invalid() -> CoreError {
            CoreError(.invalidStory, "the story is not valid UTF-8 text (bad byte at \(offset + 1) of \(n)); save it as UTF-8 and try again")
        }
        while offset < n {
            // Once a visible character was seen, eight ASCII bytes at a time when none is NUL.
            if visible, offset + 8 <= n {
                let w = bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
                if w & 0x8080_8080_8080_8080 == 0 && (w &- 0x0101_0101_0101_0101) & ~w & 0x8080_8080_8080_8080 == 0 {
                    offset += 8
                    scalars += 8
                    continue
                }
            }
            let b = bytes[offset]
            if b < 0x80 {
                if b == 0 {
                    throw CoreError(.invalidStory, "the story contains a NUL byte (at byte \(offset + 1) of \(n)); it must be plain text")
                }
                // ASCII spaces and controls are blank; everything else in ASCII is visible.
                if !visible && b > 0x20 && b < 0x7F { visible = true }
                offset += 1
                scalars += 1
                continue
            }
            let length: Int, low: UInt8, high: UInt8
            switch b {
            case 0xC2...0xDF: (length, low, high) = (2, 0x80, 0xBF)
            case 0xE0: (length, low, high) = (3, 0xA0, 0xBF)
            case 0xE1...0xEC, 0xEE...0xEF: (length, low, high) = (3, 0x80, 0xBF)
            case 0xED: (length, low, high) = (3, 0x80, 0x9F)
            case 0xF0: (length, low, high) = (4, 0x90, 0xBF)
            case 0xF1...0xF3: (length, low, high) = (4, 0x80, 0xBF)
            case 0xF4: (length, low, high) = (4, 0x80, 0x8F)
            default: throw invalid()
            }
            guard offset + length <= n else { throw invalid() }
            let second = bytes[offset + 1]
            guard second >= low && second <= high else { throw invalid() }
            var value = UInt32(b) & (length == 2 ? 0x1F : length == 3 ? 0x0F : 0x07)
            value = value << 6 | UInt32(second & 0x3F)
            for k in 2 ..< length {
                let c = bytes[offset + k]
                guard c & 0xC0 == 0x80 else { throw invalid() }
                value = value << 6 | UInt32(c & 0x3F)
            }
            if !visible, let scalar = Unicode.Scalar(value), !isBlank(scalar) { visible = true }
            offset += length
            scalars += 1
        }
        guard visible else {
            throw CoreError(.invalidStory, "the story has only whitespace or invisible characters (\(bytes.count) bytes); nothing was submitted")
        }
        return Info(byteCount: bytes.count, characterCount: scalars)
    }

    /// Checks a story held in `SecretBytes`.
    public static func validate(_ story: borrowing SecretBytes, maxBytes: Int = defaultMaxBytes) throws(CoreError) -> Info {
        let result: Result<Info, CoreError> = story.withUnsafeBytes { buffer in
            Result { () throws(CoreError) -> Info in try validate(buffer, maxBytes: maxBytes) }
        }
        return try result.get()
    }

    /// Checks story bytes held in an array (tests, and callers that already have one; wipe it after).
    public static func validate(_ bytes: [UInt8], maxBytes: Int = defaultMaxBytes) throws(CoreError) -> Info {
        let result: Result<Info, CoreError> = bytes.withUnsafeBytes { buffer in
            Result { () throws(CoreError) -> Info in try validate(buffer, maxBytes: maxBytes) }
        }
        return try result.get()
    }

    /// Whitespace, controls and default-ignorable characters (zero-width space, BOM, bidi marks, ...):
    /// a story made only of these says nothing.
    static func isBlank(_ u: Unicode.Scalar) -> Bool {
        u.properties.isWhitespace || u.properties.isDefaultIgnorableCodePoint || u.properties.generalCategory == .control
    }

    static func tooLarge(size: String, maxBytes: Int) -> CoreError {
        CoreError(.invalidStory, "the story is \(size), more than this store's limit of \(maxBytes) bytes; shorten it and try again")
    }

    /// Reads a story until end of input with `readChunk` (which fills the start of the buffer it is
    /// given and returns how many bytes it wrote, 0 at end of input), then checks it with `validate`.
    /// The story lives only in guarded `SecretBytes`; over-long input is counted (up to
    /// `maxBytesCountedPastLimit` more bytes) and discarded through a wiped scratch buffer.
    public static func collect(maxBytes: Int = defaultMaxBytes,
                               readChunk: (UnsafeMutableRawBufferPointer) throws(CoreError) -> Int) throws(CoreError) -> SecretBytes {
        precondition(maxBytes >= 0, "negative story limit")
        var buffer = SecretBytes(count: maxBytes + 1, guarded: true)
        var filled = 0
        while filled < buffer.count {
            let start = filled
            let result: Result<Int, CoreError> = buffer.withUnsafeMutableBytes { all in
                Result { () throws(CoreError) -> Int in try readChunk(UnsafeMutableRawBufferPointer(rebasing: all[start...])) }
            }
            let n = try result.get()
            precondition(n >= 0 && n <= buffer.count - start, "readChunk returned an impossible count")
            if n == 0 { break }
            filled += n
        }
        if filled > maxBytes {
            // Over the limit: count the rest without keeping it.
            var scratch = SecretBytes(count: 16384, guarded: false)  // wiped when it dies
            var total = filled
            var ended = false
            while total - maxBytes <= maxBytesCountedPastLimit {
                let result: Result<Int, CoreError> = scratch.withUnsafeMutableBytes { all in
                    Result { () throws(CoreError) -> Int in try readChunk(all) }
                }
                let n = try result.get()
                if n == 0 { ended = true; break }
                total += n
            }
            throw tooLarge(size: ended ? "\(total) bytes" : "more than \(total) bytes", maxBytes: maxBytes)
        }
        let checked: Result<Info, CoreError> = buffer.withUnsafeBytes { all in
            Result { () throws(CoreError) -> Info in try validate(UnsafeRawBufferPointer(rebasing: all[0 ..< filled]), maxBytes: maxBytes) }
        }
        _ = try checked.get()
        return buffer.prefix(filled)
    }

    /// Reads a story from a file descriptor (a file opened by the caller, or 0 for standard input)
    /// until end of input and checks it. A read error is `.ioError`.
    public static func read(fileDescriptor fd: Int32, maxBytes: Int = defaultMaxBytes,
                            source: String = "standard input") throws(CoreError) -> SecretBytes {
        try collect(maxBytes: maxBytes) { (buffer) throws(CoreError) -> Int in
            try readSome(fd, into: buffer, source: source)
        }
    }

    /// One `read(2)`, retried on EINTR; 0 at end of input.
    public static func readSome(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, source: String) throws(CoreError) -> Int {
        do {
            return try Posix.readOnce(fd, into: buffer)
        } catch {
            throw CoreError(.unreadableStory, "cannot read the story from \(displaySafe(source, limit: 200)): \(SystemError.reason(Errno.code(of: error)))", errno: Errno.code(of: error))
        }
    }
}
