import AsyncHTTPClient
import ChorusSystem
import Logging
import NIOCore
import NIOHTTP1

/// Why talking to an intake server failed: one sentence, ready for `chorus: error: …`.
public struct IntakeError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The address or proxy given is not usable (exit 64).
        case usage
        /// The server could not be reached, or the connection broke (exit 69, EX_UNAVAILABLE).
        case unreachable
        /// The server answered, and refused (its sentence is in the message) (exit 65 for 4xx, 69 for 5xx).
        case refused(status: Int)
        /// The server's answer is not what the protocol says (exit 76, EX_PROTOCOL).
        case badAnswer
    }

    public let kind: Kind
    public let message: String
    public var description: String { message }

    public init(_ kind: Kind, _ message: String) { self.kind = kind; self.message = message }
}

/// Where an intake server is: `http://HOST[:PORT][/PATH]` or `https://…`, nothing else (no user,
/// query or fragment). An `.onion` host is reached only through a SOCKS proxy (Tor).
public struct IntakeAddress: Sendable, Equatable {
    public let scheme: String
    public let host: String
    public let port: Int
    /// The path before `/v1/…`, without a trailing slash ("" for none).
    public let base: String

    public var isOnion: Bool { host.lowercased().hasSuffix(".onion") }
    public var isLoopback: Bool { host == "localhost" || host == "::1" || host.hasPrefix("127.") }

    public func url(_ path: String) -> String {
        let defaultPort = scheme == "https" ? 443 : 80
        return "\(scheme)://\(host)\(port == defaultPort ? "" : ":\(port)")\(base)\(path)"
    }

    public init(parsing text: String) throws(IntakeError) {
        func bad(_ why: String) -> IntakeError {
            IntakeError(.usage, "--to \(displaySafe(text)): \(why); give the server's address as http://HOST[:PORT] (for example http://abcdef….onion)")
        }
        let scheme: String
        var rest: Substring
        if text.hasPrefix("http://") { scheme = "http"; rest = text.dropFirst(7) } else if text.hasPrefix("https://") { scheme = "https"; rest = text.dropFirst(8) } else {
            throw bad("only http:// and https:// addresses are used")
        }
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<slash]
        var path = String(rest[slash...])
        while path.hasSuffix("/") { path.removeLast() }
        guard !path.contains("?") && !path.contains("#") else { throw bad("a query or fragment is not part of a server's address") }
        guard path.unicodeScalars.allSatisfy({ $0.isASCII && $0.value > 0x20 && $0.value < 0x7f && $0 != "%" }) else { throw bad("the path has characters an address cannot carry") }
        guard !authority.contains("@") else { throw bad("a user name or password is never part of the address") }
        var host = String(authority)
        var port = scheme == "https" ? 443 : 80
        if let colon = authority.lastIndex(of: ":") {
            host = String(authority[..<colon])
            guard let p = Int(authority[authority.index(after: colon)...]), (1 ... 65535).contains(p) else { throw bad("the port is not a number from 1 to 65535") }
            port = p
        }
        guard !host.isEmpty, host.utf8.count <= 253,
              host.unicodeScalars.allSatisfy({ ("a" ... "z").contains($0) || ("A" ... "Z").contains($0) || ("0" ... "9").contains($0) || $0 == "." || $0 == "-" })
        else { throw bad("the host is not a name or an IPv4 address") }
        self.scheme = scheme; self.host = host; self.port = port; self.base = path
    }
}

/// `--proxy socks5h://HOST:PORT`: a SOCKS5 proxy that resolves names itself (Tor's SOCKS port), so
/// that no name is looked up on this machine. Only `socks5h` is taken.
public struct SOCKSProxy: Sendable, Equatable {
    public let host: String
    public let port: Int

    public init(parsing text: String) throws(IntakeError) {
        guard text.hasPrefix("socks5h://") else {
            throw IntakeError(.usage, "--proxy \(displaySafe(text)): give a SOCKS proxy that resolves names itself, as socks5h://HOST:PORT (Tor's is socks5h://127.0.0.1:9050)")
        }
        var rest = text.dropFirst(10)
        while rest.hasSuffix("/") { rest.removeLast() }
        guard let colon = rest.lastIndex(of: ":"), let port = Int(rest[rest.index(after: colon)...]), (1 ... 65535).contains(port),
              !rest[..<colon].isEmpty, !rest.contains("@"), !rest.contains("/")
        else {
            throw IntakeError(.usage, "--proxy \(displaySafe(text)): give it as socks5h://HOST:PORT, for example socks5h://127.0.0.1:9050")
        }
        self.host = String(rest[..<colon]); self.port = port
    }
}

/// The command-line side of docs/PROTOCOL.md: fetches the signed recipients, posts one sealed
/// envelope, posts a receipt to withdraw. Only ciphertext and receipts cross the network; nothing is
/// logged; redirects are not followed (a server that redirects is refused: the address given is the
/// one trusted). Each call is bounded: the answer's size and the time to get it.
public final class IntakeClient: Sendable {
    public let tries: Int
    public let address: IntakeAddress
    private let client: HTTPClient
    static let silent = Logger(label: "chorus-client", factory: { _ in SwiftLogNoOpLogHandler() })
    /// Seconds for one request, all told (Tor circuits can take a while to build).
    public static let timeoutSeconds: Int64 = 180

    public init(address: IntakeAddress, proxy: SOCKSProxy?, tries: Int = 3) {
        self.address = address
        self.tries = tries
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.timeout = .init(connect: .seconds(120), read: .seconds(Self.timeoutSeconds))
        configuration.decompression = .disabled
        // A refused or failed connection is said at once (the client's own loop retries a send), not
        // retried silently until the timeout.
        configuration.connectionPool.retryConnectionEstablishment = false
        if let proxy { configuration.proxy = .socksServer(host: proxy.host, port: proxy.port) }
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration, backgroundActivityLogger: Self.silent)
    }

    public func shutdown() async { try? await client.shutdown() }

    struct Answer { let status: Int; let headers: HTTPHeaders; let body: [UInt8] }

    private func exchange(_ method: HTTPMethod, _ path: String, body: [UInt8]? = nil, contentType: String? = nil, limit: Int) async throws(IntakeError) -> Answer {
        var request = HTTPClientRequest(url: address.url(path))
        request.method = method
        if let body {
            request.body = .bytes(ByteBuffer(bytes: body))
            if let contentType { request.headers.add(name: "Content-Type", value: contentType) }
        }
        do {
            let response = try await client.execute(request, timeout: .seconds(Self.timeoutSeconds), logger: Self.silent)
            let collected = try await response.body.collect(upTo: limit)
            return Answer(status: Int(response.status.code), headers: response.headers, body: Array(buffer: collected))
        } catch let error as NIOTooManyBytesError {
            _ = error
            throw IntakeError(.badAnswer, "the server at \(displaySafe(address.url(""))) sent a longer answer than the protocol allows")
        } catch {
            throw IntakeError(.unreachable, "cannot reach the server at \(displaySafe(address.url(""))): \(Self.describe(error))")
        }
    }

    static func describe(_ error: any Error) -> String {
        let text = String(describing: error)
        if text.contains("connectTimeout") || text.contains("deadlineExceeded") || text.contains("readTimeout") { return "no answer in time" }
        if text.contains("connectionRefused") || text.contains("Connection refused") { return "the connection was refused" }
        if text.contains("remoteConnectionClosed") || text.contains("eof") { return "the connection closed before an answer" }
        if text.contains("socks") || text.contains("SOCKS") { return "the SOCKS proxy could not connect to it" }
        return displaySafe(text, limit: 160)
    }

    /// The server's one sentence, shown safely.
    static func sentence(_ body: [UInt8]) -> String {
        let text = String(decoding: body.prefix(600), as: UTF8.self)
        let line = text.split(separator: "\n").first.map(String.init) ?? ""
        return displaySafe(line, limit: 300)
    }

    private func refused(_ answer: Answer, _ doing: String) -> IntakeError {
        var message = "the server refused \(doing) (HTTP \(answer.status))"
        let said = Self.sentence(answer.body)
        if !said.isEmpty, answer.headers["Content-Type"].first?.hasPrefix("text/plain") ?? false { message += ": \(said)" }
        if let retry = answer.headers["Retry-After"].first.flatMap({ Int($0) }) { message += "; it asks to try again in \(retry) seconds" }
        return IntakeError(.refused(status: answer.status), message)
    }

    /// `GET /v1/recipients`: the signed document's bytes, and the store's story limit when the
    /// server says it.
    public func recipients() async throws(IntakeError) -> (document: [UInt8], maxStoryBytes: Int?) {
        let answer = try await retrying { () async throws(IntakeError) -> Answer in
            try await exchange(.GET, IntakeProtocol.recipientsPath, limit: IntakeProtocol.maxRecipientsBytes)
        }
        guard answer.status == 200 else { throw refused(answer, "to give its recipients") }
        let limit = answer.headers[IntakeProtocol.maxStoryHeader].first.flatMap { Int($0) }
        return (answer.body, limit)
    }

    /// Every request of the protocol may be sent again (a second envelope or withdrawal of the
    /// same entry changes nothing): one whose connection fails is tried up to `tries` times, a few
    /// seconds apart (Tor circuits fail now and then). An answer, even a refusal, is final.
    private func retrying(_ request: () async throws(IntakeError) -> Answer) async throws(IntakeError) -> Answer {
        var attempt = 1
        while true {
            do {
                return try await request()
            } catch where error.kind == .unreachable && attempt < tries {
                try? await Task.sleep(for: .seconds(2 * attempt))
                attempt += 1
            }
        }
    }

    /// `POST /v1/envelopes`.
    public func send(envelope: [UInt8]) async throws(IntakeError) {
        let answer = try await retrying { () async throws(IntakeError) -> Answer in
            try await exchange(.POST, IntakeProtocol.envelopesPath, body: envelope, contentType: "application/octet-stream", limit: 4096)
        }
        guard answer.status == 201 else { throw refused(answer, "the sealed story") }
    }

    /// `POST /v1/withdraw` with the receipt's text.
    public func withdraw(receipt: String) async throws(IntakeError) {
        let answer = try await retrying { () async throws(IntakeError) -> Answer in
            try await exchange(.POST, IntakeProtocol.withdrawPath, body: Array(receipt.utf8), contentType: "text/plain; charset=utf-8", limit: 4096)
        }
        guard answer.status == 200 else { throw refused(answer, "the withdrawal") }
    }
}
