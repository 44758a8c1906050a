import CaptionTapCore
import CaptionTapServer
import TestSupport
import Testing

@testable import CaptionTapRecognizer

/// Final transcripts from the real recognizer (Moonshine through sherpa-onnx), in-process. The
/// target exists only when the recognizer is installed, as it always is in CI.
@Suite(.serialized) struct FinalTranscriptTests {
    static let engine: SherpaEngine? = {
        guard let files = try? RecognizerFiles.locate(explicit: nil, precision: .compact) else { return nil }
        return try? SherpaEngine(files: files)
    }()

    /// `meeting.wav` from 8 s to 30 s (the two_cities reading) as the embedded backend's front
    /// end hands it to the recognizer: 16 kHz, level-normalized.
    static func reading(_ engine: SherpaEngine) throws -> [Float] {
        let path = Tools.repositoryRoot.appendingPathComponent("Tests/Fixtures/speech/meeting.wav").path
        let audio = try WAV.read24kMono(path)
        var samples: [Float] = []
        let frontEnd = try engine.makeFrontEnd()
        audio.withUnsafeBufferPointer { buffer in
            frontEnd.process(buffer) { window, _ in samples.append(contentsOf: window) }
        }
        let rate = SherpaEngine.sampleRate
        return Array(samples[min(samples.count, 8 * rate)..<min(samples.count, 30 * rate)])
    }

    @Test func aFinalThatLoopsIsDecodedAgainUntilItDoesNot() throws {
        let engine = try #require(Self.engine, "the recognizer is not installed (scripts/setup-recognizer.sh)")
        let audio = try Self.reading(engine)
        let rate = SherpaEngine.sampleRate
        // 3 s windows every 0.35 s, most of them ending mid-phrase as a segment cut in continuous
        // speech does: with half a second of silence after them, Moonshine loops on some.
        var loopedOnce = 0
        var loopedFinal = 0
        for start in stride(from: 0, through: audio.count - 3 * rate, by: rate * 35 / 100) {
            let window = Array(audio[start..<start + 3 * rate])
            if Repetition.loops(try engine.decode(window, padding: rate / 2)) { loopedOnce += 1 }
            if Repetition.loops(try engine.transcribe(window)) { loopedFinal += 1 }
        }
        #expect(loopedOnce > 0, "the material makes Moonshine loop with half a second of silence")
        #expect(
            loopedFinal < loopedOnce,
            "decoded again, most loops come back whole: \(loopedFinal) of \(loopedOnce) still loop")
    }

    @Test func aFinalThatDoesNotLoopIsDecodedOnce() throws {
        let engine = try #require(Self.engine, "the recognizer is not installed (scripts/setup-recognizer.sh)")
        let audio = try Self.reading(engine)
        let phrase = Array(audio[0..<min(audio.count, 4 * SherpaEngine.sampleRate)])
        let once = try engine.decode(phrase, padding: SherpaEngine.sampleRate / 2)
        #expect(!Repetition.loops(once) && !once.isEmpty)
        #expect(try engine.transcribe(phrase) == once)
    }
}
