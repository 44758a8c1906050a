import Foundation

/// Small, well-known measurements for checking captured audio in tests.
public enum Signal {
    /// Power of `frequency` in `samples` (Goertzel), normalised by length.
    public static func power(_ samples: ArraySlice<Float>, frequency: Double, rate: Double = 24_000) -> Double {
        let k = 2 * cos(2 * Double.pi * frequency / rate)
        var s1 = 0.0
        var s2 = 0.0
        for x in samples {
            let s0 = Double(x) + k * s1 - s2
            s2 = s1
            s1 = s0
        }
        let p = s1 * s1 + s2 * s2 - k * s1 * s2
        return p / Double(max(1, samples.count * samples.count))
    }

    /// Frequency estimated from upward zero crossings (good to ~1 Hz for a clean tone of a second).
    public static func frequency(_ samples: ArraySlice<Float>, rate: Double = 24_000) -> Double {
        var first: Double?
        var last = 0.0
        var crossings = 0
        var previous = samples.first ?? 0
        for (offset, x) in samples.dropFirst().enumerated() {
            if previous < 0 && x >= 0 {
                // Linear interpolation of the crossing instant.
                let t = Double(offset) + Double(-previous / (x - previous))
                if first == nil {
                    first = t
                } else {
                    crossings += 1
                    last = t
                }
            }
            previous = x
        }
        guard let first, crossings > 0 else { return 0 }
        return Double(crossings) * rate / (last - first)
    }

    /// Root mean square level in dBFS.
    public static func rmsDB(_ samples: ArraySlice<Float>) -> Double {
        let sum = samples.reduce(0.0) { $0 + Double($1) * Double($1) }
        return 10 * log10(max(sum / Double(max(1, samples.count)), 1e-20))
    }

    /// First and one-past-last sample whose magnitude exceeds `threshold`.
    /// The median of ``frequency(_:rate:)`` over consecutive `window`-sample windows: one
    /// glitch (a dropout while the machine is loaded) spoils one window, not the estimate.
    public static func medianFrequency(_ samples: ArraySlice<Float>, window: Int = 2400, rate: Double = 24_000)
        -> Double
    {
        var estimates: [Double] = []
        var start = samples.startIndex
        while start + window <= samples.endIndex {
            estimates.append(frequency(samples[start..<(start + window)], rate: rate))
            start += window
        }
        guard !estimates.isEmpty else { return frequency(samples, rate: rate) }
        return estimates.sorted()[estimates.count / 2]
    }

    public static func activeRange(_ samples: [Float], threshold: Float = 0.05) -> Range<Int>? {
        guard let start = samples.firstIndex(where: { abs($0) > threshold }),
            let end = samples.lastIndex(where: { abs($0) > threshold })
        else { return nil }
        return start..<(end + 1)
    }
}
