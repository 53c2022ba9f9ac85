import Foundation
import Testing
import ChorusCrypto
import ChorusFormat
@testable import ChorusCore

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

    @Test("a store's folders are 0700 and its files 0600 whatever the umask", arguments: [mode_t(0), 0o022, 0o777])
    func storeModes(mask: mode_t) throws {
        let dir = ScratchDir()
        let path = dir.sub("store")
        try withUmask(mask) {
            #expect(try Store.initialize(at: path, schema: .builtIn))
            let store = try Store.open(at: path)
            let e = fakeEnvelope()
            try store.publish(envelope: e)
            try store.addTombstone(id: Random.bytes(32))
            try store.publish(envelope: fakeEnvelope())
            _ = try store.closeBatch()
            try store.publish(envelope: fakeEnvelope())
        }
        #expect(permissions(path) == 0o700)
        for f in Store.folderNames { #expect(permissions(path + "/" + f) == 0o700, "\(f)") }
        #expect(permissions(path + "/chorus-store.json") == 0o600)
        for f in ["inbox", "batches", "tombstones"] {
            let files = names(in: path + "/" + f)
            #expect(files.count == 1)
            for n in files { #expect(permissions(path + "/" + f + "/" + n) == 0o600, "\(f)/\(n)") }
        }
        #expect(try StoreVerifier.verify(store: path).isClean)
    }

    @Test("createExclusive never overwrites, and leaves the existing file as it was")
    func createExclusiveRefusesOverwrite() throws {
        let dir = ScratchDir()
        let path = dir.sub("key")
        writeFile(path, Array("keep me".utf8))
        expectStoreError(.cannotCreate, ["already exists", "never overwrites", path]) {
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
        expectStoreError(.cannotCreate, ["already exists"]) { try DurableFile.createExclusive(path: dir.sub("link"), contents: [9]) }
        expectStoreError(.cannotCreate, ["already exists"]) { try DurableFile.createExclusive(path: dir.sub("dangling"), contents: [9]) }
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
        expectStoreError(.cannotCreate, ["does not exist", dir.sub("missing")]) {
            try DurableFile.createExclusive(path: dir.sub("missing/file"), contents: [1])
        }
        expectStoreError(.usage, ["not a file name"]) { try DurableFile.createExclusive(path: dir.sub("x/"), contents: [1]) }
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

    @Test("errno becomes one sentence with the path, the reason and the right status")
    func errnoMapping() {
        let full = Posix.error("write", "/srv/store/inbox/x", ENOSPC)
        #expect(full.message == "cannot write /srv/store/inbox/x: no space left on device")
        #expect(full.status == .ioError)
        #expect(Posix.error("open", "/a", EACCES).status == .permission)
        #expect(Posix.error("open", "/a", EROFS).status == .permission)
        #expect(Posix.error("open", "/a", EROFS).message.contains("read-only"))
        #expect(Posix.error("read", "/a", EIO).status == .ioError)
        #expect(Posix.error("open", "/a", ELOOP).message.contains("symbolic link"))
    }

    @Test("the leftover cleaner removes unlocked files and links, never a file a writer is writing, never a link's target")
    func leftoverCleaner() throws {
        let dir = ScratchDir()
        let tmp = dir.sub("tmp"), dest = dir.sub("dest")
        #expect(mkdir(tmp, 0o700) == 0 && mkdir(dest, 0o700) == 0)
        guard case let .success(tmpFD) = Posix.openPath(tmp, O_RDONLY | O_DIRECTORY),
              case let .success(destFD) = Posix.openPath(dest, O_RDONLY | O_DIRECTORY) else {
            Issue.record("cannot open the folders")
            return
        }
        let outside = dir.sub("outside")
        writeFile(outside, [7, 7])
        writeFile(tmp + "/crashed-leftover", Random.bytes(100))
        #expect(symlink(outside, tmp + "/link") == 0)
        let writer = try DurableWriter.create(in: tmpFD, dirPath: tmp, prefix: "")
        try writer.write(Random.bytes(5000))
        #expect(names(in: tmp).count == 3)

        #expect(DurableFile.removeLeftovers(in: tmpFD, dirPath: tmp) == 2)
        #expect(names(in: tmp) == [writer.tempName])
        #expect(readFile(outside) == [7, 7])

        // The writer carries on undisturbed.
        try writer.prepare(zeroTimes: true)
        #expect(try writer.link(to: destFD, destPath: dest, name: "final"))
        try writer.finish(destDir: destFD, destPath: dest)
        #expect(names(in: tmp).isEmpty)
        #expect(readFile(dest + "/final")?.count == 5000)
        #expect(lstatOf(dest + "/final")?.st_mtim.tv_sec == 0)
    }

    @Test("renameat2(RENAME_NOREPLACE), the fallback for file systems without hard links, is found and never overwrites")
    func renameNoReplace() throws {
        let dir = ScratchDir()
        guard case let .success(fd) = Posix.openPath(dir.path, O_RDONLY | O_DIRECTORY) else {
            Issue.record("cannot open the folder")
            return
        }
        writeFile(dir.sub("a"), [1])
        writeFile(dir.sub("b"), [2])
        #expect(Posix.renameNoReplace(fd.raw, "a", fd.raw, "b") == -1 && errno == EEXIST)
        #expect(readFile(dir.sub("b")) == [2])
        #expect(Posix.renameNoReplace(fd.raw, "a", fd.raw, "c") == 0)
        #expect(names(in: dir.path) == ["b", "c"] && readFile(dir.sub("c")) == [1])
    }

    @Test("link reports an existing name instead of overwriting it, and keeps the temporary file for another try")
    func linkExisting() throws {
        let dir = ScratchDir()
        guard case let .success(fd) = Posix.openPath(dir.path, O_RDONLY | O_DIRECTORY) else {
            Issue.record("cannot open the folder")
            return
        }
        writeFile(dir.sub("taken"), [1])
        let writer = try DurableWriter.create(in: fd, dirPath: dir.path, prefix: "t-")
        try writer.write([2, 2])
        try writer.prepare(zeroTimes: false)
        #expect(try !writer.link(to: fd, destPath: dir.path, name: "taken"))
        #expect(readFile(dir.sub("taken")) == [1])
        #expect(try writer.link(to: fd, destPath: dir.path, name: "free"))
        try writer.finish(destDir: fd, destPath: dir.path)
        #expect(names(in: dir.path) == ["free", "taken"])
        #expect(readFile(dir.sub("free")) == [2, 2])
    }
}
