internal import CSodium

#if canImport(Glibc)
import Glibc
#endif

/// Process-wide protections for a program that holds secrets: private files by default, no core dumps,
/// no ptrace attach by other processes of the same user (`PR_SET_DUMPABLE` 0 also blocks that).
public enum ProcessProtection {
    /// `umask(077)`, `setrlimit(RLIMIT_CORE, 0)` and `prctl(PR_SET_DUMPABLE, 0)`. Returns false when a
    /// protection could not be applied (the caller may warn).
    @discardableResult
    public static func harden() -> Bool {
        Sodium.ensureInitialized()
        umask(0o077)
        return chorus_disable_core_dumps() == 0
    }

    /// Whether the process may currently be dumped (1), may not (0), or it cannot be told (-1).
    public static var dumpable: Int { Int(chorus_is_dumpable()) }

    /// The current core-file size limit (soft), for tests.
    public static var coreLimit: UInt64 {
        var r = rlimit()
        getrlimit(__rlimit_resource_t(RLIMIT_CORE.rawValue), &r)
        return UInt64(r.rlim_cur)
    }
}
