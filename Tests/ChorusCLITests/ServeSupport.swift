import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `chorus serve` started by a test on a free loopback port, stopped with SIGTERM.
final class ServeProcess: @unchecked Sendable {
    let process = Process()
    let cli: CLI
    let errPath: String
    private(set) var port = 0

    /// Starts `chorus serve --store STORE --listen 127.0.0.1:0 EXTRA…` and waits for its line.
    init(_ cli: CLI, store: String = "store", _ extra: [String] = [], env: [String: String] = [:]) throws {
        _ = ignoreSIGPIPE
        self.cli = cli
        errPath = cli.path("serve-\(UUID().uuidString).err")
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath + ".out", contents: nil)
        process.executableURL = URL(fileURLWithPath: CLI.binary)
        process.arguments = ["serve", "--store", store, "--listen", "127.0.0.1:0"] + extra
        process.currentDirectoryURL = URL(fileURLWithPath: cli.dir)
        process.environment = chorusEnvironment(in: cli.dir, env)
        process.standardOutput = FileHandle(forWritingAtPath: errPath + ".out")!
        process.standardError = FileHandle(forWritingAtPath: errPath)!
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if let range = stderr.range(of: "listening on http://127.0.0.1:") {
                let digits = stderr[range.upperBound...].prefix { $0.isNumber }
                if let p = Int(digits), p > 0 { port = p; return }
            }
            if !process.isRunning { break }
            usleep(20_000)
        }
        throw ServeError.didNotStart(stderr)
    }

    enum ServeError: Error { case didNotStart(String) }

    var stderr: String { (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "" }
    var stdout: String { (try? String(contentsOfFile: errPath + ".out", encoding: .utf8)) ?? "" }

    /// SIGTERM, then waits; the exit status.
    @discardableResult
    func stop() -> Int32 {
        if process.isRunning { kill(process.processIdentifier, SIGTERM) }
        process.waitUntilExit()
        return process.terminationStatus
    }

    deinit { if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() } }

    var url: String { "http://127.0.0.1:\(port)" }
}

/// One HTTP answer as read off the socket.
struct RawAnswer: CustomStringConvertible {
    let status: Int
    let headers: [(String, String)]
    let body: [UInt8]
    var text: String { String(decoding: body, as: UTF8.self) }
    func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
    var description: String { "\(status) \(headers.map { "\($0.0): \($0.1)" }.joined(separator: "; ")) \(text.prefix(300))" }
}

/// A plain TCP connection to a loopback port, for requests no HTTP library would send.
final class RawConnection {
    let fd: Int32

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let r = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard r == 0 else { close(fd); throw POSIXError(.ECONNREFUSED) }
        setTimeout(15)
    }

    deinit { close(fd) }

    func setTimeout(_ seconds: Int) {
        var tv = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    func send(_ bytes: [UInt8]) {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            sent += n
        }
    }

    func send(_ text: String) { send(Array(text.utf8)) }

    func shutdownWrite() { shutdown(fd, Int32(SHUT_WR)) }

    /// Reads one answer (head, then Content-Length bytes); nil when the connection closes or times
    /// out before a whole head.
    func readAnswer() -> RawAnswer? {
        var buffer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        func more() -> Bool {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { return false }
            buffer += chunk[0 ..< n]
            return true
        }
        var headEnd: Int? = nil
        while headEnd == nil {
            if let r = buffer.indices.dropLast(3).first(where: { buffer[$0] == 13 && buffer[$0 + 1] == 10 && buffer[$0 + 2] == 13 && buffer[$0 + 3] == 10 }) {
                headEnd = r
            } else if !more() { return nil }
        }
        let head = String(decoding: buffer[0 ..< headEnd!], as: UTF8.self).components(separatedBy: "\r\n")
        let statusLine = head[0].split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else { return nil }
        var headers: [(String, String)] = []
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers.append((String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        let length = headers.first { $0.0.lowercased() == "content-length" }.flatMap { Int($0.1) } ?? 0
        let bodyStart = headEnd! + 4
        while buffer.count < bodyStart + length { if !more() { break } }
        return RawAnswer(status: status, headers: headers, body: Array(buffer[bodyStart ..< min(buffer.count, bodyStart + length)]))
    }

    /// Whether the server closed the connection (a read returns end of file) within the timeout.
    func closedByServer() -> Bool {
        var byte: UInt8 = 0
        return recv(fd, &byte, 1, 0) == 0
    }
}

/// A request with `Connection: close`, and its answer.
func http(_ port: Int, _ method: String, _ path: String, body: [UInt8] = [], headers: [String] = []) throws -> RawAnswer? {
    let c = try RawConnection(port: port)
    var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
    for h in headers { head += h + "\r\n" }
    if method == "POST" { head += "Content-Length: \(body.count)\r\n" }
    c.send(Array((head + "\r\n").utf8) + body)
    return c.readAnswer()
}

/// The URL-encoded body of the submission form.
func formBody(_ pairs: [(String, String)]) -> [UInt8] {
    let allowed = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")
    return Array(pairs.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed)!)" }.joined(separator: "&").utf8)
}

/// A SOCKS5 proxy on loopback (RFC 1928, no authentication, CONNECT only) that sends every
/// connection to `targetPort` on loopback whatever it was asked for, and records what it was asked:
/// with socks5h the client hands over the name (address type 3), never an address it resolved.
final class SOCKSRelay: @unchecked Sendable {
    private let listener: Int32
    private(set) var port = 0
    private let lock = NSLock()
    private var asked: [String] = []
    let targetPort: Int

    var requests: [String] { lock.lock(); defer { lock.unlock() }; return asked }

    init(targetPort: Int) throws {
        self.targetPort = targetPort
        listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, len) == 0 && listen(listener, 16) == 0 && getsockname(listener, $0, &len) == 0 }
        }
        guard bound else { throw POSIXError(.EADDRINUSE) }
        port = Int(UInt16(bigEndian: addr.sin_port))
        Thread.detachNewThread { [self] in
            while true {
                let client = accept(listener, nil, nil)
                if client < 0 { return }
                Thread.detachNewThread { self.serve(client) }
            }
        }
    }

    deinit { shutdown(listener, Int32(SHUT_RDWR)); close(listener) }

    private func readExactly(_ fd: Int32, _ n: Int) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: n), got = 0
        while got < n {
            let r = out[got...].withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if r <= 0 { return nil }
            got += r
        }
        return out
    }

    private func serve(_ client: Int32) {
        defer { close(client) }
        guard let hello = readExactly(client, 2), hello[0] == 5, readExactly(client, Int(hello[1])) != nil else { return }
        _ = [UInt8]([5, 0]).withUnsafeBytes { send(client, $0.baseAddress, 2, Int32(MSG_NOSIGNAL)) }
        guard let request = readExactly(client, 4), request[0] == 5, request[1] == 1 else { return }
        let target: String
        switch request[3] {
        case 3:
            guard let n = readExactly(client, 1), let name = readExactly(client, Int(n[0])), let p = readExactly(client, 2) else { return }
            target = "name \(String(decoding: name, as: UTF8.self)):\(Int(p[0]) << 8 | Int(p[1]))"
        case 1:
            guard let a = readExactly(client, 4), let p = readExactly(client, 2) else { return }
            target = "address \(a.map(String.init).joined(separator: ".")):\(Int(p[0]) << 8 | Int(p[1]))"
        default:
            return
        }
        lock.lock(); asked.append(target); lock.unlock()
        guard let upstream = try? RawConnection(port: targetPort) else { return }
        _ = [UInt8]([5, 0, 0, 1, 127, 0, 0, 1, 0, 0]).withUnsafeBytes { send(client, $0.baseAddress, 10, Int32(MSG_NOSIGNAL)) }
        var fds = [pollfd(fd: client, events: Int16(POLLIN), revents: 0), pollfd(fd: upstream.fd, events: Int16(POLLIN), revents: 0)]
        var buffer = [UInt8](repeating: 0, count: 65536)
        while poll(&fds, 2, 20_000) > 0 {
            for (i, other) in [(0, upstream.fd), (1, client)] where fds[i].revents != 0 {
                let n = buffer.withUnsafeMutableBytes { recv(fds[i].fd, $0.baseAddress, $0.count, 0) }
                if n <= 0 { return }
                var sent = 0
                while sent < n {
                    let w = buffer[sent ..< n].withUnsafeBytes { send(other, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                    if w <= 0 { return }
                    sent += w
                }
            }
        }
    }
}
