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
/// are sustained and clear of the noise floor. Its network is as heavy as the strict one's, so it
/// runs only on the windows whose second chance can matter (rejected, and clear of the floor).
/// Before it runs after windows it skipped, it is reset and first hears the last
/// ``warmUpWindows``, so that its network state and hysteresis are close to those it would have on
/// continuous audio. On the speech fixtures, at their level and 25 and 40 dB under it, it then
/// runs on 6–46 % of the windows (warm-up included), and every window's decision is the same as
/// with the detector running on all of them.
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
    /// The last ``warmUpWindows`` normalized windows (a ring), and whether the lenient detector
    /// heard the last window. 8 windows (256 ms): 16 changed more decisions, not fewer.
    static let warmUpWindows = 8
    private var recent = [Float](repeating: 0, count: warmUpWindows * window)
    private var recentCount = 0
    private var recentNext = 0
    private var lenientCurrent = false

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
        lenientCurrent = false
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

    /// The lenient detector's decision on `window`, warmed up first if it skipped the last one.
    private func lenientOpinion(_ vad: OpaquePointer, _ window: UnsafeBufferPointer<Float>) -> Bool {
        if !lenientCurrent {
            ct_SherpaOnnxVoiceActivityDetectorReset(vad)
            recent.withUnsafeBufferPointer { ring in
                for i in 0..<recentCount {
                    let slot = (recentNext - recentCount + i + Self.warmUpWindows) % Self.warmUpWindows
                    _ = Self.detect(
                        vad, UnsafeBufferPointer(rebasing: ring[slot * Self.window..<(slot + 1) * Self.window]))
                }
            }
            lenientCurrent = true
        }
        return Self.detect(vad, window)
    }

    /// Keeps `window` in the ring of recent ones.
    private func remember(_ window: UnsafeBufferPointer<Float>) {
        recent.withUnsafeMutableBufferPointer { ring in
            let slot = UnsafeMutableBufferPointer(
                rebasing: ring[recentNext * Self.window..<(recentNext + 1) * Self.window])
            _ = slot.initialize(from: window)
        }
        recentNext = (recentNext + 1) % Self.warmUpWindows
        recentCount = min(recentCount + 1, Self.warmUpWindows)
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
                    let floor = normalizer.noiseFloorDb
                    let asked = chance.consults(strict: voiced, levelDb: level, floorDb: floor)
                    let heard = asked && lenientOpinion(lenient, window)
                    if !asked { lenientCurrent = false }
                    voiced = chance.decide(strict: voiced, lenient: heard, levelDb: level, floorDb: floor)
                    secondChance = chance
                    remember(window)
                }
                emit(window, voiced)
            }
            start += Self.window
        }
        pending.removeFirst(start)
    }
}
