import Synchronization

/// A single-producer / single-consumer ring of `Float` samples that never blocks the producer.
///
/// The producer is PipeWire's real-time `process` callback, so writing must not allocate,
/// lock, make syscalls or touch the Swift runtime. `AudioRing` owns the memory; the RT side
/// only ever sees a ``Producer`` (a bundle of raw pointers, no reference counting) and the
/// worker a ``Consumer``.
///
/// Semantics follow `spa/utils/ringbuffer.h`: free-running 64-bit indices taken modulo a
/// power-of-two capacity, the peer's index loaded acquiring, one's own published releasing,
/// a wrap is two copies. Unlike spa's ring the producer never waits for space: when the
/// consumer falls behind, new audio overwrites the oldest, and the consumer detects it.
/// To make that detection sound, the producer announces the range it is about to write
/// (`reserved`) before writing and publishes it (`written`) after; the consumer copies
/// optimistically and afterwards discards whatever the producer may have overwritten
/// during the copy (a seqlock-style re-check), counting it as dropped.
public final class AudioRing: @unchecked Sendable {
    /// Capacity in samples (a power of two).
    public let capacity: Int
    private let storage: UnsafeMutablePointer<Float>
    private let indices: UnsafeMutablePointer<RingIndices>

    /// Creates a ring holding at least `minimumCapacity` samples, rounded up to a power of two.
    ///
    /// The memory is touched here so that the RT thread never takes a first-touch page fault.
    public init(minimumCapacity: Int) {
        precondition(minimumCapacity > 0 && minimumCapacity <= 1 << 30, "ring capacity out of range")
        var cap = 1
        while cap < minimumCapacity { cap <<= 1 }
        capacity = cap
        storage = .allocate(capacity: cap)
        storage.initialize(repeating: 0, count: cap)
        indices = .allocate(capacity: 1)
        indices.initialize(to: RingIndices())
    }

    deinit {
        indices.deinitialize(count: 1)
        indices.deallocate()
        storage.deallocate()
    }

    /// The writing end. Copyable and reference-free: hand it to C callbacks by pointer.
    public var producer: Producer { Producer(storage: storage, indices: indices, mask: UInt64(capacity - 1)) }

    /// The reading end. Use it from one thread at a time.
    public var consumer: Consumer { Consumer(storage: storage, indices: indices, capacity: UInt64(capacity)) }

    /// The real-time end of the ring.
    @frozen
    public struct Producer: @unchecked Sendable {
        @usableFromInline let storage: UnsafeMutablePointer<Float>
        @usableFromInline let indices: UnsafeMutablePointer<RingIndices>
        @usableFromInline let mask: UInt64

        /// Copies `count` samples in. Wait-free: no allocation, no locks, no syscalls.
        ///
        /// If more than the capacity arrives at once only the newest `capacity` samples are
        /// kept; the consumer accounts for the rest as dropped.
        @inlinable @inline(__always)
        public func write(_ samples: UnsafePointer<Float>, count: Int) {
            guard count > 0 else { return }
            let start = indices.pointee.written.load(ordering: .relaxed)
            let end = start &+ UInt64(count)
            let capacity = Int(mask) + 1
            let keep = min(count, capacity)
            let from = samples + (count - keep)
            let first = end &- UInt64(keep)
            // Announce the range before touching memory so the consumer can tell what it raced with.
            indices.pointee.reserved.store(end, ordering: .relaxed)
            atomicMemoryFence(ordering: .releasing)
            let offset = Int(first & mask)
            let head = min(keep, capacity - offset)
            (storage + offset).update(from: from, count: head)
            if head < keep {
                storage.update(from: from + head, count: keep - head)
            }
            indices.pointee.written.store(end, ordering: .releasing)
        }
    }

    /// The worker's end of the ring.
    public struct Consumer: @unchecked Sendable {
        let storage: UnsafeMutablePointer<Float>
        let indices: UnsafeMutablePointer<RingIndices>
        let capacity: UInt64

        /// Samples ready to read now (at most the capacity).
        public var available: Int {
            let written = indices.pointee.written.load(ordering: .acquiring)
            let read = indices.pointee.read.load(ordering: .relaxed)
            return Int(min(written &- read, capacity))
        }

        /// Total samples lost to overflow since the ring was created.
        public var dropped: UInt64 { indices.pointee.dropped.load(ordering: .relaxed) }

        /// Total samples ever written by the producer.
        public var totalWritten: UInt64 { indices.pointee.written.load(ordering: .acquiring) }

        /// Copies up to `maxCount` of the oldest valid samples into `destination`.
        ///
        /// - Returns: the number of samples copied, in order and gap-free since the previous
        ///   read unless ``dropped`` grew.
        public func read(into destination: UnsafeMutablePointer<Float>, maxCount: Int) -> Int {
            var read = indices.pointee.read.load(ordering: .relaxed)
            let written = indices.pointee.written.load(ordering: .acquiring)
            if written &- read > capacity {
                let lost = written &- capacity &- read
                indices.pointee.dropped.add(lost, ordering: .relaxed)
                read = written &- capacity
            }
            var count = Int(min(written &- read, UInt64(max(0, maxCount))))
            guard count > 0 else {
                indices.pointee.read.store(read, ordering: .releasing)
                return 0
            }
            let mask = capacity - 1
            let offset = Int(read & mask)
            let head = min(count, Int(capacity) - offset)
            destination.update(from: storage + offset, count: head)
            if head < count {
                destination.advanced(by: head).update(from: storage, count: count - head)
            }
            // Anything the producer reserved while we copied may have been overwritten under us.
            atomicMemoryFence(ordering: .acquiring)
            let reserved = indices.pointee.reserved.load(ordering: .relaxed)
            var end = read &+ UInt64(count)
            if reserved > capacity, reserved &- capacity > read {
                let lost = reserved &- capacity &- read
                let clobbered = Int(min(lost, UInt64(count)))
                indices.pointee.dropped.add(lost, ordering: .relaxed)
                count -= clobbered
                if count > 0 {
                    destination.update(from: destination + clobbered, count: count)
                }
                end = max(end, reserved &- capacity)
            }
            indices.pointee.read.store(end, ordering: .releasing)
            return count
        }
    }
}

/// The ring's shared counters, each on its own cache line so producer and consumer do not
/// false-share.
public struct RingIndices: ~Copyable {
    @usableFromInline let written = Atomic<UInt64>(0)
    private let pad0: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0)
    @usableFromInline let reserved = Atomic<UInt64>(0)
    private let pad1: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0)
    let read = Atomic<UInt64>(0)
    let dropped = Atomic<UInt64>(0)

    init() {}
}
