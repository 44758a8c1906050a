/// What live captions read from the transcriber: the backend's open turn and the audio history.
extension OutOfBandTranscriber: LiveAudio {
    /// The live session's open turn (between its `speech_started` and `committed`), with where
    /// its audio starts in absolute 24 kHz samples; nil between turns.
    public var openTurn: (itemID: String, start: Int)? {
        guard let live = liveEpoch, let speech = open[live] else { return nil }
        return (speech.itemID, speech.startMs * PCM16.sampleRate / 1000)
    }

    /// Samples `from ..< to` of the audio history as floats (clamped to what the history holds).
    public func historySamples(from: Int, to: Int) -> [Float] {
        let start = max(from, historyStartSample)
        let end = min(to, totalSamples)
        guard end > start else { return [] }
        let pcm = UnsafeMutableRawPointer.allocate(byteCount: (end - start) * 2, alignment: 16)
        defer { pcm.deallocate() }
        readHistory(from: start, count: end - start, into: pcm)
        return PCM16.floats(UnsafeRawBufferPointer(start: pcm, count: (end - start) * 2))
    }

    /// Where to cut speech in `range` (absolute samples) with the least chance of splitting a
    /// word, and with little silence at the start of what follows: the start of the last window
    /// of the quiet stretch around the quietest 20 ms window, so what follows opens with at most
    /// one quiet window (a recognizer given audio that opens with silence tends to invent words:
    /// "Thank you for watching.").
    public func cutPoint(in range: Range<Int>) -> Int {
        let energies = windowEnergies(range)
        guard let quietest = energies.indices.min(by: { energies[$0] < energies[$1] }) else { return range.lowerBound }
        let quiet = max(energies[quietest] * 4, 1e-10)
        var last = quietest
        while last + 1 < energies.count, energies[last + 1] <= quiet { last += 1 }
        return max(range.lowerBound, historyStartSample) + last * PCM16.sampleRate / 50
    }

    /// Where the longest pause in `range` (absolute samples) ends: a run of at least 200 ms of
    /// 20 ms windows under a tenth of `reference`'s loudest (and −50 dBFS); nil when there is
    /// none (the closure inside a word, as in "coun-try", is shorter). A cut there splits no
    /// word, and what follows starts with speech, not silence.
    public func pauseEnd(in range: Range<Int>, comparedTo reference: Range<Int>) -> Int? {
        let floor = Self.speechFloor(loudest: windowEnergies(reference).max() ?? 0)
        let energies = windowEnergies(range)
        var best: (length: Int, end: Int)?
        var run = 0
        for (i, e) in energies.enumerated() {
            run = e < floor ? run + 1 : 0
            if run >= 10, run > best?.length ?? 0 { best = (run, i + 1) }
        }
        return best.map { max(range.lowerBound, historyStartSample) + $0.end * PCM16.sampleRate / 50 }
    }

    /// Where speech starts in `range` (absolute samples): the first 20 ms window louder than a
    /// tenth of the loudest so far and than −50 dBFS; nil when nothing is.
    public func speechOnset(in range: Range<Int>) -> Int? {
        let energies = windowEnergies(range)
        let floor = Self.speechFloor(loudest: energies.max() ?? 0)
        return energies.firstIndex { $0 >= floor }.map {
            max(range.lowerBound, historyStartSample) + $0 * PCM16.sampleRate / 50
        }
    }

    /// Where speech ends in `range` (absolute samples): the end of the last 20 ms window louder
    /// than a tenth of the range's loudest (and than −50 dBFS); nil when nothing is, or the
    /// history no longer holds the range.
    public func speechEnd(in range: Range<Int>) -> Int? {
        guard range.lowerBound >= historyStartSample else { return nil }
        let energies = windowEnergies(range)
        let floor = Self.speechFloor(loudest: energies.max() ?? 0)
        return energies.lastIndex { $0 >= floor }.map { range.lowerBound + ($0 + 1) * PCM16.sampleRate / 50 }
    }

    /// Whether `range` holds a 20 ms window louder than a tenth of `reference`'s loudest (and
    /// than −50 dBFS): speech, rather than the pause between phrases.
    public func hasSpeech(in range: Range<Int>, comparedTo reference: Range<Int>) -> Bool {
        let floor = Self.speechFloor(loudest: windowEnergies(reference).max() ?? 0)
        return windowEnergies(range).contains { $0 >= floor }
    }

    /// The window energy that counts as speech beside `loudest`: a tenth of it in amplitude, and
    /// at least −50 dBFS.
    static func speechFloor(loudest: Float) -> Float { max(loudest / 100, 1e-5) }

    /// Mean energy of each 20 ms window of `range` (absolute samples).
    func windowEnergies(_ range: Range<Int>) -> [Float] {
        let window = PCM16.sampleRate / 50
        let samples = historySamples(from: range.lowerBound, to: range.upperBound)
        guard samples.count >= window else { return [] }
        return stride(from: 0, through: samples.count - window, by: window).map { start in
            samples[start..<start + window].reduce(Float(0)) { $0 + $1 * $1 } / Float(window)
        }
    }
}
