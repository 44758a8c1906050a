// Quiet and soft speech on the embedded backend: WER per level and the delay from speech onset to
// speech_started, with level normalization off ("before") and on ("after"), in one run. The
// session is driven in-process exactly as serve drives it (captiontap's own session.update),
// decodes run synchronously, so the figures are deterministic and independent of machine load.
import CaptionTapCore
import CaptionTapServerCore
import Foundation
import TestSupport

#if canImport(CaptionTapRecognizer)
    import CaptionTapRecognizer
    import CaptionTapServer
#endif

enum LevelBench {
    static func run() throws {
        #if canImport(CaptionTapRecognizer)
            let files = try RecognizerFiles.locate(explicit: nil, precision: .auto)
            let engines = [
                ("before", try SherpaEngine(files: files, normalizeLevel: false)),
                ("after", try SherpaEngine(files: files, normalizeLevel: true)),
            ]
            var clips: [(String, String, [Float])] = []
            for name in ["jfk", "two_cities"] {
                let clean = try WAV.read24kMono(EmbeddedBackendBench.fixture(name + ".wav"))
                let reference = try String(contentsOfFile: EmbeddedBackendBench.fixture(name + ".txt"), encoding: .utf8)
                clips.append(
                    (
                        "\(name) as is (\(String(format: "%.0f", SpeechVariants.averageDb(clean))) dBFS)", reference,
                        clean
                    ))
                for level in [-20.0, -40, -50, -60] {
                    clips.append(
                        ("\(name) \(Int(level)) dBFS", reference, SpeechVariants.atAverageLevel(clean, dbfs: level)))
                }
                clips.append(
                    (
                        "\(name) soft hoarse −40 dBFS after 1 s silence", reference,
                        SpeechVariants.softHoarse(clean, dbfs: -40)
                    ))
                clips.append(
                    (
                        "\(name) soft hoarse −50 dBFS after 1 s silence", reference,
                        SpeechVariants.softHoarse(clean, dbfs: -50)
                    ))
                clips.append(
                    (
                        "\(name) whispered −35 dBFS", reference,
                        SpeechVariants.atAverageLevel(SpeechVariants.whispered(clean), dbfs: -35)
                    ))
            }
            for level in [-60.0, -45] {
                clips.append(
                    (
                        "noise alone \(Int(level)) dBFS, 10 s", "",
                        SpeechVariants.atAverageLevel(SpeechVariants.noise(seconds: 10), dbfs: level)
                    ))
            }
            print(
                "quiet and soft speech, embedded backend (WER, onset → speech_started; before = no level normalization; noise: words captioned):"
            )
            let only = ProcessInfo.processInfo.environment["LEVEL_BENCH_ONLY"]
            for (label, reference, audio) in clips where only.map(label.contains) ?? true {
                var cells: [String] = []
                for (name, engine) in engines {
                    let result = try LevelRun.transcribe(audio, engine: engine)
                    let wer =
                        reference.isEmpty
                        ? Double(WordErrorRate.words(result.text).count) / 100
                        : WordErrorRate.score(reference: reference, hypothesis: result.text)
                    let onset = SpeechVariants.onset(audio).map { Double($0) / 24 } ?? 0
                    let delay = result.firstDetectionMs.map { String(format: "%.0f ms", $0 - onset) } ?? "never"
                    cells.append(
                        String(format: "%@ WER %4.1f %%, onset %@, %d empty", name, wer * 100, delay, result.empty))
                    if ProcessInfo.processInfo.environment["LEVEL_BENCH_VERBOSE"] != nil {
                        cells.append("[\(result.text)]")
                    }
                }
                print("  \(label): " + cells.joined(separator: " | "))
            }
        #else
            print("quiet and soft speech: the embedded backend is not built in")
        #endif
    }
}

#if canImport(CaptionTapRecognizer)
    /// One clip through a RealtimeServerSession with captiontap's own session settings.
    enum LevelRun {
        static var defaultConfig: SessionConfig {
            var config = SessionConfig()
            if let t = ProcessInfo.processInfo.environment["LEVEL_BENCH_THRESHOLD"].flatMap(Double.init) {
                config.vadThreshold = t
            }
            return config
        }

        struct Result {
            var text: String
            var turns: Int
            var empty: Int
            /// Where the detector first said speech (the end of that window), in ms of the clip.
            var firstDetectionMs: Double?
        }

        static func transcribe(_ audio: [Float], engine: SherpaEngine, config: SessionConfig = defaultConfig) throws
            -> Result
        {
            let session = RealtimeServerSession(model: "gpt-realtime", frontEnd: try engine.makeFrontEnd())
            var update = JSONValue.parse(ClientEvents.sessionUpdate(config))!
            update = update.setting(["session", "audio", "input", "transcription"], to: ["model": "gpt-4o-transcribe"])
            var transcripts: [String] = []
            var first: Double?
            func perform(_ actions: [RealtimeServerSession.Action]) throws {
                for action in actions {
                    switch action {
                    case .send(let text):
                        let event = JSONValue.parse(text)
                        if event?["type"]?.string == "conversation.item.input_audio_transcription.completed" {
                            transcripts.append(event?["transcript"]?.string ?? "")
                        }
                        if first == nil, event?["type"]?.string == "input_audio_buffer.speech_started",
                            let start = event?["audio_start_ms"]?.double
                        {
                            first = start + Double(config.prefixMs) + 32
                        }
                    case .decode(let job, let samples):
                        let text = try engine.transcribe(samples)
                        if ProcessInfo.processInfo.environment["LEVEL_BENCH_DECODES"] != nil {
                            print(
                                String(
                                    format: "    decode %d: %.2f s, peak %.3f: %@", job, Double(samples.count) / 16000,
                                    samples.map(abs).max() ?? 0, text))
                        }
                        try perform(session.decoded(job: job, text: text))
                    case .cancel, .promote, .transcribed: break
                    }
                }
            }
            try perform(session.receive(text: update.text))
            var bytes = [UInt8](repeating: 0, count: 4800)
            for start in stride(from: 0, to: audio.count, by: 2400) {
                let count = min(2400, audio.count - start)
                audio.withUnsafeBufferPointer { PCM16.encode($0.baseAddress! + start, count: count, into: &bytes) }
                let b64 = Data(bytes[0..<2 * count]).base64EncodedString()
                try perform(
                    session.receive(
                        text: JSONValue.object([("type", "input_audio_buffer.append"), ("audio", .string(b64))]).text))
            }
            // A second of silence lets the VAD end the last turn as it would live.
            let silence = Data(count: 48_000).base64EncodedString()
            try perform(
                session.receive(
                    text: JSONValue.object([("type", "input_audio_buffer.append"), ("audio", .string(silence))]).text))
            try perform(session.receive(text: ClientEvents.commit(eventID: "end")))
            let words = transcripts.filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
            return Result(
                text: words.joined(separator: " "), turns: transcripts.count, empty: transcripts.count - words.count,
                firstDetectionMs: first)
        }
    }
#endif
