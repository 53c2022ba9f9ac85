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
    init(_ cli: CLI, store: String = "store", _ extra: [String] = []) throws {
        _ = ignoreSIGPIPE
        self.cli = cli
        errPath = cli.path("serve-\(UUID().uuidString).err")
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath + ".out", contents: nil)
        process.executableURL = URL(fileURLWithPath: CLI.binary)
        process.arguments = ["serve", "--store", store, "--listen", "127.0.0.1:0"] + extra
        process.currentDirectoryURL = URL(fileURLWithPath: cli.dir)
        process.environment = chorusEnvironment(in: cli.dir)
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
