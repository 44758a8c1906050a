import CSherpaLoader
import CSoxr
import CaptionTapCore
import CaptionTapServer
import CaptionTapServerCore

/// One session's front end: 24 kHz → 16 kHz with libsoxr, level normalization
/// (``LevelNormalizer``), then Silero VAD over 512-sample (32 ms) windows. The windows it emits are
/// the normalized ones, so the recognizer hears the same level the detector did. Runs on the
/// server's service thread.
///
/// A second, lenient detector gives rejected windows a second chance (``SecondChance``) when they
/// are sustained and clear of the noise floor.
///
/// sherpa's detector adds its own hysteresis (speech ends only below threshold − 0.15 for
/// `min_silence_duration`); both minimums are kept to two windows so that the session's
/// `silence_duration_ms` and `prefix_padding_ms` stay what the client asked for.
final class SileroFrontEnd: SpeechFrontEnd {
    let sampleRate = SherpaEngine.sampleRate
    static let window = 512
    private let model: String
    private var detector: OpaquePointer?
    private var lenient: OpaquePointer?
    private var secondChance: SecondChance?
    private var resampler: soxr_t?
    private var pending: [Float] = []
    private var output: [Float] = []
    /// Always tracks level and noise floor; lifts quiet speech only when normalization is on.
    private var normalizer: LevelNormalizer

    var threshold: Double = 0.5 {
        didSet { if threshold != oldValue { rebuildDetector() } }
    }

    struct StartError: Error, CustomStringConvertible {
        var description: String
    }

    /// sherpa-onnx's provider string (``RecognizerFiles/provider``).
    private let provider: String

    init(model: String, provider: String, normalizeLevel: Bool = true) throws {
        self.model = model
        self.provider = provider
        var level = LevelNormalizer.Settings()
        if !normalizeLevel { level.maxGainDb = 0 }
        normalizer = LevelNormalizer(sampleRate: SherpaEngine.sampleRate, windowSamples: Self.window, settings: level)
        secondChance = normalizeLevel ? SecondChance() : nil
        var error: soxr_error_t?
        var io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I)
        var quality = soxr_quality_spec(UInt(SOXR_HQ), 0)
        resampler = soxr_create(24000, Double(SherpaEngine.sampleRate), 1, &error, &io, &quality, nil)
        guard resampler != nil else { throw StartError(description: "libsoxr could not create a resampler") }
        rebuildDetector()
        guard detector != nil, secondChance == nil || lenient != nil else {
            throw StartError(description: "Silero VAD could not load \(model)")
        }
    }

    deinit {
        if let detector { ct_SherpaOnnxDestroyVoiceActivityDetector(detector) }
        if let lenient { ct_SherpaOnnxDestroyVoiceActivityDetector(lenient) }
        if let resampler { soxr_delete(resampler) }
    }

    private func rebuildDetector() {
        if let detector { ct_SherpaOnnxDestroyVoiceActivityDetector(detector) }
        if let lenient { ct_SherpaOnnxDestroyVoiceActivityDetector(lenient) }
        detector = makeDetector(threshold: threshold)
        lenient = secondChance.map { makeDetector(threshold: $0.lenientThreshold(for: threshold)) } ?? nil
    }

    /// Speech longer than this without a 64 ms pause makes sherpa-onnx's detector stricter...
    static let maxSpeechSeconds: Float = 20
    /// ...and its buffer holds the current stretch of speech: sized to that, not to its default
    /// minute (3.8 MB per detector, two per session, filled as audio passes through).
    static let bufferSeconds: Float = 25

    private func makeDetector(threshold: Double) -> OpaquePointer? {
        var config = SherpaOnnxVadModelConfig()
        return model.withCString { path in
            provider.withCString { cpu in
                config.silero_vad.model = path
                config.silero_vad.threshold = Float(threshold)
                config.silero_vad.min_silence_duration = 0.064
                config.silero_vad.min_speech_duration = 0.064
                config.silero_vad.window_size = Int32(Self.window)
                config.silero_vad.max_speech_duration = Self.maxSpeechSeconds
                config.sample_rate = Int32(SherpaEngine.sampleRate)
                config.num_threads = 1
                config.provider = cpu
                return ct_SherpaOnnxCreateVoiceActivityDetector(&config, Self.bufferSeconds)
            }
        }
    }

    /// Feeds one window to a detector and says whether it is in speech. Finished segments are
    /// kept by the detector until popped; the session has the audio, so they are dropped.
    private static func detect(_ vad: OpaquePointer, _ window: UnsafeBufferPointer<Float>) -> Bool {
        ct_SherpaOnnxVoiceActivityDetectorAcceptWaveform(vad, window.baseAddress, Int32(window.count))
        let voiced = ct_SherpaOnnxVoiceActivityDetectorDetected(vad) != 0
        while ct_SherpaOnnxVoiceActivityDetectorEmpty(vad) == 0 {
            if let segment = ct_SherpaOnnxVoiceActivityDetectorFront(vad) { ct_SherpaOnnxDestroySpeechSegment(segment) }
            ct_SherpaOnnxVoiceActivityDetectorPop(vad)
        }
        return voiced
    }

    func process(_ samples: UnsafeBufferPointer<Float>, emit: (UnsafeBufferPointer<Float>, Bool) -> Void) {
        guard let resampler, let detector, samples.count > 0 else { return }
        let vad = detector
        let capacity = samples.count * 2 / 3 + 64
        if output.count < capacity { output = [Float](repeating: 0, count: capacity) }
        var done = 0
        output.withUnsafeMutableBufferPointer { out in
            _ = soxr_process(resampler, samples.baseAddress, samples.count, nil, out.baseAddress, capacity, &done)
        }
        pending.append(contentsOf: output[0..<done])
        var start = 0
        while pending.count - start >= Self.window {
            pending.withUnsafeMutableBufferPointer { all in
                let mutable = UnsafeMutableBufferPointer(rebasing: all[start..<start + Self.window])
                let level = normalizer.process(mutable)
                let window = UnsafeBufferPointer(mutable)
                var voiced = Self.detect(vad, window)
                if let lenient, var chance = secondChance {
                    voiced = chance.decide(
                        strict: voiced, lenient: Self.detect(lenient, window), levelDb: level,
                        floorDb: normalizer.noiseFloorDb)
                    secondChance = chance
                }
                emit(window, voiced)
            }
            start += Self.window
        }
        pending.removeFirst(start)
    }
}
