import Foundation
import TestSupport

/// Live captions, measured as a viewer sees them: speech played in real time into a headless
/// PipeWire sink, `captiontap run` (offline default) captioning its monitor, live captions on and
/// off side by side. Every figure is on the run's audio clock (`at_ms` of each JSONL caption
/// against the turn's `start_ms`/`end_ms`): from when words were played to when text was shown.
///
/// Per turn: *first text* (speech onset → first caption with a right word), *worst trail* (the
/// longest time the newest right word on screen was behind the speech, just before each update),
/// *final* (end of speech → final). Right words are those that agree with the turn's final, in
/// order; word times are spread evenly over the turn's speech (an approximation). Speech onset is
/// found in what the run recorded (`--record`): the first 20 ms at a tenth of the turn's peak.
enum LiveBench {
    struct Line {
        var final: Bool
        var words: [String]
        var item: String
        var start: Int, end: Int, at: Int
    }

    struct Turn {
        var firstText: Int?
        var worstTrail: Int
        var final: Int
        var seconds: Double
        /// What was shown before the first right words, and when (after speech began): the
        /// recognizer's misses, which decide first text and are what to look at when it is late.
        var missesBefore: [(words: String, at: Int)] = []
    }

    static let prefixMs = 300, silenceMs = 800

    static func run(binary: String, modes: [String] = ["on", "off"], peer withPeer: Bool = true) throws {
        let dir = try TemporaryDirectory.create()
        let script = Tools.repositoryRoot.appendingPathComponent("scripts/headless-pipewire.sh").path
        let started = try Tools.run("bash", [script, "start", dir.path])
        guard started.status == 0 else {
            print("live captions: no headless PipeWire (\(started.stderr))")
            return
        }
        defer { _ = try? Tools.run("bash", [script, "stop", dir.path]) }
        let env = try environment(dir.appendingPathComponent("env").path)
        print("live captions (offline default, speech played in real time through PipeWire; audio-clock ms):")
        let python = withPeer ? try peerPython() : nil
        for fixture in ["jfk", "two_cities"] {
            for mode in modes {
                let (lines, audio, cpu, rss) = try play(fixture, live: mode, binary: binary, env: env)
                report(fixture, "live \(mode)", turns(lines, audio: audio, silenceMs: silenceMs), cpu: cpu, rss: rss)
            }
            if let python {
                let (lines, audio, cpu, rss) = try peer(fixture, python: python)
                report(fixture, "sherpa-onnx peer", turns(lines, audio: audio, silenceMs: 0), cpu: cpu, rss: rss)
            }
        }
    }

    /// The variables `scripts/headless-pipewire.sh` writes to DIR/env.
    static func environment(_ path: String) throws -> [String: String] {
        var env = ProcessInfo.processInfo.environment
        env["OPENAI_API_KEY"] = nil
        env["PIPEWIRE_REMOTE"] = nil
        for line in try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        where line.hasPrefix("export ") {
            let pair = line.dropFirst(7).split(separator: "=", maxSplits: 1)
            if pair.count == 2 {
                env[String(pair[0])] = String(pair[1]).trimmingCharacters(in: CharacterSet(charactersIn: "'"))
            }
        }
        return env
    }

    static func play(_ fixture: String, live: String, binary: String, env: [String: String]) throws -> (
        [Line], audio: [Float], cpu: Double, rss: Double
    ) {
        let wav = Tools.repositoryRoot.appendingPathComponent("Tests/Fixtures/speech/\(fixture).wav").path
        let recording = FileManager.default.temporaryDirectory.appendingPathComponent("live-bench-\(getpid()).wav").path
        defer { try? FileManager.default.removeItem(atPath: recording) }
        let run = try RunningProcess(
            binary, ["run", "--format", "jsonl", "--no-status", "--live", live, "--record", recording], environment: env
        )
        guard run.waitForStderr("capturing", timeout: 60) else { throw CocoaError(.featureUnsupported) }
        Thread.sleep(forTimeInterval: 1)
        let cpu0 = cpuSeconds(run.pid)
        let t0 = monotonicSeconds()
        let played = try RunningProcess("pw-play", [wav], environment: env).wait(timeout: 300)
        let cpu = (cpuSeconds(run.pid) - cpu0) / (monotonicSeconds() - t0)
        guard played.status == 0 else { throw CocoaError(.fileReadUnknown) }
        Thread.sleep(forTimeInterval: 3)
        run.interrupt()
        let result = run.wait(timeout: 60)
        return (parse(result.stdout), try WAV.read24kMono(recording), cpu, run.peakRSSMiB)
    }

    static func parse(_ stdout: String) -> [Line] {
        stdout.split(separator: "\n").compactMap { raw -> Line? in
            guard let o = try? JSONSerialization.jsonObject(with: Data(raw.utf8)) as? [String: Any],
                let text = o["text"] as? String,
                let at = o["at_ms"] as? Int
            else { return nil }
            return Line(
                final: o["final"] as? Bool ?? false, words: text.split(separator: " ").map(norm),
                item: o["item_id"] as? String ?? "",
                start: o["start_ms"] as? Int ?? 0, end: o["end_ms"] as? Int ?? 0, at: at)
        }
    }

    /// sherpa-onnx's simulated streaming on the same file, fed in real time (no PipeWire): its
    /// CPU over the whole feed, and its captions on the file's own clock.
    static func peer(_ fixture: String, python: String) throws -> ([Line], audio: [Float], cpu: Double, rss: Double) {
        let root = Tools.repositoryRoot
        let wav = root.appendingPathComponent("Tests/Fixtures/speech/\(fixture).wav").path
        let script = root.appendingPathComponent("Tests/Bench/sherpa_streaming_peer.py").path
        let run = try RunningProcess(python, [script, root.appendingPathComponent("vendor/recognizer").path, wav])
        guard run.waitForStderr("ready", timeout: 60) else { throw CocoaError(.featureUnsupported) }
        let cpu0 = cpuSeconds(run.pid)
        let t0 = monotonicSeconds()
        var cpu = 0.0
        while run.isRunning && monotonicSeconds() - t0 < 600 {
            // Sampled until it exits: its CPU while feeding, without the model loading before.
            let now = cpuSeconds(run.pid)
            if now > 0 { cpu = (now - cpu0) / (monotonicSeconds() - t0) }
            Thread.sleep(forTimeInterval: 0.1)
        }
        let result = run.wait(timeout: 10)
        return (parse(result.stdout), try WAV.read24kMono(wav), cpu, run.peakRSSMiB)
    }

    /// Where speech really begins in the turn `start ..< end` (ms) of `audio` (what the run
    /// heard, on its clock): the server's turn start reaches back by its prefix padding, or to the
    /// end of the last turn. The first 10 ms within 20 dB of the turn's loudest.
    static func speechOnset(_ start: Int, _ end: Int, in audio: [Float]) -> Int {
        let range = min(start * 24, audio.count)..<min(end * 24, audio.count)
        guard let at = SpeechVariants.onset(Array(audio[range]), withinDB: 20) else { return start + prefixMs }
        return start + at / 24
    }

    /// Where speech really ends in the turn `start ..< end` (ms): a turn is committed after
    /// `--silence-ms` of silence, or sooner (a long turn at a shorter pause), so the end is found
    /// in the audio like the onset: the end of the last 10 ms within 20 dB of the turn's loudest.
    static func speechEnd(_ start: Int, _ end: Int, in audio: [Float], silenceMs: Int) -> Int {
        let range = min(start * 24, audio.count)..<min(end * 24, audio.count)
        guard let at = SpeechVariants.end(Array(audio[range]), withinDB: 20) else { return end - silenceMs }
        return start + at / 24
    }

    /// How far into the final a caption is right: the last word of the final it shows such that
    /// at least 70 % of the final's words up to there are shown, in order (word LCS). Garbled or
    /// repeated words neither count nor hide the right ones around them.
    static func rightWords(_ shown: [String], _ final: [String]) -> Int {
        guard !shown.isEmpty, !final.isEmpty else { return 0 }
        // lcs[i][j]: longest common subsequence of shown[0..<i] and final[0..<j].
        var lcs = [[Int]](repeating: [Int](repeating: 0, count: final.count + 1), count: shown.count + 1)
        for i in 1...shown.count {
            for j in 1...final.count {
                lcs[i][j] = shown[i - 1] == final[j - 1] ? lcs[i - 1][j - 1] + 1 : max(lcs[i - 1][j], lcs[i][j - 1])
            }
        }
        return (1...final.count).last { j in
            lcs[shown.count][j] > lcs[shown.count][j - 1] && lcs[shown.count][j] * 10 >= j * 7
        } ?? 0
    }

    static func norm(_ word: Substring) -> String { String(word.lowercased().filter { $0.isLetter || $0.isNumber }) }

    /// The bench venv with sherpa-onnx's Python package (Tests/Bench/requirements.txt), made on
    /// first use; nil (and a line saying why) if it cannot be.
    static func peerPython() throws -> String? {
        let root = Tools.repositoryRoot
        let venv = root.appendingPathComponent(".build/bench-venv").path
        let setup = try Tools.run(
            "bash",
            [
                root.appendingPathComponent("Tests/RealtimeServer/setup-venv.sh").path, venv,
                root.appendingPathComponent("Tests/Bench/requirements.txt").path,
            ])
        guard setup.status == 0 else {
            print("  (no sherpa-onnx peer: \(setup.stderr.suffix(200)))")
            return nil
        }
        return venv + "/bin/python"
    }

    static func turns(_ lines: [Line], audio: [Float], silenceMs: Int) -> [Turn] {
        lines.filter(\.final).map { final in
            let shown = lines.filter { $0.item == final.item && $0.at <= final.at }
            let onset = speechOnset(final.start, final.end, in: audio)
            let speechEnd = max(onset + 1, speechEnd(final.start, final.end, in: audio, silenceMs: silenceMs))
            let total = max(1, final.words.count)
            func spoken(_ n: Int) -> Int { onset + (speechEnd - onset) * n / total }
            func right(_ line: Line) -> Int { rightWords(line.words, final.words) }
            var trail = 0
            var newest = 0
            for line in shown {
                // Just before this update, the screen still showed `newest` right words.
                trail = max(trail, min(line.at, speechEnd) - spoken(newest))
                newest = max(newest, right(line))
            }
            let firstIndex = shown.firstIndex { right($0) > 0 }
            let misses = shown[..<(firstIndex ?? shown.endIndex)].filter { !$0.final }.prefix(3)
            return Turn(
                firstText: firstIndex.map { shown[$0].at - onset }, worstTrail: trail, final: final.at - speechEnd,
                seconds: Double(speechEnd - onset) / 1000,
                missesBefore: misses.map { ($0.words.joined(separator: " "), $0.at - onset) })
        }
    }

    static func report(_ fixture: String, _ mode: String, _ turns: [Turn], cpu: Double, rss: Double) {
        for (i, t) in turns.enumerated() {
            print(
                String(
                    format:
                        "  %@ %@ turn %d (%.1f s): first text %@ ms, worst trail %d ms, final %d ms after speech end",
                    fixture, mode, i + 1, t.seconds, t.firstText.map(String.init) ?? "-", t.worstTrail, t.final)
                    + (t.missesBefore.isEmpty
                        ? ""
                        : "; before it: "
                            + t.missesBefore.map { "\"\($0.words)\" at \($0.at) ms" }.joined(separator: ", ")))
        }
        let firsts = turns.compactMap(\.firstText).sorted()
        let finals = turns.map(\.final).sorted()
        let median = { (v: [Int]) in v.isEmpty ? "-" : String(v[v.count / 2]) }
        print(
            String(
                format:
                    "  %@ %@: first text median %@ ms, worst %@ ms; worst trail %d ms; final median %@ ms, worst %@ ms; CPU while speaking %.0f %% of a core; peak RSS %.0f MiB",
                fixture, mode, median(firsts), firsts.last.map(String.init) ?? "-", turns.map(\.worstTrail).max() ?? 0,
                median(finals), finals.last.map(String.init) ?? "-", cpu * 100, rss))
    }

    /// User + system CPU seconds of a process so far (/proc/PID/stat).
    static func cpuSeconds(_ pid: Int32) -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}
