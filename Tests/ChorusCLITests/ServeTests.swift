import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `chorus serve` over real HTTP on loopback: the built binary, started here, talked to by the
/// `chorus` client itself and by raw sockets for what no client would send.
@Suite struct ServeTests {
    static let answerPairs = [("kind", "verbal"), ("kind", "online"), ("setting", "workplace"), ("perpetrator-role", "colleague"),
                              ("year", ""), ("reported", "no"), ("consent", "counts-only")]

    /// The stories `review` shows for `store` (after closing a batch).
    static func reviewedStories(_ cli: CLI, _ store: String = "store") throws -> [String] {
        let b = try cli.run(["batch", "--store", store])
        #expect(b.status == 0, "\(b)")
        let r = try cli.run(["review", "--key", "rev.key", "--passphrase-file", "pass", "--format", "jsonl", store])
        #expect(r.status == 0, "\(r)")
        return r.stdout.split(separator: "\n").filter { $0.contains("\"story\"") }.map { line in
            (try! JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any])["story"] as! String
        }
    }

    /// A sealed envelope for `store`, made with `submit --out`.
    static func envelope(_ cli: CLI, _ story: String, name: String) throws -> [UInt8] {
        let r = try cli.run(["submit", "--out", name, "--recipients", "store/chorus-recipients.signed"] + CLI.answers, stdin: story)
        #expect(r.status == 0, "\(r)")
        return try cli.read(name)
    }

    static func inbox(_ cli: CLI) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: cli.path("store/inbox"))) ?? []).sorted()
    }

    @Test func storiesSentWithSubmitToAreOpenedByReviewAndWithdrawToRemovesOne() throws {
        let cli = try CLI.withStore()
        let server = try ServeProcess(cli)
        var receipts: [String] = []
        let stories = ["first story over HTTP\nwith two lines", "second — with “quotes” and é", "third"]
        for story in stories {
            let r = try cli.run(["submit", "--to", server.url] + CLI.answers, stdin: story)
            #expect(r.status == 0, "\(r)")
            #expect(r.stderr.contains("signed by the organisation key"), "the recipients are shown before sealing: \(r.stderr)")
            receipts.append(r.stdout.trimmingCharacters(in: .newlines))
        }
        #expect(Self.inbox(cli).count == 3)
        let w = try cli.run(["withdraw", "--to", server.url], stdin: receipts[1])
        #expect(w.status == 0 && w.stderr.contains("withdrawn"), "\(w)")
        // A receipt of a story that was never here gets the same answer.
        let elsewhere = try cli.run(["submit", "--out", "never-sent", "--recipients", "store/chorus-recipients.signed"] + CLI.answers, stdin: "kept")
        let never = try cli.run(["withdraw", "--to", server.url], stdin: elsewhere.stdout)
        #expect(never.status == 0 && never.stderr == w.stderr, "\(never)")
        #expect(server.stop() == 0)
        let shown = try Self.reviewedStories(cli)
        #expect(Set(shown) == [stories[0], stories[2]], "\(shown)")
    }

    @Test func throughASOCKSProxyTheOnionNameIsResolvedByTheProxyNeverHere() throws {
        let cli = try CLI.withStore()
        let server = try ServeProcess(cli)
        let relay = try SOCKSRelay(targetPort: server.port)
        let onion = "chorusintakexampleexampleexampleexampleexampleexampleexam.onion"
        let r = try cli.run(["submit", "--to", "http://\(onion)", "--proxy", "socks5h://127.0.0.1:\(relay.port)"] + CLI.answers, stdin: "through Tor")
        #expect(r.status == 0, "\(r)")
        #expect(!relay.requests.isEmpty && relay.requests.allSatisfy { $0 == "name \(onion):80" }, "\(relay.requests)")
        let w = try cli.run(["withdraw", "--to", "http://\(onion)", "--proxy", "socks5h://127.0.0.1:\(relay.port)"], stdin: r.stdout)
        #expect(w.status == 0, "\(w)")
        #expect(relay.requests.allSatisfy { $0.hasPrefix("name ") })
        // An onion address without a proxy, or a proxy that resolves names here, is refused before anything is sent.
        let direct = try cli.run(["submit", "--to", "http://\(onion)"] + CLI.answers, stdin: "no")
        #expect(direct.status == 64 && direct.stderr.contains("--proxy socks5h://"), "\(direct)")
        let local = try cli.run(["submit", "--to", "http://\(onion)", "--proxy", "socks5://127.0.0.1:\(relay.port)"] + CLI.answers, stdin: "no")
        #expect(local.status == 64, "\(local)")
        server.stop()
        #expect(try Self.reviewedStories(cli).isEmpty, "the one story sent was withdrawn")
    }

    @Test func hostileAddressesAndAnswersAreRefusedByTheClient() throws {
        let cli = try CLI.withStore()
        for bad in ["ftp://x", "http://user:pw@127.0.0.1:1", "http://127.0.0.1:99999", "http://127.0.0.1/?q", "http://exa mple", "http://\u{202e}x", "127.0.0.1:80"] {
            let r = try cli.run(["submit", "--to", bad] + CLI.answers, stdin: "x")
            #expect(r.status == 64 && !r.stderr.contains("\u{202e}"), "\(bad): \(r)")
        }
        for bad in ["socks5h://127.0.0.1", "http://127.0.0.1:9050", "socks5h://u@127.0.0.1:9050", "socks4://127.0.0.1:9050"] {
            let r = try cli.run(["submit", "--to", "http://127.0.0.1:1", "--proxy", bad] + CLI.answers, stdin: "x")
            #expect(r.status == 64, "\(bad): \(r)")
        }
        // A server that is not a Chorus intake: a recipients document that is not one, or not signed.
        let fake = try ServeProcess(cli)
        fake.stop()
        let gone = try cli.run(["submit", "--to", fake.url] + CLI.answers, stdin: "x")
        #expect(gone.status == 69 && gone.stdout.isEmpty, "\(gone)")
    }

    @Test func aRecipientAddedWhileTheServerRunsIsHandedOutWithoutARestartAndAnUnsignedStoreIsRefused() throws {
        let cli = try CLI.withStore()
        let server = try ServeProcess(cli)
        try cli.makeKeys(reviewer: "rev2", analyst: nil)
        try cli.signRecipients("store", ["Keys/rev2.pub"])
        let r = try cli.run(["submit", "--to", server.url] + CLI.answers, stdin: "to three keys")
        #expect(r.status == 0 && r.stderr.contains("Sealing to 3 recipients") && r.stderr.contains("rev2"), "\(r)")
        // A recipients file that no longer checks out (copied from elsewhere, edited) is never handed out.
        var signed = try cli.read("store/chorus-recipients.signed")
        signed[signed.count / 2] ^= 1
        try cli.write("store/chorus-recipients.signed", bytes: signed)
        #expect(try http(server.port, "GET", "/v1/recipients")?.status == 503)
        #expect(try http(server.port, "GET", "/")?.status == 503)
        let refused = try cli.run(["submit", "--to", server.url] + CLI.answers, stdin: "not sealed")
        #expect(refused.status == 69, "\(refused)")
        server.stop()
    }

    @Test func recipientsSwappedForOnesSignedByAnotherOrganisationKeyAreNeverHandedOutNorSealedTo() throws {
        let cli = try CLI()
        try cli.makeKeys()
        #expect(try cli.run(["init", "--store", "store"]).status == 0)
        // A copy of the store before it is signed: the same store id, which an operator then signs
        // with a key of their own (the pins of that signing kept apart from the submitter's).
        try FileManager.default.copyItem(atPath: cli.path("store"), toPath: cli.path("copy"))
        try cli.signRecipients("store", ["Keys"])
        #expect(try cli.run(["keygen", "--name", "evil", "--role", "organisation", "--passphrase-file", "pass", "--secret-out", "evil.key",
                             "--kdf-cost", "test-only"]).status == 0)
        let own = try cli.run(["recipients", "add", "--store", "copy", "--org-key", "evil.key", "--passphrase-file", "pass", "Keys/rev.pub"],
                              env: ["XDG_CONFIG_HOME": cli.path("evil-config")])
        #expect(own.status == 0, "\(own)")
        let server = try ServeProcess(cli)
        let first = try cli.run(["submit", "--to", server.url] + CLI.answers, stdin: "pins the real organisation key")
        #expect(first.status == 0, "\(first)")
        // The swap, while the server runs: the document and the configuration it names.
        for name in ["chorus-recipients.signed", "chorus-store.json"] {
            try FileManager.default.removeItem(atPath: cli.path("store/" + name))
            try FileManager.default.copyItem(atPath: cli.path("copy/" + name), toPath: cli.path("store/" + name))
        }
        #expect(try http(server.port, "GET", "/v1/recipients")?.status == 503, "the server hands out no document of another organisation key")
        let page = try #require(try http(server.port, "GET", "/"))
        #expect(page.status == 503 && !page.text.contains("name=\"story\""), "no form to seal with them")
        #expect(try http(server.port, "POST", "/submit", body: formBody(Self.answerPairs + [("story", "must not be sealed to evil")]))?.status == 503)
        server.stop()
        // Started again on the swapped store, the server refuses to start: the key pinned for the store is not this one.
        let again = try cli.run(["serve", "--store", "store", "--listen", "127.0.0.1:0"])
        #expect(again.status == 65 && again.stderr.contains("the key pinned for it") && !again.stderr.contains("listening"), "\(again)")
        // A server run by someone whose pin is the other key hands them out; the submitter's pin refuses them.
        let evil = try ServeProcess(cli, env: ["XDG_CONFIG_HOME": cli.path("evil-config")])
        let refused = try cli.run(["submit", "--to", evil.url] + CLI.answers, stdin: "must not be sealed to evil")
        #expect(refused.status == 65 && refused.stderr.contains("the key pinned for it") && refused.stdout.isEmpty, "\(refused)")
        evil.stop()
        #expect(Self.inbox(cli).count == 1, "only the story sealed to the real recipients")
    }

    @Test func anEnvelopePostedTwiceOrAfterWithdrawalGetsTheSameAnswerAndIsStoredOnce() throws {
        let cli = try CLI.withStore()
        let server = try ServeProcess(cli)
        let env = try Self.envelope(cli, "posted twice", name: "e1")
        let first = try #require(try http(server.port, "POST", "/v1/envelopes", body: env))
        let second = try #require(try http(server.port, "POST", "/v1/envelopes", body: env))
        #expect(first.status == 201 && first.body.isEmpty)
        #expect(second.status == first.status && second.body == first.body && second.headers.map(\.0) == first.headers.map(\.0))
        #expect(Self.inbox(cli).count == 1)
        #expect(try cli.read("store/inbox/" + Self.inbox(cli)[0]) == env, "stored byte for byte")
        server.stop()
    }

    @Test func hostileRequestsAreAnsweredAndGoodSubmissionsStillLand() throws {
        let cli = try CLI.withStore()
        let server = try ServeProcess(cli, ["--body-seconds", "1", "--head-seconds", "1"])
        let port = server.port
        // Malformed: one sentence, 400, no path of the server in it.
        let bad = try #require(try http(port, "POST", "/v1/envelopes", body: Array("not an envelope".utf8)))
        #expect(bad.status == 400 && bad.text.hasSuffix("\n") && bad.text.split(separator: "\n").count == 1, "\(bad)")
        #expect(!bad.text.contains(cli.dir), "\(bad)")
        // A real envelope cut short, or with a flipped header byte.
        let env = try Self.envelope(cli, "a good one", name: "good")
        #expect(try http(port, "POST", "/v1/envelopes", body: Array(env.prefix(env.count / 2)))?.status == 400)
        var flipped = env
        flipped[3] ^= 0x40
        #expect(try http(port, "POST", "/v1/envelopes", body: flipped)?.status == 400)
        // Oversized: by Content-Length (refused before reading), and chunked (refused while reading).
        let c1 = try RawConnection(port: port)
        c1.send("POST /v1/envelopes HTTP/1.1\r\nHost: x\r\nContent-Length: 900000000\r\n\r\n")
        let big = try #require(c1.readAnswer())
        #expect(big.status == 413 && big.header("Connection") == "close", "\(big)")
        let c2 = try RawConnection(port: port)
        c2.send("POST /v1/withdraw HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1000\r\n" + String(repeating: "a", count: 4096) + "\r\n")
        #expect(c2.readAnswer()?.status == 413)
        // Truncated: the client stops sending halfway and closes its side.
        let c3 = try RawConnection(port: port)
        c3.send(Array("POST /v1/envelopes HTTP/1.1\r\nHost: x\r\nContent-Length: \(env.count)\r\n\r\n".utf8) + env.prefix(100))
        c3.shutdownWrite()
        #expect(c3.readAnswer()?.status == 400)
        // Slow: a body that does not come within --body-seconds is 408; a head that does not come is closed.
        let c4 = try RawConnection(port: port)
        c4.send(Array("POST /v1/envelopes HTTP/1.1\r\nHost: x\r\nContent-Length: \(env.count)\r\n\r\n".utf8) + env.prefix(10))
        let slow = try #require(c4.readAnswer())
        #expect(slow.status == 408, "\(slow)")
        let c5 = try RawConnection(port: port)
        c5.send("GET / HTTP/1.1\r\nHost: 127.0.")
        #expect(c5.closedByServer(), "a head that never ends must not hold a connection")
        // Not HTTP at all, a head too large, and a method the path does not take.
        let c6 = try RawConnection(port: port)
        c6.send([0, 1, 2, 0xff, 13, 10, 13, 10])
        #expect(c6.readAnswer()?.status == 400)
        let c7 = try RawConnection(port: port)
        c7.send("GET / HTTP/1.1\r\nHost: x\r\nX-Padding: " + String(repeating: "a", count: 64 << 10) + "\r\n\r\n")
        #expect(c7.readAnswer()?.status == 400)
        let wrong = try #require(try http(port, "DELETE", "/v1/envelopes"))
        #expect(wrong.status == 405 && wrong.header("Allow") == "POST")
        #expect(try http(port, "GET", "/../../etc/passwd")?.status == 404)
        // After all of it, a good submission lands.
        #expect(try http(port, "POST", "/v1/envelopes", body: env)?.status == 201)
        let landed = Self.inbox(cli)
        #expect(landed.count == 1)
        #expect(try cli.read("store/inbox/" + landed[0]) == env)
        #expect(server.stop() == 0)
        #expect(try cli.run(["verify", "store"]).status == 0)
    }

    static let hygiene: [String: String] = [
        "Content-Security-Policy": "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        "Referrer-Policy": "no-referrer", "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
        "Server": "chorus",
    ]

    @Test func everyAnswerCarriesTheHygieneHeadersAndNoCookieDateOrOutsideResource() throws {
        let cli = try CLI.withStore()
        let server = try ServeProcess(cli, ["--inbox-quota", "1"])
        let port = server.port
        let env = try Self.envelope(cli, "quota", name: "e")
        let story = Self.answerPairs + [("story", "a story sent from the form")]
        var answers: [RawAnswer] = []
        for (method, path, body) in [("GET", "/", [UInt8]()), ("GET", "/style.css", []), ("GET", "/health", []), ("GET", "/v1/recipients", []),
                                     ("GET", "/nowhere", []), ("GET", "/v1/nowhere", []), ("PUT", "/", []), ("POST", "/v1/envelopes", Array("x".utf8)),
                                     ("POST", "/v1/envelopes", env), ("POST", "/v1/envelopes", env), ("POST", "/submit", formBody(story)),
                                     ("POST", "/submit", formBody([("kind", "nonsense")])), ("POST", "/v1/withdraw", Array("nonsense".utf8)),
                                     ("HEAD", "/", [])] {
            answers.append(try #require(try http(port, method, path, body: body), "\(method) \(path)"))
        }
        // The quota (1) is reached by the first envelope: the same one again is refused like any new one.
        #expect(answers.map(\.status) == [200, 200, 200, 200, 404, 404, 405, 400, 201, 503, 503, 400, 400, 200], "\(answers.map(\.status))")
        let html = "text/html; charset=utf-8", text = "text/plain; charset=utf-8"
        let types = [html, "text/css; charset=utf-8", text, "application/json", html, text, html, text, nil, text, html, html, text, html]
        #expect(answers.map { $0.header("Content-Type") } == types, "\(answers.map { $0.header("Content-Type") ?? "-" })")
        for a in answers {
            for (name, value) in Self.hygiene { #expect(a.header(name) == value, "\(name) on \(a)") }
            #expect(a.header("Permissions-Policy")?.contains("camera=()") == true)
            #expect(a.header("Set-Cookie") == nil && a.header("Date") == nil && a.header("Last-Modified") == nil && a.header("ETag") == nil, "\(a)")
        }
        let page = answers[0].text
        #expect(!page.contains("<script") && !page.contains("http://") && !page.contains("https://") && !page.contains("//"), "the form loads nothing from elsewhere")
        #expect(page.components(separatedBy: "href=").count == 2 && page.contains("href=\"/style.css\""))
        #expect(answers[3].header("Chorus-Max-Story-Bytes") == "65536")
        #expect(try cli.read("store/chorus-recipients.signed") == answers[3].body, "the recipients exactly as signed")
        #expect(answers[10].text.contains("a story sent from the form"), "a form refused for quota comes back filled in, nothing lost")
        #expect(answers[13].body.isEmpty)
        server.stop()
    }

    @Test func theFormSealsOnTheServerAndTheReceiptWithdrawsIt() throws {
        let cli = try CLI.withStore()
        let server = try ServeProcess(cli)
        let story = "Typed in a browser.\r\nSecond line — é, “quotes” & <tags>\r\n"
        let page = try #require(try http(server.port, "POST", "/submit", body: formBody(Self.answerPairs + [("story", story)])))
        #expect(page.status == 200, "\(page)")
        let receipt = try #require(page.text.range(of: "<code id=\"receipt\">").map { page.text[$0.upperBound...].prefix(34) }.map(String.init))
        #expect(receipt.split(separator: "-").count == 7)
        #expect(try Self.reviewedStories(cli) == ["Typed in a browser.\nSecond line — é, “quotes” & <tags>\n"], "CRLF from the browser is LF in the store")
        // Missing answer: the form comes back with the story, and nothing is stored.
        let again = try #require(try http(server.port, "POST", "/submit", body: formBody([("kind", "verbal"), ("story", "kept <b>safe</b>")])))
        #expect(again.status == 400 && again.text.contains("needs an answer") && again.text.contains("kept &lt;b&gt;safe&lt;/b&gt;"), "\(again)")
        #expect(Self.inbox(cli).isEmpty)
        // Withdrawing on the page: a typo is said on the form again; the receipt withdraws it.
        let page0 = try #require(try http(server.port, "GET", "/withdraw"))
        #expect(page0.status == 200 && page0.text.contains("name=\"receipt\""))
        let typo = try #require(try http(server.port, "POST", "/withdraw", body: formBody([("receipt", String(receipt.dropLast()) + "0")])))
        #expect(typo.status == 400 && typo.text.contains("typo") && typo.text.contains("name=\"receipt\""), "\(typo)")
        let done = try #require(try http(server.port, "POST", "/withdraw", body: formBody([("receipt", receipt.lowercased())])))
        #expect(done.status == 200 && done.text.contains("withdrawn"), "\(done)")
        // The same page for a receipt this server never saw.
        let elsewhere = try cli.run(["submit", "--out", "never-sent", "--recipients", "store/chorus-recipients.signed"] + CLI.answers, stdin: "kept")
        let never = try #require(try http(server.port, "POST", "/withdraw", body: formBody([("receipt", elsewhere.stdout.trimmingCharacters(in: .newlines))])))
        #expect(never.status == done.status && never.body == done.body)
        server.stop()
        #expect(try Self.reviewedStories(cli).isEmpty)
    }

    @Test func quotaFreeSpaceFloorConcurrencyAndRateAnswer503WithRetryAfter() throws {
        let cli = try CLI.withStore()
        let env1 = try Self.envelope(cli, "one", name: "e1"), env2 = try Self.envelope(cli, "two", name: "e2")
        do {
            let server = try ServeProcess(cli, ["--min-free-mib", "1000000000"])
            let refused = try #require(try http(server.port, "POST", "/v1/envelopes", body: env1))
            #expect(refused.status == 503 && refused.header("Retry-After") != nil, "\(refused)")
            #expect(try http(server.port, "GET", "/health")?.status == 503)
            let r = try cli.run(["submit", "--to", server.url] + CLI.answers, stdin: "refused")
            #expect(r.status == 69 && r.stderr.contains("try again"), "\(r)")
            #expect(Self.inbox(cli).isEmpty)
            server.stop()
        }
        do {
            let server = try ServeProcess(cli, ["--max-concurrent", "1", "--body-seconds", "5"])
            // One request holds the only slot while its body trickles in.
            let holder = try RawConnection(port: server.port)
            holder.send(Array("POST /v1/envelopes HTTP/1.1\r\nHost: x\r\nContent-Length: \(env1.count)\r\n\r\n".utf8) + env1.prefix(50))
            usleep(300_000)
            let busy = try #require(try http(server.port, "POST", "/v1/envelopes", body: env2))
            #expect(busy.status == 503 && busy.header("Retry-After") != nil, "\(busy)")
            holder.send(Array(env1.dropFirst(50)))
            #expect(holder.readAnswer()?.status == 201)
            #expect(try http(server.port, "POST", "/v1/envelopes", body: env2)?.status == 201)
            server.stop()
        }
        do {
            let server = try ServeProcess(cli, ["--rate", "1"])
            let statuses = try (0 ..< 3).map { _ in try http(server.port, "GET", "/health")?.status }
            #expect(statuses == [200, 200, 503], "a burst of twice the rate, then 503: \(statuses)")
            server.stop()
        }
    }

    @Test func sigtermLetsARequestInFlightFinishThenStops() throws {
        let cli = try CLI.withStore()
        let server = try ServeProcess(cli)
        let env = try Self.envelope(cli, "in flight at SIGTERM", name: "e")
        let c = try RawConnection(port: server.port)
        c.send(Array("POST /v1/envelopes HTTP/1.1\r\nHost: x\r\nContent-Length: \(env.count)\r\n\r\n".utf8) + env.prefix(64))
        usleep(200_000)
        kill(server.process.processIdentifier, SIGTERM)
        usleep(200_000)
        #expect((try? RawConnection(port: server.port)) == nil, "the listener is closed at once")
        c.send(Array(env.dropFirst(64)))
        #expect(c.readAnswer()?.status == 201)
        #expect(server.stop() == 0)
        #expect(Self.inbox(cli).count == 1)
        #expect(server.stderr.hasSuffix("chorus serve: stopped\n"), "\(server.stderr)")
    }

    @Test func theServerWritesNoAddressNoTimeAndNoLogAnywhere() throws {
        let cli = try CLI.withStore()
        let before = Set(cli.allFiles(under: cli.dir))
        let server = try ServeProcess(cli)
        // Hardened as every command is: no core file, private files.
        let view = ProcView(pid: server.process.processIdentifier)
        #expect(view.coreLimits == ["0", "0"] && view.field("Umask") == "0077", "\(view.coreLimits) \(view.field("Umask") ?? "-")")
        let env = try Self.envelope(cli, "leave no trace", name: "e")
        _ = try http(server.port, "POST", "/v1/envelopes", body: env, headers: ["User-Agent: Tor-Browser-Fingerprint/1.0", "X-Forwarded-For: 203.0.113.9"])
        _ = try http(server.port, "POST", "/submit", body: formBody(Self.answerPairs + [("story", "from the form")]), headers: ["User-Agent: Tor-Browser-Fingerprint/1.0"])
        _ = try http(server.port, "GET", "/v1/nowhere")
        _ = try http(server.port, "POST", "/v1/envelopes", body: Array("junk".utf8))
        #expect(server.stop() == 0)
        // The first-use pin of the organisation key is said once, then only the two lines.
        let lines = server.stderr.split(separator: "\n").filter { !$0.hasPrefix("chorus: first use of store") }
        #expect(lines.count == 2 && lines[0].hasPrefix("chorus serve: listening on http://127.0.0.1:\(server.port) ") && lines[1] == "chorus serve: stopped", "\(server.stderr)")
        #expect(server.stdout.isEmpty)
        for text in [server.stderr, server.stdout] {
            #expect(!text.contains("203.0.113.9") && !text.contains("Tor-Browser") && !text.contains("POST"))
        }
        // Nothing but the two entries and the test's own files is new.
        let new = Set(cli.allFiles(under: cli.dir)).subtracting(before).map { $0.replacingOccurrences(of: cli.dir + "/", with: "") }
        let unexpected = new.filter { !$0.hasPrefix("store/inbox/") && $0 != "e" && !$0.hasPrefix("serve-") && !$0.hasPrefix("config/chorus/organisations") }
        #expect(unexpected.isEmpty, "\(unexpected)")
        // Stored entries carry no time: their times are zeroed.
        for name in Self.inbox(cli) {
            let attributes = try FileManager.default.attributesOfItem(atPath: cli.path("store/inbox/" + name))
            #expect((attributes[.modificationDate] as? Date)?.timeIntervalSince1970 == 0)
        }
    }

    @Test func theTorrcLinesAreAcceptedByTorVerifyConfig() throws {
        guard access("/usr/sbin/tor", X_OK) == 0 || access("/usr/bin/tor", X_OK) == 0 else {
            Issue.record("tor is not installed (make deps installs it)")
            return
        }
        let cli = try CLI()
        let lines = try cli.run(["serve", "--torrc", "--listen", "127.0.0.1:8737", "--hidden-service-dir", cli.path("hs")])
        #expect(lines.status == 0, "\(lines)")
        #expect(lines.stdout.contains("HiddenServicePort 80 127.0.0.1:8737\n") && lines.stdout.contains("HiddenServicePoWDefensesEnabled 1\n"))
        try FileManager.default.createDirectory(atPath: cli.path("data"), withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try cli.write("torrc", "SocksPort 0\nDataDirectory \(cli.path("data"))\n" + lines.stdout)
        let tor = Process()
        tor.executableURL = URL(fileURLWithPath: access("/usr/sbin/tor", X_OK) == 0 ? "/usr/sbin/tor" : "/usr/bin/tor")
        tor.arguments = ["--verify-config", "-f", cli.path("torrc")]
        let out = Pipe()
        tor.standardOutput = out
        tor.standardError = out
        try tor.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        tor.waitUntilExit()
        #expect(tor.terminationStatus == 0 && text.contains("Configuration was valid"), "\(text)")
        // And the refusals: no port 0, no address off loopback without saying so.
        #expect(try cli.run(["serve", "--torrc", "--listen", "127.0.0.1:0"]).status == 64)
        #expect(try cli.run(["serve", "--torrc", "--listen", "0.0.0.0:80"]).status == 64)
    }
}
