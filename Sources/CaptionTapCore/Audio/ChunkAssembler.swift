/// Cuts a stream of samples arriving in arbitrary block sizes (PipeWire quanta, file reads)
/// into fixed-size chunks.
public struct ChunkAssembler: ~Copyable {
    public let chunkSamples: Int
    private let buffer: UnsafeMutablePointer<Float>
    private var fill = 0

    public init(chunkSamples: Int) {
        precondition(chunkSamples > 0)
        self.chunkSamples = chunkSamples
        buffer = .allocate(capacity: chunkSamples)
    }

    deinit { buffer.deallocate() }

    /// Samples held back until the next chunk is complete.
    public var pending: Int { fill }

    /// Adds samples, calling `emit` for every completed chunk, in order.
    public mutating func append<E: Error>(
        _ samples: UnsafeBufferPointer<Float>, emit: (UnsafeBufferPointer<Float>) throws(E) -> Void
    ) throws(E) {
        guard var source = samples.baseAddress else { return }
        var remaining = samples.count
        while remaining > 0 {
            if fill == 0 && remaining >= chunkSamples {
                // Whole chunks straight from the caller's memory, no copy.
                try emit(UnsafeBufferPointer(start: source, count: chunkSamples))
                source += chunkSamples
                remaining -= chunkSamples
                continue
            }
            let take = min(remaining, chunkSamples - fill)
            (buffer + fill).update(from: source, count: take)
            fill += take
            source += take
            remaining -= take
            if fill == chunkSamples {
                fill = 0
                try emit(UnsafeBufferPointer(start: buffer, count: chunkSamples))
            }
        }
    }

    /// Emits the incomplete last chunk, if any (end of input or shutdown).
    public mutating func flush<E: Error>(emit: (UnsafeBufferPointer<Float>) throws(E) -> Void) throws(E) {
        guard fill > 0 else { return }
        let count = fill
        fill = 0
        try emit(UnsafeBufferPointer(start: buffer, count: count))
    }
}
