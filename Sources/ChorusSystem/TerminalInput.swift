import ChorusCrypto

#if canImport(Glibc)
import Glibc
#endif

/// Text typed or pasted at a terminal, read without the kernel's line editor.
///
/// In its usual (canonical) mode a terminal keeps at most 4095 bytes of one line and silently drops
/// the rest: a pasted paragraph is cut without a word. So on a terminal this reader switches canonical
/// mode and echo off and does the line editing itself: it echoes what is typed (control characters
/// never raw), and handles Erase (Backspace), Kill (Ctrl-U), Word erase (Ctrl-W), End of input
/// (Ctrl-D) and Enter, with no limit on a line's length. Interrupt (Ctrl-C) still interrupts: the
/// terminal's own mode is restored first. Input that is not a terminal (a pipe) is read as it is.
///
/// Bytes read ahead of what was asked for (typed before a prompt appeared) wait in guarded memory:
/// they may be part of a story.
package final class TerminalInput {
    package let input: Int32
    package let echo: Int32
    /// Whether `input` is a terminal whose line editing this reader does itself.
    package let isTerminal: Bool
    private var saved = termios()
    private var active = false
    private var pending = SecretBytes(count: 4096, guarded: true)
    private var pendingStart = 0
    private var pendingEnd = 0
    private var echoBuffer = SecretBytes(count: 4096, guarded: true)
    private var echoed = 0

    /// Reads from `input`, echoing to `echo` when `input` is a terminal; switches the terminal to the
    /// reader's own line editing at once (so that nothing typed from now on is cut).
    package init(input: Int32, echo: Int32) {
        self.input = input
        self.echo = echo
        isTerminal = isatty(input) == 1 && tcgetattr(input, &saved) == 0
        resume()
    }

    deinit { suspend() }

    /// Gives the terminal back its own mode (before another program uses it, and at the end).
    package func suspend() {
        guard active else { return }
        flushEcho()
        tcsetattr(input, TCSADRAIN, &saved)
        Terminal.forgetSavedMode()
        active = false
    }

    /// Takes the line editing again after `suspend`.
    package func resume() {
        guard isTerminal, !active else { return }
        var raw = saved
        raw.c_lflag &= ~tcflag_t(ICANON | ECHO | ECHONL)
        raw.c_lflag |= tcflag_t(ISIG)
        withUnsafeMutableBytes(of: &raw.c_cc) { cc in
            cc[Int(VMIN)] = 1
            cc[Int(VTIME)] = 0
        }
        Terminal.rememberSavedMode(fd: input, saved)
        tcsetattr(input, TCSADRAIN, &raw)
        active = true
    }

    // MARK: Lines

    /// One line, without its line ending, or nil at end of input (Ctrl-D on an empty line). Lines
    /// longer than `limit` bytes are cut (the rest of the line is read and dropped); a final CR is removed.
    package func readLine(limit: Int = 4096) -> String? {
        var line: [UInt8] = []
        while let byte = nextByte() {
            if !active {
                if byte == 0x0A { return finishLine(line) }
                if line.count < limit { line.append(byte) }
                continue
            }
            switch classify(byte) {
            case .endOfLine:
                echoBytes([0x0A])
                flushEcho()
                return finishLine(line)
            case .endOfInput:
                if line.isEmpty { flushEcho(); return nil }
            case .erase:
                let n = Self.lastCharacterLength(line.count) { line[$0] }
                if n > 0 { line.removeLast(n); echoBytes([0x08, 0x20, 0x08]) }
            case .kill, .wordErase:
                while !line.isEmpty {
                    let n = Self.lastCharacterLength(line.count) { line[$0] }
                    line.removeLast(n)
                    echoBytes([0x08, 0x20, 0x08])
                }
            case .escape:
                skipEscapeSequence()
            case .ignored:
                break
            case .text:
                if line.count < limit { line.append(byte); echoBytes([byte]) }
            }
            if pendingStart == pendingEnd { flushEcho() }
        }
        flushEcho()
        return line.isEmpty ? nil : finishLine(line)
    }

    private func finishLine(_ bytes: [UInt8]) -> String {
        var line = bytes
        if line.last == 0x0D { line.removeLast() }
        return String(decoding: line, as: UTF8.self)
    }

    // MARK: Text (a story)

    /// Reads text until Ctrl-D (on a terminal) or the end of input into `buffer` from its start, and
    /// returns its length in bytes: more than `buffer.count` when it did not fit (the rest was counted
    /// and dropped). On a terminal the text is read to its end (its Ctrl-D) however long, so that
    /// nothing of it is later taken for a reply; other input stops after `countLimit` bytes. A read
    /// error is thrown as its errno.
    package func readText(into buffer: inout SecretBytes, countLimit: Int) throws(Errno) -> Int {
        var filled = 0
        var lineStart = 0
        var total = 0
        let capacity = buffer.count
        while active || total <= countLimit {
            guard let byte = try nextByteOrError() else { break }
            if !active {
                if total < capacity { buffer.withUnsafeMutableBytes { $0[total] = byte } }
                total += 1
                continue
            }
            switch classify(byte) {
            case .endOfInput:
                flushEcho()
                return total
            case .endOfLine:
                if total < capacity { buffer.withUnsafeMutableBytes { $0[filled] = 0x0A }; filled += 1 }
                total += 1
                lineStart = filled
                echoBytes([0x0A])
            case .erase:
                guard total <= capacity else { break }
                let n = buffer.withUnsafeBytes { b in Self.lastCharacterLength(filled - lineStart) { b[lineStart + $0] } }
                if n > 0 { wipe(&buffer, filled - n ..< filled); filled -= n; total -= n; echoBytes([0x08, 0x20, 0x08]) }
            case .kill, .wordErase:
                guard total <= capacity else { break }
                let word = classify(byte) == .wordErase
                var seenText = false
                while filled > lineStart {
                    let last = buffer.withUnsafeBytes { $0[filled - 1] }
                    if word && (last == 0x20 || last == 0x09) && seenText { break }
                    if last != 0x20 && last != 0x09 { seenText = true }
                    let n = buffer.withUnsafeBytes { b in Self.lastCharacterLength(filled - lineStart) { b[lineStart + $0] } }
                    wipe(&buffer, filled - n ..< filled)
                    filled -= n
                    total -= n
                    echoBytes([0x08, 0x20, 0x08])
                }
            case .escape:
                skipEscapeSequence()
            case .ignored:
                break
            case .text:
                if total < capacity { buffer.withUnsafeMutableBytes { $0[filled] = byte }; filled += 1 }
                total += 1
                echoBytes([byte])
            }
            if pendingStart == pendingEnd { flushEcho() }
        }
        flushEcho()
        return total
    }

    private func wipe(_ buffer: inout SecretBytes, _ range: Range<Int>) {
        buffer.withUnsafeMutableBytes { b in for k in range { b[k] = 0 } }
    }

    // MARK: Bytes

    private enum Role: Equatable { case text, endOfLine, endOfInput, erase, kill, wordErase, escape, ignored }

    private func classify(_ byte: UInt8) -> Role {
        let cc: (eof: UInt8, erase: UInt8, kill: UInt8, werase: UInt8) = withUnsafeBytes(of: saved.c_cc) { c in
            (c[Int(VEOF)], c[Int(VERASE)], c[Int(VKILL)], c[Int(VWERASE)])
        }
        switch byte {
        case 0x0A, 0x0D: return .endOfLine
        case cc.eof where byte != 0: return .endOfInput
        case cc.erase where byte != 0, 0x7F, 0x08: return .erase
        case cc.kill where byte != 0: return .kill
        case cc.werase where byte != 0: return .wordErase
        case 0x1B: return .escape
        case 0x09: return .text
        case 0x00 ..< 0x20: return .ignored
        default: return .text
        }
    }

    /// An arrow or function key sends ESC [ ... final byte, or ESC O x: none of it is text.
    private func skipEscapeSequence() {
        guard let first = nextByte() else { return }
        if first == 0x4F { _ = nextByte(); return }  // ESC O x
        guard first == 0x5B else { return }  // ESC x: dropped
        while let b = nextByte(), !(0x40 ... 0x7E).contains(b) {}
    }

    /// The length in bytes of the last UTF-8 character of the `count` bytes that `at` reads.
    private static func lastCharacterLength(_ count: Int, _ at: (Int) -> UInt8) -> Int {
        guard count > 0 else { return 0 }
        var n = 1
        while n < count && n < 4 && at(count - n) & 0xC0 == 0x80 { n += 1 }
        return n
    }

    private func nextByte() -> UInt8? { (try? nextByteOrError()) ?? nil }

    private func nextByteOrError() throws(Errno) -> UInt8? {
        if pendingStart == pendingEnd {
            flushEcho()
            let result: Result<Int, Errno> = pending.withUnsafeMutableBytes { b in
                Result { () throws(Errno) -> Int in try Posix.readOnce(input, into: b) }
            }
            let n = try result.get()
            guard n > 0 else { return nil }
            pendingStart = 0
            pendingEnd = n
        }
        let byte = pending.withUnsafeMutableBytes { b -> UInt8 in
            let v = b[pendingStart]
            b[pendingStart] = 0
            return v
        }
        pendingStart += 1
        return byte
    }

    private func echoBytes(_ bytes: [UInt8]) {
        guard active else { return }
        if echoed + bytes.count > echoBuffer.count { flushEcho() }
        let at = echoed
        echoBuffer.withUnsafeMutableBytes { b in for (k, v) in bytes.enumerated() { b[at + k] = v } }
        echoed += bytes.count
    }

    private func flushEcho() {
        guard echoed > 0 else { return }
        let n = echoed
        echoBuffer.withUnsafeMutableBytes { b in
            try? Posix.writeAll(echo, UnsafeRawBufferPointer(rebasing: b[0 ..< n]))
            for k in 0 ..< n { b[k] = 0 }
        }
        echoed = 0
    }
}
