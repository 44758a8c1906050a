import CaptionTapCore

/// A second opinion for windows the voice detector rejected: soft, breathy or hoarse voices
/// often sit just under the detector's threshold for seconds, and a caption tool that drops them
/// silently has lost what was said.
///
/// A lenient detector (the same model at a lower threshold) runs beside the strict one. A window
/// the strict one rejected still counts as speech when the lenient one accepts it, the window
/// stands well clear of the noise floor, and both have held for ``Settings/minimumWindows`` in a
/// row: sustained, voice-like and louder than the room, which is what a listener would call
/// speech. Pure logic, one instance per session.
public struct SecondChance: Sendable {
    public struct Settings: Sendable, Equatable {
        /// How far the lenient detector's threshold sits below the strict one's.
        public var thresholdDrop = 0.25
        /// The lenient detector's threshold never goes below this.
        public var minimumThreshold = 0.1
        /// How far above the noise floor a window must be, in dB.
        public var marginDb: Float = 12
        /// How many consecutive lenient, energetic windows it takes (6 × 32 ms ≈ 0.2 s).
        public var minimumWindows = 6
        public init() {}
    }

    public let settings: Settings
    private var run = 0
    /// Windows promoted to speech so far (for logs and tests).
    public private(set) var promoted = 0

    public init(settings: Settings = Settings()) {
        self.settings = settings
    }

    /// The lenient detector's threshold for a strict `threshold`.
    public func lenientThreshold(for threshold: Double) -> Double {
        max(settings.minimumThreshold, threshold - settings.thresholdDrop)
    }

    /// Whether the lenient detector's opinion on this window can matter: the strict one rejected
    /// it and it stands clear of the noise floor. Its network need not run on other windows.
    public func consults(strict: Bool, levelDb: Float?, floorDb: Float?) -> Bool {
        guard !strict, let level = levelDb, let floor = floorDb else { return false }
        return level >= floor + settings.marginDb
    }

    /// Whether this window counts as speech. `levelDb` and `floorDb` are nil for digital silence
    /// or before a floor is known (then only the strict detector decides). `lenient` is only read
    /// when ``consults(strict:levelDb:floorDb:)`` says so.
    public mutating func decide(strict: Bool, lenient: Bool, levelDb: Float?, floorDb: Float?) -> Bool {
        if strict {
            run = 0
            return true
        }
        guard consults(strict: strict, levelDb: levelDb, floorDb: floorDb), lenient else {
            run = 0
            return false
        }
        run += 1
        guard run >= settings.minimumWindows else { return false }
        promoted += 1
        return true
    }
}
