import NIOConcurrencyHelpers
import NIOCore

/// Flood control shared by every connection: how many requests are being handled, and a global token
/// bucket. Both are checked before a request's body is read.
public final class Admission: Sendable {
    public enum Verdict: Equatable, Sendable { case admitted, busy, tooFast }

    private struct State {
        var inFlight = 0
        var tokens: Double
        var last: NIODeadline
    }

    private let state: NIOLockedValueBox<State>
    private let limits: IntakeLimits

    public init(limits: IntakeLimits) {
        self.limits = limits
        self.state = NIOLockedValueBox(State(tokens: Double(limits.burst), last: .now()))
    }

    /// Admits one request, or says why not. An admitted request must call `release()` once done.
    public func admit(now: NIODeadline = .now()) -> Verdict {
        state.withLockedValue { s in
            let elapsed = Double((now - s.last).nanoseconds) / 1e9
            if elapsed > 0 {
                s.tokens = min(Double(limits.burst), s.tokens + elapsed * limits.ratePerSecond)
                s.last = now
            }
            guard s.inFlight < limits.maxConcurrent else { return .busy }
            guard s.tokens >= 1 else { return .tooFast }
            s.tokens -= 1
            s.inFlight += 1
            return .admitted
        }
    }

    public func release() {
        state.withLockedValue { $0.inFlight -= 1 }
    }

    public var inFlight: Int { state.withLockedValue { $0.inFlight } }
}
