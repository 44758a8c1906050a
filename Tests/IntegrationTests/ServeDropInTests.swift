import Foundation
import TestSupport
import Testing

/// `captiontap serve` as a drop-in for clients written for OpenAI's Realtime API: the official
/// SDK in both transcription dialects, and third-party client libraries from PyPI with their
/// defaults, on the real recognizer.
@Suite(
    .serialized,
    .enabled(
        if: EmbeddedRecognizer.shouldRun && FakeRealtimeServer.shouldRun,
        "needs scripts/setup-recognizer.sh and the test venv of scripts/test.sh"))
struct ServeDropInTests {
    func report(_ script: String, _ args: [String], timeout: Double = 180) throws -> (
        status: Int32, json: [String: Any], stderr: String
    ) {
        let python = try #require(FakeRealtimeServer.python, "CAPTIONTAP_PYTHON is not set")
        let path = Tools.repositoryRoot.appendingPathComponent("Tests/RealtimeServer/\(script)").path
        let result = try RunningProcess(python, [path] + args).wait(timeout: timeout)
        let json = try #require(
            try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any],
            "\(result.stdout)\(result.stderr.suffix(3000))")
        return (result.status, json, result.stderr)
    }

    /// The SDK's base URL: serve prints …/v1/realtime, the SDK appends /realtime itself.
    func base(_ url: String) -> String { String(url.dropLast("/realtime".count)) }

    @Test(arguments: [("ga", "server_vad"), ("beta", "semantic_vad"), ("ga", "none"), ("beta", "none")])
    func theOfficialSDKTranscribesInATranscriptionSession(dialect: String, turnDetection: String) throws {
        let serve = try ServeProcess()
        let run = try report(
            "sdk_transcription.py",
            [
                "--url", base(serve.url), "--input", EmbeddedRecognizer.fixture("jfk.wav"),
                "--dialect", dialect, "--turn-detection", turnDetection,
            ])
        let served = serve.stop()
        #expect(run.status == 0, "\(run.json)")
        #expect((run.json["problems"] as? [String])?.isEmpty == true, "\(run.json["problems"] ?? "")")
        #expect(
            run.json["first_event"] as? String
                == (dialect == "beta" ? "transcription_session.created" : "session.created"))
        #expect(run.json["deltas_add_up"] as? Bool == true)
        let transcripts = try #require(run.json["transcripts"] as? [String])
        if turnDetection == "none" { #expect(transcripts.count == 1, "one manual commit: \(transcripts)") }
        let wer = WordErrorRate.score(
            reference: try EmbeddedRecognizer.reference("jfk"), hypothesis: transcripts.joined(separator: " "))
        #expect(wer <= 0.15, "WER \(wer): \(transcripts)")
        #expect(served.status == 0, "\(served.stderr.suffix(2000))")
    }

    /// Third-party client libraries (pinned in Tests/RealtimeServer/clients/requirements.txt), each
    /// with its defaults and only the base URL and key changed, as a user would set them.
    @Test(arguments: ["openai_agents", "livekit", "pipecat"])
    func aThirdPartyClientTranscribesWithItsDefaults(library: String) throws {
        let python = try #require(
            ProcessInfo.processInfo.environment["CAPTIONTAP_CLIENTS_PYTHON"],
            "CAPTIONTAP_CLIENTS_PYTHON is not set (scripts/test.sh sets up the clients venv)")
        let serve = try ServeProcess()
        // What each library's documentation has users set: an HTTP base URL for the SDK-based
        // ones, the WebSocket endpoint itself for pipecat.
        let address =
            library == "pipecat" ? serve.url : base(serve.url).replacingOccurrences(of: "ws://", with: "http://")
        let script = Tools.repositoryRoot.appendingPathComponent("Tests/RealtimeServer/clients/\(library)_client.py")
            .path
        let result = try RunningProcess(
            python, [script, address, EmbeddedRecognizer.fixture("jfk.wav"), "--speed", "2"]
        ).wait(timeout: 180)
        let served = serve.stop()
        let line = result.stdout.split(separator: "\n").last.map(String.init) ?? ""
        let report = try #require(
            try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
            "\(result.stdout)\(result.stderr.suffix(3000))")
        #expect((report["errors"] as? [String])?.isEmpty == true, "\(report)")
        let turns = try #require(report["turns"] as? [String])
        let wer = WordErrorRate.score(
            reference: try EmbeddedRecognizer.reference("jfk"), hypothesis: turns.joined(separator: " "))
        #expect(wer <= 0.15, "WER \(wer): \(turns)")
        #expect(result.status == 0, "\(result.stderr.suffix(2000))")
        // The server refused nothing the library sent.
        #expect(!served.stderr.contains("answered with an error"), "\(served.stderr.suffix(2000))")
        #expect(served.status == 0)
    }
}
