import Foundation
import TestSupport
import Testing

/// The embedded offline backend: `captiontap serve` and `run` with no key, on the real
/// recognizer (sherpa-onnx + Moonshine + Silero, installed by scripts/setup-recognizer.sh).
enum EmbeddedRecognizer {
    static var installed: Bool {
        FileManager.default.fileExists(
            atPath: Tools.repositoryRoot.appendingPathComponent("vendor/recognizer/tokens.txt").path)
    }
    /// In CI these tests never skip: without the recognizer they fail.
    static var shouldRun: Bool { installed || ProcessInfo.processInfo.environment["CI"] != nil }

    static func fixture(_ name: String) -> String {
        Tools.repositoryRoot.appendingPathComponent("Tests/Fixtures/speech/\(name)").path
    }

    static func reference(_ name: String) throws -> String {
        try String(contentsOfFile: fixture(name + ".txt"), encoding: .utf8)
    }

    /// The environment of a user with no key.
    static var noKey: [String: String] {
        var env = ProcessInfo.processInfo.environment
        env["OPENAI_API_KEY"] = nil
        return env
    }
}

struct CaptionLine {
    var text: String
    var start: Int
    var end: Int
    var item: String

    static func finals(_ stdout: String) -> [CaptionLine] {
        stdout.split(separator: "\n").compactMap { line in
            guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                o["final"] as? Bool == true, let text = o["text"] as? String
            else { return nil }
            return CaptionLine(
                text: text, start: o["start_ms"] as? Int ?? -1, end: o["end_ms"] as? Int ?? -1,
                item: o["item_id"] as? String ?? "")
        }
    }
}

/// `captiontap serve` on an ephemeral port, stopped with SIGINT.
final class ServeProcess {
    let process: RunningProcess
    let url: String

    init(_ args: [String] = []) throws {
        process = try RunningProcess(Tools.captiontap, ["serve", "--port", "0"] + args)
        let deadline = Date().addingTimeInterval(30)
        var url: String?
        while url == nil && Date() < deadline && process.isRunning {
            url = process.stdoutSoFar.split(separator: "\n").first.map(String.init)
            if url == nil { Thread.sleep(forTimeInterval: 0.05) }
        }
        self.url = try #require(url, "serve did not start: \(process.stderrSoFar)")
    }

    func stop() -> RunResult {
        process.interrupt()
        return process.wait(timeout: 20)
    }
}

@Suite(
    .serialized,
    .enabled(
        if: EmbeddedRecognizer.shouldRun && FakeRealtimeServer.shouldRun,
        "needs scripts/setup-recognizer.sh and the test venv of scripts/test.sh"))
struct EmbeddedBackendTests {
    func python(_ args: [String], timeout: Double = 180) throws -> RunResult {
        let python = try #require(FakeRealtimeServer.python, "CAPTIONTAP_PYTHON is not set")
        let script = Tools.repositoryRoot.appendingPathComponent("Tests/RealtimeServer/sdk_conformance.py").path
        return try RunningProcess(python, [script] + args).wait(timeout: timeout)
    }

    @Test func theOfficialSDKDrivesServeAndEveryServerEventValidates() throws {
        let serve = try ServeProcess()
        let result = try python(["--url", serve.url, "--input", EmbeddedRecognizer.fixture("jfk.wav")])
        let served = serve.stop()
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let report = try #require(
            try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], "\(result.stderr)")
        #expect((report["problems"] as? [String])?.isEmpty == true, "\(report["problems"] ?? "")")
        let transcripts = try #require(report["transcripts"] as? [String])
        #expect(transcripts.count == report["turns"] as? Int)
        #expect(transcripts.allSatisfy { !$0.isEmpty }, "\(transcripts)")
        let wer = WordErrorRate.score(
            reference: try EmbeddedRecognizer.reference("jfk"), hypothesis: transcripts.joined(separator: " "))
        #expect(wer <= 0.10, "WER \(wer): \(transcripts)")
        // Asking for audio output gets a proper error event, and the session carries on.
        let audioError = try #require(report["audio_output_error"] as? [String: Any])
        #expect(audioError["code"] as? String == "unsupported_output_modality")
        #expect(served.status == 0, "\(served.stderr)")
    }

    func hostile(_ args: [String], timeout: Double = 120) throws -> [String: Any] {
        let python = try #require(FakeRealtimeServer.python, "CAPTIONTAP_PYTHON is not set")
        let script = Tools.repositoryRoot.appendingPathComponent("Tests/RealtimeServer/hostile_client.py").path
        let result = try RunningProcess(python, [script] + args).wait(timeout: timeout)
        return try #require(
            try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], "\(result.stderr)")
    }

    @Test func webPagesAreRefusedUnlessAllowedAndOversizedMessagesClosed() throws {
        let serve = try ServeProcess(["--allow-origin", "https://captions.example"])
        let page = try hostile(["origin", serve.url, "http://evil.example"])
        let allowed = try hostile(["origin", serve.url, "https://captions.example"])
        let noOrigin = try hostile(["origin", serve.url, ""])
        let oversize = try hostile(["oversize", serve.url, String(17 << 20)])
        let huge = try hostile(["hugelength", serve.url])
        let served = serve.stop()
        #expect(page["status"] as? Int == 403, "\(page)")
        #expect(allowed["status"] as? Int == 101, "\(allowed)")
        #expect(noOrigin["status"] as? Int == 101, "\(noOrigin)")
        #expect(oversize["close_code"] as? Int == 1009, "\(oversize)")
        #expect(huge["closed"] as? Bool == true && huge["after"] as? String == "101", "a length of 2^63: \(huge)")
        #expect(served.status == 0, "\(served.stderr)")
    }

    @Test func fuzzedEventsNeverCrashServeAndANormalSessionWorksAfterwards() throws {
        let serve = try ServeProcess(["--max-sessions", "2"])
        let fuzz = try hostile([
            "fuzz", serve.url, "--seconds", "25", "--seed", "\(Int.random(in: 1...1_000_000))", "--check", "realtime",
        ])
        #expect(fuzz["error"] == nil, "serve stopped answering: \(fuzz)")
        #expect((fuzz["frames"] as? Int ?? 0) > 100, "\(fuzz)")
        let after = try #require(fuzz["after"] as? [String: Any], "\(fuzz)")
        #expect(after["first"] as? String == "session.created" && after["updated"] as? Bool == true, "\(after)")
        // And real speech is still transcribed by the same process.
        let result = try python(["--url", serve.url, "--input", EmbeddedRecognizer.fixture("goforward.wav")])
        let served = serve.stop()
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.lowercased().contains("forward"), "\(result.stdout)")
        #expect(served.status == 0, "serve did not exit cleanly: \(served.stderr.suffix(2000))")
    }

    @Test func aFifthClientIsRefusedCleanlyWhenFourAreServed() throws {
        let serve = try ServeProcess(["--max-sessions", "4"])
        let result = try python(["--url", serve.url, "--sessions", "5"])
        let served = serve.stop()
        #expect(result.status == 0, "\(result.stderr)")
        let sessions = try #require(
            try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]])
        #expect(sessions.count == 5)
        #expect(sessions.prefix(4).allSatisfy { $0["first"] as? String == "session.created" }, "\(sessions)")
        #expect(sessions[4]["first"] as? String == "error")
        #expect(sessions[4]["code"] as? String == "session_limit_reached")
        #expect(sessions[4]["close_code"] as? Int == 1013)
        #expect(served.stderr.contains("refused a session"))
    }

    @Test func theModelQueryIsCheckedAndUnknownParametersIgnored() throws {
        let serve = try ServeProcess()
        let unknown = try python(["--url", serve.url, "--sessions", "1", "--query", "model=no-such-model"])
        let extra = try python([
            "--url", serve.url, "--sessions", "1", "--query", "model=gpt-realtime&foo=bar&intent=x",
        ])
        _ = serve.stop()
        let refused = try #require(
            try JSONSerialization.jsonObject(with: Data(unknown.stdout.utf8)) as? [[String: Any]], "\(unknown.stderr)")
        #expect(refused.first?["code"] as? String == "model_not_found")
        #expect(refused.first?["close_code"] as? Int == 1008)
        let accepted = try #require(
            try JSONSerialization.jsonObject(with: Data(extra.stdout.utf8)) as? [[String: Any]], "\(extra.stderr)")
        #expect(accepted.first?["first"] as? String == "session.created")
    }

    @Test func clientsThatLeaveMidTurnFreeTheirSession() throws {
        // One session at a time: every new connection only works if the last one was cleaned up.
        let serve = try ServeProcess(["--max-sessions", "1"])
        let result = try python(["--url", serve.url, "--churn", "6", "--input", EmbeddedRecognizer.fixture("jfk.wav")])
        let served = serve.stop()
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("\"created\": 7"), "\(result.stdout)")
        #expect(served.stderr.contains("session 7 closed and freed, 0 open"), "\(served.stderr)")
        // Every session object (its audio, its native VAD) was freed when its client vanished.
        #expect(served.stderr.components(separatedBy: "closed and freed").count == 8, "\(served.stderr)")
        #expect(!served.stderr.contains("still referenced"), "\(served.stderr)")
    }

    @Test(arguments: ["jfk", "two_cities", "goforward"])
    func captionsEachClipWithinTenPercentWER(_ clip: String) throws {
        // A generous drain: this is about accuracy, and CI machines can be slow.
        let result = try Tools.captiontap(
            [
                "run", "--input", EmbeddedRecognizer.fixture(clip + ".wav"), "--format", "jsonl", "--drain-timeout",
                "150",
            ],
            environment: EmbeddedRecognizer.noKey, timeout: 240)
        #expect(result.status == 0, "\(result.stderr)")
        let finals = CaptionLine.finals(result.stdout)
        let wer = WordErrorRate.score(
            reference: try EmbeddedRecognizer.reference(clip), hypothesis: finals.map(\.text).joined(separator: " "))
        #expect(wer <= 0.10, "WER \(String(format: "%.3f", wer)) on \(clip): \(finals.map(\.text))")
        // Says once which backend it uses; one final per committed turn.
        #expect(
            result.stderr.components(separatedBy: "captioning offline with the embedded backend").count == 2,
            "\(result.stderr)")
        #expect(result.stderr.contains("; \(finals.count) turns;"), "\(result.stderr)")
        #expect(Set(finals.map(\.item)).count == finals.count)
    }

    @Test func theMeetingGetsCaptionsPerSpeakerTurnThatNeverMixSpeakers() throws {
        let result = try Tools.captiontap(
            [
                "run", "--input", EmbeddedRecognizer.fixture("meeting.wav"), "--format", "jsonl", "--drain-timeout",
                "150",
            ],
            environment: EmbeddedRecognizer.noKey, timeout: 240)
        #expect(result.status == 0, "\(result.stderr)")
        let finals = CaptionLine.finals(result.stdout)
        #expect(result.stderr.contains("; \(finals.count) turns;"), "\(result.stderr)")
        // meeting.wav = jfk (0–11 s), 1.5 s gap, two_cities (12.5–55 s), 1.5 s gap, goforward (56.5–59.29 s).
        let speakers = [(0, 11_000), (12_500, 55_000), (56_500, 59_290)]
        let lines = try EmbeddedRecognizer.reference("meeting").split(separator: "\n").map(String.init)
        try #require(lines.count == 3)
        for (index, (start, end)) in speakers.enumerated() {
            let mine = finals.filter { $0.start < end && $0.end > start }
            #expect(!mine.isEmpty, "no caption for speaker \(index + 1)")
            for caption in mine {
                // Prefix padding may reach 0.3 s back and the 0.8 s silence forward, into the gaps only.
                #expect(
                    caption.start >= start - 400
                        && caption.end <= (index + 1 < speakers.count ? speakers[index + 1].0 : end + 1_000),
                    "caption \(caption.start)–\(caption.end) ms crosses into another speaker: \(caption.text)")
            }
            let wer = WordErrorRate.score(reference: lines[index], hypothesis: mine.map(\.text).joined(separator: " "))
            #expect(wer <= 0.10, "speaker \(index + 1): WER \(String(format: "%.3f", wer)): \(mine.map(\.text))")
        }
    }

    @Test func aBackendThatCannotBeReachedFailsOverToTheEmbeddedOne() throws {
        // Nothing listens on port 9: the "cloud" is down from the start.
        let result = try Tools.captiontap(
            [
                "run", "--input", EmbeddedRecognizer.fixture("jfk.wav"), "--format", "jsonl",
                "--url", "ws://127.0.0.1:9/v1/realtime", "--failover-after", "1", "--drain-timeout", "150",
            ],
            environment: EmbeddedRecognizer.noKey, timeout: 240)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(
            result.stderr.components(separatedBy: "continuing on the embedded backend").count == 2, "\(result.stderr)")
        let finals = CaptionLine.finals(result.stdout)
        let wer = WordErrorRate.score(
            reference: try EmbeddedRecognizer.reference("jfk"), hypothesis: finals.map(\.text).joined(separator: " "))
        #expect(wer <= 0.10, "WER \(wer): \(finals.map(\.text))")
        #expect(Set(finals.map(\.item)).count == finals.count, "a turn twice")
        // Opting out keeps retrying the backend until the connect timeout, as before.
        let optOut = try Tools.captiontap(
            [
                "run", "--input", EmbeddedRecognizer.fixture("goforward.wav"), "--url", "ws://127.0.0.1:9/v1/realtime",
                "--failover-after", "1", "--no-failover", "--drain-timeout", "3",
            ], environment: EmbeddedRecognizer.noKey)
        #expect(optOut.status == 1, "\(optOut.stderr)")
        #expect(optOut.stderr.contains("cannot reach"), "\(optOut.stderr)")
        #expect(!optOut.stderr.contains("continuing on"), "\(optOut.stderr)")
    }

    /// `GET PATH` on serve's port: (status, body).
    func get(_ serve: ServeProcess, _ path: String) throws -> (Int, String) {
        let python = try #require(FakeRealtimeServer.python)
        let base = serve.url.replacingOccurrences(of: "ws://", with: "http://").replacingOccurrences(
            of: "/v1/realtime", with: "")
        let script =
            "import sys, urllib.request, urllib.error\ntry:\n r = urllib.request.urlopen(sys.argv[1], timeout=10); print(r.status); print(r.read().decode())\nexcept urllib.error.HTTPError as e:\n print(e.code); print(e.read().decode())"
        let result = try RunningProcess(python, ["-c", script, base + path]).wait(timeout: 20)
        let lines = result.stdout.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
        return (Int(lines.first ?? "") ?? -1, lines.count > 1 ? String(lines[1]) : "")
    }

    static func metric(_ name: String, in text: String) -> Double? {
        text.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap {
            Double($0.split(separator: " ").last ?? "")
        }
    }

    @Test func healthAndMetricsFollowSessionsAsTheyComeAndGo() throws {
        let serve = try ServeProcess(["--max-sessions", "1"])
        // Loading until the recognizer is in, then ok (the model loads beside the listener).
        var answers = [try get(serve, "/healthz")]
        while answers.last?.0 == 503 && answers.count < 100 {
            Thread.sleep(forTimeInterval: 0.1)
            answers.append(try get(serve, "/healthz"))
        }
        #expect(answers.dropLast().allSatisfy { $0.0 == 503 && $0.1.hasPrefix("loading") }, "\(answers)")
        let health = try #require(answers.last)
        let before = try get(serve, "/metrics")
        let other = try get(serve, "/nothing")
        // One session transcribes jfk; then a second client while one is open is refused.
        let transcribed = try python(["--url", serve.url, "--input", EmbeddedRecognizer.fixture("jfk.wav")])
        let refused = try python(["--url", serve.url, "--sessions", "2"])
        let after = try get(serve, "/metrics")
        _ = serve.stop()
        #expect(health.0 == 200 && health.1.hasPrefix("ok"), "\(health)")
        #expect(other.0 == 404)
        #expect(before.0 == 200)
        #expect(Self.metric("captiontap_sessions_active", in: before.1) == 0, "\(before.1)")
        #expect(Self.metric("captiontap_sessions_total", in: before.1) == 0)
        #expect(Self.metric("captiontap_transcript_latency_seconds_count", in: before.1) == 0)
        #expect(transcribed.status == 0 && refused.status == 0, "\(transcribed.stderr)\(refused.stderr)")
        #expect(Self.metric("captiontap_sessions_active", in: after.1) == 0, "\(after.1)")
        #expect((Self.metric("captiontap_sessions_total", in: after.1) ?? 0) >= 2, "\(after.1)")
        #expect((Self.metric("captiontap_sessions_refused_total", in: after.1) ?? 0) >= 1, "\(after.1)")
        #expect(
            (Self.metric("captiontap_transcript_latency_seconds_count", in: after.1) ?? 0) >= 2,
            "jfk has turns: \(after.1)")
        #expect((Self.metric("captiontap_decode_audio_seconds_total", in: after.1) ?? 0) > 5, "\(after.1)")
        #expect(after.1.contains(#"captiontap_transcript_latency_seconds_bucket{le="+Inf"}"#))
    }

    @Test func missingModelFilesNameTheSetupCommand() throws {
        for args in [
            ["serve", "--recognizer-dir", "/nonexistent/recognizer"],
            [
                "run", "--input", EmbeddedRecognizer.fixture("goforward.wav"), "--recognizer-dir",
                "/nonexistent/recognizer",
            ],
        ] {
            let result = try Tools.captiontap(args, environment: EmbeddedRecognizer.noKey)
            #expect(result.status == 2, "\(args[0]): \(result.stderr)")
            let lines = result.stderr.split(separator: "\n")
            #expect(lines.count == 1, "\(args[0]): \(result.stderr)")
            #expect(result.stderr.contains("scripts/setup-recognizer.sh"), "\(result.stderr)")
            #expect(result.stderr.contains("/nonexistent/recognizer/"), "\(result.stderr)")
        }
    }

    @Test func aNonLoopbackBindNeedsAKeyAndTheKeyIsChecked() throws {
        let refused = try Tools.captiontap(["serve", "--host", "0.0.0.0"])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("--api-key-file"), "\(refused.stderr)")

        let dir = try TemporaryDirectory.create()
        let keyFile = dir.appendingPathComponent("key").path
        let key = "sk-local-\(UUID().uuidString)"
        try key.write(toFile: keyFile, atomically: true, encoding: .utf8)
        chmod(keyFile, 0o600)
        let serve = try ServeProcess(["--api-key-file", keyFile])
        let wrongFile = dir.appendingPathComponent("wrong").path
        try "sk-wrong".write(toFile: wrongFile, atomically: true, encoding: .utf8)
        chmod(wrongFile, 0o600)
        let wrong = try Tools.captiontap(
            [
                "run", "--input", EmbeddedRecognizer.fixture("goforward.wav"), "--url", serve.url, "--api-key-file",
                wrongFile,
            ],
            environment: EmbeddedRecognizer.noKey)
        let right = try Tools.captiontap(
            [
                "run", "--input", EmbeddedRecognizer.fixture("goforward.wav"), "--url", serve.url, "--format", "jsonl",
                "--api-key-file", keyFile,
            ], environment: EmbeddedRecognizer.noKey)
        _ = serve.stop()
        #expect(wrong.status == 1, "\(wrong.stderr)")
        #expect(wrong.stderr.contains("401") || wrong.stderr.lowercased().contains("key"), "\(wrong.stderr)")
        #expect(!wrong.stderr.contains("sk-wrong"))
        #expect(right.status == 0, "\(right.stderr)")
        #expect(
            WordErrorRate.score(
                reference: "go forward ten meters",
                hypothesis: CaptionLine.finals(right.stdout).map(\.text).joined(separator: " ")) == 0)
        #expect(!right.stderr.contains(key))
    }
}

@Suite struct WordErrorRateTests {
    @Test func scoresWordsAfterNormalising() {
        #expect(WordErrorRate.score(reference: "Go forward ten meters", hypothesis: "go forward 10 meters.") == 0)
        #expect(WordErrorRate.score(reference: "it's a well-known fact", hypothesis: "its a well known fact") == 0)
        #expect(WordErrorRate.score(reference: "a b c d", hypothesis: "a x c") == 0.5)
        #expect(WordErrorRate.score(reference: "a b", hypothesis: "") == 1)
    }
}
