import CaptionTapCapture
import CaptionTapCore
import Foundation
import Logging
import Synchronization
import Testing

/// The worker side of live capture: chunks from the ring, and overflow reported (not from RT).
@Suite struct AudioPumpTests {
    /// Collects what the pump logs.
    final class Recorder: @unchecked Sendable {
        let lines = Mutex<[String]>([])
        var handler: LogHandler { RecordingHandler(recorder: self) }

        struct RecordingHandler: LogHandler {
            let recorder: Recorder
            var logLevel: Logger.Level = .trace
            var metadata: Logger.Metadata = [:]
            subscript(metadataKey key: String) -> Logger.Metadata.Value? {
                get { metadata[key] }
                set { metadata[key] = newValue }
            }
            func log(
                level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?,
                source: String, file: String, function: String, line: UInt
            ) {
                recorder.lines.withLock { $0.append("\(level): \(message)") }
            }
        }
    }

    @Test func overflowIsCountedAndReportedAtMostOncePerSecond() throws {
        let recorder = Recorder()
        let logger = Logger(label: "test") { _ in recorder.handler }
        let ring = AudioRing(minimumCapacity: 4096)
        let block = [Float](repeating: 0.25, count: 1000)
        var sizes: [Int] = []
        let pump = AudioPump(input: .ring(ring), chunk: try ChunkPolicy(milliseconds: 20), logger: logger) { _, pcm in
            sizes.append(pcm.count)
        }
        // The "RT side" writes 3 overflowing bursts while the worker is stopped, within ~0.3 s.
        let started = Date()
        var round = 0
        pump.run {
            if round < 3 {
                for _ in 0..<10 { block.withUnsafeBufferPointer { ring.producer.write($0.baseAddress!, count: 1000) } }
            }
            round += 1
            return Date().timeIntervalSince(started) > 0.6
        }
        let reports = recorder.lines.withLock { $0 }.filter { $0.contains("capture ring overflowed") }
        #expect(pump.stats.droppedSamples > 0)
        #expect(reports.count == 1, "at most one report per second: \(reports)")
        #expect(reports.first?.hasPrefix("warning:") == true)
        // 20 ms chunks (960 bytes of PCM16), but for the flushed remainder at the end.
        #expect(sizes.count > 1)
        #expect(sizes.dropLast().allSatisfy { $0 == 960 })
        #expect((sizes.last ?? 0) <= 960)
    }

    @Test func aSlowRateIsConvertedWithoutFallingBehind() throws {
        // A JACK server at 4 kHz: every second in comes out as a second at 24 kHz, not less.
        let ring = AudioRing(minimumCapacity: 1 << 16)
        var sent = 0
        let pump = AudioPump(
            input: .ringAtRate(ring, rate: 4000), chunk: try ChunkPolicy(milliseconds: 20),
            logger: Logger(label: "test")
        ) { _, pcm in sent += pcm.count / 2 }
        let second = [Float](repeating: 0.1, count: 4000)
        var written = 0
        pump.run {
            if written < 3 {
                second.withUnsafeBufferPointer { ring.producer.write($0.baseAddress!, count: 4000) }
                written += 1
                return false
            }
            return ring.consumer.available == 0
        }
        // Three seconds in, three out, but for the filter's own delay (what soxr holds until more
        // comes; 125 ms here): none of it held back for lack of room.
        #expect(sent >= 3 * 24000 - 4800 && sent <= 3 * 24000, "\(sent) samples out")
    }

    @Test func aWorkerThatStaysBehindHearsOfItWhileItDoes() throws {
        let recorder = Recorder()
        let logger = Logger(label: "test") { _ in recorder.handler }
        let ring = AudioRing(minimumCapacity: 4096)
        let block = [Float](repeating: 0.25, count: 1000)
        let pump = AudioPump(input: .ring(ring), chunk: try ChunkPolicy(milliseconds: 20), logger: logger) { _, _ in }
        // The ring overflows before every read: it is never found empty.
        let started = Date()
        pump.run {
            for _ in 0..<10 { block.withUnsafeBufferPointer { ring.producer.write($0.baseAddress!, count: 1000) } }
            return Date().timeIntervalSince(started) > 0.5
        }
        let reports = recorder.lines.withLock { $0 }.filter { $0.contains("capture ring overflowed") }
        #expect(pump.stats.droppedSamples > 0)
        #expect(reports.count == 1, "reported while behind, once a second at most: \(reports)")
    }
}
