import CSoxr
import CaptionTapCore

/// Streaming mono F32 conversion to 24 kHz with libsoxr (high quality), for live sources that
/// cannot be asked for 24 kHz (JACK). Runs in the worker, never on the real-time thread.
final class StreamResampler {
    private var soxr: soxr_t?
    private var input: [Float] = []

    init?(inputRate: Int) {
        var error: soxr_error_t?
        var io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I)
        var quality = soxr_quality_spec(UInt(SOXR_HQ), 0)
        soxr = soxr_create(Double(inputRate), Double(PCM16.sampleRate), 1, &error, &io, &quality, nil)
        if soxr == nil { return nil }
    }

    deinit { if let soxr { soxr_delete(soxr) } }

    /// Converts `count` samples; `output` may be the same memory as `samples`. Returns the count
    /// written (at most `capacity`; callers pass in no more than fits at the conversion's ratio,
    /// else soxr holds the rest back and the delay grows).
    func process(
        _ samples: UnsafeMutablePointer<Float>, count: Int, into output: UnsafeMutablePointer<Float>, capacity: Int
    ) -> Int {
        input.removeAll(keepingCapacity: true)
        input.append(contentsOf: UnsafeBufferPointer(start: samples, count: count))
        var produced = 0
        input.withUnsafeBufferPointer { buf in
            _ = soxr_process(soxr, buf.baseAddress, count, nil, output, capacity, &produced)
        }
        return produced
    }
}
