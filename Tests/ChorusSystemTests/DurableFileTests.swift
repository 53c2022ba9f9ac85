import Foundation
import Testing
import ChorusCrypto
import ChorusFormat
import ChorusTestSupport
@testable import ChorusSystem

#if canImport(Glibc)
import Glibc
#endif

@Suite("Durable files", .serialized)
struct DurableFileTests {
    @Test("createExclusive writes the whole file, mode 0600 whatever the umask, and leaves no temporary file",
          arguments: [mode_t(0), 0o022, 0o277, 0o777])
    func createExclusiveMode(mask: mode_t) throws {
        let dir = ScratchDir()
        let path = dir.sub("out.bin")
        let contents = Random.bytes(3 * 1024 * 1024 + 17) // larger than the write buffer
        try withUmask(mask) { try DurableFile.createExclusive(path: path, contents: contents) }
        #expect(readFile(path) == contents)
        #expect(permissions(path) == 0o600)
        #expect(names(in: dir.path) == ["out.bin"])
    }

    @Test("createExclusive never overwrites, and leaves the existing file as it was")
    func createExclusiveRefusesOverwrite() throws {
        let dir = ScratchDir()
        let path = dir.sub("key")
        writeFile(path, Array("keep me".utf8))
        expectFailure(SystemError.self, .alreadyExists, ["already exists", "never overwrites", path]) {
            try DurableFile.createExclusive(path: path, contents: [1, 2, 3])
        }
        #expect(readFile(path) == Array("keep me".utf8))
        #expect(names(in: dir.path) == ["key"])
    }

    @Test("createExclusive does not write through a symbolic link, dangling or not")
    func createExclusiveRefusesSymlink() throws {
        let dir = ScratchDir()
        let victim = dir.sub("victim")
        writeFile(victim, Array("original".utf8))
        #expect(symlink(victim, dir.sub("link")) == 0)
        #expect(symlink(dir.sub("nowhere"), dir.sub("dangling")) == 0)
        expectFailure(SystemError.self, .alreadyExists, ["already exists"]) { try DurableFile.createExclusive(path: dir.sub("link"), contents: [9]) }
        expectFailure(SystemError.self, .alreadyExists, ["already exists"]) { try DurableFile.createExclusive(path: dir.sub("dangling"), contents: [9]) }
        #expect(readFile(victim) == Array("original".utf8))
        #expect(names(in: dir.path) == ["dangling", "link", "victim"])
    }

    @Test("zeroTimes sets the modification and access times to 1970-01-01; without it the time is kept")
    func createExclusiveTimes() throws {
        let dir = ScratchDir()
        try DurableFile.createExclusive(path: dir.sub("a"), contents: [1], zeroTimes: true)
        try DurableFile.createExclusive(path: dir.sub("b"), contents: [1])
        let a = try #require(lstatOf(dir.sub("a"))), b = try #require(lstatOf(dir.sub("b")))
        #expect(a.st_mtim.tv_sec == 0 && a.st_mtim.tv_nsec == 0)
        #expect(a.st_atim.tv_sec == 0)
        #expect(b.st_mtim.tv_sec > 1_600_000_000)
    }

    @Test("createExclusive into a missing folder fails with one sentence and creates nothing")
    func createExclusiveMissingFolder() {
        let dir = ScratchDir()
        expectFailure(SystemError.self, .cannotCreate, ["does not exist", dir.sub("missing")]) {
            try DurableFile.createExclusive(path: dir.sub("missing/file"), contents: [1])
        }
        expectFailure(SystemError.self, .invalidPath, ["not a file name"]) { try DurableFile.createExclusive(path: dir.sub("x/"), contents: [1]) }
        #expect(names(in: dir.path).isEmpty)
    }

    @Test("a write that fails midway leaves neither the file nor a temporary file")
    func failedWriteLeavesNothing() throws {
        let dir = ScratchDir()
        struct Boom: Error {}
        #expect(throws: Boom.self) {
            try DurableFile.createExclusive(path: dir.sub("out"), zeroTimes: false) { writer in
                try writer.write(Random.bytes(1_000_000))
                throw Boom()
            }
        }
        #expect(names(in: dir.path).isEmpty)
    }

    @Test("errno becomes one sentence with the path, the reason and the kind it stands for")
    func errnoMapping() {
        let full = SystemError.call("write", "/srv/store/inbox/x", ENOSPC)
        #expect(full.message == "cannot write /srv/store/inbox/x: no space left on device")
        #expect(full.kind == .noSpace && full.errno == ENOSPC && full.isFileSystemWide)
        #expect(SystemError.call("open", "/a", EACCES).kind == .permissionDenied)
        #expect(SystemError.call("open", "/a", EROFS).kind == .readOnly)
        #expect(SystemError.call("open", "/a", EROFS).message.contains("read-only"))
        #expect(SystemError.call("read", "/a", EIO).kind == .io)
        #expect(SystemError.call("open", "/a", ELOOP).message.contains("symbolic link"))
        #expect(!SystemError.call("open", "/a", ELOOP).isFileSystemWide)
        #expect(SystemError.reason(EINVAL).first?.isLowercase == true, "strerror's words start in lower case")
    }

    @Test("explaining rewords a file-system-wide failure as what was being done, keeping its kind and errno")
    func explaining() {
        let e = expectFailure(SystemError.self, .noSpace, ["cannot store the submission in s: no space left on device; nothing was stored"]) {
            try SystemError.explaining("store the submission in s", "nothing was stored") { throw SystemError.call("write", "s/tmp/0123.tmp", ENOSPC) }
        }
        #expect(e?.contains("0123") == false)
        expectFailure(SystemError.self, .io, ["cannot open /a: it is a symbolic link"]) {
            try SystemError.explaining("x", "y") { throw SystemError.call("open", "/a", ELOOP) }
        }
    }

    @Test("the leftover cleaner removes unlocked files and links, never a file a writer is writing, never a link's target")
    func leftoverCleaner() throws {
        let dir = ScratchDir()
        let tmp = dir.sub("tmp"), dest = dir.sub("dest")
        #expect(mkdir(tmp, 0o700) == 0 && mkdir(dest, 0o700) == 0)
        let tmpFolder = try Folder.open(tmp), destFolder = try Folder.open(dest)
        let outside = dir.sub("outside")
        writeFile(outside, [7, 7])
        writeFile(tmp + "/crashed-leftover", Random.bytes(100))
        #expect(symlink(outside, tmp + "/link") == 0)
        let outcome = try DurableFile.write(in: destFolder, name: .exactly("final"), staging: tmpFolder, tempPrefix: "", zeroTimes: true) { writer in
            try writer.write(Random.bytes(5000))
            #expect(names(in: tmp).count == 3)
            // A cleaner running meanwhile removes the leftover and the link, not the file being written.
            #expect(DurableFile.removeLeftovers(in: tmpFolder) == 2)
            #expect(names(in: tmp).count == 1)
            #expect(readFile(outside) == [7, 7])
        }
        // The writer carried on undisturbed.
        #expect(outcome == .written(name: "final"))
        #expect(names(in: tmp).isEmpty)
        #expect(readFile(dest + "/final")?.count == 5000)
        #expect(lstatOf(dest + "/final")?.st_mtim.tv_sec == 0)
    }

    @Test("renameat2(RENAME_NOREPLACE), the fallback for file systems without hard links, is found and never overwrites")
    func renameNoReplace() throws {
        let dir = ScratchDir()
        let folder = try Folder.open(dir.path)
        writeFile(dir.sub("a"), [1])
        writeFile(dir.sub("b"), [2])
        #expect(Posix.renameNoReplace(folder.fd.raw, "a", folder.fd.raw, "b") == -1 && errno == EEXIST)
        #expect(readFile(dir.sub("b")) == [2])
        #expect(Posix.renameNoReplace(folder.fd.raw, "a", folder.fd.raw, "c") == 0)
        #expect(names(in: dir.path) == ["b", "c"] && readFile(dir.sub("c")) == [1])
    }

    @Test("an exact name that exists is reported, never overwritten, and nothing is left behind; a random name is tried again")
    func linkExisting() throws {
        let dir = ScratchDir()
        let folder = try Folder.open(dir.path)
        writeFile(dir.sub("taken"), [1])
        let refused = try DurableFile.write(in: folder, name: .exactly("taken"), tempPrefix: "t-", zeroTimes: false) { try $0.write([2, 2]) }
        #expect(refused == .exists)
        #expect(readFile(dir.sub("taken")) == [1])
        #expect(names(in: dir.path) == ["taken"])
        var tries = ["taken", "taken", "free"]
        let written = try DurableFile.write(in: folder, name: .random({ tries.removeFirst() }), tempPrefix: "t-", zeroTimes: false) { try $0.write([2, 2]) }
        #expect(written == .written(name: "free"))
        #expect(names(in: dir.path) == ["free", "taken"])
        #expect(readFile(dir.sub("free")) == [2, 2])
    }

    @Test("replace swaps a file's contents atomically, mode 0600, and leaves no temporary file")
    func replaceAtomically() throws {
        let dir = ScratchDir()
        let path = dir.sub("ledger.json")
        try DurableFile.replace(path: path, contents: Array("one".utf8))
        #expect(readFile(path) == Array("one".utf8))
        try withUmask(0) { try DurableFile.replace(path: path, contents: Array("two, longer".utf8)) }
        #expect(readFile(path) == Array("two, longer".utf8))
        #expect(permissions(path) == 0o600)
        #expect(names(in: dir.path) == ["ledger.json"])
    }
}
