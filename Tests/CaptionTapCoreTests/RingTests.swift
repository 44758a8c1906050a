import CaptionTapCore
import Foundation
import Testing

@Suite struct RingTests {
    private func write(_ ring: AudioRing, _ values: [Float]) {
        values.withUnsafeBufferPointer { ring.producer.write($0.baseAddress!, count: $0.count) }
    }

    private func read(_ ring: AudioRing, max: Int) -> [Float] {
        var out = [Float](repeating: -1, count: max)
        let n = out.withUnsafeMutableBufferPointer { ring.consumer.read(into: $0.baseAddress!, maxCount: max) }
        return Array(out[0..<n])
    }

    @Test func capacityRoundsUpToPowerOfTwo() {
        #expect(AudioRing(minimumCapacity: 1000).capacity == 1024)
        #expect(AudioRing(minimumCapacity: 1024).capacity == 1024)
        #expect(AudioRing(minimumCapacity: 1).capacity == 1)
    }

    @Test func wrapsAroundInOrder() {
        let ring = AudioRing(minimumCapacity: 8)
        write(ring, [1, 2, 3, 4, 5, 6])
        #expect(read(ring, max: 5) == [1, 2, 3, 4, 5])
        write(ring, [7, 8, 9, 10, 11])  // crosses the end of the storage
        #expect(ring.consumer.available == 6)
        #expect(read(ring, max: 100) == [6, 7, 8, 9, 10, 11])
        #expect(ring.consumer.dropped == 0)
        #expect(read(ring, max: 100).isEmpty)
    }

    @Test func overflowDropsTheOldestAndCountsIt() {
        let ring = AudioRing(minimumCapacity: 8)
        write(ring, (1...6).map(Float.init))
        write(ring, (7...13).map(Float.init))  // 13 written into 8 slots: 1...5 are lost
        #expect(read(ring, max: 100) == (6...13).map(Float.init))
        #expect(ring.consumer.dropped == 5)
        write(ring, [14])
        #expect(read(ring, max: 100) == [14])
        #expect(ring.consumer.dropped == 5)
    }

    @Test func aWriteLargerThanTheRingKeepsTheNewest() {
        let ring = AudioRing(minimumCapacity: 4)
        write(ring, (1...10).map(Float.init))
        #expect(read(ring, max: 100) == [7, 8, 9, 10])
        #expect(ring.consumer.dropped == 6)
        #expect(ring.consumer.totalWritten == 10)
    }

    /// Two threads, tens of millions of samples through a ring that is sized so the consumer
    /// keeps up (the producer waits for space, as a file reader would): the checksum of what
    /// arrives must equal the checksum of what was sent, in order.
    @Test func stressLosslessChecksum() async {
        let total = 24_000_000
        let ring = AudioRing(minimumCapacity: 1 << 14)
        let block = 509  // odd, so block boundaries drift across the wrap point, as in spa's stress test

        let producer = Thread {
            var buffer = [Float](repeating: 0, count: block)
            var sent = 0
            while sent < total {
                let n = min(block, total - sent)
                while ring.capacity - ring.consumer.available < n { sched_yield() }
                for i in 0..<n { buffer[i] = Float((sent + i) & 0xFF_FFFF) }
                buffer.withUnsafeBufferPointer { ring.producer.write($0.baseAddress!, count: n) }
                sent += n
            }
        }
        producer.start()

        var expected: UInt64 = 0
        var received: UInt64 = 0
        var inOrder = true
        var count = 0
        let out = UnsafeMutablePointer<Float>.allocate(capacity: 4096)
        defer { out.deallocate() }
        while count < total {
            let n = ring.consumer.read(into: out, maxCount: 997)
            if n == 0 {
                sched_yield()
                continue
            }
            for i in 0..<n {
                let want = UInt64((count + i) & 0xFF_FFFF)
                expected = expected &* 31 &+ want
                received = received &* 31 &+ UInt64(out[i])
                if UInt64(out[i]) != want { inOrder = false }
            }
            count += n
        }
        #expect(count == total)
        #expect(received == expected)
        #expect(inOrder)
        #expect(ring.consumer.dropped == 0)
    }

    /// A producer that never waits overruns a slow consumer: every sample that arrives must
    /// still be the one written at that position (no torn or stale reads), and arrived + dropped
    /// must account for every sample written.
    @Test func stressOverrunNeverDeliversTornData() async {
        let total = 12_000_000
        let ring = AudioRing(minimumCapacity: 1 << 10)
        let done = DispatchSemaphore(value: 0)
        let producer = Thread {
            var buffer = [Float](repeating: 0, count: 333)
            var sent = 0
            while sent < total {
                let n = min(buffer.count, total - sent)
                for i in 0..<n { buffer[i] = Float((sent + i) & 0xFF_FFFF) }
                buffer.withUnsafeBufferPointer { ring.producer.write($0.baseAddress!, count: n) }
                sent += n
            }
            done.signal()
        }
        producer.start()

        var arrived = 0
        var bad = 0
        var position = 0  // the ring position of the next sample we read
        var finished = false
        let out = UnsafeMutablePointer<Float>.allocate(capacity: 1 << 10)
        defer { out.deallocate() }
        while true {
            let before = ring.consumer.dropped
            let n = ring.consumer.read(into: out, maxCount: 700)
            position += Int(ring.consumer.dropped - before)
            for i in 0..<n where Int(out[i]) != (position + i) & 0xFF_FFFF { bad += 1 }
            position += n
            arrived += n
            if n == 0 {
                if finished { break }
                if done.wait(timeout: .now()) == .success { finished = true }
            }
        }
        #expect(bad == 0)
        #expect(UInt64(arrived) + ring.consumer.dropped == UInt64(total))
        #expect(ring.consumer.dropped > 0, "the consumer should have been overrun at least once")
    }
}
