import Foundation
import TestSupport
import Testing

/// The soak (Tests/Soak/soak.py) in its short CI form: minutes of audio read fast through `run`
/// against the test server with a fault every 25 commits (drops, errors, garbage, hangs), then
/// `serve` under client churn. Every turn exactly once and in order, every session freed, and
/// resident memory flat after warm-up. The hour-long run is `scripts/soak.sh`.
@Suite(
    .serialized,
    .enabled(if: FakeRealtimeServer.shouldRun && EmbeddedRecognizer.shouldRun, "needs the test venv and the recognizer")
)
struct SoakTests {
    @Test func minutesOfAudioWithPeriodicFaultsGiveEveryTurnOnceWithFlatMemory() throws {
        let python = try #require(FakeRealtimeServer.python)
        let script = Tools.repositoryRoot.appendingPathComponent("Tests/Soak/soak.py").path
        let result = try RunningProcess(
            python,
            [
                script, "--captiontap", Tools.captiontap, "--minutes", "8", "--fault-every", "25",
                "--churn", "5", "--churn-batches", "2", "--tolerance-mib", "12", "--timeout", "300",
            ]
        )
        .wait(timeout: 420)
        let last = try #require(result.stdout.split(separator: "\n").last, "\(result.stderr)")
        let summary = try #require(
            try JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any], "\(result.stdout)")
        let run = try #require(summary["run"] as? [String: Any])
        let serve = try #require(summary["serve"] as? [String: Any])
        #expect(run["exactly_once_in_order"] as? Bool == true, "\(run)")
        #expect(run["captions"] as? Int == run["turns_expected"] as? Int, "\(run)")
        let faults = run["faults"] as? [String: Int] ?? [:]
        for kind in ["drop", "error", "garbage", "hang"] {
            #expect(faults[kind, default: 0] >= 1, "no \(kind) fault happened: \(run)")
        }
        #expect(serve["freed"] as? Int == serve["sessions"] as? Int, "\(serve)")
        #expect(summary["ok"] as? Bool == true, "\(result.stdout)")
        #expect(result.status == 0)
    }
}
