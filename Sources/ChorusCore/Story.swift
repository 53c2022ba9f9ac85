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
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = bytes.makeIterator()
        var offset = 0
        var scalars = 0
        var visible = false
        loop: while true {
            switch parser.parseScalar(from: &iterator) {
            case let .valid(encoded):
                let scalar = Unicode.UTF8.decode(encoded)
                if scalar.value == 0 {
                    throw CoreError(.invalidStory, "the story contains a NUL byte (at byte \(offset + 1) of \(bytes.count)); it must be plain text")
                }
                if !visible && !isBlank(scalar) { visible = true }
                offset += encoded.count
                scalars += 1
            case .error:
                throw CoreError(.invalidStory, "the story is not valid UTF-8 text (bad byte at \(offset + 1) of \(bytes.count)); save it as UTF-8 and try again")
            case .emptyInput:
                break loop
            }
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
