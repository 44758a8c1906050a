import Foundation
import TestSupport
import Testing

/// The headless daemon started by scripts/test.sh (which exports CAPTIONTAP_PW_DIR).
/// In CI these tests are never skipped: without the daemon they fail.
enum HeadlessPipeWire {
    static var directory: String? { ProcessInfo.processInfo.environment["CAPTIONTAP_PW_DIR"] }
    static var shouldRun: Bool { directory != nil || ProcessInfo.processInfo.environment["CI"] != nil }

    static func requireDaemon() throws -> String {
        try #require(directory, "no headless PipeWire: run the tests with scripts/test.sh")
    }

    static func restart() throws {
        let dir = try requireDaemon()
        let script = Tools.repositoryRoot.appendingPathComponent("scripts/headless-pipewire.sh").path
        let result = try Tools.run("bash", [script, "restart", dir])
        try #require(result.status == 0, "daemon restart failed: \(result.stderr)")
    }
}

@Suite(.serialized, .enabled(if: HeadlessPipeWire.shouldRun, "needs the headless PipeWire of scripts/test.sh"))
struct PipeWireCaptureTests {
    let dir: URL

    init() throws {
        _ = try HeadlessPipeWire.requireDaemon()
        dir = try TemporaryDirectory.create()
    }

    func file(_ name: String) -> String { dir.appendingPathComponent(name).path }

    func playAndWait(_ path: String, properties: String? = nil, target: String? = nil) throws {
        var args: [String] = []
        if let properties { args += ["-P", properties] }
        if let target { args += ["--target", target] }
        let result = try Tools.run("pw-play", args + [path])
        try #require(result.status == 0, "pw-play failed: \(result.stderr)")
    }

    /// Starts `captiontap run ARGS` and waits until its stream is connected.
    func startCapture(_ args: [String]) throws -> RunningProcess {
        let process = try RunningProcess(Tools.captiontap, ["run", "--no-captions"] + args)
        try #require(process.waitForStderr("capturing"), "capture did not start: \(process.stderrSoFar)")
        Thread.sleep(forTimeInterval: 0.5)  // let WirePlumber link the stream
        return process
    }

    func stop(_ process: RunningProcess) -> RunResult {
        process.interrupt()
        return process.wait(timeout: 20)
    }

    @Test func capturesTheDefaultSinkMonitorFaithfully() throws {
        let tone = file("tone.wav")
        try WAV.write24kMono(WAV.tone(hz: 440, seconds: 1.5, amplitude: 0.5), to: tone)
        let recorded = file("monitor.wav")
        let capture = try startCapture(["--record", recorded])
        try playAndWait(tone)
        Thread.sleep(forTimeInterval: 0.3)
        let result = stop(capture)
        #expect(result.status == 0, "\(result.stderr)")

        let samples = try WAV.read24kMono(recorded)
        let active = try #require(Signal.activeRange(samples), "no tone in the recording")
        let seconds = Double(active.count) / 24_000
        let reference = try #require(Signal.activeRange(try WAV.read24kMono(tone)))
        #expect(abs(seconds - Double(reference.count) / 24_000) <= 0.010, "tone lasted \(seconds) s")
        let body = samples[(active.lowerBound + 2400)..<(active.upperBound - 2400)]
        #expect(abs(Signal.frequency(body) - 440) < 1)
        #expect(
            abs(
                Signal.rmsDB(body)
                    - Signal.rmsDB(try WAV.read24kMono(tone)[reference][...].dropFirst(2400).dropLast(2400))) < 1)
    }

    @Test func virtualSinkIsCapturedAndStillHeard() throws {
        try expectCapturedAndHeard(
            hz: 660, name: "virtual", capture: ["--virtual-sink", "CaptionTapTest"], playTo: "CaptionTapTest")
        // The sink is gone with captiontap.
        let devices = try Tools.captiontap(["devices", "--json"])
        #expect(!devices.stdout.contains("CaptionTapTest"))
    }

    /// conf/pipewire.conf.d/50-captiontap-sink.conf, loaded by the test daemon at start
    /// (scripts/test.sh): a daemon-owned "Captions" sink that is captured and still heard.
    @Test func theShippedCaptionsSinkIsCapturedAndPassedThrough() throws {
        let devices = try Tools.captiontap(["devices", "--json"])
        let nodes = try #require(try JSONSerialization.jsonObject(with: Data(devices.stdout.utf8)) as? [[String: Any]])
        let captions = try #require(nodes.first { $0["name"] as? String == "Captions" }, "\(devices.stdout)")
        #expect(captions["kind"] as? String == "sink")
        #expect(captions["default"] as? Bool == false, "it must not take over as the default sink")

        try expectCapturedAndHeard(hz: 550, name: "captions", capture: ["--target", "Captions"], playTo: "Captions")
    }

    /// Plays a tone into a sink captiontap captures (`capture`) while pw-record listens to the
    /// default output: both must have the tone, at its frequency.
    private func expectCapturedAndHeard(hz: Double, name: String, capture arguments: [String], playTo sink: String)
        throws
    {
        let tone = file("\(name)-tone.wav")
        try WAV.write24kMono(WAV.tone(hz: hz, seconds: 1.2), to: tone)
        let captured = file("\(name).wav")
        let heard = file("\(name)-heard.wav")
        let capture = try startCapture(arguments + ["--record", captured])
        let listener = try RunningProcess(
            "pw-record",
            [
                "-P", "{ stream.capture.sink=true }", "--target", "test-sink", "--rate", "24000", "--channels", "1",
                heard,
            ])
        Thread.sleep(forTimeInterval: 0.5)
        try playAndWait(tone, target: sink)
        Thread.sleep(forTimeInterval: 0.3)
        listener.interrupt()
        _ = listener.wait(timeout: 10)
        let result = stop(capture)
        #expect(result.status == 0, "\(result.stderr)")
        for path in [captured, heard] {
            let samples = try WAV.read24kMono(path)
            let active = try #require(Signal.activeRange(samples), "no tone in \(path)")
            #expect(abs(Signal.medianFrequency(samples[active].dropFirst(2400).dropLast(2400)) - hz) < 1, "\(path)")
        }
    }

    /// conf/wireplumber (the captiontap-route rule), loaded by the test daemon with the
    /// application list of scripts/test-config: a matching app goes to Captions, others do not.
    @Test func theWirePlumberRuleRoutesAMatchingAppToCaptions() throws {
        let routed = file("routed.wav")
        let other = file("other.wav")
        try WAV.write24kMono(WAV.tone(hz: 700, seconds: 4, padSeconds: 0), to: routed)
        try WAV.write24kMono(WAV.tone(hz: 1000, seconds: 4, padSeconds: 0), to: other)
        let appA = try RunningProcess(
            "pw-play", ["-P", "{ application.name=CaptiontapRoutedApp node.name=captiontap-test-routed }", routed])
        let appB = try RunningProcess(
            "pw-play", ["-P", "{ application.name=SomeOtherApp node.name=captiontap-test-other }", other])
        Thread.sleep(forTimeInterval: 0.7)
        let captured = file("captions-routed.wav")
        let result = try Tools.captiontap([
            "run", "--no-captions", "--target", "Captions", "--record", captured, "--duration", "1.5",
        ])
        _ = appA.wait(timeout: 10)
        _ = appB.wait(timeout: 10)
        #expect(result.status == 0, "\(result.stderr)")
        let samples = try WAV.read24kMono(captured)
        let active = try #require(Signal.activeRange(samples), "nothing reached the Captions sink")
        let body = samples[active].dropFirst(1200).dropLast(1200)
        #expect(Signal.power(body, frequency: 700) > 1000 * Signal.power(body, frequency: 1000))
        #expect(abs(Signal.medianFrequency(body) - 700) < 1)
    }

    @Test func targetCapturesOneAppStreamOnly() throws {
        let a = file("a.wav")
        let b = file("b.wav")
        try WAV.write24kMono(WAV.tone(hz: 440, seconds: 5, padSeconds: 0), to: a)
        try WAV.write24kMono(WAV.tone(hz: 1000, seconds: 5, padSeconds: 0), to: b)
        let appA = try RunningProcess(
            "pw-play", ["-P", "{ node.name=captiontap-test-app-a application.name=AppA }", a])
        let appB = try RunningProcess("pw-play", ["-P", "{ node.name=captiontap-test-app-b }", b])
        Thread.sleep(forTimeInterval: 0.7)
        let recorded = file("app.wav")
        let result = try Tools.captiontap([
            "run", "--no-captions", "--target", "captiontap-test-app-a", "--record", recorded, "--duration", "1.5",
        ])
        _ = appA.wait(timeout: 10)
        _ = appB.wait(timeout: 10)
        #expect(result.status == 0, "\(result.stderr)")
        let samples = try WAV.read24kMono(recorded)
        let active = try #require(Signal.activeRange(samples))
        let body = samples[active].dropFirst(1200).dropLast(1200)
        let p440 = Signal.power(body, frequency: 440)
        let p1000 = Signal.power(body, frequency: 1000)
        #expect(p440 > 1000 * p1000, "440 Hz: \(p440), 1000 Hz: \(p1000)")
        #expect(abs(Signal.medianFrequency(body) - 440) < 1)
    }

    /// An app's stream that ends and comes back (a browser pausing and playing again): capture
    /// follows it back instead of going silent for good.
    @Test func aTargetThatGoesAwayAndComesBackIsCapturedAgain() throws {
        let a = file("gone-a.wav")
        let b = file("gone-b.wav")
        try WAV.write24kMono(WAV.tone(hz: 440, seconds: 2, padSeconds: 0), to: a)
        try WAV.write24kMono(WAV.tone(hz: 880, seconds: 2.5, padSeconds: 0), to: b)
        let app = "{ node.name=captiontap-test-app-gone }"
        let first = try RunningProcess("pw-play", ["-P", app, a])
        Thread.sleep(forTimeInterval: 0.7)
        let recorded = file("gone.wav")
        let capture = try startCapture(["--target", "captiontap-test-app-gone", "--record", recorded])
        _ = first.wait(timeout: 10)
        #expect(capture.waitForStderr("capture stream failed", timeout: 5), "\(capture.stderrSoFar)")
        Thread.sleep(forTimeInterval: 1)
        let second = try RunningProcess("pw-play", ["-P", app, b])
        #expect(capture.waitForStderr("capture resumed", timeout: 5), "\(capture.stderrSoFar)")
        _ = second.wait(timeout: 10)
        let result = stop(capture)
        #expect(result.status == 0, "\(result.stderr)")
        let samples = try WAV.read24kMono(recorded)
        let start = try #require(Signal.activeRange(samples))
        let tail = Array(samples[(start.lowerBound + 36_000)...])  // past the first app's 1.3 s
        let again = try #require(Signal.activeRange(tail), "nothing captured after the app came back")
        #expect(abs(Signal.medianFrequency(tail[again].dropFirst(2400).dropLast(2400)) - 880) < 2)
    }

    @Test func devicesJSONListsTheNullSinkAsDefault() throws {
        let result = try Tools.captiontap(["devices", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let nodes = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]])
        let sink = try #require(nodes.first { $0["name"] as? String == "test-sink" })
        #expect(sink["kind"] as? String == "sink")
        #expect(sink["default"] as? Bool == true)
        #expect(sink["description"] as? String == "Test Sink")
        #expect(sink["serial"] as? String != nil)
        let table = try Tools.captiontap(["devices"])
        #expect(table.stdout.contains("* sink"))
        #expect(table.stdout.contains("test-sink"))
    }

    @Test func unknownTargetIsAUsageErrorWithAHint() throws {
        let result = try Tools.captiontap(["run", "--no-captions", "--target", "no-such-node", "--record", "/dev/null"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("no PipeWire node named 'no-such-node'"))
        #expect(result.stderr.contains("captiontap devices"))
    }

    @Test func captureResumesAfterTheDaemonRestarts() throws {
        let before = file("before.wav")
        let after = file("after.wav")
        try WAV.write24kMono(WAV.tone(hz: 440, seconds: 0.8), to: before)
        try WAV.write24kMono(WAV.tone(hz: 880, seconds: 0.8), to: after)
        let recorded = file("restart.wav")
        let capture = try startCapture(["--record", recorded])
        try playAndWait(before)
        try HeadlessPipeWire.restart()
        let resumed = capture.waitForStderr("capture resumed", timeout: 5)
        #expect(resumed, "no resume within 5 s: \(capture.stderrSoFar)")
        Thread.sleep(forTimeInterval: 0.5)
        try playAndWait(after)
        Thread.sleep(forTimeInterval: 0.3)
        let result = stop(capture)
        #expect(result.status == 0)
        #expect(result.stderr.contains("PipeWire connection lost"))
        let samples = try WAV.read24kMono(recorded)
        // Both tones are in the one recording, in order: 440 Hz before the restart, 880 Hz after.
        let first = try #require(Signal.activeRange(samples))
        let tail = Array(samples[(first.lowerBound + 24_000)...])
        let second = try #require(Signal.activeRange(tail), "nothing captured after the restart")
        // Medians over 0.1 s windows: a dropout while CI is loaded is not what this test is about.
        #expect(abs(Signal.medianFrequency(samples[(first.lowerBound + 2400)..<(first.lowerBound + 16_800)]) - 440) < 2)
        #expect(abs(Signal.medianFrequency(tail[second].dropFirst(2400).dropLast(2400)) - 880) < 2)
    }

    /// The whole product path: PipeWire capture → ring → append events → WebSocket → OOB
    /// requests → captions, against the loopback Realtime server.
    @Test func captionsAFilePlayedThroughPipeWire() throws {
        let server = try FakeRealtimeServer()
        let turns = file("turns.wav")
        try WAV.write24kMono(WAV.toneTurns([400, 600, 800], gap: 1.2), to: turns)
        let run = try RunningProcess(
            Tools.captiontap, ["run", "--target", "test-sink", "--url", server.url, "--format", "jsonl"])
        try #require(run.waitForStderr("capturing"), "capture did not start: \(run.stderrSoFar)")
        Thread.sleep(forTimeInterval: 0.5)
        try playAndWait(turns)
        Thread.sleep(forTimeInterval: 1.5)
        run.interrupt()  // SIGINT: stop capture, drain outstanding transcripts, exit 0
        let result = run.wait(timeout: 40)
        let (status, stats) = server.stop()
        #expect(result.status == 0, "\(result.stderr)")
        let finals = result.stdout.split(separator: "\n").compactMap { line -> String? in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                object["final"] as? Bool == true
            else { return nil }
            return object["text"] as? String
        }
        #expect(finals == ["tone 400 hertz", "tone 600 hertz", "tone 800 hertz"], "\(result.stderr)")
        #expect(status == 0, "protocol violations: \(stats)")
    }

    @Test(.enabled(if: EmbeddedRecognizer.shouldRun, "needs scripts/setup-recognizer.sh"))
    func captionsSpeechPlayedThroughPipeWireOfflineWithTheEmbeddedBackend() throws {
        let run = try RunningProcess(
            Tools.captiontap, ["run", "--target", "test-sink", "--format", "jsonl"],
            environment: EmbeddedRecognizer.noKey)
        try #require(run.waitForStderr("capturing", timeout: 30), "capture did not start: \(run.stderrSoFar)")
        Thread.sleep(forTimeInterval: 0.5)
        try playAndWait(EmbeddedRecognizer.fixture("jfk.wav"))
        Thread.sleep(forTimeInterval: 1.5)  // the last turn's silence
        run.interrupt()
        let result = run.wait(timeout: 60)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("embedded backend"), "\(result.stderr)")
        let finals = CaptionLine.finals(result.stdout)
        let wer = WordErrorRate.score(
            reference: try EmbeddedRecognizer.reference("jfk"), hypothesis: finals.map(\.text).joined(separator: " "))
        #expect(wer <= 0.10, "WER \(wer): \(finals.map(\.text))")
        #expect(result.stderr.contains("; \(finals.count) turns;"), "\(result.stderr)")
    }

}
