import Foundation
import TestSupport
import Testing

/// `captiontap run --overlay`: the caption page over HTTP, captions over its WebSocket, and the
/// page rendered by headless Chromium, with the binary captioning tone turns from the loopback
/// Realtime test server in real time.
@Suite(.serialized, .enabled(if: FakeRealtimeServer.shouldRun, "needs the test venv of scripts/test.sh"))
struct OverlayTests {
    let dir: URL

    init() throws {
        dir = try TemporaryDirectory.create()
    }

    /// A captiontap run paced in real time with the overlay on an ephemeral loopback port.
    struct Run {
        let server: FakeRealtimeServer
        let process: RunningProcess
        let port: Int

        /// The finals captiontap printed so far (JSONL on stdout).
        var finals: [String] {
            process.stdoutSoFar.split(separator: "\n").compactMap { line in
                guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                    object["final"] as? Bool == true
                else { return nil }
                return object["text"] as? String
            }
        }

        /// Stops captiontap (SIGINT, as Ctrl-C) and the server; captiontap's exit status.
        func stop() -> RunResult {
            process.interrupt()
            let result = process.wait(timeout: 20)
            _ = server.stop()
            return result
        }
    }

    private func start(_ samples: [Float]) throws -> Run {
        let input = dir.appendingPathComponent("input.wav").path
        try WAV.write24kMono(samples, to: input)
        let server = try FakeRealtimeServer()
        let process = try RunningProcess(
            Tools.captiontap,
            [
                "run", "--input", input, "--pace", "realtime", "--url", server.url, "--format", "jsonl", "--partials",
                "--live", "off",
                "--no-status", "--overlay", "127.0.0.1:0",
            ])
        let prefix = "overlay: http://127.0.0.1:"
        #expect(process.waitForStderr(" (add as an OBS Browser Source)"), "\(process.stderrSoFar)")
        let line = try #require(process.stderrSoFar.split(separator: "\n").first { $0.contains(prefix) })
        let port = try #require(Int(line.split(separator: prefix).last?.prefix { $0.isNumber } ?? ""))
        #expect(line.hasSuffix("overlay: http://127.0.0.1:\(port)/ (add as an OBS Browser Source)"))
        return Run(server: server, process: process, port: port)
    }

    private static func silence(_ seconds: Double) -> [Float] { [Float](repeating: 0, count: Int(seconds * 24_000)) }

    private static func tone(_ hz: Double) -> [Float] {
        (0..<24_000).map { 0.3 * Float(sin(2 * Double.pi * hz * Double($0) / 24_000)) }
    }

    /// Runs the helper below in the test venv: `get PORT PATH`, `listen PORT FINALS SECONDS`, `count PNG RRGGBB`.
    private func helper(_ arguments: [String]) throws -> RunningProcess {
        let python = try #require(
            FakeRealtimeServer.python, "CAPTIONTAP_PYTHON is not set: run the tests with scripts/test.sh")
        return try RunningProcess(python, ["-c", Self.helperScript] + arguments)
    }

    private func waitUntil(timeout: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition() { return true }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return condition()
    }

    @Test func anAddressOtherThanLoopbackNeedsTheFlag() throws {
        let remote = try Tools.captiontap(["run", "--input", "x.wav", "--overlay", "0.0.0.0:8080"])
        #expect(remote.status == 2)
        #expect(remote.stderr.contains("--overlay-allow-remote"))
        let malformed = try Tools.captiontap(["run", "--input", "x.wav", "--overlay", "example.org:80"])
        #expect(malformed.status == 2)
        #expect(malformed.stderr.contains("--overlay must be HOST:PORT"))
    }

    @Test func pagesGetEveryCaptionAndLatePagesTheBacklog() throws {
        let expected = ["tone 300 hertz", "tone 500 hertz", "tone 700 hertz"]
        let run = try start(
            Self.silence(0.5) + Self.tone(300) + Self.silence(1) + Self.tone(500) + Self.silence(1)
                + Self.tone(700) + Self.silence(2))
        let early = try helper(["listen", "\(run.port)", "3", "20"])
        #expect(waitUntil(timeout: 15) { run.finals.count >= 2 }, "\(run.process.stderrSoFar)")
        let late = try helper(["listen", "\(run.port)", "3", "20"])
        let earlyResult = early.wait(timeout: 25)
        let lateResult = late.wait(timeout: 25)
        let result = run.process.wait(timeout: 20)
        _ = run.server.stop()
        #expect(result.status == 0, "\(result.stderr)")
        #expect(run.finals == expected)

        func messages(_ out: String) throws -> [[String: Any]] {
            try out.split(separator: "\n").filter { $0 != "OPEN" }.map {
                try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any], "\($0)")
            }
        }
        let fromEarly = try messages(earlyResult.stdout)
        #expect(earlyResult.status == 0, "\(earlyResult.stderr)")
        #expect(fromEarly.filter { $0["final"] as? Bool == true }.compactMap { $0["text"] as? String } == expected)
        #expect(fromEarly.contains { $0["final"] as? Bool == false }, "partials reach the page too")
        for message in fromEarly {
            for key in ["final", "text", "item_id", "start_ms", "end_ms"] {
                #expect(message[key] != nil, "missing \(key) in \(message)")
            }
        }
        // The late page gets the finals it missed at once, then the rest live, each once.
        #expect(lateResult.status == 0, "\(lateResult.stderr)")
        #expect(
            try messages(lateResult.stdout).filter { $0["final"] as? Bool == true }
                .compactMap { $0["text"] as? String } == expected)
    }

    private func hostile(_ args: [String]) throws -> [String: Any] {
        let python = try #require(FakeRealtimeServer.python, "CAPTIONTAP_PYTHON is not set")
        let script = Tools.repositoryRoot.appendingPathComponent("Tests/RealtimeServer/hostile_client.py").path
        let result = try RunningProcess(python, [script] + args).wait(timeout: 90)
        return try #require(
            try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], "\(result.stderr)")
    }

    /// Only the overlay's own page may listen (what an OBS Browser Source sends); other web pages,
    /// DNS rebinding, oversized and fuzzed messages and malformed HTTP change nothing.
    @Test func onlyItsOwnPageMayListenAndHostileClientsChangeNothing() throws {
        let expected = ["tone 300 hertz", "tone 500 hertz"]
        let run = try start(Self.silence(0.5) + Self.tone(300) + Self.silence(14) + Self.tone(500) + Self.silence(2))
        let url = "ws://127.0.0.1:\(run.port)/captions"
        let own = try hostile(["origin", url, "http://127.0.0.1:\(run.port)"])
        let other = try hostile(["origin", url, "http://evil.example"])
        let rebound = try hostile(["origin", url, "http://evil.example:\(run.port)", "evil.example:\(run.port)"])
        let plain = try hostile(["origin", url, ""])
        let oversize = try hostile(["oversize", url, "100000"])
        let huge = try hostile(["hugelength", url])
        let named = try hostile(["origin", url, "http://127.evil.example:\(run.port)", "127.evil.example:\(run.port)"])
        let fuzz = try hostile([
            "fuzz", url, "--seconds", "6", "--max-bytes", "4096", "--seed", "\(Int.random(in: 1...1_000_000))",
        ])
        let http = try hostile(["httpfuzz", url, "--seconds", "4"])
        let result = run.process.wait(timeout: 40)
        _ = run.server.stop()
        #expect(own["status"] as? Int == 101, "\(own)")
        #expect(other["status"] as? Int == 403, "\(other)")
        #expect(rebound["status"] as? Int == 403, "\(rebound)")
        #expect(plain["status"] as? Int == 101, "\(plain)")
        #expect(oversize["close_code"] as? Int == 1009, "\(oversize)")
        #expect(huge["closed"] as? Bool == true && huge["after"] as? String == "101", "\(huge)")
        #expect(named["status"] as? Int == 403, "a name that starts with 127. is no address: \(named)")
        #expect(fuzz["error"] == nil && (fuzz["frames"] as? Int ?? 0) > 20, "\(fuzz)")
        #expect(http["error"] == nil, "\(http)")
        #expect((http["after"] as? String)?.contains("200") == true, "the page no longer loads: \(http)")
        // Captioning went on through all of it.
        #expect(result.status == 0, "\(result.stderr)")
        #expect(run.finals == expected)
    }

    /// The page over plain HTTP, then rendered by headless Chromium before and after a caption.
    @Test func servesThePageAndChromiumRendersTheCaption() throws {
        let chromium = try #require(
            ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first {
                FileManager.default.isExecutableFile(atPath: $0)
            }, "headless Chromium is needed: apt-get install chromium (scripts/setup.sh)")
        // Yellow text on black lines, so text pixels are easy to count; 3 s before the turn leave
        // time for a screenshot without captions.
        let run = try start(Self.silence(3) + Self.tone(300) + Self.silence(30))
        let query = "?font=DejaVu%20Sans&size=48&color=ff0&bg=000&lines=2&align=left"

        let page = try helper(["get", "\(run.port)", "/" + query]).wait(timeout: 10)
        let lines = page.stdout.split(separator: "\n", maxSplits: 2, omittingEmptySubsequences: false)
        #expect(lines.first == "200", "\(page.stderr)")
        #expect(lines.dropFirst().first == "text/html; charset=utf-8")
        let html = String(lines.last ?? "")
        for marker in [
            "<!doctype html>", "captiontap overlay", "\"/captions\"", "new WebSocket(", "URLSearchParams",
            "params.get(\"font\")", "params.get(\"size\")", "params.get(\"color\")", "params.get(\"bg\")",
            "params.get(\"lines\")", "params.get(\"align\")", "setTimeout(connect",
        ] {
            #expect(html.contains(marker), "page lacks \(marker)")
        }
        // Self-contained: nothing loaded from anywhere else.
        for external in ["src=", "href=", "http://", "https://", "@import"] {
            #expect(!html.contains(external), "page refers to \(external)")
        }
        let missing = try helper(["get", "\(run.port)", "/favicon.ico"]).wait(timeout: 10)
        #expect(missing.stdout.hasPrefix("404"))

        func chromiumRun(_ output: [String], budget: Int = 1500) throws -> RunResult {
            let profile = try TemporaryDirectory.create()
            defer { try? FileManager.default.removeItem(at: profile) }
            return try RunningProcess(
                chromium,
                [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
                    "--user-data-dir=\(profile.path)", "--window-size=800,200", "--virtual-time-budget=\(budget)",
                ] + output + ["http://127.0.0.1:\(run.port)/" + query]
            ).wait(timeout: 40)
        }
        func textPixels(_ png: String) throws -> Int {
            let count = try helper(["count", png, "ffff00"]).wait(timeout: 20)
            return try #require(Int(count.stdout.trimmingCharacters(in: .whitespacesAndNewlines)), "\(count.stderr)")
        }

        // Before any caption: the page is up, with nothing to show.
        let before = dir.appendingPathComponent("before.png").path
        let first = try chromiumRun(["--screenshot=\(before)"])
        let captionedAlready = !run.process.stdoutSoFar.isEmpty
        #expect(first.status == 0, "\(first.stderr)")
        if !captionedAlready {  // else this machine was too slow for a control shot; the rest still holds
            #expect(try textPixels(before) == 0)
        }

        // After the final: the caption as yellow text, and in the DOM with the URL's styling.
        #expect(waitUntil(timeout: 15) { run.finals == ["tone 300 hertz"] }, "\(run.process.stderrSoFar)")
        let after = dir.appendingPathComponent("after.png").path
        // The caption arrives over the page's WebSocket after load; on a loaded machine that can
        // take longer than the first render budget, so look again with longer ones.
        var second = try chromiumRun(["--screenshot=\(after)", "--dump-dom"])
        for budget in [4000, 10000] where !second.stdout.contains(">tone 300 hertz</div>") {
            second = try chromiumRun(["--screenshot=\(after)", "--dump-dom"], budget: budget)
        }
        #expect(second.status == 0, "\(second.stderr)")
        #expect(try textPixels(after) > 300, "the caption should show as yellow text")
        let dom = second.stdout
        #expect(dom.contains(#"<body data-state="open">"#), "\(dom)")
        #expect(dom.contains(">tone 300 hertz</div>"), "\(dom)")
        #expect(dom.contains("font-family: &quot;DejaVu Sans&quot;, sans-serif"))  // attribute-escaped
        #expect(dom.contains("font-size: 48px"))
        #expect(dom.contains("color: rgb(255, 255, 0)"))
        #expect(dom.contains("text-align: left"))
        #expect(run.stop().status == 0)
    }

    /// The test's client side, in the test venv (Python websockets, urllib, zlib).
    static let helperScript = #"""
        import asyncio, json, struct, sys, urllib.error, urllib.request, zlib

        def get(port, path):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
                    print(r.status)
                    print(r.headers.get("Content-Type"))
                    sys.stdout.write(r.read().decode())
            except urllib.error.HTTPError as e:
                print(e.code)

        async def listen(port, finals, seconds):
            import websockets
            seen = 0
            async with asyncio.timeout(seconds):
                async with websockets.connect(f"ws://127.0.0.1:{port}/captions") as ws:
                    print("OPEN", flush=True)
                    async for message in ws:
                        print(message, flush=True)
                        seen += json.loads(message)["final"]
                        if seen >= finals:
                            return

        def pixels(path):
            """Decodes an 8-bit RGB or RGBA PNG (what Chromium writes) into rows of bytes."""
            data = open(path, "rb").read()
            assert data[:8] == b"\x89PNG\r\n\x1a\n"
            pos, idat = 8, b""
            while pos < len(data):
                length, kind = struct.unpack(">I4s", data[pos:pos + 8])
                body = data[pos + 8:pos + 8 + length]
                if kind == b"IHDR":
                    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
                    assert depth == 8 and colour in (2, 6) and interlace == 0, (depth, colour, interlace)
                elif kind == b"IDAT":
                    idat += body
                pos += 12 + length
            bpp = 3 if colour == 2 else 4
            raw, stride, rows, prev = zlib.decompress(idat), width * bpp, [], bytearray(width * bpp)
            for y in range(height):
                kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
                for i in range(stride):
                    a = line[i - bpp] if i >= bpp else 0
                    b, c = prev[i], prev[i - bpp] if i >= bpp else 0
                    if kind == 1: line[i] = (line[i] + a) & 255
                    elif kind == 2: line[i] = (line[i] + b) & 255
                    elif kind == 3: line[i] = (line[i] + (a + b) // 2) & 255
                    elif kind == 4:
                        p = a + b - c
                        pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                        line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
                rows.append(line)
                prev = line
            return rows, bpp

        def count(path, colour):
            """Pixels within 60 of the colour in every channel."""
            want = bytes.fromhex(colour)
            rows, bpp = pixels(path)
            print(sum(1 for row in rows for x in range(0, len(row), bpp)
                      if all(abs(row[x + k] - want[k]) <= 60 for k in range(3))))

        mode = sys.argv[1]
        if mode == "get":
            get(int(sys.argv[2]), sys.argv[3])
        elif mode == "listen":
            asyncio.run(listen(int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])))
        elif mode == "count":
            count(sys.argv[2], sys.argv[3])
        """#
}
