import CaptionTapServerCore
import Testing

/// The silence that ends a turn runs from where the words stopped, not from where Silero's
/// decision (which decays over a few windows) turned (issue: live captions while people speak:
/// final after speech end).
@Suite struct QuietTailTests {
    /// Feeds 16 ms windows at 1 kHz: (voiced, energy, ms) runs; returns the events.
    func run(_ s: inout TurnSegmenter, _ parts: [(Bool, Float, Int)]) -> [TurnSegmenter.Event] {
        var events: [TurnSegmenter.Event] = []
        var end = 0
        for (voiced, energy, ms) in parts {
            for _ in 0..<ms / 16 {
                end += 16
                events += s.window(voiced: voiced, end: end, count: 16, energy: energy)
            }
        }
        return events
    }

    func segmenter() -> TurnSegmenter {
        TurnSegmenter(sampleRate: 1000, settings: .init(prefixPaddingMs: 0, silenceDurationMs: 800))
    }

    @Test func voicedWindowsAlreadyQuietCountTowardTheSilence() {
        var s = segmenter()
        // Speech to 2000 ms, then 160 ms the detector still calls voiced at −40 dB, then silence.
        let events = run(&s, [(true, 0.1, 2000), (true, 0.00001, 160), (false, 0, 1600)])
        #expect(events.last == .committed(end: 2160 + 800 - 160), "800 ms after the words, not after the decision")
        #expect(
            events.contains(.decode(start: 0, end: 2160 + 240, speculative: true)),
            "the speculative decode still hears 240 ms of the detector's pause")
    }

    @Test func aSessionAskingForAShortSilenceGetsTheDetectorsOwn() {
        var s = TurnSegmenter(sampleRate: 1000, settings: .init(prefixPaddingMs: 0, silenceDurationMs: 352))
        let events = run(&s, [(true, 0.1, 2000), (true, 0.00001, 160), (false, 0, 1600)])
        #expect(events.last == .committed(end: 2160 + 352), "no quiet tail under 600 ms of silence")
    }

    @Test func loudVoicedWindowsAndLongQuietStretchesAreNotBackdatedBeyondTheLimit() {
        var loud = segmenter()
        let a = run(&loud, [(true, 0.1, 2000), (false, 0, 1600)])
        #expect(a.last == .committed(end: 2000 + 800), "the detector's own pause when speech was loud to the end")
        var long = segmenter()
        // 480 quiet voiced ms (breathing the detector took for speech): at most 256 ms of it counts.
        let b = run(&long, [(true, 0.1, 2000), (true, 0.00001, 480), (false, 0, 1600)])
        #expect(b.last == .committed(end: 2480 + 800 - 256))
        var soft = segmenter()
        // Only 12 dB under the loudest: still speech.
        let c = run(&soft, [(true, 0.1, 2000), (true, 0.006, 160), (false, 0, 1600)])
        #expect(c.last == .committed(end: 2160 + 800))
    }

    @Test func theNextTurnOpensWithNoMoreSilenceThanWithoutTheQuietTail() {
        var s = TurnSegmenter(sampleRate: 1000, settings: .init(prefixPaddingMs: 300, silenceDurationMs: 800))
        // Committed at 2800 (brought forward by 160 ms); speech again at 3040.
        let events = run(&s, [(true, 0.1, 2000), (true, 0.00001, 160), (false, 0, 880), (true, 0.1, 400)])
        #expect(events.contains(.committed(end: 2800)))
        #expect(events.contains(.speechStarted(start: 2960)), "not 2800: the prefix reaches back only to 2800 + 160")
        var soon = TurnSegmenter(sampleRate: 1000, settings: .init(prefixPaddingMs: 300, silenceDurationMs: 800))
        // Speech again right after the commit: the turn still starts with its first voiced window.
        let again = run(&soon, [(true, 0.1, 2000), (true, 0.00001, 160), (false, 0, 640), (true, 0.1, 400)])
        #expect(again.contains(.committed(end: 2800)))
        #expect(again.contains(.speechStarted(start: 2800)), "\(again)")
    }

    @Test func aTurnEndedAtAShortPauseLetsTheNextOneReachBackOverIt() {
        var s = TurnSegmenter(
            sampleRate: 1000, settings: .init(prefixPaddingMs: 300, silenceDurationMs: 800),
            policy: {
                var p = TurnSegmenter.Policy()
                p.softTurnMs = 2000
                return p
            }())
        // A turn past its soft length ends at a 304 ms pause (its voice already quiet for 96 ms);
        // speech resumes 160 ms later: the new turn reaches back its full prefix, to the commit.
        let events = run(
            &s, [(true, 0.1, 3008), (true, 0.00001, 96), (false, 0, 304), (false, 0, 160), (true, 0.1, 400)])
        let commit = events.compactMap { if case .committed(let end) = $0 { end } else { nil } }.first
        #expect(commit == 3408)
        #expect(events.contains(.speechStarted(start: 3408)), "\(events)")
    }

    @Test func garbageEnergiesKeepTheTurnBounded() {
        for energy: Float in [.nan, .infinity, -1, .greatestFiniteMagnitude] {
            var s = segmenter()
            let events = run(&s, [(true, energy, 2000), (true, 0, 160), (false, energy, 1600)])
            let commit = events.compactMap { if case .committed(let end) = $0 { end } else { nil } }.first
            #expect(commit.map { (2160 + 800 - 256)...(2160 + 800) ~= $0 } == true, "energy \(energy)")
        }
    }
}
