import Foundation
import TestSupport
import Testing

/// Failover end to end: two loopback servers, the primary killed and restarted, or failing
/// every request while its sessions open fine.
extension RealtimeSessionTests {
    @Test func whenTheBackendIsDownCaptionsContinueOnTheFallbackAndComeBackEachTurnOnce() throws {
        let frequencies: [Double] = [300, 400, 500, 600, 700, 800, 900, 1000]
        let wav = dir.appendingPathComponent("failover.wav").path
        try WAV.write24kMono(WAV.toneTurns(frequencies, seconds: 1.0, gap: 1.5), to: wav)
        var primary = try FakeRealtimeServer()
        let port = primary.port
        let fallback = try FakeRealtimeServer()
        let run = try RunningProcess(
            Tools.captiontap,
            [
                "run", "--input", wav, "--pace", "realtime", "--url", primary.url, "--format", "jsonl",
                "--failover-after", "2", "--fallback-url", fallback.url, "--drain-timeout", "30",
            ], environment: environment())
        // Two turns on the primary, then it goes away for ~8 s.
        let deadline = Date().addingTimeInterval(20)
        while finals(run.stdoutSoFar).count < 2 && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        _ = primary.stop()
        #expect(run.waitForStderr("continuing on 127.0.0.1:\(fallback.port)", timeout: 15), "\(run.stderrSoFar)")
        Thread.sleep(forTimeInterval: 4)
        primary = try FakeRealtimeServer(["--port", "\(port)"])
        #expect(run.waitForStderr("answers again", timeout: 15), "\(run.stderrSoFar)")
        let result = run.wait(timeout: 60)
        let (_, primaryStats) = primary.stop()
        let (fallbackStatus, fallbackStats) = fallback.stop()
        #expect(result.status == 0, "\(result.stderr)")
        // Every turn exactly once, in order, across both switches.
        #expect(finals(result.stdout) == frequencies.map { "tone \(Int($0)) hertz" }, "\(result.stderr)")
        #expect(
            fallbackStats.contains("\"responses\": ") && !fallbackStats.contains("\"responses\": 0,"),
            "the fallback captioned nothing: \(fallbackStats)")
        #expect(!primaryStats.contains("\"responses\": 0,"), "nothing came back to the primary: \(primaryStats)")
        #expect(fallbackStatus == 0, "protocol violations: \(fallbackStats)")
        #expect(result.stderr.components(separatedBy: "continuing on").count == 2, "said once: \(result.stderr)")
    }

    @Test func aBackendThatOpensSessionsButCannotTranscribeIsNotReturnedToOverAndOver() throws {
        // An exhausted quota: sessions open fine, every transcription request gets an error.
        let frequencies: [Double] = [300, 400, 500, 600, 700, 800, 900, 1000, 1100]
        let wav = dir.appendingPathComponent("flap.wav").path
        try WAV.write24kMono(WAV.toneTurns(frequencies, seconds: 1.0, gap: 1.5), to: wav)
        let primary = try FakeRealtimeServer(["--error-first-responses", "100000"])
        let fallback = try FakeRealtimeServer()
        let result = try Tools.captiontap(
            [
                "run", "--input", wav, "--pace", "realtime", "--url", primary.url, "--format", "jsonl",
                "--failover-after", "2", "--fallback-url", fallback.url, "--drain-timeout", "30",
            ], environment: environment(), timeout: 120)
        let (_, primaryStats) = primary.stop()
        let (fallbackStatus, fallbackStats) = fallback.stop()
        #expect(result.status == 0, "\(result.stderr)")
        #expect(finals(result.stdout) == frequencies.map { "tone \(Int($0)) hertz" }, "\(result.stderr)")
        // Left once; each try that fails goes straight back, and the tries thin out.
        #expect(result.stderr.components(separatedBy: "continuing on").count == 2, "\(result.stderr)")
        let retries = result.stderr.components(separatedBy: "failed again before answering").count - 1
        #expect(retries >= 1, "the primary was never tried again: \(result.stderr)")
        #expect(result.stderr.contains("next try in 8 s") || retries < 3, "\(result.stderr)")
        #expect(!result.stderr.contains("answers again"), "\(result.stderr)")
        #expect(primaryStats.contains("\"responses\": 0,"), "\(primaryStats)")
        #expect(fallbackStatus == 0, "protocol violations: \(fallbackStats)")
    }
}
