/// One answer of the intake server, before the headers every answer carries (`Hygiene`).
public struct Reply: Sendable, Equatable {
    public var status: Int
    /// The media type of `body`; nil for an empty body.
    public var contentType: String?
    public var body: [UInt8]
    /// `Retry-After`, in seconds, for 503 answers.
    public var retryAfter: Int?
    /// `Allow`, for 405 answers.
    public var allow: String?
    /// Close the connection after this answer (its body may not have been read).
    public var close: Bool

    public init(status: Int, contentType: String? = nil, body: [UInt8] = [], retryAfter: Int? = nil, allow: String? = nil, close: Bool = false) {
        self.status = status; self.contentType = contentType; self.body = body
        self.retryAfter = retryAfter; self.allow = allow; self.close = close
    }

    public static let text = "text/plain; charset=utf-8"
    public static let html = "text/html; charset=utf-8"

    /// A one-sentence plain-text answer (the API's errors and acknowledgements).
    public static func sentence(_ status: Int, _ sentence: String, retryAfter: Int? = nil, close: Bool = false) -> Reply {
        Reply(status: status, contentType: text, body: Array((sentence + "\n").utf8), retryAfter: retryAfter, close: close)
    }

    /// A page of the submission form, or an error page for a browser.
    public static func page(_ status: Int, _ page: String, retryAfter: Int? = nil, close: Bool = false) -> Reply {
        Reply(status: status, contentType: html, body: Array(page.utf8), retryAfter: retryAfter, close: close)
    }
}

/// The headers on every answer, whatever it is: no cookies, nothing cached, nothing fetched from
/// elsewhere, no referrer, no framing, and no date (a server's clock skew can tell onion services
/// apart). The stylesheet is the only resource a page loads.
public enum Hygiene {
    public static let serverName = "chorus"

    public static let headers: [(String, String)] = [
        ("Content-Security-Policy", "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
        ("Referrer-Policy", "no-referrer"),
        ("Cache-Control", "no-store"),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
        ("Cross-Origin-Resource-Policy", "same-origin"),
        ("Permissions-Policy", "camera=(), microphone=(), geolocation=(), interest-cohort=(), browsing-topics=()"),
        ("Server", serverName),
    ]
}
