import Foundation
import TestSupport
import Testing

/// `captiontap serve` as a drop-in for clients written for OpenAI's Realtime API: the official
/// SDK in both transcription dialects, and third-party client libraries from PyPI with their
/// defaults, on the real recognizer.
@Suite(.serialized, .enabled(if: EmbeddedRecognizer.shouldRun && FakeRealtimeServer.shouldRun,
                             "needs scripts/setup-recognizer.sh and the test venv of scripts/test.sh"))
struct ServeDropInTests {
    func report(_ script: String, _ args: [String], timeout: Double = 180) throws -> (status: Int32, json: [String: Any], stderr: String) {
        let python = try #require(FakeRealtimeServer.python, "CAPTIONTAP_PYTHON is not set")
        let path = Tools.repositoryRoot.appendingPathComponent("Tests/RealtimeServer/\(script)").path
        let result = try RunningProcess(python, [path] + args).wait(timeout: timeout)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any],
                                "\(result.stdout)\(result.stderr.suffix(3000))")
        return (result.status, json, result.stderr)
    }

    /// The SDK's base URL: serve prints …/v1/realtime, the SDK appends /realtime itself.
    func base(_ url: String) -> String { String(url.dropLast("/realtime".count)) }

    @Test(arguments: [("ga", "server_vad"), ("beta", "semantic_vad"), ("ga", "none"), ("beta", "none")])
    func theOfficialSDKTranscribesInATranscriptionSession(dialect: String, turnDetection: String) throws {
        let serve = try ServeProcess()
        let run = try report("sdk_transcription.py", ["--url", base(serve.url), "--input", EmbeddedRecognizer.fixture("jfk.wav"),
                                                      "--dialect", dialect, "--turn-detection", turnDetection])
        let served = serve.stop()
        #expect(run.status == 0, "\(run.json)")
        #expect((run.json["problems"] as? [String])?.isEmpty == true, "\(run.json["problems"] ?? "")")
        #expect(run.json["first_event"] as? String == (dialect == "beta" ? "transcription_session.created" : "session.created"))
        #expect(run.json["deltas_add_up"] as? Bool == true)
        let transcripts = try #require(run.json["transcripts"] as? [String])
        if turnDetection == "none" { #expect(transcripts.count == 1, "one manual commit: \(transcripts)") }
        let wer = WordErrorRate.score(reference: try EmbeddedRecognizer.reference("jfk"), hypothesis: transcripts.joined(separator: " "))
        #expect(wer <= 0.15, "WER \(wer): \(transcripts)")
        #expect(served.status == 0, "\(served.stderr.suffix(2000))")
    }
}
