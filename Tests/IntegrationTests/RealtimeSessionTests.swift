import Foundation
import TestSupport
import Testing

/// `captiontap run` against the loopback Realtime test server: real libwebsockets, a real
/// WebSocket server, the protocol validated by the official SDK's types (`--strict`).
@Suite(.serialized, .enabled(if: FakeRealtimeServer.shouldRun, "needs the test venv of scripts/test.sh"))
struct RealtimeSessionTests {
    let turns: ToneTurnsFile
    var dir: URL { turns.dir }
    var input: String { turns.input }

    init() throws { turns = try ToneTurnsFile() }

    func environment(key: String? = nil) -> [String: String] {
        var env = ProcessInfo.processInfo.environment
        env["OPENAI_API_KEY"] = key
        return env
    }

    func finals(_ stdout: String) -> [String] {
        stdout.split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                object["final"] as? Bool == true
            else { return nil }
            return object["text"] as? String
        }
    }

    @Test func captionsEveryTurnOnceInOrderAndStreamsTheFilesExactPCM() throws {
        let server = try FakeRealtimeServer()
        let result = try Tools.captiontap(
            ["run", "--input", input, "--url", server.url, "--format", "jsonl"], environment: environment())
        let (status, stats) = server.stop()
        #expect(result.status == 0, "\(result.stderr)")
        #expect(finals(result.stdout) == ToneTurnsFile.expected)
        #expect(status == 0, "the server saw protocol violations: \(stats)")

        // Every JSONL line has the documented shape.
        for line in result.stdout.split(separator: "\n") {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            for key in ["type", "final", "text", "item_id", "response_id", "start_ms", "end_ms"] {
                #expect(object[key] != nil, "missing \(key) in \(line)")
            }
        }
        // The appended PCM is exactly the file's PCM.
        let sent = try Data(contentsOf: URL(fileURLWithPath: server.audioPath(session: 1)))
        let file = try Data(contentsOf: URL(fileURLWithPath: input))
        #expect(sent == file.suffix(sent.count))
        #expect(sent.count == file.count - 44)

        let events = server.clientEvents()
        #expect(events.first?["type"] as? String == "session.update")
        let requests = events.filter { $0["type"] as? String == "response.create" }
        #expect(requests.count == ToneTurnsFile.frequencies.count)
        for request in requests {
            let response = try #require(request["response"] as? [String: Any])
            #expect(response["conversation"] as? String == "none")
            let input = try #require(response["input"] as? [[String: Any]])
            #expect(input.first?["type"] as? String == "item_reference")
        }
        #expect(result.stderr.contains("4 turns"))
        #expect(result.stderr.contains("estimated cost $"))
    }

    @Test(arguments: [
        ["--drop-after-commits", "2"],
        ["--error-first-responses", "2"],
        ["--rate-limit-first", "2"],
        ["--garbage"],
        ["--reverse-responses"],
        ["--session-max-seconds", "1.5"],
        ["--response-delay-ms", "700"],
    ])
    func faultsStillGiveTheSameCaptions(flags: [String]) throws {
        let server = try FakeRealtimeServer(flags)
        // Session expiry needs wall time to pass; the other faults are as real when fed fast.
        let pace = flags.first == "--session-max-seconds" ? "realtime" : "fast"
        let result = try Tools.captiontap(
            ["run", "--input", input, "--pace", pace, "--url", server.url, "--format", "jsonl"],
            environment: environment(), timeout: 90)
        let (status, stats) = server.stop()
        #expect(result.status == 0, "\(flags): \(result.stderr)")
        #expect(finals(result.stdout) == ToneTurnsFile.expected, "\(flags): \(result.stderr)")
        #expect(status == 0, "\(flags): protocol violations: \(stats)")
    }

    @Test func aServerThatStopsAnsweringWithoutClosingIsReplacedAndEveryTurnCaptioned() throws {
        // The connection stays open and pings are answered: only captiontap's probe notices.
        let server = try FakeRealtimeServer(["--hang-after-commits", "2"])
        let result = try Tools.captiontap(
            ["run", "--input", input, "--url", server.url, "--format", "jsonl", "--idle-timeout", "2"],
            environment: environment(), timeout: 90)
        let (status, stats) = server.stop()
        #expect(result.status == 0, "\(result.stderr)")
        #expect(finals(result.stdout) == ToneTurnsFile.expected, "\(result.stderr)")
        #expect(result.stderr.contains("is stalled (no answer for"), "\(result.stderr)")
        #expect(stats.contains("\"injected_hangs\": 1"), "\(stats)")
        #expect(status == 0, "protocol violations: \(stats)")
    }

    @Test func theEnvironmentKeyGoesOnlyToOpenAIAndAKeyFileToAnyBackend() throws {
        let key = "sk-env-\(UUID().uuidString)"
        let server = try FakeRealtimeServer(["--api-key", key])
        // OPENAI_API_KEY is not sent to a --url that is not api.openai.com over TLS: refused.
        let withheld = try Tools.captiontap(
            ["run", "--input", input, "--url", server.url], environment: environment(key: key))
        #expect(withheld.status == 1, "\(withheld.stderr)")
        #expect(withheld.stderr.contains("OPENAI_API_KEY is not sent to 127.0.0.1"), "\(withheld.stderr)")
        #expect(withheld.stderr.contains("HTTP 401"), "\(withheld.stderr)")
        // The same key given explicitly goes to that backend.
        let keyFile = dir.appendingPathComponent("explicit-key").path
        try key.write(toFile: keyFile, atomically: true, encoding: .utf8)
        chmod(keyFile, 0o600)
        let given = try Tools.captiontap(
            ["run", "--input", input, "--url", server.url, "--api-key-file", keyFile, "--format", "jsonl"],
            environment: environment(key: "sk-other"))
        _ = server.stop()
        #expect(given.status == 0, "\(given.stderr)")
        #expect(finals(given.stdout) == ToneTurnsFile.expected)
        for output in [withheld.stdout, withheld.stderr, given.stdout, given.stderr] { #expect(!output.contains(key)) }
    }

    @Test func sessionRotationHasNoAudioGap() throws {
        let server = try FakeRealtimeServer()
        let result = try Tools.captiontap(
            [
                "run", "--input", input, "--pace", "realtime", "--url", server.url, "--format", "jsonl",
                "--session-max-minutes", "0.05",
            ], environment: environment(), timeout: 90)
        _ = server.stop()
        #expect(result.status == 0, "\(result.stderr)")
        #expect(finals(result.stdout) == ToneTurnsFile.expected)
        #expect(result.stderr.contains("rotating session"))
        // Sessions after the first carry on where the previous one stopped.
        let sessions = (1...10).compactMap {
            try? Data(contentsOf: URL(fileURLWithPath: server.audioPath(session: $0)))
        }
        #expect(sessions.count >= 2)
        let file = try Data(contentsOf: URL(fileURLWithPath: input)).dropFirst(44)
        #expect(sessions.reduce(0) { $0 + $1.count } >= file.count, "every sample reached some session")
    }

    @Test func subtitleAndOBSFilesHoldTheCaptions() throws {
        let server = try FakeRealtimeServer()
        let srt = dir.appendingPathComponent("out.srt").path
        let vtt = dir.appendingPathComponent("out.vtt").path
        let obs = dir.appendingPathComponent("obs.txt").path
        let result = try Tools.captiontap(
            ["run", "-q", "--input", input, "--url", server.url, "--srt", srt, "--vtt", vtt, "--obs-text", obs],
            environment: environment())
        _ = server.stop()
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.split(separator: "\n").map(String.init) == ToneTurnsFile.expected)

        let srtText = try String(contentsOfFile: srt, encoding: .utf8)
        let blocks = srtText.components(separatedBy: "\n\n").filter { !$0.isEmpty }
        #expect(blocks.count == 4)
        var previousEnd = ""
        for (i, block) in blocks.enumerated() {
            let lines = block.split(separator: "\n").map(String.init)
            #expect(lines.count == 3)
            #expect(lines[0] == "\(i + 1)")
            let times = lines[1].components(separatedBy: " --> ")
            #expect(times.count == 2)
            #expect(times.allSatisfy { $0.range(of: #"^\d\d:\d\d:\d\d,\d\d\d$"#, options: .regularExpression) != nil })
            #expect(times[0] < times[1] && previousEnd <= times[0])
            previousEnd = times[1]
            #expect(lines[2] == ToneTurnsFile.expected[i])
        }
        let vttText = try String(contentsOfFile: vtt, encoding: .utf8)
        #expect(vttText.hasPrefix("WEBVTT\n\n"))
        #expect(vttText.components(separatedBy: " --> ").count == 5)
        #expect(
            vttText.range(of: #"\d\d:\d\d:\d\d\.\d\d\d --> \d\d:\d\d:\d\d\.\d\d\d"#, options: .regularExpression) != nil
        )
        #expect(
            try String(contentsOfFile: obs, encoding: .utf8) == ToneTurnsFile.expected.suffix(2).joined(separator: "\n")
        )
    }

    @Test func fifoSurvivesLateLeavingAndReturningReaders() throws {
        let server = try FakeRealtimeServer()
        let fifo = dir.appendingPathComponent("captions.fifo").path
        let run = try RunningProcess(
            Tools.captiontap,
            ["run", "--input", input, "--pace", "realtime", "--url", server.url, "--fifo", fifo, "--format", "jsonl"],
            environment: environment())
        // Nobody reads at first: the first caption is dropped for the FIFO only.
        while finals(run.stdoutSoFar).count < 1 && run.isRunning { Thread.sleep(forTimeInterval: 0.05) }
        Thread.sleep(forTimeInterval: 0.3)  // the FIFO write of that caption follows stdout's
        // A late reader attaches, takes one line and leaves.
        let reader = open(fifo, O_RDONLY | O_NONBLOCK)
        #expect(reader >= 0)
        var got = ""
        let deadline = Date().addingTimeInterval(15)
        while !got.contains("\n") && Date() < deadline {
            var buffer = [UInt8](repeating: 0, count: 4096)
            let n = read(reader, &buffer, buffer.count)
            if n > 0 {
                got += String(decoding: buffer[0..<n], as: UTF8.self)
            } else {
                Thread.sleep(forTimeInterval: 0.05)
            }
        }
        close(reader)
        let result = run.wait(timeout: 60)
        _ = server.stop()
        #expect(result.status == 0, "\(result.stderr)")
        #expect(finals(result.stdout) == ToneTurnsFile.expected, "stdout keeps every caption whatever the FIFO does")
        #expect(
            result.stderr.contains("captions dropped while no reader was attached"), "drops are counted and reported")
        let line = got.split(separator: "\n").first.map(String.init)
        #expect(line == ToneTurnsFile.expected[1], "the late reader gets the next caption, got \(got)")
        // The FIFO is still a FIFO with 0600 permissions.
        var info = stat()
        #expect(stat(fifo, &info) == 0)
        #expect(info.st_mode & S_IFMT == S_IFIFO)
        #expect(info.st_mode & 0o777 == 0o600)
    }

    @Test func theKeyIsSentButNeverPrinted() throws {
        let key = "sk-test-\(UUID().uuidString)"
        let server = try FakeRealtimeServer(["--api-key", key])
        let keyFile = dir.appendingPathComponent("sent-key").path
        try key.write(toFile: keyFile, atomically: true, encoding: .utf8)
        chmod(keyFile, 0o600)
        let result = try Tools.captiontap(
            ["run", "--verbose", "--input", input, "--url", server.url, "--api-key-file", keyFile],
            environment: environment())
        _ = server.stop()
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.split(separator: "\n").map(String.init) == ToneTurnsFile.expected)
        #expect(!result.stdout.contains(key) && !result.stderr.contains(key))
        #expect(!result.stdout.contains(String(key.suffix(12))) && !result.stderr.contains(String(key.suffix(12))))
    }

    @Test func aRefusedKeyExitsWithOneClearLine() throws {
        let server = try FakeRealtimeServer(["--api-key", "the-right-key"])
        let keyFile = dir.appendingPathComponent("key").path
        try "wrong-key\n".write(toFile: keyFile, atomically: true, encoding: .utf8)
        chmod(keyFile, 0o600)
        let started = Date()
        let result = try Tools.captiontap(
            ["run", "--input", input, "--pace", "realtime", "--url", server.url, "--api-key-file", keyFile],
            environment: environment())
        _ = server.stop()
        #expect(Date().timeIntervalSince(started) < 10)
        #expect(result.status == 1)
        #expect(result.stderr.contains("captiontap: error: the server refused the API key (HTTP 401)"))
        #expect(!result.stderr.contains("wrong-key"))
    }

    @Test func aGroupReadableKeyFileGetsAWarning() throws {
        let server = try FakeRealtimeServer(["--api-key", "k"])
        let keyFile = dir.appendingPathComponent("key").path
        try "k".write(toFile: keyFile, atomically: true, encoding: .utf8)
        chmod(keyFile, 0o644)
        let result = try Tools.captiontap(["run", "--input", input, "--url", server.url, "--api-key-file", keyFile])
        _ = server.stop()
        #expect(result.status == 0)
        #expect(result.stderr.contains("readable by group or others"))
    }

    @Test func aStatusLineIsPinnedToTheTerminalsLastRowAndAbsentOtherwise() throws {
        let server = try FakeRealtimeServer()
        let typescript = dir.appendingPathComponent("typescript").path
        // `script` gives captiontap a terminal of 20 rows; stdout and stderr both go to it.
        let command =
            "stty rows 20 cols 150; '\(Tools.captiontap)' run --input '\(input)' --pace realtime --url '\(server.url)'"
        let tty = try Tools.run("script", ["-q", "-e", "-c", command, typescript], timeout: 90)
        let piped = try Tools.captiontap(["run", "--input", input, "--url", server.url], environment: environment())
        _ = server.stop()
        #expect(tty.status == 0, "\(tty.stdout)")
        let screen = try String(contentsOfFile: typescript, encoding: .utf8)
        #expect(screen.contains("\u{1B}[1;19r"), "no scroll region reserving the last row")
        #expect(screen.contains("\u{1B}[20;1H"), "the status is not drawn on row 20")
        #expect(screen.contains("turns.wav │"), "no status text")
        #expect(screen.contains("│ 4 turns"), "the status never counted the 4 turns")
        #expect(screen.contains("\u{1B}[r"), "the scroll region is not given back at exit")
        for caption in ToneTurnsFile.expected { #expect(screen.contains(caption)) }
        // stderr not a terminal: no status line, no escape sequences at all.
        #expect(piped.status == 0)
        #expect(!piped.stderr.contains("\u{1B}["), "\(piped.stderr)")
    }

    @Test func noKeyAndNoEmbeddedRecognizerIsAUsageError() throws {
        var env = ProcessInfo.processInfo.environment
        env["OPENAI_API_KEY"] = nil
        let result = try Tools.captiontap(
            ["run", "--input", input, "--recognizer-dir", dir.appendingPathComponent("none").path], environment: env)
        #expect(result.status == 2)
        #expect(result.stderr.contains("no API key"))
        #expect(result.stderr.contains("OPENAI_API_KEY"))
    }

    @Test func anUnreachableServerIsReportedClearly() throws {
        // Without failover (by default captions would continue on the embedded backend instead,
        // see EmbeddedBackendTests.aBackendThatCannotBeReachedFailsOverToTheEmbeddedOne).
        let result = try Tools.captiontap(
            [
                "run", "--input", input, "--url", "ws://127.0.0.1:9/v1/realtime", "--drain-timeout", "2",
                "--no-failover",
            ],
            environment: environment(), timeout: 60)
        #expect(result.status == 1)
        #expect(result.stderr.contains("cannot reach ws://127.0.0.1:9"), "\(result.stderr)")
    }

    @Test func wssVerifiesTheServerCertificate() throws {
        let cert = dir.appendingPathComponent("cert.pem").path
        let key = dir.appendingPathComponent("key.pem").path
        let made = try Tools.run(
            "openssl",
            [
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                "-days", "2", "-subj", "/CN=localhost",
                "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
            ])
        try #require(made.status == 0, "openssl: \(made.stderr)")
        let server = try FakeRealtimeServer(["--tls-cert", cert, "--tls-key", key])
        let url = server.url.replacingOccurrences(of: "ws://", with: "wss://")
        // A self-signed certificate is refused...
        let refused = try Tools.captiontap(
            ["run", "--input", input, "--url", url, "--drain-timeout", "3", "--no-failover"], environment: environment()
        )
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("certificate is not trusted"), "\(refused.stderr)")
        #expect(refused.stdout.isEmpty)
        // ...and accepted once it is in the trusted bundle.
        var env = environment()
        env["SSL_CERT_FILE"] = cert
        let trusted = try Tools.captiontap(["run", "-q", "--input", input, "--url", url], environment: env)
        _ = server.stop()
        #expect(trusted.status == 0, "\(trusted.stderr)")
        #expect(trusted.stdout.split(separator: "\n").map(String.init) == ToneTurnsFile.expected)
    }

    @Test func aSecondInterruptExitsAtOnceWhileDraining() throws {
        let server = try FakeRealtimeServer(["--response-delay-ms", "20000"])
        let run = try RunningProcess(Tools.captiontap, ["run", "--input", input, "--url", server.url])
        // The file is read; transcripts are outstanding for 20 s.
        try #require(run.waitForStderr("captured", timeout: 30), "\(run.stderrSoFar)")
        let started = Date()
        run.interrupt()
        Thread.sleep(forTimeInterval: 0.3)
        #expect(run.isRunning, "the first interrupt drains")
        run.interrupt()
        let result = run.wait(timeout: 10)
        _ = server.stop()
        #expect(result.status == 130)
        #expect(Date().timeIntervalSince(started) < 5)
        #expect(result.stderr.contains("second interrupt"))
    }
}
