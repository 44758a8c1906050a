import Foundation
import TestSupport
import Testing

/// A real JACK2 server for one test: `jackd` with the dummy driver (no sound card) at 48 kHz,
/// 1024-frame periods, under its own server name, and `jack_metro` as the source: a 440 Hz beep
/// of 500 ms every second (60 bpm) on port `metro:60_bpm`. Clients find it through
/// `JACK_DEFAULT_SERVER` in ``environment``. Installed by scripts/setup.sh (jackd2).
final class JackServer {
    let name = "captiontap-\(UUID().uuidString.prefix(8))"
    let port = "metro:60_bpm"
    private var processes: [RunningProcess] = []

    var environment: [String: String] {
        var env = ProcessInfo.processInfo.environment
        env["JACK_DEFAULT_SERVER"] = name
        env["JACK_NO_AUDIO_RESERVATION"] = "1"  // no D-Bus device reservation: there is no device
        return env
    }

    init() throws {
        processes.append(
            try RunningProcess(
                "jackd", ["--no-realtime", "-n", name, "-d", "dummy", "-r", "48000", "-p", "1024"],
                environment: environment))
        // Up to 20 s: a loaded CI machine can take over 10 s to bring jackd up.
        let ready = try RunningProcess("jack_wait", ["-w", "-t", "20"], environment: environment).wait(timeout: 25)
        try #require(ready.status == 0, "jackd did not start: \(ready.stdout) \(ready.stderr)")
        metros["metro"] = try startMetro("metro", hertz: 440)
    }

    private var metros: [String: RunningProcess] = [:]

    /// Starts `jack_metro` as client `name` (port `name:60_bpm`, beeps of amplitude 0.5) and
    /// waits for its port.
    @discardableResult
    func startMetro(_ name: String, hertz: Int) throws -> RunningProcess {
        let metro = try RunningProcess(
            "jack_metro", ["-n", name, "-b", "60", "-f", "\(hertz)", "-A", "0.5", "-D", "500"],
            environment: environment)
        processes.append(metro)
        metros[name] = metro
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            let ports = try RunningProcess("jack_lsp", [], environment: environment).wait(timeout: 10)
            if ports.stdout.contains("\(name):60_bpm") { return metro }
            Thread.sleep(forTimeInterval: 0.1)
        }
        Issue.record("jack_metro's port \(name):60_bpm never appeared")
        return metro
    }

    /// Stops the `jack_metro` client `name` (its port goes away, and its links with it).
    func stopMetro(_ name: String) {
        guard let metro = metros.removeValue(forKey: name) else { return }
        metro.terminate()
        _ = metro.wait(timeout: 10)
    }

    /// Stops jackd under its clients (they get JACK's shutdown notice). SIGTERM, not SIGKILL: a
    /// killed server leaves its shared-memory registry entry behind, which can hold up the next
    /// test's jackd.
    func stopServer() {
        if let jackd = processes.first, jackd.isRunning {
            jackd.terminate()
            _ = jackd.wait(timeout: 10)
        }
    }

    deinit {
        for process in processes.reversed() where process.isRunning {
            process.terminate()
            _ = process.wait(timeout: 10)
        }
    }
}

/// `--backend jack` on a real JACK2 server (libjack-jackd2 itself, no PipeWire), next to the
/// pipewire-jack tests in PipeWireCaptureTests.
@Suite(.serialized) struct JackServerTests {
    let dir: URL

    init() throws { dir = try TemporaryDirectory.create() }

    /// The beeps, as (onset, length) in seconds, of those wholly inside the recording.
    private func beeps(_ samples: [Float]) -> [(onset: Double, length: Double)] {
        var segments: [(Int, Int)] = []
        var start: Int?
        var lastLoud = 0
        for (i, x) in samples.enumerated() where abs(x) > 0.05 {
            if let s = start, i - lastLoud > 2400 {
                segments.append((s, lastLoud))
                start = i
            } else if start == nil {
                start = i
            }
            lastLoud = i
        }
        if let start { segments.append((start, lastLoud)) }
        return
            segments
            // Cut by the recording's edges: a whole beep has 100 ms of recording before and after
            // it (the recording may start a few samples into the tail of a beep).
            .filter { $0.0 > 2400 && $0.1 < samples.count - 2400 }
            .map { (Double($0.0) / 24_000, Double($0.1 - $0.0) / 24_000) }
    }

    @Test func capturesARealJACK2ServersPortAtItsRate() throws {
        let jack = try JackServer()
        let recorded = dir.appendingPathComponent("jack2.wav").path
        let result = try RunningProcess(
            Tools.captiontap,
            [
                "run", "--backend", "jack", "--jack-connect", jack.port,
                "--no-captions", "--record", recorded, "--duration", "4",
            ],
            environment: jack.environment
        ).wait(timeout: 30)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(
            result.stderr.contains("capturing JACK port captiontap:input at 48000 Hz from metro:60_bpm"),
            "\(result.stderr)")
        let samples = try WAV.read24kMono(recorded)
        let found = beeps(samples)
        try #require(found.count >= 2, "whole beeps: \(found)")
        // 60 bpm is one beep per second of the server's clock; converted to 24 kHz the spacing
        // must stay 1 s (a wrong rate is off by ≥ 80 ms), within one 21.3 ms period for an xrun.
        for (a, b) in zip(found, found.dropFirst()) {
            #expect(abs(b.onset - a.onset - 1.0) <= 0.0263, "beeps at \(found.map(\.onset))")
        }
        for beep in found {
            #expect(abs(beep.length - 0.494) <= 0.0263, "beep lengths \(found.map(\.length))")
            let start = Int(beep.onset * 24_000) + 2400
            let body = samples[start..<max(start, min(samples.count, start + Int(beep.length * 24_000) - 4800))]
            guard body.count > 2400 else { continue }  // too short: the length check above failed
            #expect(abs(Signal.medianFrequency(body) - 440) < 1)
        }
    }

    @Test func aJACKServerThatDiesEndsTheRunWithOneLineNotSilence() throws {
        let jack = try JackServer()
        let recorded = dir.appendingPathComponent("jack-dies.wav").path
        let run = try RunningProcess(
            Tools.captiontap,
            [
                "run", "--backend", "jack", "--jack-connect", jack.port,
                "--no-captions", "--record", recorded, "--duration", "60",
            ],
            environment: jack.environment)
        #expect(run.waitForStderr("capturing JACK port", timeout: 15), "\(run.stderrSoFar)")
        Thread.sleep(forTimeInterval: 1)
        jack.stopServer()
        let result = run.wait(timeout: 20)
        #expect(result.status == 1, "still running or wrong status: \(result.stderr)")
        #expect(result.stderr.contains("the JACK server shut down"), "\(result.stderr)")
        // What was captured before is kept.
        #expect(
            (try? WAV.read24kMono(recorded).count) ?? 0 > 12_000, "the recording lost the audio before the shutdown")
    }

    @Test func severalSourcesGetAPortEachAndAreAveragedNotSummed() throws {
        let jack = try JackServer()
        try jack.startMetro("metro2", hertz: 660)
        let recorded = dir.appendingPathComponent("jack-two.wav").path
        let result = try RunningProcess(
            Tools.captiontap,
            [
                "run", "--backend", "jack", "--jack-connect", jack.port, "--jack-connect", "metro2:60_bpm",
                "--no-captions", "--record", recorded, "--duration", "4",
            ],
            environment: jack.environment
        ).wait(timeout: 30)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(
            result.stderr.contains(
                "capturing JACK ports captiontap:input_1, captiontap:input_2 at 48000 Hz from metro:60_bpm, metro2:60_bpm, averaged"
            ), "\(result.stderr)")
        let samples = try WAV.read24kMono(recorded)
        // Each source is heard at half its level (its beeps are 0.5): averaged, not summed. The
        // amplitude of each tone is measured on its own (50 ms windows hold whole cycles of both),
        // so where the two sources' beeps overlap does not matter.
        for hertz in [440.0, 660.0] {
            let loudest =
                stride(from: 0, to: samples.count - 1200, by: 600).map {
                    2 * Signal.power(samples[$0..<$0 + 1200], frequency: hertz).squareRoot()
                }.max() ?? 0
            #expect(loudest > 0.2 && loudest < 0.32, "\(hertz) Hz at amplitude \(loudest)")
        }
    }

    @Test func aSourceThatGoesAwayAndComesBackIsLinkedAgain() throws {
        let jack = try JackServer()
        let recorded = dir.appendingPathComponent("jack-back.wav").path
        let run = try RunningProcess(
            Tools.captiontap,
            [
                "run", "--backend", "jack", "--jack-connect", jack.port, "--no-captions", "--record", recorded,
                "--duration", "7",
            ],
            environment: jack.environment)
        #expect(run.waitForStderr("capturing JACK port", timeout: 15), "\(run.stderrSoFar)")
        Thread.sleep(forTimeInterval: 1)
        jack.stopMetro("metro")
        Thread.sleep(forTimeInterval: 1)
        try jack.startMetro("metro", hertz: 440)
        let result = run.wait(timeout: 30)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(
            result.stderr.contains("JACK port metro:60_bpm is back: linked to captiontap:input again"),
            "\(result.stderr)")
        // The beeps go on in the recording's last seconds (silence there before this fix).
        let samples = try WAV.read24kMono(recorded)
        let tail = samples.suffix(48_000)
        #expect(Signal.rmsDB(tail) > -30, "\(Signal.rmsDB(tail)) dB in the last 2 s")
    }

    @Test func aLinkTheUserRemovedStaysRemoved() throws {
        let jack = try JackServer()
        let run = try RunningProcess(
            Tools.captiontap,
            [
                "run", "--backend", "jack", "--jack-connect", jack.port, "--no-captions", "--duration", "5",
                "--record", dir.appendingPathComponent("jack-unlinked.wav").path,
            ],
            environment: jack.environment)
        #expect(run.waitForStderr("capturing JACK port", timeout: 15), "\(run.stderrSoFar)")
        func links() throws -> String {
            try RunningProcess("jack_lsp", ["-c", "captiontap:input"], environment: jack.environment)
                .wait(timeout: 10).stdout
        }
        #expect(try links().contains(jack.port))
        let unlinked = try RunningProcess(
            "jack_disconnect", [jack.port, "captiontap:input"], environment: jack.environment
        ).wait(timeout: 10)
        #expect(unlinked.status == 0, "\(unlinked.stderr)")
        try jack.startMetro("other", hertz: 550)  // a port registers: captiontap looks again
        Thread.sleep(forTimeInterval: 1.5)
        let after = try links()
        #expect(!after.contains(jack.port), "the link came back: \(after)")
        let result = run.wait(timeout: 30)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(!result.stderr.contains("is back"), "\(result.stderr)")
    }

    /// The process callback on libjack-jackd2's own client thread, with one port and with two
    /// averaged: no heap calls, and the same counter on that thread sees the probe's deliberate
    /// allocations.
    @Test func theLiveCallbackMakesNoHeapCallsOnJACK2() throws {
        let jack = try JackServer()
        try jack.startMetro("metro2", hertz: 660)
        for (sources, allocate) in [(jack.port, false), (jack.port, true), ("\(jack.port),metro2:60_bpm", false)] {
            let result = try RunningProcess(
                Tools.rtprobe, ["jack", sources, "2"] + (allocate ? ["--allocate"] : []),
                environment: jack.environment
            ).wait(timeout: 30)
            try #require(result.status == 0, "\(result.stderr)")
            let report = try #require(
                try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
            let calls = report["calls"] as? Int ?? 0
            let heap = report["heap_calls"] as? Int ?? -1
            #expect(calls >= 40, "about 47 periods a second: \(report)")
            #expect((report["frames"] as? Int ?? 0) >= 48_000, "\(report)")
            if allocate {
                #expect(heap >= calls, "the counter sees the JACK thread: \(report)")
            } else {
                #expect(heap == 0, "\(report)")
            }
        }
    }
}
