import CaptionTapCapture
import Testing

/// Several JACK sources into one stream: their average (a stereo pair keeps its level; JACK's own
/// summing into one port made it 6 dB hot).
@Suite struct JackMixTests {
    @Test func portsAreAveragedAndAMissingBufferCountsAsSilence() {
        let left: [Float] = [1, -1, 0.5, 0.25]
        let right: [Float] = [1, -1, -0.5, 0.75]
        var out = [Float](repeating: 9, count: 4)
        left.withUnsafeBufferPointer { l in
            right.withUnsafeBufferPointer { r in
                let inputs: [UnsafePointer<Float>?] = [l.baseAddress, r.baseAddress, nil]
                inputs.withUnsafeBufferPointer { JackMix.average($0.baseAddress!, count: 2, frames: 4, into: &out) }
                #expect(out == [1, -1, 0, 0.5], "the same full-scale signal on both stays full scale, not 2")
                inputs.withUnsafeBufferPointer { JackMix.average($0.baseAddress!, count: 3, frames: 4, into: &out) }
                #expect(out.map { ($0 * 3).rounded() } == [2, -2, 0, 1])
            }
        }
        // No port: silence, not stale samples.
        [UnsafePointer<Float>?]().withUnsafeBufferPointer {
            JackMix.average($0.baseAddress ?? UnsafePointer(bitPattern: 8)!, count: 0, frames: 4, into: &out)
        }
        #expect(out == [0, 0, 0, 0])
    }
}
