@testable import ChorusIntake
import NIOCore
import Testing

@Suite struct ClientAddressTests {
    @Test func addressesOfServers() throws {
        let a = try IntakeAddress(parsing: "http://abcdef.onion")
        #expect(a.isOnion && a.port == 80 && a.url("/v1/recipients") == "http://abcdef.onion/v1/recipients")
        let b = try IntakeAddress(parsing: "https://intake.example.org:8443/chorus/")
        #expect(!b.isOnion && b.port == 8443 && b.url("/v1/envelopes") == "https://intake.example.org:8443/chorus/v1/envelopes")
        #expect(try IntakeAddress(parsing: "http://127.0.0.1:8737").isLoopback)
        #expect(try !IntakeAddress(parsing: "http://128.0.0.1").isLoopback)
    }

    @Test func hostileAddressesAreRefused() {
        for bad in ["", "abcdef.onion", "ftp://x", "http://", "http://:80", "http://u:p@x", "http://x:0", "http://x:65536", "http://x:8a",
                    "http://x/?q=1", "http://x/#f", "http://x/a b", "http://x/%2e%2e", "http://ex ample", "http://x\u{202e}y", "http://[::1]:80",
                    "http://" + String(repeating: "a", count: 254), "http://x\ny"] {
            #expect(throws: IntakeError.self, "\(bad.debugDescription)") { _ = try IntakeAddress(parsing: bad) }
        }
    }

    @Test func onlySocks5hProxies() throws {
        let p = try SOCKSProxy(parsing: "socks5h://127.0.0.1:9050")
        #expect(p.host == "127.0.0.1" && p.port == 9050)
        for bad in ["socks5://127.0.0.1:9050", "socks4a://127.0.0.1:9050", "http://127.0.0.1:9050", "socks5h://127.0.0.1", "socks5h://:9050",
                    "socks5h://u@127.0.0.1:9050", "socks5h://127.0.0.1:0", "socks5h://127.0.0.1:9050/x"] {
            #expect(throws: IntakeError.self, "\(bad)") { _ = try SOCKSProxy(parsing: bad) }
        }
    }
}

@Suite struct AdmissionTests {
    @Test func aBurstThenTheRateAndAConcurrencyCap() {
        var limits = IntakeLimits()
        limits.ratePerSecond = 10
        limits.burst = 3
        limits.maxConcurrent = 2
        let gate = Admission(limits: limits)
        let t0 = NIODeadline.now()
        #expect(gate.admit(now: t0) == .admitted)
        #expect(gate.admit(now: t0) == .admitted)
        #expect(gate.admit(now: t0) == .busy, "two in flight")
        gate.release()
        #expect(gate.admit(now: t0) == .admitted)
        gate.release(); gate.release()
        #expect(gate.admit(now: t0) == .tooFast, "the burst of 3 is spent")
        #expect(gate.admit(now: t0 + .milliseconds(100)) == .admitted, "one token back after 1/10 s")
        #expect(gate.inFlight == 1)
    }
}
