import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

// A real full disk (issue "Hardening", item 3): a store on a 256 KiB tmpfs, filled to the last block.

@Suite("A full disk")
struct FullDiskTests {
    /// The files of a folder (no directory times: writers create and remove temporary files).
    func files(_ path: String) -> [String: Node] {
        snapshot(path).filter { $0.value.kind != "dir" }
    }

    /// Fills the file system holding `dir` with one file, to the last block; returns false when the
    /// file system still has room afterwards.
    func fill(_ dir: String) -> Bool {
        let fd = open(dir + "/filler", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let block = [UInt8](repeating: 0x55, count: 4096)
        var last: Int32 = 0
        while true {
            // A short write at the very end is followed by one that fails with ENOSPC.
            let n = block.withUnsafeBytes { write(fd, $0.baseAddress!, $0.count) }
            if n < 0 { last = errno; break }
            if n == 0 { break }
        }
        var s = statvfs()
        return last == ENOSPC && statvfs(dir, &s) == 0 && s.f_bavail == 0
    }

    @Test("submit, submit --out and batch on a full disk: one sentence with \"no space left\", exit 74, no partial file, good data intact")
    func fullDisk() throws {
        let cli = try CLI()
        try cli.makeKeys(analyst: nil)
        let disk = cli.path("disk")
        try FileManager.default.createDirectory(atPath: disk, withIntermediateDirectories: true)
        guard shell("/bin/mount", ["-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs", disk]) == 0 else {
            try Test.cancel("mounting a tmpfs is not permitted here (it needs root), so a real full disk cannot be made")
        }
        defer { shell("/bin/umount", ["-l", disk]) }

        try cli.initStore("disk/store")
        try cli.submit("a story that went into a batch, before the disk filled", store: "disk/store")
        #expect(try cli.run(["batch", "--store", "disk/store"]).status == 0)
        try cli.submit("a story in the inbox, before the disk filled", store: "disk/store")
        let verified = try cli.run(["verify", "disk/store"])
        #expect(verified.status == 0, "\(verified)")
        #expect(fill(disk), "the tmpfs could not be filled")
        let before = files(disk + "/store")

        let submit = try cli.run(["submit", "--store", "disk/store"] + CLI.answers, stdin: "a story written on a full disk")
        #expect(submit.status == 74, "\(submit)")
        #expect(submit.stderr.contains("no space left") && submit.stderr.contains("nothing was stored"), "\(submit)")
        // Whom it seals to comes first (the recipients and their fingerprints), then one error sentence.
        let errorLines = submit.stderr.split(separator: "\n").filter { $0.hasPrefix("chorus:") }
        #expect(errorLines.count == 1, "not one sentence: \(submit.stderr)")
        #expect(submit.stderr.split(separator: "\n").allSatisfy { $0.hasPrefix("chorus:") || $0.hasPrefix("Sealing to ") || $0.hasPrefix("  ") }, "\(submit.stderr)")
        #expect(submit.stdout.isEmpty, "a receipt was printed for a story that was not stored")
        #expect(files(disk + "/store") == before, "the store changed")

        let out = try cli.run(["submit", "--out", "disk/env.chorus", "--recipients", "Keys"] + CLI.answers, stdin: "a carried story written on a full disk")
        #expect(out.status == 74, "\(out)")
        #expect(out.stderr.contains("no space left") && out.stderr.contains("nothing was written"), "\(out)")
        #expect(out.stdout.isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: disk).sorted() == ["filler", "store"], "a partial file was left")

        let batch = try cli.run(["batch", "--store", "disk/store"])
        #expect(batch.status == 74, "\(batch)")
        #expect(batch.stderr.contains("no space left") && batch.stderr.contains("the inbox was left as it was"), "\(batch)")
        #expect(batch.stderr.split(separator: "\n").count == 1, "not one sentence: \(batch.stderr)")
        #expect(batch.stdout.isEmpty)
        #expect(files(disk + "/store") == before, "the store changed")

        // With room again: the good data is all there, the store verifies as before, and work goes on.
        #expect(unlink(disk + "/filler") == 0)
        let after = try cli.run(["verify", "disk/store"])
        #expect(after.status == 0 && after.stdout == verified.stdout, "before: \(verified)\nafter: \(after)")
        let review = try cli.run(["review", "--key", "rev.key", "--passphrase-file", "pass", "--format", "jsonl", "disk/store"])
        #expect(review.status == 0, "\(review)")
        #expect(review.stdout.contains("went into a batch") && review.stdout.contains("in the inbox, before"))
        #expect(!review.stdout.contains("full disk"))
        #expect(try cli.run(["batch", "--store", "disk/store"]).status == 0)
    }
}
