import ChorusCore
import ChorusSystem
import HTTPTypes
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTPTypes
import NIOPosix
import ServiceLifecycle

/// `chorus serve`: HTTP/1.1 on HummingbirdCore (not the Hummingbird application, which adds a
/// `Date` header to every answer), with no logger at all, the limits of `IntakeLimits`, and a
/// graceful stop on SIGTERM or SIGINT: the listener closes, requests in flight are answered (their
/// writes finish: every store write is atomic anyway), then the process ends.
public struct IntakeServer: Sendable {
    public let service: IntakeService
    public let host: String
    public let port: Int
    public let threads: Int

    public init(service: IntakeService, host: String, port: Int, threads: Int = 8) {
        self.service = service; self.host = host; self.port = port; self.threads = threads
    }

    /// A logger that drops everything: nothing a server library might log (addresses, errors with
    /// request details) is written anywhere.
    static let silent = Logger(label: "chorus-serve", factory: { _ in SwiftLogNoOpLogHandler() })

    /// Runs until SIGTERM or SIGINT. `listening` is called once with the port bound (useful with port 0).
    public func run(listening: @escaping @Sendable (Int) -> Void) async throws {
        let pool = NIOThreadPool(numberOfThreads: threads)
        pool.start()
        let handler = RequestHandler(service: service, admission: Admission(limits: service.limits), pool: pool)
        let limits = service.limits
        let http = HTTP1Channel.Configuration(
            additionalChannelHandlers: [RequestDeadlineHandler(first: .seconds(Int64(limits.headSeconds)),
                                                               afterAnswer: .seconds(Int64(limits.idleSeconds + limits.headSeconds)),
                                                               body: .seconds(Int64(limits.bodySeconds)))],
            idleTimeout: .seconds(Int64(limits.idleSeconds)),
            httpDecoderConfiguration: .init(maxHeaderFieldSize: limits.maxHeadBytes, maxHeaderListSize: limits.maxHeadBytes, maxHeaderFieldCount: 100)
        )
        let server = try HTTPServerBuilder.http1(configuration: http).buildServer(
            configuration: ServerConfiguration(address: .hostname(host, port: port), serverName: nil, backlog: 256, reuseAddress: true,
                                               availableConnectionsDelegate: MaximumAvailableConnections(limits.maxConnections, logger: Self.silent)),
            eventLoopGroup: MultiThreadedEventLoopGroup.singleton,
            logger: Self.silent,
            responder: { request, writer, channel in
                try await handler.respond(request, writer, channel)
            },
            onServerRunning: { channel in
                listening(channel.localAddress?.port ?? 0)
            }
        )
        let group = ServiceGroup(configuration: .init(services: [server], gracefulShutdownSignals: [.sigterm, .sigint], logger: Self.silent))
        do {
            try await group.run()
        } catch {
            try? await pool.shutdownGracefully()
            throw error
        }
        try? await pool.shutdownGracefully()
    }
}

extension Hygiene {
    /// `headers` as HTTP fields, made once: the start of every answer's head.
    static let fields: HTTPFields = {
        var fields = HTTPFields()
        for (name, value) in headers { fields[HTTPField.Name(name)!] = value }
        return fields
    }()
}

/// Routes one request and writes its answer with the hygiene headers.
struct RequestHandler: Sendable {
    let service: IntakeService
    let admission: Admission
    let pool: NIOThreadPool

    func respond(_ request: Request, _ writer: consuming ResponseWriter, _ channel: any Channel) async throws {
        var reply = await answer(request)
        // An answer given before the whole body was read closes the connection: reading the rest
        // (Hummingbird would) is what a flood wants.
        if reply.close { channel.close(mode: .input, promise: nil) }
        var fields = Hygiene.fields
        if let type = reply.contentType { fields[.contentType] = type }
        if let retry = reply.retryAfter { fields[.retryAfter] = String(retry) }
        if let allow = reply.allow { fields[.allow] = allow }
        if reply.close { fields[.connection] = "close" }
        if reply.status == 200, request.uri.path == "/v1/recipients" {
            fields[HTTPField.Name(IntakeProtocol.maxStoryHeader)!] = String(service.maxStoryBytes)
        }
        if request.method == .head { reply.body = [] }
        fields[.contentLength] = String(reply.body.count)
        let head = HTTPResponse(status: .init(code: reply.status), headerFields: fields)
        try await writer.write(response: head, body: ResponseBody(byteBuffer: ByteBuffer(bytes: reply.body)))
    }

    enum Route { case form, submit, withdrawPage, withdrawForm, style, health, recipients, envelopes, withdraw }

    static let routes: [String: (Route, HTTPRequest.Method)] = [
        "/": (.form, .get), "/submit": (.submit, .post), "/withdraw": (.withdrawPage, .get), "/style.css": (.style, .get), "/health": (.health, .get),
        "/v1/recipients": (.recipients, .get), "/v1/envelopes": (.envelopes, .post), "/v1/withdraw": (.withdraw, .post),
    ]

    static func isAPI(_ path: String) -> Bool { path.hasPrefix("/v1/") }

    func notFound(_ path: String) -> Reply {
        Self.isAPI(path) ? .sentence(404, "no such endpoint") : .page(404, Pages.error(status: 404, "There is no such page here."))
    }

    func answer(_ request: Request) async -> Reply {
        let path = request.uri.path
        guard let (found, method) = Self.routes[path] else { return notFound(path).closingIfBody(request) }
        var route = found
        if route == .withdrawPage && request.method == .post { route = .withdrawForm }
        guard request.method == method || (method == .get && request.method == .head) || route == .withdrawForm else {
            var reply = Self.isAPI(path) ? Reply.sentence(405, "use \(method.rawValue) here") : Reply.page(405, Pages.error(status: 405, "This page cannot be used that way."))
            reply.allow = route == .withdrawPage ? "GET, HEAD, POST" : method == .get ? "GET, HEAD" : method.rawValue
            return reply.closingIfBody(request)
        }
        switch admission.admit() {
        case .admitted: break
        case .busy, .tooFast:
            let reply = Self.isAPI(path) || route == .health
                ? Reply.sentence(503, "the server is busy; nothing was stored; try again shortly", retryAfter: 5)
                : Reply.page(503, Pages.error(status: 503, SubmitterText.webBusy), retryAfter: 5)
            return reply.closingIfBody(request)
        }
        defer { admission.release() }
        let now = UTCDate.now()
        switch route {
        case .withdrawPage:
            return .page(200, Pages.withdrawForm())
        case .withdrawForm:
            switch await collect(request, limit: 4096, page: true) {
            case let .body(buffer):
                return await blocking { buffer.withUnsafeReadableBytes { service.withdrawForm(UnsafeMutableRawBufferPointer(mutating: $0)) } }
            case let .refused(reply): return reply
            }
        case .style:
            return Reply(status: 200, contentType: "text/css; charset=utf-8", body: Array(Pages.stylesheet.utf8))
        case .form:
            return await blocking { service.formPage(currentYear: now.year) }
        case .health:
            return await blocking { service.health() }
        case .recipients:
            return await blocking { service.recipients() }
        case .envelopes:
            switch await collect(request, limit: service.limits.maxEnvelopeBytes) {
            case let .body(buffer):
                return await blocking { buffer.withUnsafeReadableBytes { service.acceptEnvelope($0) } }
            case let .refused(reply): return reply
            }
        case .withdraw:
            switch await collect(request, limit: 1024) {
            case let .body(buffer):
                return await blocking { buffer.withUnsafeReadableBytes { service.withdraw($0) } }
            case let .refused(reply): return reply
            }
        case .submit:
            let limit = service.limits.maxFormBytes(maxStoryBytes: service.maxStoryBytes)
            switch await collect(request, limit: limit, page: true) {
            case let .body(buffer):
                // The body is wiped in place once read: through its own storage, which only this
                // request holds (a mutable copy would be a second copy of the story).
                return await blocking {
                    buffer.withUnsafeReadableBytes {
                        service.submitForm(UnsafeMutableRawBufferPointer(mutating: $0), arrivalMonth: now.monthText, currentYear: now.year)
                    }
                }
            case let .refused(reply): return reply
            }
        }
    }

    /// Runs disk or crypto work off the event loops.
    func blocking(_ work: @escaping @Sendable () -> Reply) async -> Reply {
        do {
            return try await pool.runIfActive(work)
        } catch {
            return .sentence(503, "the server is stopping; nothing was stored; try again later", retryAfter: 60, close: true)
        }
    }

    enum Collected { case body(ByteBuffer), refused(Reply) }

    /// The whole body, at most `limit` bytes; else the answer to give (413, 400), which closes the
    /// connection.
    func collect(_ request: Request, limit: Int, page: Bool = false) async -> Collected {
        func refuse(_ status: Int, _ sentence: String) -> Collected {
            var reply = page ? Reply.page(status, Pages.error(status: status, sentence)) : Reply.sentence(status, sentence)
            reply.close = true
            return .refused(reply)
        }
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > limit {
            return refuse(413, "the body is larger than the \(limit) bytes this endpoint takes")
        }
        // The body's deadline is kept by `RequestDeadlineHandler`, which answers 408 and closes the
        // connection, ending this collect. (Racing the collect against a timer in a task group
        // instead cost 0.7 KB of memory per request, never given back.)
        let outcome: Result<ByteBuffer, any Error>
        do { outcome = .success(try await request.body.collect(upTo: limit)) } catch { outcome = .failure(error) }
        switch outcome {
        case let .success(buffer): return .body(buffer)
        case let .failure(error):
            if error is NIOTooManyBytesError {
                return refuse(413, "the body is larger than the \(limit) bytes this endpoint takes")
            }
            return refuse(400, "the body could not be read")
        }
    }
}

extension Reply {
    /// Answers given without reading a body the request has close the connection.
    func closingIfBody(_ request: Request) -> Reply {
        var reply = self
        if request.headers[.contentLength].map({ $0 != "0" }) ?? false || request.headers[.transferEncoding] != nil { reply.close = true }
        return reply
    }
}

/// The deadlines of a connection, kept on its event loop: a request head not complete in time closes
/// it (`first` from its opening, `afterAnswer` from the end of the previous answer, idle keep-alive
/// time included), and a body not complete `body` after its head is answered 408 (with the headers
/// of every answer) and closed, unless an answer has started already.
final class RequestDeadlineHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    let first: TimeAmount
    let afterAnswer: TimeAmount
    let body: TimeAmount
    private var timer: Scheduled<Void>?
    private var answering = false

    init(first: TimeAmount, afterAnswer: TimeAmount, body: TimeAmount) {
        self.first = first
        self.afterAnswer = afterAnswer
        self.body = body
    }

    func handlerAdded(context: ChannelHandlerContext) {
        arm(context, first, answer: false)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            answering = false
            arm(context, body, answer: true)
        case .end:
            if !answering { disarm() }
        case .body:
            break
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head:
            answering = true
            disarm()
        case .end:
            arm(context, afterAnswer, answer: false)
        case .body:
            break
        }
        context.write(data, promise: promise)
    }

    private func disarm() {
        timer?.cancel()
        timer = nil
    }

    private func arm(_ context: ChannelHandlerContext, _ after: TimeAmount, answer: Bool) {
        timer?.cancel()
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: after) {
            let (handler, context) = bound.value
            guard answer, !handler.answering else {
                context.close(promise: nil)
                return
            }
            handler.answering = true
            let seconds = handler.body.nanoseconds / 1_000_000_000
            let text = Array("the body did not arrive within \(seconds) seconds; nothing was stored\n".utf8)
            var fields = Hygiene.fields
            fields[.contentType] = Reply.text
            fields[.connection] = "close"
            fields[.contentLength] = String(text.count)
            context.write(handler.wrapOutboundOut(.head(HTTPResponse(status: .requestTimeout, headerFields: fields))), promise: nil)
            context.write(handler.wrapOutboundOut(.body(ByteBuffer(bytes: text))), promise: nil)
            let channel = context.channel
            context.writeAndFlush(handler.wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
        }
    }
}
