import CaptionTapCore
import Foundation

/// What a run did, for the exit summary.
extension RealtimeTranscription {
    // MARK: - Statistics

    public struct Statistics: Sendable {
        public var audioSecondsSent: Double
        /// Turns captioned (one final each).
        public var turns: Int
        /// Turns whose transcript had no words, so no caption was shown.
        public var wordlessTurns: Int
        /// Turns whose transcript can never come (lost with their session and replay buffer).
        public var lostTurns: Int
        public var usage: Usage
        /// Seconds from each commit to its final caption.
        public var commitToFinal: [Double]
        /// Audio milliseconds from each turn's speech onset to its first live partial.
        public var firstTextMs: [Int] = []
        /// Audio milliseconds from each turn's end of speech to its final caption.
        public var finalLatencyMs: [Int] = []
    }

    /// Read after ``finish(timeout:)`` returned.
    public var statistics: Statistics {
        Statistics(
            audioSecondsSent: Double(transcriber.samplesSent) / Double(PCM16.sampleRate),
            turns: transcriber.captionsEmitted,
            wordlessTurns: transcriber.wordlessTurns, lostTurns: transcriber.lostTurns,
            usage: transcriber.totalUsage, commitToFinal: transcriber.latencies,
            firstTextMs: firstTextMs, finalLatencyMs: finalLatencyMs)
    }
}
