import Foundation

/// Harder versions of the shipped speech, made from it at test time (docs/LEVELS.md, "Test
/// material"): the same words at another level, as a soft hoarse voice after digital silence, or
/// whispered. Deterministic: the noise comes from a seeded generator.
public enum SpeechVariants {
    /// The clip's average level: RMS over the whole clip, in dBFS (jfk.wav: −17).
    public static func averageDb(_ samples: [Float]) -> Double {
        guard !samples.isEmpty else { return -.infinity }
        let sum = samples.reduce(0.0) { $0 + Double($1) * Double($1) }
        return 10 * log10(max(sum / Double(samples.count), 1e-30))
    }

    /// The clip scaled to an average of `dbfs`, on the PCM16 grid (what a 16-bit source delivers).
    public static func atAverageLevel(_ samples: [Float], dbfs: Double) -> [Float] {
        let gain = Float(pow(10, (dbfs - averageDb(samples)) / 20))
        return samples.map { ($0 * gain * 32768).rounded() / 32768 }
    }

    /// A soft, hoarse voice: the words low-passed at 2.5 kHz (a muffled, weak voice), 40 % of
    /// their voicing replaced by breath noise of the same spectral shape, at `dbfs` average speech level,
    /// after `silenceSeconds` of digital silence (what PipeWire delivers while nothing plays).
    public static func softHoarse(_ samples: [Float], dbfs: Double = -40, silenceSeconds: Double = 1) -> [Float] {
        let muffled = lowPass(samples, cutoff: 2500)
        let breath = lowPass(whispered(samples), cutoff: 3000)
        let mixed = zip(muffled, breath).map { 0.6 * $0 + 0.4 * $1 }
        return [Float](repeating: 0, count: Int(silenceSeconds * 24_000)) + atAverageLevel(mixed, dbfs: dbfs)
    }

    /// Whispered speech: every 20 ms frame's spectral envelope (linear prediction, order 20) driven
    /// by noise instead of the voice, at the frame's own energy, overlap-added. No pitch is left.
    public static func whispered(_ samples: [Float], seed: UInt64 = 1) -> [Float] {
        let frame = 480
        let hop = 240
        let order = 20
        var random = SeededNoise(seed: seed)
        var out = [Float](repeating: 0, count: samples.count + frame)
        let window = (0..<frame).map { Float(0.5 - 0.5 * cos(2 * Double.pi * Double($0) / Double(frame))) }
        var start = 0
        while start + frame <= samples.count {
            let x = (0..<frame).map { i in samples[start + i] - (start + i > 0 ? 0.97 * samples[start + i - 1] : 0) }
            let energy = samples[start..<start + frame].reduce(Float(0)) { $0 + $1 * $1 }
            let a = linearPrediction(zip(x, window).map { $0 * $1 }, order: order)
            var y = [Float](repeating: 0, count: frame)
            var previous: Float = 0
            for n in 0..<frame {
                var v = random.next()
                for k in 1...order where n - k >= 0 { v -= a[k] * y[n - k] }
                y[n] = v
            }
            for n in 0..<frame {  // undo the pre-emphasis
                y[n] += 0.97 * previous
                previous = y[n]
            }
            let synthesized = y.reduce(Float(0)) { $0 + $1 * $1 }
            let gain = synthesized > 0 ? (energy / synthesized).squareRoot() : 0
            for n in 0..<frame { out[start + n] += y[n] * gain * window[n] }
            start += hop
        }
        return Array(out.prefix(samples.count))
    }

    /// Room-like noise with no speech in it: white noise low-passed at 4 kHz.
    public static func noise(seconds: Double, seed: UInt64 = 7) -> [Float] {
        var random = SeededNoise(seed: seed)
        return lowPass((0..<Int(seconds * 24_000)).map { _ in random.next() }, cutoff: 4000)
    }

    /// Where speech starts: the first 10 ms frame within `withinDB` (30 dB) of the clip's loudest frame.
    public static func onset(_ samples: [Float], withinDB: Float = 30) -> Int? {
        loudFrames(samples, withinDB: withinDB).first.map { $0 * 240 }
    }

    /// Where sound within `withinDB` of the loudest 10 ms frame ends (the end of the last such
    /// frame), in samples; nil for silence.
    public static func end(_ samples: [Float], withinDB: Float = 30) -> Int? {
        loudFrames(samples, withinDB: withinDB).last.map { ($0 + 1) * 240 }
    }

    /// The indices of the 10 ms frames within `withinDB` of the loudest; none for silence.
    static func loudFrames(_ samples: [Float], withinDB: Float) -> [Int] {
        let frames = stride(from: 0, to: samples.count - 240, by: 240).map { i in
            samples[i..<i + 240].reduce(Float(0)) { $0 + $1 * $1 }
        }
        guard let loudest = frames.max(), loudest > 0 else { return [] }
        return frames.indices.filter { frames[$0] >= loudest / pow(10, withinDB / 10) }
    }

    /// A two-pole low-pass (RBJ biquad, Q 0.707) at 24 kHz, run twice (24 dB per octave).
    public static func lowPass(_ samples: [Float], cutoff: Double) -> [Float] {
        let w = 2 * Double.pi * cutoff / 24_000
        let alpha = sin(w) / (2 * 0.7071)
        let a0 = 1 + alpha
        let b0 = Float((1 - cos(w)) / 2 / a0)
        let b1 = Float((1 - cos(w)) / a0)
        let a1 = Float(-2 * cos(w) / a0)
        let a2 = Float((1 - alpha) / a0)
        var out = samples
        for _ in 0..<2 {
            var x1: Float = 0
            var x2: Float = 0
            var y1: Float = 0
            var y2: Float = 0
            for i in out.indices {
                let x = out[i]
                let y = b0 * x + b1 * x1 + b0 * x2 - a1 * y1 - a2 * y2
                x2 = x1
                x1 = x
                y2 = y1
                y1 = y
                out[i] = y
            }
        }
        return out
    }

    /// Levinson–Durbin on the frame's autocorrelation: `a[1...order]` of A(z) = 1 + Σ a_k z^−k.
    static func linearPrediction(_ x: [Float], order: Int) -> [Float] {
        let r = (0...order).map { lag in (lag..<x.count).reduce(Float(0)) { $0 + x[$1] * x[$1 - lag] } }
        var a = [Float](repeating: 0, count: order + 1)
        guard r[0] > 0 else { return a }
        a[0] = 1
        var error = r[0] * 1.0001  // a little white noise keeps the filter stable
        for i in 1...order {
            var acc = r[i]
            for j in 1..<i { acc += a[j] * r[i - j] }
            let k = -acc / error
            let previous = a
            for j in 1..<i { a[j] = previous[j] + k * previous[i - j] }
            a[i] = k
            error *= (1 - k * k)
            if error <= 0 { break }
        }
        return a
    }
}

/// Uniform noise in [−1, 1) from a 64-bit linear congruential generator: the same every run.
struct SeededNoise {
    private var state: UInt64
    init(seed: UInt64) { state = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407 }
    mutating func next() -> Float {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Float(Int64(bitPattern: state) >> 40) / Float(1 << 23)
    }
}
