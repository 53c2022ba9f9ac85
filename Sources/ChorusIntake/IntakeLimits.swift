import ChorusFormat

/// The limits of `chorus serve` (docs/PROTOCOL.md, "Limits"). Every one has a command-line option.
public struct IntakeLimits: Sendable, Equatable {
    /// Requests handled at once; one more is answered 503 at once, its body unread.
    public var maxConcurrent = 64
    /// Open connections; beyond them, new connections wait in the listen queue.
    public var maxConnections = 256
    /// Requests per second over all clients (a token bucket, `burst` deep). Behind Tor every client
    /// has the same address, so there is no per-client limit to set.
    public var ratePerSecond = 50.0
    public var burst = 100
    /// Seconds a connection may take to send a request's head (from its opening, or the end of the
    /// previous answer), and to send a body once the head is in.
    public var headSeconds = 10
    public var bodySeconds = 60
    /// Seconds an idle keep-alive connection stays open.
    public var idleSeconds = 30
    /// Entries the inbox may hold before new ones are refused (503).
    public var inboxQuota = 100_000
    /// Free bytes the store's file system must keep: below them new submissions are refused (503).
    public var minFreeBytes: UInt64 = 512 << 20

    /// The largest body of `POST /v1/envelopes`: the largest envelope the format allows.
    public var maxEnvelopeBytes = EnvelopeFormat.maximumLength
    /// The largest head (request line and header fields).
    public var maxHeadBytes = 16 << 10

    public init() {}

    /// The largest body of `POST /submit`, for a store's largest story: every byte of it written as
    /// `%XX`, plus room for the answers.
    public func maxFormBytes(maxStoryBytes: Int) -> Int { maxStoryBytes * 3 + 16 << 10 }
}
