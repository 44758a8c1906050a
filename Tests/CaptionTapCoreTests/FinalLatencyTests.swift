import CaptionTapCore
import Foundation
import Testing

/// A final's `latency_ms` runs from where speech ended in the audio, not from the turn's end less
/// the configured silence: a long turn may be committed at a shorter pause, and that pause must
/// not count as waiting the viewer did not do (issue: live captions while people speak).
@Suite struct FinalLatencyTests {
    let ot = OutOfBandTranscriberTests()

    /// Captures `ms` of a 440 Hz tone at `amplitude` (0 = digital silence), in 100 ms chunks.
    func capture(_ t: OutOfBandTranscriber, ms: Int, amplitude: Double) {
        var chunk = [Int16](repeating: 0, count: 2400)
        for _ in 0..<ms / 100 {
            for i in chunk.indices {
                let n = Double(t.timelineMs * 24 + i)
                chunk[i] = Int16(amplitude * 32767 * sin(2 * .pi * 440 * n / 24_000))
            }
            _ = chunk.withUnsafeBytes { t.audioCaptured($0) }
        }
    }

    func final(_ t: OutOfBandTranscriber, start: Int, end: Int) throws -> Caption {
        _ = ot.turn(t, epoch: 1, item: "item_1", start: start, end: end)
        let actions = ot.respond(t, epoch: 1, item: "item_1", response: "resp_1", words: ["It ", "was."])
        return try #require(ot.captions(actions).first { $0.isFinal })
    }

    @Test func aTurnCommittedAtAShortPauseCountsFromWhereSpeechEnded() throws {
        let t = ot.make()
        _ = t.startSession(epoch: 1)
        capture(t, ms: 500, amplitude: 0)
        capture(t, ms: 1500, amplitude: 0.3)  // speech: 500–2000 ms
        capture(t, ms: 1000, amplitude: 0.001)  // a quiet room, then the final at 3000 ms
        // Committed 300 ms into the pause, where the configured silence is 800 ms.
        let caption = try final(t, start: 200, end: 2300)
        #expect(caption.latencyMs == 1000, "3000 ms − the speech's end at 2000 ms, not − (2300 − 800)")
    }

    @Test func aTurnWithoutSoundFallsBackToTheConfiguredSilence() throws {
        let t = ot.make()
        _ = t.startSession(epoch: 1)
        capture(t, ms: 3000, amplitude: 0)
        let caption = try final(t, start: 200, end: 2300)
        #expect(caption.latencyMs == 3000 - (2300 - 800))
    }

    @Test func turnBoundsFromTheServerOutsideTheAudioDoNotTrap() throws {
        let t = ot.make()
        _ = t.startSession(epoch: 1)
        capture(t, ms: 1000, amplitude: 0.3)
        // A turn said to end long after the audio, and one that ends before it starts.
        let late = try final(t, start: 0, end: 9_000_000)
        #expect(late.latencyMs == 0, "speech found up to the audio's end, at the newest sample")
        let t2 = ot.make()
        _ = t2.startSession(epoch: 1)
        capture(t2, ms: 1000, amplitude: 0.3)
        #expect(try final(t2, start: 900, end: 100).latencyMs != nil)
        let t3 = ot.make()
        _ = t3.startSession(epoch: 1)
        capture(t3, ms: 1000, amplitude: 0.3)
        #expect(try final(t3, start: Int.max / 2, end: Int.max).latencyMs != nil)
    }
}
