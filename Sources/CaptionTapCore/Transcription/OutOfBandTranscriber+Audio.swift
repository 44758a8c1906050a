/// What live captions read from the transcriber: the backend's open turn and the audio history.
extension OutOfBandTranscriber {
    /// The live session's open turn (between its `speech_started` and `committed`), with where
    /// its audio starts in absolute 24 kHz samples; nil between turns.
    public var openTurn: (itemID: String, start: Int)? {
        guard let live = liveEpoch, let speech = open[live] else { return nil }
        return (speech.itemID, speech.startMs * PCM16.sampleRate / 1000)
    }

    /// Samples `from ..< to` of the audio history as floats (clamped to what the history holds).
    public func historySamples(from: Int, to: Int) -> [Float] {
        let start = max(from, historyStartSample), end = min(to, totalSamples)
        guard end > start else { return [] }
        let pcm = UnsafeMutableRawPointer.allocate(byteCount: (end - start) * 2, alignment: 16)
        defer { pcm.deallocate() }
        readHistory(from: start, count: end - start, into: pcm)
        return PCM16.floats(UnsafeRawBufferPointer(start: pcm, count: (end - start) * 2))
    }

    /// The middle of the quietest 20 ms window in `range` (absolute samples): where a segment
    /// of speech can be cut with the least chance of splitting a word.
    public func quietestSample(in range: Range<Int>) -> Int {
        let window = PCM16.sampleRate / 50
        let samples = historySamples(from: range.lowerBound, to: range.upperBound)
        guard samples.count >= window else { return range.lowerBound }
        var best = (energy: Float.infinity, at: 0)
        for start in stride(from: 0, through: samples.count - window, by: window) {
            var energy: Float = 0
            for x in samples[start..<start + window] { energy += x * x }
            if energy < best.energy { best = (energy, start + window / 2) }
        }
        return max(range.lowerBound, historyStartSample) + best.at
    }
}
