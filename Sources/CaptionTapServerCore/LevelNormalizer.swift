import Foundation

/// Brings quiet speech up to a level the voice detector and the recognizer handle well, before
/// either sees it (the embedded backend's front end; the audio sent to a cloud backend or
/// recorded is never touched).
///
/// Why: Silero's speech probability and Moonshine's accuracy both fall with level. At −57 dBFS
/// average whole sentences of the jfk clip were never detected, while at −20 dBFS they are. A
/// person hears both alike, so the backend should too (docs/LEVELS.md has the measurements).
///
/// How, per detector window (32 ms):
/// - the *speech level* follows the loudest recent windows: it jumps up at once and, after a hold,
///   falls slowly, so a talker's own pauses do not pump the gain;
/// - the *noise floor* follows the quietest non-silent windows: it drops at once and rises slowly;
/// - the gain lifts the speech level to ``Settings/targetDb``, never attenuates, never exceeds
///   ``Settings/maxGainDb``, and never lifts the noise floor above ``Settings/noiseCeilingDb``
///   (no amplified hiss for the detector to mistake for a voice);
/// - a lower gain applies at once (the window that raised the level is already scaled by it, so
///   an onset after silence never clips); a higher one is reached gradually across windows.
///
/// Digital silence stays exactly zero and leaves both trackers alone. Pure arithmetic on the
/// caller's buffer: no allocation.
public struct LevelNormalizer: Sendable {
    public struct Settings: Sendable, Equatable {
        /// Where the speech level (the loudest windows' RMS) is brought, in dBFS. −14 measured best
        /// of −20/−14 on the level sweep (docs/LEVELS.md).
        public var targetDb: Float = -14
        /// The most the gain may lift.
        public var maxGainDb: Float = 45
        /// The noise floor is never lifted above this...
        public var noiseCeilingDb: Float = -40
        /// ...once this much non-silent audio has shown where the floor is (before that, an onset
        /// right after silence would otherwise count as the floor and get no gain).
        public var floorEvidenceSeconds: Float = 1
        /// How long the speech level holds after its last peak before it falls.
        public var holdSeconds: Float = 2
        /// How fast the speech level falls after the hold.
        public var releaseDbPerSecond: Float = 6
        /// How fast the noise floor rises when the quietest windows get louder.
        public var floorRiseDbPerSecond: Float = 1
        /// How fast the gain may rise.
        public var gainRiseDbPerSecond: Float = 20
        public init() {}
    }

    public let settings: Settings
    private let windowSeconds: Float
    /// The speech level and noise floor in dBFS; nil until the first non-silent window.
    public private(set) var speechLevelDb: Float?
    public private(set) var noiseFloorDb: Float?
    /// The gain applied to the last window, in dB.
    public private(set) var gainDb: Float = 0
    private var held: Float = 0
    private var observed: Float = 0
    private var started = false

    /// `windowSamples` at `sampleRate`: the size of the windows ``process(_:)`` will see.
    public init(sampleRate: Int, windowSamples: Int, settings: Settings = Settings()) {
        self.settings = settings
        windowSeconds = Float(max(1, windowSamples)) / Float(max(1, sampleRate))
    }

    /// RMS level of a window in dBFS, or nil for digital silence.
    public static func levelDb(_ samples: UnsafeMutableBufferPointer<Float>) -> Float? {
        var sum: Float = 0
        for x in samples { sum += x * x }
        guard sum > 0, samples.count > 0 else { return nil }
        return 10 * log10(sum / Float(samples.count))
    }

    /// Scales one window in place; returns its level before scaling (nil for digital silence),
    /// which callers comparing against ``noiseFloorDb`` need.
    @discardableResult
    public mutating func process(_ samples: UnsafeMutableBufferPointer<Float>) -> Float? {
        guard let level = Self.levelDb(samples), level.isFinite else { return nil }
        track(level)
        let wanted = targetGain()
        // The first sound sets the gain at once; later a lower gain applies at once, a higher
        // one is reached gradually.
        let previous = started ? gainDb : wanted
        started = true
        gainDb = wanted < previous ? wanted : min(wanted, previous + settings.gainRiseDbPerSecond * windowSeconds)
        apply(from: min(previous, gainDb), to: gainDb, samples)
        return level
    }

    private mutating func track(_ level: Float) {
        if let speech = speechLevelDb, level <= speech {
            held += windowSeconds
            if held > settings.holdSeconds { speechLevelDb = speech - settings.releaseDbPerSecond * windowSeconds }
        } else {
            speechLevelDb = level
            held = 0
        }
        observed += windowSeconds
        if let floor = noiseFloorDb, level >= floor {
            noiseFloorDb = floor + settings.floorRiseDbPerSecond * windowSeconds
        } else {
            noiseFloorDb = level
        }
    }

    private func targetGain() -> Float {
        guard let speech = speechLevelDb else { return 0 }
        var gain = min(settings.targetDb - speech, settings.maxGainDb)
        if let floor = noiseFloorDb, observed >= settings.floorEvidenceSeconds {
            gain = min(gain, settings.noiseCeilingDb - floor)
        }
        return max(0, gain)
    }

    /// Ramps linearly from `from` to `to` dB over the window, then keeps samples within ±1.
    private func apply(from: Float, to: Float, _ samples: UnsafeMutableBufferPointer<Float>) {
        guard from != 0 || to != 0 else { return }
        let a = Self.linear(from)
        let b = Self.linear(to)
        let step = (b - a) / Float(samples.count)
        for i in samples.indices {
            let scaled = samples[i] * (a + step * Float(i + 1))
            samples[i] = max(-1, min(1, scaled))
        }
    }

    static func linear(_ db: Float) -> Float { pow(10, db / 20) }
}
