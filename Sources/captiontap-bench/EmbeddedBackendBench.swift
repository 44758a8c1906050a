// The embedded offline backend: recognizer real-time factor (int8 and folded fp32), time from
// the end of speech to the final caption on meeting.wav played in real time, peak RSS of serve.
import CaptionTapCapture
import CaptionTapCore
import CaptionTapServer
import Foundation
import TestSupport

#if canImport(CaptionTapRecognizer)
    import CaptionTapRecognizer
#endif

enum EmbeddedBackendBench {
    static func fixture(_ name: String) -> String {
        Tools.repositoryRoot.appendingPathComponent("Tests/Fixtures/speech/\(name)").path
    }

    static func run(binary: String) throws {
        #if canImport(CaptionTapRecognizer)
            try realTimeFactors()
        #else
            print(
                "embedded backend: not built in (run scripts/setup-recognizer.sh, rebuild with --manifest-cache none)")
            return
        #endif
        try latency(binary: binary, precision: "auto")
        if CommandLine.arguments.contains("--int8-latency") { try latency(binary: binary, precision: "int8") }
        try churn(binary: binary)
    }

    /// serve's resident memory as clients keep vanishing mid-turn: after a warm-up of 10 and after
    /// 100 more. A leak of sessions (their audio, their native VAD) grows it by the session count.
    static func churn(binary: String) throws {
        guard let python = FakeRealtimeServer.python else {
            print("serve churn: skipped (set CAPTIONTAP_PYTHON to the venv of Tests/RealtimeServer/setup-venv.sh)")
            return
        }
        let script = Tools.repositoryRoot.appendingPathComponent("Tests/RealtimeServer/sdk_conformance.py").path
        let serve = try RunningProcess(binary, ["serve", "--port", "0", "--max-sessions", "1"])
        var url: String?
        while url == nil && serve.isRunning {
            url = serve.stdoutSoFar.split(separator: "\n").first.map(String.init)
            Thread.sleep(forTimeInterval: 0.05)
        }
        guard let url else { return }
        func residentMiB() -> Double { ProcStatus(pid: String(serve.pid)).mebibytes("VmRSS") ?? 0 }
        var sessions = 0
        var rows: [String] = []
        for batch in [10, 100] {
            _ = try RunningProcess(
                python, [script, "--url", url, "--churn", String(batch), "--input", fixture("jfk.wav")]
            ).wait(timeout: 600)
            sessions += batch + 1
            Thread.sleep(forTimeInterval: 1)  // cancelled decodes finish
            rows.append(String(format: "%d sessions: %.1f MiB", sessions, residentMiB()))
        }
        serve.interrupt()
        let result = serve.wait(timeout: 20)
        let freed = result.stderr.components(separatedBy: "closed and freed").count - 1
        print(
            "serve RSS while clients vanish mid-turn (jfk, 1 s each): " + rows.joined(separator: ", ")
                + "; \(freed) of \(sessions) sessions freed")
    }

    #if canImport(CaptionTapRecognizer)
        /// Decode time over audio time for whole clips, one thread, after a warm-up decode.
        static func realTimeFactors() throws {
            for precision in [RecognizerFiles.Precision.int8, .fp32, .compact] {
                guard let files = try? RecognizerFiles.locate(explicit: nil, precision: precision) else {
                    print("recognizer \(precision.rawValue): not installed")
                    continue
                }
                let t0 = monotonicSeconds()
                let engine = try SherpaEngine(files: files)
                engine.settle()
                let load = monotonicSeconds() - t0
                let frontEnd = try engine.makeFrontEnd()
                var results: [String] = []
                for clip in ["goforward", "jfk", "two_cities"] {
                    let samples24k = try WAV.read24kMono(fixture(clip + ".wav"))
                    var samples16k: [Float] = []
                    samples24k.withUnsafeBufferPointer { buf in
                        frontEnd.process(buf) { window, _ in samples16k.append(contentsOf: window) }
                    }
                    if clip == "goforward" { _ = try engine.transcribe(samples16k) }  // warm-up
                    let c0 = threadCPUSeconds()
                    let w0 = monotonicSeconds()
                    _ = try engine.transcribe(samples16k)
                    let cpu = threadCPUSeconds() - c0
                    let wall = monotonicSeconds() - w0
                    let seconds = Double(samples16k.count) / Double(SherpaEngine.sampleRate)
                    results.append(
                        String(format: "%@ %.1f s: RTF %.3f (CPU %.3f)", clip, seconds, wall / seconds, cpu / seconds))
                }
                print(
                    "recognizer \(precision.rawValue) (load \(String(format: "%.2f", load)) s): "
                        + results.joined(separator: ", "))
            }
        }
    #endif

    /// Plays meeting.wav in real time through `captiontap run` (the embedded default) and times
    /// each final caption against the last voiced sample of its turn; then serve's peak RSS.
    static func latency(binary: String, precision: String) throws {
        let meeting = fixture("meeting.wav")
        let audio = try WAV.read24kMono(meeting)
        var env = ProcessInfo.processInfo.environment
        env["OPENAI_API_KEY"] = nil
        let process = try RunningProcess(
            binary,
            [
                "run", "-v", "--input", meeting, "--pace", "realtime", "--format", "jsonl", "--recognizer-precision",
                precision,
            ], environment: env)
        var streamStart: Double?
        var arrivals: [(Double, String)] = []
        var seen = 0
        while process.isRunning || seen < process.stdoutSoFar.split(separator: "\n").count {
            let now = monotonicSeconds()
            if streamStart == nil && process.stderrSoFar.contains("streaming audio") { streamStart = now }
            let lines = process.stdoutSoFar.split(separator: "\n")
            if lines.count > seen {
                for line in lines[seen...] { arrivals.append((now, String(line))) }
                seen = lines.count
            }
            Thread.sleep(forTimeInterval: 0.002)
        }
        _ = process.wait(timeout: 10)
        guard let start = streamStart else {
            print("end of speech to final caption: no 'streaming audio' line from captiontap -v")
            return
        }
        var delays: [Double] = []
        for (arrival, line) in arrivals {
            guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                o["final"] as? Bool == true,
                let s = o["start_ms"] as? Int, let e = o["end_ms"] as? Int
            else { continue }
            // The turn's last voiced sample: the last 10 ms frame within 20 dB of the turn's loudest.
            let a = max(0, s * 24)
            let b = min(audio.count, e * 24)
            let frames = stride(from: a, to: b - 240, by: 240).map { i in
                (i, (audio[i..<i + 240].map { $0 * $0 }.reduce(0, +) / 240).squareRoot())
            }
            let loudest = frames.map(\.1).max() ?? 0
            guard let last = frames.last(where: { $0.1 >= loudest * 0.1 }) else { continue }
            let speechEnd = Double(last.0 + 240) / 24000
            delays.append(arrival - (start + speechEnd))
        }
        let sorted = delays.sorted()
        print(
            String(
                format:
                    "end of speech to final caption, meeting.wav in real time, recognizer %@ (%d turns, --silence-ms 800): median %.2f s, max %.2f s; each: %@",
                precision, delays.count, sorted.isEmpty ? .nan : sorted[sorted.count / 2], sorted.last ?? .nan,
                delays.map { String(format: "%.2f", $0) }.joined(separator: " ")))

        guard precision == "auto" else { return }
        // Peak RSS of serve with one client captioning the meeting.
        let serve = try RunningProcess(binary, ["serve", "--port", "0"])
        var url: String?
        while url == nil && serve.isRunning {
            url = serve.stdoutSoFar.split(separator: "\n").first.map(String.init)
            Thread.sleep(forTimeInterval: 0.05)
        }
        if let url {
            _ = try RunningProcess(binary, ["run", "-q", "--input", meeting, "--url", url]).wait(timeout: 300)
        }
        serve.interrupt()
        _ = serve.wait(timeout: 20)
        print(
            String(
                format: "captiontap serve, one client captioning meeting.wav: peak RSS %.0f MiB, %.1f CPU s",
                serve.peakRSSMiB, serve.cpuSeconds))
    }
}
