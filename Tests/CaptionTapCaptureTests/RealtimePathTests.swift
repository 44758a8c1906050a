import CMallocCounter
import CPipeWire
import CaptionTapCapture
import CaptionTapCore
import TestSupport
import Testing

/// The code the PipeWire `process` callback runs must never touch the heap.
///
/// A hand-built `pw_buffer` (the same layout PipeWire hands the callback) goes through
/// ``CaptureProcess/copy(_:into:)`` — the callback's whole Swift body between dequeue and
/// queue — while an interposed malloc counts heap calls on this thread.
@Suite struct RealtimePathTests {
    @Test func callbackCopyMakesNoHeapCalls() {
        let ring = AudioRing(minimumCapacity: 1 << 14)
        let producer = ring.producer
        let buffers = [
            FakePipeWireBuffer(frames: 256), FakePipeWireBuffer(frames: 1024), FakePipeWireBuffer(frames: 3000),
        ]
        let consumer = ring.consumer
        let sink = UnsafeMutablePointer<Float>.allocate(capacity: 1 << 14)
        defer { sink.deallocate() }
        // Warm up: first calls may resolve lazy symbols.
        for b in buffers { CaptureProcess.copy(b.pw, into: producer) }
        var heapCalls = 0
        var moved = 0
        for round in 0..<2_000 {
            let b = buffers[round % buffers.count].pw
            ct_malloc_counter_begin()
            CaptureProcess.copy(b, into: producer)  // includes wrap-around and overflow cases
            heapCalls += ct_malloc_counter_end()
            moved += consumer.read(into: sink, maxCount: round % 25 == 0 ? 1 << 14 : 0)
        }
        #expect(heapCalls == 0)
        #expect(moved > 0)
        #expect(consumer.dropped > 0, "the loop overflows the ring, so the overflow path ran too")
    }

    /// The counter itself must see allocations, or the test above proves nothing.
    @Test func counterSeesSwiftAllocations() {
        ct_malloc_counter_begin()
        let array = [Float](repeating: 1, count: Int.random(in: 100...200))
        let calls = ct_malloc_counter_end()
        #expect(array.count >= 100)
        #expect(calls >= 1)
    }

    @Test func emptyOrMalformedBuffersAreIgnored() {
        let ring = AudioRing(minimumCapacity: 1024)
        let b = FakePipeWireBuffer(frames: 256)
        b.chunk.pointee.offset = 2048  // beyond maxsize: clamped, nothing copied
        CaptureProcess.copy(b.pw, into: ring.producer)
        #expect(ring.consumer.available == 0)
        b.chunk.pointee.offset = 0
        b.spa.pointee.n_datas = 0
        CaptureProcess.copy(b.pw, into: ring.producer)
        #expect(ring.consumer.available == 0)
        b.spa.pointee.n_datas = 1
        CaptureProcess.copy(b.pw, into: ring.producer)
        #expect(ring.consumer.available == 256)
    }
}
