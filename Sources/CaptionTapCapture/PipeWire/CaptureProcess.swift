import CPipeWire
import CaptionTapCore

/// The real-time half of the capture stream: everything that runs on PipeWire's data thread.
///
/// Rules (checked by `RealtimePathTests` with a malloc-counting interposer): no allocation,
/// locks, syscalls, logging, or Swift runtime calls that retain or release. The state is a
/// plain struct reached through a raw pointer, never a class reference, so not even a
/// retain/release pair happens per callback.
public struct CaptureRTState {
    /// Written by the control thread only while the stream is disconnected or being created.
    public var stream: OpaquePointer?
    public let producer: AudioRing.Producer

    public init(producer: AudioRing.Producer) {
        self.stream = nil
        self.producer = producer
    }
}

public enum CaptureProcess {
    /// The type of `pw_stream_events.process`; `data` points at a ``CaptureRTState``.
    public typealias Callback = @convention(c) (UnsafeMutableRawPointer?) -> Void

    /// The `process` event: dequeue, copy into the ring, queue, return.
    public static let onProcess: Callback = { data in
        guard let data else { return }
        let state = data.assumingMemoryBound(to: CaptureRTState.self)
        guard let stream = state.pointee.stream, let buffer = pw_stream_dequeue_buffer(stream) else { return }
        copy(buffer, into: state.pointee.producer)
        pw_stream_queue_buffer(stream, buffer)
    }

    /// Copies the F32 mono samples of one PipeWire buffer into the ring.
    ///
    /// Split from ``onProcess`` so tests can drive it with a hand-built `pw_buffer` and no daemon.
    @inline(__always)
    public static func copy(_ buffer: UnsafeMutablePointer<pw_buffer>, into producer: AudioRing.Producer) {
        guard let spaBuffer = buffer.pointee.buffer, spaBuffer.pointee.n_datas > 0,
            let datas = spaBuffer.pointee.datas,
            let base = datas.pointee.data, let chunk = datas.pointee.chunk
        else { return }
        let maxSize = datas.pointee.maxsize
        let offset = min(chunk.pointee.offset, maxSize)
        let size = min(chunk.pointee.size, maxSize - offset)
        let samples = (base + Int(offset)).assumingMemoryBound(to: Float.self)
        producer.write(samples, count: Int(size) / MemoryLayout<Float>.size)
    }
}
