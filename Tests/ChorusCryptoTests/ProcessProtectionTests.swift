import ChorusCrypto
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `ProcessProtection.harden()` changes the whole process (umask, core limit, dumpable flag), which
/// must not leak into the test runner: it runs in a forked child, which reports what it sees through
/// a pipe and exits. Between fork and exit the child only makes system calls (no allocation, no lock).
@Suite("Process protection")
struct ProcessProtectionTests {
    /// What the child saw: [dumpable before, harden() result, dumpable after, core soft limit,
    /// core hard limit, umask after].
    func hardenInChild() throws -> [Int64] {
        Sodium.ensureInitialized()
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        var report = [Int64](repeating: -9, count: 6)
        let pid = fork()
        if pid == 0 {
            close(fds[0])
            report.withUnsafeMutableBufferPointer { r in
                r[0] = Int64(ProcessProtection.dumpable)
                r[1] = ProcessProtection.harden() ? 1 : 0
                r[2] = Int64(ProcessProtection.dumpable)
                var limit = rlimit()
                getrlimit(__rlimit_resource_t(RLIMIT_CORE.rawValue), &limit)
                r[3] = Int64(limit.rlim_cur)
                r[4] = Int64(limit.rlim_max)
                r[5] = Int64(umask(0))
                _ = write(fds[1], r.baseAddress!, r.count * 8)
            }
            _exit(0)
        }
        close(fds[1])
        defer { close(fds[0]) }
        #expect(pid > 0)
        var got = 0
        report.withUnsafeMutableBytes { b in
            while got < b.count {
                let n = read(fds[0], b.baseAddress! + got, b.count - got)
                if n <= 0 { break }
                got += n
            }
        }
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        #expect(status == 0, "the child did not exit cleanly (wait status \(status))")
        #expect(got == 6 * 8)
        return report
    }

    @Test("harden() sets umask 077, a core limit of 0 (soft and hard) and PR_SET_DUMPABLE 0")
    func hardens() throws {
        let parentDumpable = ProcessProtection.dumpable
        let parentMask = Self.umaskOfThisProcess()
        let r = try hardenInChild()
        #expect(r[0] == Int64(parentDumpable), "the child starts as the parent is")
        #expect(r[1] == 1, "harden() reported a protection it could not apply")
        #expect(r[2] == 0, "still dumpable after harden()")
        #expect(r[3] == 0 && r[4] == 0, "core limit \(r[3]) / \(r[4])")
        #expect(r[5] == 0o077, "umask \(String(r[5], radix: 8))")
        // The test runner itself is untouched.
        #expect(ProcessProtection.dumpable == parentDumpable)
        #expect(Self.umaskOfThisProcess() == parentMask)
    }

    /// The umask, read from /proc without changing it (other tests run at the same time).
    static func umaskOfThisProcess() -> String? {
        guard let f = fopen("/proc/self/status", "r") else { return nil }
        defer { fclose(f) }
        var line = [CChar](repeating: 0, count: 512)
        while fgets(&line, Int32(line.count), f) != nil {
            let s = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if s.hasPrefix("Umask:") { return String(s.dropFirst(6).filter { !$0.isWhitespace }) }
        }
        return nil
    }
}
