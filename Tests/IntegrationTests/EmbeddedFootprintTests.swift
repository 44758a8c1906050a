import Foundation
import TestSupport
import Testing

/// The embedded backend's smaller, faster-starting form: the compact (int8-weight) models are as
/// accurate as the fp32 ones, and the recognizer loads while audio already streams, losing none.
@Suite(.serialized, .enabled(if: EmbeddedRecognizer.shouldRun, "needs scripts/setup-recognizer.sh --fold"))
struct EmbeddedFootprintTests {
    static var compactInstalled: Bool {
        FileManager.default.fileExists(
            atPath: Tools.repositoryRoot.appendingPathComponent("vendor/recognizer/compact/encoder_model.onnx.data")
                .path)
    }

    func transcript(_ clip: String, precision: String) throws -> (text: String, stderr: String) {
        let result = try Tools.captiontap(
            [
                "run", "-v", "--input", EmbeddedRecognizer.fixture(clip + ".wav"), "--format", "jsonl",
                "--recognizer-precision", precision, "--drain-timeout", "150",
            ],
            environment: EmbeddedRecognizer.noKey, timeout: 240)
        #expect(result.status == 0, "\(result.stderr)")
        return (CaptionLine.finals(result.stdout).map(\.text).joined(separator: " "), result.stderr)
    }

    @Test(arguments: ["jfk", "two_cities", "goforward"])
    func compactModelsAreNoLessAccurateThanFP32(_ clip: String) throws {
        try #require(Self.compactInstalled, "the compact models are missing: scripts/setup-recognizer.sh --fold")
        let reference = try EmbeddedRecognizer.reference(clip)
        let fp32 = try transcript(clip, precision: "fp32")
        let compact = try transcript(clip, precision: "compact")
        #expect(compact.stderr.contains("(compact)"), "\(compact.stderr)")
        let werFP32 = WordErrorRate.score(reference: reference, hypothesis: fp32.text)
        let werCompact = WordErrorRate.score(reference: reference, hypothesis: compact.text)
        #expect(
            werCompact <= werFP32, "\(clip): compact \(werCompact) '\(compact.text)' vs fp32 \(werFP32) '\(fp32.text)'")
    }

    /// A file read fast is streamed in a fraction of a second, long before the models are loaded:
    /// streaming must begin first, and every turn still be transcribed once they are.
    @Test func audioStreamsWhileTheRecognizerLoadsAndNoneIsLost() throws {
        let run = try transcript("jfk", precision: "auto")
        let streaming = try #require(run.stderr.range(of: "streaming audio"), "\(run.stderr)")
        let loaded = try #require(run.stderr.range(of: "recognizer loaded from"), "\(run.stderr)")
        #expect(streaming.lowerBound < loaded.lowerBound, "capture waited for the models: \(run.stderr)")
        let wer = WordErrorRate.score(reference: try EmbeddedRecognizer.reference("jfk"), hypothesis: run.text)
        #expect(wer <= 0.10, "WER \(wer): \(run.text)")
        // The first words were spoken before the models were there.
        #expect(run.text.lowercased().hasPrefix("and so my fellow americans"), "\(run.text)")
    }

    /// A run over before the models have loaded (half a second of silence, read fast) waits for
    /// the load to end before it exits: tearing onnxruntime down under it crashed the process.
    @Test func aRunShorterThanTheLoadExitsCleanly() throws {
        let dir = try TemporaryDirectory()
        let silence = dir.file("silence.wav")
        try WAV.write24kMono([Float](repeating: 0, count: 12_000), to: silence)
        for _ in 0..<3 {
            let result = try Tools.captiontap(
                ["run", "-v", "--input", silence], environment: EmbeddedRecognizer.noKey, timeout: 60)
            #expect(result.status == 0, "\(result.stderr)")
        }
    }

    /// The session options file is the install's, but a damaged one (random bytes, bad values,
    /// a 100 kB line) must neither crash the recognizer nor stop it transcribing.
    @Test func aDamagedSessionOptionsFileIsSurvived() throws {
        let dir = try TemporaryDirectory()
        let source = Tools.repositoryRoot.appendingPathComponent("vendor/recognizer").path
        for item in ["wheels", "tokens.txt", "compact", "fp32"] {
            try FileManager.default.createSymbolicLink(atPath: dir.file(item), withDestinationPath: source + "/" + item)
        }
        var random = SystemRandomNumberGenerator()
        let garbage = [
            Data((0..<4096).map { _ in UInt8.random(in: 0...255, using: &random) }),
            Data(
                ("EnableCpuMemArena=banana\nGraphOptimizationLevel=99999999999999999999\n"
                    + String(repeating: "a", count: 100_000) + "\n").utf8),
        ]
        for content in garbage {
            try content.write(to: URL(fileURLWithPath: dir.file("onnxruntime.cfg")))
            let result = try Tools.captiontap(
                ["run", "--input", EmbeddedRecognizer.fixture("goforward.wav"), "--recognizer-dir", dir.path],
                environment: EmbeddedRecognizer.noKey, timeout: 120)
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout.lowercased().contains("forward"), "\(result.stdout)")
        }
    }

    /// A model file that cannot be loaded is reported once, clearly, and fails the run's turns
    /// instead of hanging it.
    @Test func modelsThatCannotBeLoadedAreReported() throws {
        let dir = try TemporaryDirectory()
        let source = Tools.repositoryRoot.appendingPathComponent("vendor/recognizer").path
        for item in ["wheels", "tokens.txt"] {
            try FileManager.default.createSymbolicLink(atPath: dir.file(item), withDestinationPath: source + "/" + item)
        }
        try FileManager.default.createDirectory(atPath: dir.file("compact"), withIntermediateDirectories: true)
        for name in ["encoder_model.onnx", "decoder_model_merged.onnx"] {
            // Garbage where the models should be: sherpa-onnx must refuse them, not crash.
            try Data(repeating: 0x5a, count: 4096).write(to: URL(fileURLWithPath: dir.file("compact/" + name)))
            try Data(repeating: 0, count: 4096).write(to: URL(fileURLWithPath: dir.file("compact/" + name + ".data")))
        }
        let result = try Tools.captiontap(
            [
                "run", "--input", EmbeddedRecognizer.fixture("goforward.wav"), "--recognizer-dir", dir.path,
                "--drain-timeout", "60",
            ],
            environment: EmbeddedRecognizer.noKey, timeout: 120)
        // Status 1, not an abort: the process ends while the session thread may still be running
        // Silero in onnxruntime, whose static destructors must not run under it.
        #expect(result.status == 1, "\(result.stderr)")
        #expect(result.stderr.contains("could not load the Moonshine models"), "\(result.stderr)")
        #expect(!result.stderr.contains("terminate called"), "\(result.stderr)")
        #expect(result.stdout.isEmpty, "\(result.stdout)")
    }

    /// Three clients whose turns end at about the same time: two decode threads run the one
    /// recognizer at once, and every transcript still belongs to its own session and is right.
    @Test func parallelDecodesKeepEverySessionsWordsApart() throws {
        let serve = try ServeProcess(["--decode-threads", "2", "--max-sessions", "3"])
        let clips = ["jfk", "two_cities", "goforward"]
        let clients = try clips.map { clip in
            try RunningProcess(
                Tools.captiontap,
                [
                    "run", "--url", serve.url, "--input", EmbeddedRecognizer.fixture(clip + ".wav"), "--format",
                    "jsonl", "--live", "off", "--drain-timeout", "150",
                ], environment: EmbeddedRecognizer.noKey)
        }
        for (clip, client) in zip(clips, clients) {
            let result = client.wait(timeout: 240)
            #expect(result.status == 0, "\(clip): \(result.stderr)")
            let text = CaptionLine.finals(result.stdout).map(\.text).joined(separator: " ")
            let wer = WordErrorRate.score(reference: try EmbeddedRecognizer.reference(clip), hypothesis: text)
            #expect(wer <= 0.10, "\(clip): WER \(wer): \(text)")
        }
        let served = serve.stop()
        #expect(served.stderr.contains("2 decode threads"), "\(served.stderr)")
    }

    @Test func decodeThreadsAreRangeChecked() throws {
        for value in ["0", "17", "-1", "two", String(repeating: "9", count: 40)] {
            let result = try Tools.captiontap(["serve", "--port", "0", "--decode-threads", value])
            #expect(result.status == 2, "\(value): \(result.stderr)")
            #expect(result.stderr.contains("decode-threads"), "\(value): \(result.stderr)")
        }
    }
}
