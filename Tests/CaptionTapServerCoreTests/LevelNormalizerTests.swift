import CaptionTapCore
import CaptionTapServerCore
import Foundation
import Testing

/// The embedded backend's level normalization and the detector's second chance, on synthetic
/// windows (the real recognizer's behaviour is in EmbeddedBackendTests).
@Suite struct LevelNormalizerTests {
    static let window = 512

    /// A 200 Hz tone window at `db` dBFS RMS.
    func tone(_ db: Float, phase: Int = 0) -> [Float] {
        let amplitude = Float(pow(10, Double(db) / 20) * 2.0.squareRoot())
        return (0..<Self.window).map { amplitude * Float(sin(2 * Double.pi * 200 * Double(phase + $0) / 16_000)) }
    }

    func level(_ samples: [Float]) -> Float {
        var copy = samples
        return copy.withUnsafeMutableBufferPointer { LevelNormalizer.levelDb($0) } ?? -.infinity
    }

    func run(_ n: inout LevelNormalizer, _ samples: [Float]) -> [Float] {
        var out = samples
        out.withUnsafeMutableBufferPointer { n.process($0) }
        return out
    }

    @Test func quietSpeechIsLiftedToTheTargetAtOnceAndLoudSpeechIsLeftAlone() {
        for input: Float in [-55, -45, -30] {
            var n = LevelNormalizer(sampleRate: 16_000, windowSamples: Self.window)
            let out = run(&n, tone(input))
            #expect(abs(level(out) - n.settings.targetDb) < 0.5, "\(input) dBFS came out at \(level(out))")
        }
        var quietest = LevelNormalizer(sampleRate: 16_000, windowSamples: Self.window)
        let out = run(&quietest, tone(-70))
        #expect(abs(level(out) - (-70 + quietest.settings.maxGainDb)) < 0.5, "at most the maximum gain")
        var loud = LevelNormalizer(sampleRate: 16_000, windowSamples: Self.window)
        let input = tone(-6)
        let unchanged = run(&loud, input)
        #expect(unchanged == input)
        #expect(loud.gainDb == 0)
    }

    @Test func digitalSilenceStaysSilentAndChangesNothing() {
        var n = LevelNormalizer(sampleRate: 16_000, windowSamples: Self.window)
        _ = run(&n, tone(-50))
        let gain = n.gainDb
        for _ in 0..<100 {
            let out = run(&n, [Float](repeating: 0, count: Self.window))
            #expect(out.allSatisfy { $0 == 0 })
        }
        #expect(n.gainDb == gain)
        // Speech right after the silence gets the same lift at once.
        #expect(abs(level(run(&n, tone(-50))) - n.settings.targetDb) < 0.5)
    }

    @Test func anOnsetAfterQuietNeverClips() {
        var n = LevelNormalizer(sampleRate: 16_000, windowSamples: Self.window)
        for i in 0..<60 { _ = run(&n, tone(-70, phase: i * Self.window)) }
        let out = run(&n, tone(-10))
        #expect(out.allSatisfy { abs($0) <= 1 })
        #expect(level(out) <= -9.5, "the louder window was lifted: \(level(out)) dBFS")
    }

    @Test func theNoiseFloorIsNotLiftedAboveTheCeiling() {
        var n = LevelNormalizer(sampleRate: 16_000, windowSamples: Self.window)
        // Speech at -50 over a floor at -75 for 3 s: the gain stops where the floor reaches -40.
        for i in 0..<90 { _ = run(&n, tone(i % 3 == 0 ? -75 : -50, phase: i * Self.window)) }
        #expect(n.gainDb <= n.settings.noiseCeilingDb - (-75) + 0.5)
        #expect(n.gainDb > 20)
    }

    @Test func theGainNeverExceedsItsMaximumAndHugeOrOddInputIsSafe() {
        var n = LevelNormalizer(sampleRate: 16_000, windowSamples: Self.window)
        let tiny = [Float](repeating: 1e-9, count: Self.window)
        let lifted = run(&n, tiny)
        let most = Float(1e-9 * pow(10, Double(n.settings.maxGainDb) / 20) * 1.01)
        #expect(lifted.allSatisfy { abs($0) <= most })
        var odd = LevelNormalizer(sampleRate: 0, windowSamples: 0)
        let clipped = run(&odd, [Float](repeating: 4, count: 8))
        #expect(clipped.allSatisfy { $0 == 4 })
        let infinite = run(&odd, [.infinity, 0])
        #expect(infinite == [.infinity, 0])
    }

    @Test func rejectedWindowsGetASecondChanceOnlyWhenSustainedAndClearOfTheFloor() {
        var chance = SecondChance()
        let needed = chance.settings.minimumWindows
        // Sustained lenient, 20 dB over the floor: speech from the sixth window on.
        var decisions: [Bool] = []
        for _ in 0..<10 { decisions.append(chance.decide(strict: false, lenient: true, levelDb: -40, floorDb: -60)) }
        #expect(decisions == Array(repeating: false, count: needed - 1) + Array(repeating: true, count: 11 - needed))
        // Too close to the floor, or the lenient detector silent, or digital silence: never.
        var never = SecondChance()
        for _ in 0..<20 {
            let said = never.decide(strict: false, lenient: true, levelDb: -55, floorDb: -60)
            #expect(!said)
        }
        for _ in 0..<20 {
            let said = never.decide(strict: false, lenient: false, levelDb: -20, floorDb: -60)
            #expect(!said)
        }
        for _ in 0..<20 {
            let said = never.decide(strict: false, lenient: true, levelDb: nil, floorDb: -60)
            #expect(!said)
        }
        #expect(never.promoted == 0)
        // One gap restarts the count; the strict detector always wins.
        var gap = SecondChance()
        for _ in 0..<(needed - 1) { _ = gap.decide(strict: false, lenient: true, levelDb: -40, floorDb: -60) }
        let afterGap = gap.decide(strict: false, lenient: false, levelDb: -40, floorDb: -60)
        let restarted = gap.decide(strict: false, lenient: true, levelDb: -40, floorDb: -60)
        let strict = gap.decide(strict: true, lenient: false, levelDb: nil, floorDb: nil)
        #expect(!afterGap && !restarted && strict)
        #expect(SecondChance().lenientThreshold(for: 0.6) == 0.35)
        #expect(SecondChance().lenientThreshold(for: 0.2) == 0.1)
    }

    @Test func theLenientDetectorIsAskedOnlyWhereItsOpinionCanCount() {
        let chance = SecondChance()
        #expect(chance.consults(strict: false, levelDb: -40, floorDb: -60), "rejected, 20 dB over the floor")
        #expect(!chance.consults(strict: true, levelDb: -40, floorDb: -60), "the strict detector already said speech")
        #expect(!chance.consults(strict: false, levelDb: -55, floorDb: -60), "too close to the floor")
        #expect(!chance.consults(strict: false, levelDb: nil, floorDb: -60), "digital silence")
        #expect(!chance.consults(strict: false, levelDb: -40, floorDb: nil), "no floor known yet")
        #expect(!chance.consults(strict: false, levelDb: .nan, floorDb: -60))
        #expect(!chance.consults(strict: false, levelDb: -40, floorDb: .nan))
        #expect(!chance.consults(strict: false, levelDb: -.infinity, floorDb: -60))
        // Where it is not asked, its opinion changes nothing: the same decisions with it heard or not.
        var heard = SecondChance()
        var unheard = SecondChance()
        let levels: [Float?] = [-40, -40, -58, nil, -40, -40, -40, -40, -40, -40, -40, -59, -40]
        for (i, level) in levels.enumerated() {
            let strict = i == 4
            let asked = heard.consults(strict: strict, levelDb: level, floorDb: -60)
            let a = heard.decide(strict: strict, lenient: true, levelDb: level, floorDb: -60)
            let b = unheard.decide(strict: strict, lenient: asked, levelDb: level, floorDb: -60)
            #expect(a == b, "window \(i)")
        }
        #expect(heard.promoted == unheard.promoted && heard.promoted > 0)
    }
}
