import CPipeWire

/// A `pw_buffer` laid out exactly as PipeWire hands one to the `process` callback (one
/// MemPtr data block of F32 samples), for driving the RT path without a daemon.
public final class FakePipeWireBuffer {
    public let samples: UnsafeMutablePointer<Float>
    public let chunk = UnsafeMutablePointer<spa_chunk>.allocate(capacity: 1)
    public let data = UnsafeMutablePointer<spa_data>.allocate(capacity: 1)
    public let spa = UnsafeMutablePointer<spa_buffer>.allocate(capacity: 1)
    public let pw = UnsafeMutablePointer<pw_buffer>.allocate(capacity: 1)

    public init(frames: Int) {
        samples = .allocate(capacity: frames)
        for i in 0..<frames { samples[i] = Float(i % 1000) / 1000 }
        chunk.initialize(to: spa_chunk(offset: 0, size: UInt32(frames * 4), stride: 4, flags: 0))
        data.initialize(
            to: spa_data(
                type: UInt32(SPA_DATA_MemPtr.rawValue), flags: 0, fd: -1, mapoffset: 0,
                maxsize: UInt32(frames * 4), data: UnsafeMutableRawPointer(samples), chunk: chunk))
        spa.initialize(to: spa_buffer(n_metas: 0, n_datas: 1, metas: nil, datas: data))
        pw.initialize(to: pw_buffer(buffer: spa, user_data: nil, size: 0, requested: 0))
    }

    deinit {
        samples.deallocate()
        chunk.deallocate()
        data.deallocate()
        spa.deallocate()
        pw.deallocate()
    }
}
