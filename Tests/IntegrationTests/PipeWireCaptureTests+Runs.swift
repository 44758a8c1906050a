import Foundation
import TestSupport
import Testing

/// Runs through PipeWire beyond plain capture: the JACK layer, the real-time callbacks' heap
/// calls, several sources at once, and doctor.
extension PipeWireCaptureTests {
    @Test func theJACKBackendCapturesThroughPipeWiresJACKLayer() throws {
        // PipeWire's JACK layer names ports after node.description: the null sink is "Test Sink".
        let tone = file("jack-tone.wav")
        try WAV.write24kMono(WAV.tone(hz: 440, seconds: 1.5, amplitude: 0.5), to: tone)
        let recorded = file("jack.wav")
        let capture = try RunningProcess(
            "pw-jack",
            [
                Tools.captiontap, "run", "--backend", "jack", "--jack-connect", "Test Sink:monitor_FL",
                "--no-captions", "--record", recorded,
            ])
        try #require(
            capture.waitForStderr("capturing JACK port captiontap:input"),
            "JACK capture did not start: \(capture.stderrSoFar)")
        try playAndWait(tone)
        Thread.sleep(forTimeInterval: 0.3)
        let result = stop(capture)
        #expect(result.status == 0, "\(result.stderr)")
        // The JACK graph runs at 48 kHz; the worker converted to 24 kHz without changing pitch,
        // length or level.
        #expect(result.stderr.contains("at 48000 Hz"), "\(result.stderr)")
        let samples = try WAV.read24kMono(recorded)
        let active = try #require(Signal.activeRange(samples), "no tone in the JACK recording")
        // Within one 1024-frame graph quantum at 48 kHz (21.3 ms) plus 5 ms: a wrong rate would be
        // off by far more (44.1 vs 48 kHz: 120 ms), while one xrun of a starved graph (seen once
        // with both cores saturated on top of the suite) costs exactly a quantum.
        #expect(abs(Double(active.count) / 24_000 - 1.5) <= 0.0263, "tone lasted \(Double(active.count) / 24_000) s")
        let body = samples[(active.lowerBound + 2400)..<(active.upperBound - 2400)]
        #expect(abs(Signal.medianFrequency(body) - 440) < 1)
        #expect(
            abs(Signal.rmsDB(body) - Signal.rmsDB(WAV.tone(hz: 440, seconds: 1, amplitude: 0.5, padSeconds: 0)[...]))
                < 1)
    }

    /// Runs captiontap-rtprobe (`launcher` + probe arguments) while a tone plays into the test
    /// sink; returns its report.
    func liveCallbackReport(_ launcher: [String], _ arguments: [String]) throws -> [String: Int] {
        let tone = file("probe-tone.wav")
        try WAV.write24kMono(WAV.tone(hz: 440, seconds: 1.0, amplitude: 0.5), to: tone)
        let command = launcher + [Tools.rtprobe] + arguments
        let probe = try RunningProcess(command[0], Array(command.dropFirst()))
        try #require(probe.waitForStderr("capturing"), "the probe did not start: \(probe.stderrSoFar)")
        Thread.sleep(forTimeInterval: 0.3)
        try playAndWait(tone)
        let result = probe.wait(timeout: 30)
        try #require(result.status == 0, "\(result.stderr)")
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        return try #require(object?.compactMapValues { $0 as? Int }, "\(result.stdout)")
    }

    /// The whole `process` callback (dequeue, copy, queue) on PipeWire's live data thread makes no
    /// heap call; the same counter, on the same thread, sees the probe's own allocations.
    @Test func theLivePipeWireCallbackMakesNoHeapCalls() throws {
        let clean = try liveCallbackReport([], ["pipewire", "test-sink", "3"])
        #expect(clean["calls", default: 0] >= 20, "\(clean)")
        #expect(clean["frames", default: 0] >= 24_000, "a second of tone at least: \(clean)")
        #expect(clean["heap_calls"] == 0, "\(clean)")
        let check = try liveCallbackReport([], ["pipewire", "test-sink", "2", "--allocate"])
        #expect(check["calls", default: 0] >= 20, "\(check)")
        #expect(
            check["heap_calls", default: 0] >= check["calls", default: 0], "the counter sees the data thread: \(check)")
    }

    /// The same for the JACK process callback (jack_port_get_buffer and the copy), through
    /// PipeWire's JACK layer.
    @Test func theLiveJACKCallbackMakesNoHeapCalls() throws {
        let clean = try liveCallbackReport(["pw-jack"], ["jack", "Test Sink:monitor_FL", "3"])
        #expect(clean["calls", default: 0] >= 20, "\(clean)")
        #expect(clean["frames", default: 0] >= 48_000, "a second of tone at the graph's 48 kHz at least: \(clean)")
        #expect(clean["heap_calls"] == 0, "\(clean)")
        let check = try liveCallbackReport(["pw-jack"], ["jack", "Test Sink:monitor_FL", "2", "--allocate"])
        #expect(check["calls", default: 0] >= 20, "\(check)")
        #expect(
            check["heap_calls", default: 0] >= check["calls", default: 0], "the counter sees the JACK thread: \(check)")
    }

    @Test func jackErrorsNameTheFix() throws {
        let unknown = try Tools.run(
            "pw-jack",
            [
                Tools.captiontap, "run", "--backend", "jack", "--jack-connect", "No Such:port", "--no-captions",
                "--record", "/dev/null",
            ])
        #expect(unknown.status == 2)
        #expect(
            unknown.stderr.contains("'No Such:port'") && unknown.stderr.contains("'Test Sink:monitor_FL'"),
            "\(unknown.stderr)")
        // Without pw-jack the JACK2 library finds no JACK server: one line saying what to do.
        let noServer = try Tools.captiontap(["run", "--backend", "jack", "--no-captions", "--record", "/dev/null"])
        #expect(noServer.status == 1)
        #expect(noServer.stderr.contains("pw-jack captiontap run --backend jack"), "\(noServer.stderr)")
        #expect(noServer.stderr.split(separator: "\n").count == 1, "\(noServer.stderr)")
        let misuse = try Tools.captiontap([
            "run", "--backend", "jack", "--target", "x", "--no-captions", "--record", "/dev/null",
        ])
        #expect(misuse.status == 2)
    }

    @Test func twoSourcesAtOnceEachGetTheirOwnLabelledCaptions() throws {
        let server = try FakeRealtimeServer()
        let a = file("source-a.wav")
        let b = file("source-b.wav")
        try WAV.write24kMono(WAV.toneTurns([300, 500], gap: 1.2), to: a)
        try WAV.write24kMono(WAV.toneTurns([700, 900], gap: 1.2), to: b)
        let srt = file("both.srt")
        // The shipped Captions sink is the second source.
        let run = try RunningProcess(
            Tools.captiontap,
            [
                "run", "--target", "test-sink", "--target", "Captions", "--url", server.url,
                "--format", "jsonl", "--srt", srt,
            ])
        try #require(run.waitForStderr("capturing node 'Captions'"), "capture did not start: \(run.stderrSoFar)")
        Thread.sleep(forTimeInterval: 0.5)
        let playA = try RunningProcess("pw-play", ["--target", "test-sink", a])
        try playAndWait(b, target: "Captions")
        _ = playA.wait(timeout: 20)
        Thread.sleep(forTimeInterval: 1.5)
        run.interrupt()
        let result = run.wait(timeout: 40)
        let (status, stats) = server.stop()
        #expect(result.status == 0, "\(result.stderr)")
        var bySource: [String: [String]] = [:]
        for line in result.stdout.split(separator: "\n") {
            let o = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            if o["final"] as? Bool == true {
                bySource[o["source"] as? String ?? "?", default: []].append(o["text"] as? String ?? "")
            }
        }
        #expect(bySource["test-sink"] == ["tone 300 hertz", "tone 500 hertz"], "\(bySource)")
        #expect(bySource["Captions"] == ["tone 700 hertz", "tone 900 hertz"], "\(bySource)")
        // Two sessions, one per source; the shared SRT file labels every cue.
        #expect(
            result.stderr.contains("test-sink: sent") && result.stderr.contains("Captions: sent"), "\(result.stderr)")
        let subtitles = try String(contentsOfFile: srt, encoding: .utf8)
        for expected in ["[test-sink] tone 300 hertz", "[Captions] tone 900 hertz"] {
            #expect(subtitles.contains(expected), "\(subtitles)")
        }
        #expect(status == 0, "protocol violations: \(stats)")
    }

    @Test func doctorPassesWhenEverythingIsThere() throws {
        let server = try FakeRealtimeServer()
        var env = ProcessInfo.processInfo.environment
        env["OPENAI_API_KEY"] = nil
        let result = try Tools.captiontap(
            ["doctor", "--url", server.url, "--target", "test-sink", "--fifo", file("doctor.fifo")], environment: env)
        _ = server.stop()
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.allSatisfy { $0.hasPrefix("✓ ") }, "\(result.stdout)")
        for expected in [
            "PipeWire reachable", "default sink: test-sink", "WirePlumber running", "target 'test-sink' exists",
            "accepts the WebSocket handshake", "is usable",
        ] {
            #expect(lines.contains { $0.contains(expected) }, "missing '\(expected)' in \(result.stdout)")
        }
    }

    @Test func doctorExplainsEachFailureWithoutShowingTheKey() throws {
        let key = "sk-doctor-\(UUID().uuidString)"
        let server = try FakeRealtimeServer(["--api-key", "another-key"])
        var env = ProcessInfo.processInfo.environment
        env["OPENAI_API_KEY"] = key
        let refused = try Tools.captiontap(
            ["doctor", "--url", server.url, "--target", "no-such-node", "--fifo", "/proc/no/such.fifo"],
            environment: env)
        _ = server.stop()
        #expect(refused.status == 1)
        let failures = refused.stdout.split(separator: "\n").filter { $0.hasPrefix("✗ ") }
        #expect(failures.count == 3, "\(refused.stdout)")
        #expect(refused.stdout.contains("target 'no-such-node' not found: run 'captiontap devices'"))
        #expect(refused.stdout.contains("refused the API key (HTTP 401)"))
        #expect(refused.stdout.contains("FIFO path /proc/no/such.fifo is not usable"))
        // OPENAI_API_KEY goes to OpenAI only: doctor says it is not sent to this backend.
        #expect(refused.stdout.contains("OPENAI_API_KEY is set but not sent to 127.0.0.1"), "\(refused.stdout)")
        #expect(!refused.stdout.contains(key) && !refused.stderr.contains(key))
        #expect(refused.stderr.isEmpty, "the ✗ lines say it all: \(refused.stderr)")

        let unreachable = try Tools.captiontap(["doctor", "--url", "ws://127.0.0.1:9/v1/realtime"], environment: env)
        #expect(unreachable.status == 1)
        #expect(unreachable.stdout.contains("unreachable"), "\(unreachable.stdout)")
    }
}
