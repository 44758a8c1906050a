// The embedded backend's footprint, side by side with sherpa-onnx's own Python pipeline on the
// same model files: peak RSS and start-up of `run` and of `serve` with 1 and 8 sessions, how many
// real-time streams each holds at p95 ≤ 1.0 s from speech end to transcript, and the decode
// real-time factor.
import CaptionTapServer
import Foundation
import TestSupport

enum FootprintBench {
    /// Each stream plays this much of meeting.wav in real time (its jfk turn and part of the next).
    static let seconds = 30
    static let streamCounts = [1, 2, 4, 8, 12, 16]
    /// The silence that ends a turn, on both sides (run's default --silence-ms; the peer's VAD).
    static let silenceMs = 800
    /// Stream i starts this many seconds after stream 0, as independent callers would; streams
    /// in lockstep would end every turn at the same instant, a worst case no service meets.
    static let staggerSeconds = 0.5

    struct Trial {
        var streams: Int
        var readySeconds: Double?
        var peakRSSMiB: Double
        var cpuSeconds: Double
        var latencies: [Double]
        var decodeRTF: Double?
        var p95: Double? {
            let sorted = latencies.sorted()
            return sorted.isEmpty ? nil : sorted[min(sorted.count - 1, sorted.count * 95 / 100)]
        }
    }

    static func run(binary: String) throws {
        guard let files = try? RecognizerFiles.locate(explicit: nil) else {
            print("footprint: the embedded recognizer is not installed (scripts/setup-recognizer.sh --fold)")
            return
        }
        print(
            "embedded backend footprint, \(files.precision.rawValue) models, \(seconds) s of meeting.wav per stream; "
                + "latency from a turn's end (\(silenceMs) ms of silence after speech) to its transcript; "
                + "streams start \(staggerSeconds) s apart:")
        for live in [false, true] {
            let (ready, rss, cpu) = try offlineRun(binary: binary, live: live)
            print(
                String(
                    format:
                        "  captiontap run (offline, live captions %@): recognizer ready %.2f s after start, peak RSS %.0f MiB, %.1f CPU s",
                    live ? "on" : "off", ready ?? .nan, rss, cpu))
        }
        let python = try LiveBench.peerPython()
        var ours: [Trial] = []
        var peers: [Trial] = []
        for count in streamCounts {
            let trial = try serve(binary: binary, streams: count)
            ours.append(trial)
            if let python { peers.append(try peer(python: python, files: files, streams: count)) }
            row(count, trial, peers.last)
            let allOver = (trial.p95 ?? .infinity) > 1 && (peers.last?.p95 ?? .infinity) > 1
            if count >= 8 && allOver { break }
        }
        summary("captiontap serve", ours)
        if let python {
            summary("sherpa-onnx Python (VAD + offline recognizer)", peers)
            let rtf = peers.first?.decodeRTF ?? .nan
            print(String(format: "  sherpa-onnx Python decode real-time factor, one stream: %.3f", rtf))
            try oneStreamCPU(binary: binary, python: python, files: files)
        }
    }

    static func row(_ count: Int, _ ours: Trial, _ peer: Trial?) {
        func cells(_ t: Trial?) -> String {
            guard let t else { return "not run" }
            return String(
                format: "ready %.2f s, peak RSS %3.0f MiB, p95 %.2f s (%d turns), %.1f CPU s", t.readySeconds ?? .nan,
                t.peakRSSMiB, t.p95 ?? .nan, t.latencies.count, t.cpuSeconds)
        }
        print("  \(count) stream(s): captiontap serve: \(cells(ours)) | sherpa-onnx Python: \(cells(peer))")
    }

    static func summary(_ name: String, _ trials: [Trial]) {
        let held = trials.filter { ($0.p95 ?? .infinity) <= 1.0 }.map(\.streams).max() ?? 0
        let cpuPerStream = trials.first.map { $0.cpuSeconds / Double(seconds) * 100 } ?? .nan
        print(
            String(
                format: "  %@: holds %d real-time streams at p95 ≤ 1.0 s; one stream costs %.0f %% of a core", name,
                held, cpuPerStream))
    }

    /// One stream's CPU is the closest comparison and the noisiest on a shared machine: three
    /// more runs each, alternating, so both sides meet the same conditions.
    static func oneStreamCPU(binary: String, python: String, files: RecognizerFiles) throws {
        var ours: [Double] = []
        var theirs: [Double] = []
        for _ in 0..<3 {
            ours.append(try serve(binary: binary, streams: 1).cpuSeconds)
            theirs.append(try peer(python: python, files: files, streams: 1).cpuSeconds)
        }
        func cells(_ runs: [Double]) -> String {
            let runs = runs.sorted()
            return runs.map { String(format: "%.1f", $0) }.joined(separator: " / ")
                + String(format: " CPU s (median %.1f)", runs[runs.count / 2])
        }
        print(
            "  one stream, three more runs each: captiontap serve \(cells(ours)) | sherpa-onnx Python \(cells(theirs))")
    }

    /// `captiontap run` with no key on meeting.wav in real time.
    static func offlineRun(binary: String, live: Bool) throws -> (ready: Double?, rss: Double, cpu: Double) {
        let start = monotonicSeconds()
        let process = try RunningProcess(
            binary,
            [
                "run", "-v", "--input", EmbeddedBackendBench.fixture("meeting.wav"), "--pace", "realtime",
                "--duration", String(seconds), "--live", live ? "on" : "off", "--format", "jsonl", "--no-status",
            ], environment: offline)
        let ready = readyTime(process, since: start)
        _ = process.wait(timeout: Double(seconds) + 60)
        return (ready, process.peakRSSMiB, process.cpuSeconds)
    }

    /// `serve` with `streams` clients, each a `captiontap run --url` playing meeting.wav in real
    /// time (live captions off: the clients load no recognizer). Latency: from the turn's end (the
    /// server VAD's commit, `--silence-ms` after the speech) to the final: its latency_ms (from the
    /// speech's end) less the silence.
    static func serve(binary: String, streams: Int) throws -> Trial {
        let start = monotonicSeconds()
        let serve = try RunningProcess(binary, ["serve", "-v", "--port", "0", "--max-sessions", "64"])
        var url: String?
        while url == nil && serve.isRunning {
            url = serve.stdoutSoFar.split(separator: "\n").first.map(String.init)
            Thread.sleep(forTimeInterval: 0.01)
        }
        let ready = readyTime(serve, since: start)
        var clients: [RunningProcess] = []
        let first = monotonicSeconds()
        for i in 0..<streams {
            guard let url else { break }
            let due = first + Double(i) * staggerSeconds
            if due > monotonicSeconds() { Thread.sleep(forTimeInterval: due - monotonicSeconds()) }
            clients.append(
                try RunningProcess(
                    binary,
                    [
                        "run", "-q", "--url", url, "--input", EmbeddedBackendBench.fixture("meeting.wav"), "--pace",
                        "realtime", "--duration", String(seconds), "--live", "off", "--format", "jsonl",
                    ], environment: offline))
        }
        var latencies: [Double] = []
        for client in clients {
            let result = client.wait(timeout: Double(seconds) + 120)
            for line in result.stdout.split(separator: "\n") {
                guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                    o["final"] as? Bool == true, let ms = o["latency_ms"] as? Int
                else { continue }
                latencies.append(Double(ms - silenceMs) / 1000)
            }
        }
        serve.interrupt()
        _ = serve.wait(timeout: 20)
        return Trial(
            streams: streams, readySeconds: ready, peakRSSMiB: serve.peakRSSMiB, cpuSeconds: serve.cpuSeconds,
            latencies: latencies)
    }

    /// Tests/Bench/sherpa_offline_peer.py on the same files and audio.
    static func peer(python: String, files: RecognizerFiles, streams: Int) throws -> Trial {
        let script = Tools.repositoryRoot.appendingPathComponent("Tests/Bench/sherpa_offline_peer.py").path
        let arguments = [
            script, "--encoder", files.encoder, "--decoder", files.decoder, "--tokens", files.tokens, "--vad",
            files.vad,
            "--streams", String(streams), "--seconds", String(seconds), "--stagger", String(staggerSeconds),
            "--provider", files.provider,
        ]
        let start = monotonicSeconds()
        let process = try RunningProcess(python, arguments + [EmbeddedBackendBench.fixture("meeting.wav")])
        let ready = readyTime(process, since: start, line: "ready")
        let result = process.wait(timeout: Double(seconds) + 120)
        let o = (try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]) ?? [:]
        return Trial(
            streams: streams, readySeconds: ready, peakRSSMiB: process.peakRSSMiB, cpuSeconds: process.cpuSeconds,
            latencies: o["latency_s"] as? [Double] ?? [], decodeRTF: o["decode_rtf"] as? Double)
    }

    /// Seconds from `start` until the process says its recognizer is loaded.
    static func readyTime(_ process: RunningProcess, since start: Double, line: String = "recognizer loaded")
        -> Double?
    {
        while process.isRunning {
            if process.stderrSoFar.contains(line) { return monotonicSeconds() - start }
            Thread.sleep(forTimeInterval: 0.005)
        }
        return nil
    }

    static var offline: [String: String] {
        var env = ProcessInfo.processInfo.environment
        env["OPENAI_API_KEY"] = nil
        return env
    }
}
