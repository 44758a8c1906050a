import CaptionTapCore
import Foundation
import Logging
import Synchronization

/// A flag set from signal handlers or other threads to end a run.
public final class StopSignal: Sendable {
    private let flag = Atomic<Bool>(false)
    public init() {}
    public func stop() { flag.store(true, ordering: .releasing) }
    public var isStopped: Bool { flag.load(ordering: .acquiring) }
}

/// Where 24 kHz mono samples come from.
public enum AudioInput {
    /// How fast a file is fed: as fast as possible, or at the speed it would play.
    public enum Pace: String, Sendable, CaseIterable {
        case fast, realtime
    }
    /// Live capture: the worker drains the ring the RT callback fills.
    case ring(AudioRing)
    /// A decoded file.
    case file(AudioFileReader, pace: Pace)
    /// Live capture at another rate (JACK runs at the server's rate): converted in the worker.
    case ringAtRate(AudioRing, rate: Int)
}

/// The worker: drains the input into `--chunk-ms` chunks, encodes each to PCM16 and an
/// `input_audio_buffer.append` event, and hands both to `onChunk`. Never runs on the RT thread.
public final class AudioPump {
    public struct Stats: Sendable {
        public var samplesSent: Int64 = 0
        public var chunks: Int = 0
        public var droppedSamples: UInt64 = 0
        public var seconds: Double { Double(samplesSent) / Double(PCM16.sampleRate) }
    }

    /// How often the worker wakes to drain the ring: PipeWire's notes measured that polling
    /// beats waking from the RT thread, and captions need no lower latency than this.
    public static let pollInterval = 0.02

    private let input: AudioInput
    private let chunk: ChunkPolicy
    private let logger: Logger
    private let onChunk: (String, UnsafeRawBufferPointer) -> Void
    public private(set) var stats = Stats()

    public init(
        input: AudioInput, chunk: ChunkPolicy, logger: Logger,
        onChunk: @escaping (_ event: String, _ pcm: UnsafeRawBufferPointer) -> Void
    ) {
        self.input = input
        self.chunk = chunk
        self.logger = logger
        self.onChunk = onChunk
    }

    /// Runs until the file ends or `shouldStop` says so, then flushes the last partial chunk.
    public func run(maxSeconds: Double? = nil, until shouldStop: () -> Bool) {
        // Callers validate the duration; anything not finite or beyond ~10^5 years means no limit
        // rather than a trap in the conversion.
        let limit = maxSeconds.flatMap { $0 > 0 && $0 < 1e12 ? Int64($0 * Double(PCM16.sampleRate)) : nil }
        let run = PumpRun(chunk: chunk, limit: limit, logger: logger, onChunk: onChunk)
        switch input {
        case .ring(let ring):
            run.drain(ring, rate: PCM16.sampleRate, resampler: nil, until: shouldStop)
        case .ringAtRate(let ring, let rate):
            let resampler = rate == PCM16.sampleRate ? nil : StreamResampler(inputRate: rate)
            run.drain(ring, rate: rate, resampler: resampler, until: shouldStop)
        case .file(let reader, .fast) where reader.isPCM16At24kMono:
            run.copyPCM16(reader, until: shouldStop)
        case .file(let reader, let pace):
            run.read(reader, realtime: pace == .realtime, until: shouldStop)
        }
        run.finish()
        stats = run.stats
    }
}

/// One `AudioPump.run`: the chunking state shared by the three inputs, and one method per input.
private final class PumpRun {
    static let scratchCount = 8192

    let chunk: ChunkPolicy
    /// Samples to send in all (`--duration`), or nil.
    let limit: Int64?
    let logger: Logger
    let onChunk: (String, UnsafeRawBufferPointer) -> Void
    var stats = AudioPump.Stats()
    private var assembler: ChunkAssembler
    private var encoder: AppendEventEncoder
    private let scratch = UnsafeMutablePointer<Float>.allocate(capacity: scratchCount)

    init(
        chunk: ChunkPolicy, limit: Int64?, logger: Logger, onChunk: @escaping (String, UnsafeRawBufferPointer) -> Void
    ) {
        self.chunk = chunk
        self.limit = limit
        self.logger = logger
        self.onChunk = onChunk
        assembler = ChunkAssembler(chunkSamples: chunk.samples)
        encoder = AppendEventEncoder(maxSamples: chunk.samples)
    }

    deinit { scratch.deallocate() }

    private var reachedLimit: Bool {
        guard let limit else { return false }
        return stats.samplesSent + Int64(assembler.pending) >= limit
    }

    /// Chunks `count` samples from the scratch buffer, cut at the limit.
    private func feed(_ count: Int) {
        var n = count
        if let limit { n = Int(min(Int64(n), max(0, limit - stats.samplesSent - Int64(assembler.pending)))) }
        assembler.append(UnsafeBufferPointer(start: scratch, count: n), emit: emit)
    }

    /// Sends what is left in the assembler as a last, shorter chunk.
    func finish() { assembler.flush(emit: emit) }

    private func emit(_ samples: UnsafeBufferPointer<Float>) {
        let (event, pcm) = encoder.encode(samples)
        stats.samplesSent += Int64(samples.count)
        stats.chunks += 1
        onChunk(event, pcm)
    }

    /// Live capture: drains the ring every poll interval, converting from `rate` if needed.
    func drain(_ ring: AudioRing, rate: Int, resampler: StreamResampler?, until shouldStop: () -> Bool) {
        let consumer = ring.consumer
        var drops = DropReport(rate: rate)
        // As much as fits in the scratch buffer once converted to 24 kHz, with room to spare
        // (a quarter of it at 6 kHz and up; at 4 kHz the conversion makes six samples of one).
        let maxIn = max(1, min(Self.scratchCount / 4, Self.scratchCount * rate / (PCM16.sampleRate * 2)))
        while !shouldStop() && !reachedLimit {
            // Every round, not only when the ring is empty: a worker that stays behind must hear
            // of it while it does (two atomic loads unless something was dropped).
            drops.check(consumer.dropped, logger: logger)
            var n = consumer.read(into: scratch, maxCount: maxIn)
            if n > 0 {
                if let resampler {
                    n = resampler.process(scratch, count: n, into: scratch, capacity: Self.scratchCount)
                }
                feed(n)
                continue
            }
            Thread.sleep(forTimeInterval: AudioPump.pollInterval)
        }
        stats.droppedSamples = consumer.dropped
    }

    /// A file whose samples are already the wire's (24 kHz mono PCM16) read fast: ten chunks at
    /// a time, each base64-encoded as it is. Same chunks, same bytes as `read`.
    func copyPCM16(_ reader: AudioFileReader, until shouldStop: () -> Bool) {
        let blockSamples = 10 * chunk.samples
        let samples = UnsafeMutablePointer<Int16>.allocate(capacity: blockSamples)
        defer { samples.deallocate() }
        reading: while !shouldStop() && !reachedLimit {
            var want = blockSamples
            if let limit { want = Int(min(Int64(want), limit - stats.samplesSent)) }
            let n = reader.readPCM16(into: UnsafeMutableBufferPointer(start: samples, count: want))
            if n == 0 { break }
            for i in 0..<n { samples[i] = samples[i].littleEndian }
            var offset = 0
            while offset < n {
                if offset > 0 && shouldStop() { break reading }
                let count = min(chunk.samples, n - offset)
                let pcm = UnsafeRawBufferPointer(start: samples + offset, count: count * 2)
                let event = encoder.encode(pcm16: pcm)
                stats.samplesSent += Int64(count)
                stats.chunks += 1
                onChunk(event, pcm)
                offset += count
            }
        }
    }

    /// Any other file, decoded to floats: as fast as possible, or paced to play in real time.
    func read(_ reader: AudioFileReader, realtime: Bool, until shouldStop: () -> Bool) {
        let started = Date()
        let block = realtime ? PCM16.sampleRate / 50 : Self.scratchCount
        while !shouldStop() && !reachedLimit {
            let n = reader.read(into: UnsafeMutableBufferPointer(start: scratch, count: block))
            if n == 0 { break }
            feed(n)
            guard realtime else { continue }
            let due = Double(stats.samplesSent + Int64(assembler.pending)) / Double(PCM16.sampleRate)
            let ahead = due - Date().timeIntervalSince(started)
            if ahead > 0 { Thread.sleep(forTimeInterval: ahead) }
        }
    }
}

/// Ring overflow is counted by the ring and reported here, at most once a second, in
/// milliseconds at the ring's own rate.
private struct DropReport {
    let rate: Int
    private var reported: UInt64 = 0
    private var lastReport = Date.distantPast

    init(rate: Int) { self.rate = rate }

    mutating func check(_ dropped: UInt64, logger: Logger) {
        guard dropped > reported, Date().timeIntervalSince(lastReport) >= 1 else { return }
        logger.warning(
            "capture ring overflowed: dropped \(dropped - reported) samples (\((dropped - reported) * 1000 / UInt64(rate)) ms); the worker fell behind",
            metadata: ["ring.dropped.total": "\(dropped)"])
        reported = dropped
        lastReport = Date()
    }
}
