import ArgumentParser
import ChorusCore
import ChorusIntake
import ChorusStore
import ChorusSystem

struct ServeCommand: ChorusCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Take submissions over HTTP: the API of `submit --to`, and a form for a browser.",
        discussion: """
            An HTTP/1.1 server for one store, on a loopback address, meant to be reached through a Tor \
            onion service (--torrc prints the lines for torrc; docs/DEPLOY.md walks through a deployment). \
            It hands out the store's signed recipients (GET /v1/recipients), stores sealed envelopes \
            (POST /v1/envelopes) and withdrawals (POST /v1/withdraw), and serves a submission form that \
            works with JavaScript off (GET /, POST /submit), which seals on the server: that path trusts \
            the server with the story for the moment of sealing (SECURITY.md). docs/PROTOCOL.md describes \
            every answer. Nothing is logged: no access log, no address, no time of a submission. It \
            stops on SIGTERM or SIGINT once the requests in flight are answered.
            """
    )

    @Option(help: "The store to take submissions into.")
    var store: String?

    @Option(help: "The loopback address and port to listen on (port 0: any free port, printed at start).")
    var listen = "127.0.0.1:8737"

    @Flag(help: "Print the lines to add to torrc for an onion service in front of --listen, and exit.")
    var torrc = false

    @Option(name: .customLong("hidden-service-dir"), help: "With --torrc: Tor's folder for this onion service's keys.")
    var hiddenServiceDir = "/var/lib/tor/chorus/"

    @Flag(name: .customLong("allow-non-loopback"), help: "Listen on an address other than loopback (the server speaks plain HTTP; put it behind Tor or a TLS proxy).")
    var allowNonLoopback = false

    @OptionGroup var organisation: OrganisationOptions

    @Option(name: .customLong("max-concurrent"), help: "Requests handled at once; more are answered 503.")
    var maxConcurrent = IntakeLimits().maxConcurrent

    @Option(name: .customLong("max-connections"), help: "Connections open at once; more wait to be accepted.")
    var maxConnections = IntakeLimits().maxConnections

    @Option(help: "Requests per second over all clients (more are answered 503); the burst is twice this.")
    var rate = IntakeLimits().ratePerSecond

    @Option(name: .customLong("inbox-quota"), help: "Entries the inbox may hold before new submissions are answered 503.")
    var inboxQuota = IntakeLimits().inboxQuota

    @Option(name: .customLong("min-free-mib"), help: "Free space (MiB) the store's file system keeps: below it, submissions are answered 503.")
    var minFreeMiB = Int(IntakeLimits().minFreeBytes >> 20)

    @Option(name: .customLong("head-seconds"), help: "Seconds a client has to send a request's head.")
    var headSeconds = IntakeLimits().headSeconds

    @Option(name: .customLong("body-seconds"), help: "Seconds a client has to send a request's body (408 after).")
    var bodySeconds = IntakeLimits().bodySeconds

    @Option(help: "Threads for disk writes and sealing.")
    var threads = 8

    func validate() throws {
        if !torrc && store == nil { throw ValidationError("say which store to serve: --store DIR") }
        for (name, value) in [("--max-concurrent", maxConcurrent), ("--max-connections", maxConnections), ("--inbox-quota", inboxQuota),
                              ("--head-seconds", headSeconds), ("--body-seconds", bodySeconds), ("--threads", threads)] where value < 1 {
            throw ValidationError("\(name) must be at least 1")
        }
        if minFreeMiB < 0 { throw ValidationError("--min-free-mib cannot be negative") }
        if !(rate > 0 && rate.isFinite) { throw ValidationError("--rate must be a positive number of requests per second") }
        if threads > 256 { throw ValidationError("--threads is at most 256") }
    }

    /// `--listen HOST:PORT`, with HOST an IPv4 address.
    func listenAddress() throws -> (host: String, port: Int) {
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]), (0 ... 65535).contains(port) else {
            throw CommandError(.usage, "--listen \(displaySafe(listen)): give an address and a port, for example 127.0.0.1:8737")
        }
        let host = String(listen[..<colon])
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, parts.allSatisfy({ p in !p.isEmpty && p.count <= 3 && p.allSatisfy(\.isASCII) && Int(p).map { (0 ... 255).contains($0) } ?? false }) else {
            throw CommandError(.usage, "--listen \(displaySafe(listen)): the address must be an IPv4 address, for example 127.0.0.1")
        }
        if !host.hasPrefix("127.") && !allowNonLoopback {
            throw CommandError(.usage, "--listen \(displaySafe(host)) is not a loopback address; chorus serve speaks plain HTTP and is meant to be reached through Tor on this machine (add --allow-non-loopback to listen there anyway)")
        }
        return (host, port)
    }

    func execute() throws {
        let (host, port) = try listenAddress()
        if torrc {
            guard port != 0 else { throw CommandError(.usage, "--torrc needs the port the server will listen on (not 0)") }
            for line in Torrc.lines(hiddenServiceDir: hiddenServiceDir, host: host, port: port, maxStreams: maxConcurrent) { printOut(line) }
            return
        }
        let target = try Store.open(at: store!)
        let signed = try target.requireSignedRecipients()
        let recordPin = try organisation.trust([signed], forSealing: true)
        var limits = IntakeLimits()
        limits.maxConcurrent = maxConcurrent
        limits.maxConnections = maxConnections
        limits.ratePerSecond = rate
        limits.burst = max(1, Int((rate * 2).rounded(.up)))
        limits.inboxQuota = inboxQuota
        limits.minFreeBytes = UInt64(minFreeMiB) << 20
        limits.headSeconds = headSeconds
        limits.bodySeconds = bodySeconds
        let service = try IntakeService(store: target, limits: limits, organisation: signed.document.organisation.fingerprint)
        try recordPin()
        let server = IntakeServer(service: service, host: host, port: port, threads: threads)
        let shown = shownPath(store!)
        try runBlocking {
            try await server.run { bound in
                printErr("chorus serve: listening on http://\(host):\(bound) for store \(shown) (recipients signed by \(signed.document.organisation.fingerprint)); nothing is logged; stop with SIGTERM or Ctrl-C")
            }
        }
        printErr("chorus serve: stopped")
    }
}
