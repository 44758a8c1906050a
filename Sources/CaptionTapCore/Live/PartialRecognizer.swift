/// A recognizer for live partial captions, running off the caller's thread (the embedded one,
/// in-process; see `LiveRecognizer`). Several sources share one; each has at most one decode
/// waiting, and a newer one replaces it.
public protocol PartialRecognizer: AnyObject, Sendable {
    /// Recognizes 24 kHz mono `samples` for `source`; `done` (on the recognizer's thread) gets
    /// the text, or nil when the decode was dropped (replaced before it started, or failed).
    func recognize(_ samples: [Float], source: Int, done: @escaping @Sendable (String?) -> Void)
    /// Stops its thread; decodes still waiting are answered with nil.
    func stop()
    /// Seconds of audio decoded and seconds spent decoding it (for the exit summary).
    var decoded: (audio: Double, busy: Double) { get }
}
