import CSoxr
import CaptionTapCore
import CaptionTapServer
import CaptionTapServerCore
import Foundation
import Synchronization

/// The embedded recognizer decoding live partial captions, on a thread of its own.
///
/// Shared by every source of a run (each has at most one decode waiting; a newer one replaces
/// it, so stale work is dropped, never queued). It shares the engine with the in-process backend
/// when there is one: `finalsWaiting` then says whether the backend has final decodes queued, and
/// a partial never starts while one waits (finals first). The engine's sessions are safe to run
/// from two threads at once (onnxruntime's `Run` is), so a final that arrives while a partial is
/// being decoded runs beside it rather than after it.
public final class LiveRecognizer: PartialRecognizer, @unchecked Sendable {
    private struct Job {
        var samples: [Float]
        var done: @Sendable (String?) -> Void
    }

    private let engine: SpeechEngine
    private let finalsWaiting: @Sendable () -> Bool
    private let state = Mutex<(queue: LiveDecodeQueue<Job>, stopped: Bool)>((LiveDecodeQueue(), false))
    private let available = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    /// Seconds of audio decoded and of decoding, for the exit summary's CPU figure.
    private let totals = Mutex<(audio: Double, busy: Double)>((0, 0))

    public init(engine: SpeechEngine, finalsWaiting: @escaping @Sendable () -> Bool = { false }) {
        self.engine = engine
        self.finalsWaiting = finalsWaiting
        let thread = Thread { [self] in run() }
        thread.name = "captiontap-live"
        thread.start()
    }

    public func recognize(_ samples: [Float], source: Int, done: @escaping @Sendable (String?) -> Void) {
        let replaced = state.withLock { $0.queue.submit(Job(samples: samples, done: done), source: source) }
        replaced?.done(nil)
        available.signal()
    }

    /// Stops the thread; jobs still waiting are answered with nil.
    public func stop() {
        let left = state.withLock { s -> [Job] in
            s.stopped = true
            return s.queue.removeAll()
        }
        for job in left { job.done(nil) }
        available.signal()
        finished.wait()
        engine.settle()
    }

    /// Seconds of audio decoded for partials, and seconds the recognizer spent on them.
    public var decoded: (audio: Double, busy: Double) { totals.withLock { $0 } }

    private func run() {
        defer { finished.signal() }
        while true {
            available.wait()
            while let job = next() {
                decode(job)
            }
            if state.withLock({ $0.stopped }) { return }
        }
    }

    /// The oldest waiting job once no final decode is queued; nil when there is none or stopping.
    private func next() -> Job? {
        while true {
            let waitsForFinals = finalsWaiting()
            let (job, stopped, empty) = state.withLock { s in
                (s.stopped ? nil : s.queue.next(finalsWaiting: waitsForFinals), s.stopped, s.queue.isEmpty)
            }
            if let job { return job }
            if stopped || empty { return nil }
            usleep(10_000)  // a final's decode is queued: let it go first
        }
    }

    private func decode(_ job: Job) {
        let start = DispatchTime.now().uptimeNanoseconds
        let samples = Self.resample(job.samples)
        let text = samples.isEmpty ? "" : try? engine.transcribeOpen(samples)
        let busy = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        totals.withLock {
            $0.audio += Double(job.samples.count) / Double(PCM16.sampleRate)
            $0.busy += busy
        }
        job.done(text)
    }

    /// 24 kHz → the recognizer's 16 kHz, with libsoxr (one call per decode).
    static func resample(_ input: [Float]) -> [Float] {
        guard !input.isEmpty else { return [] }
        let capacity = input.count * SherpaEngine.sampleRate / PCM16.sampleRate + 16
        var output = [Float](repeating: 0, count: capacity)
        var written = 0
        var io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I)
        var quality = soxr_quality_spec(UInt(SOXR_HQ), 0)
        let error = input.withUnsafeBufferPointer { inBuf in
            output.withUnsafeMutableBufferPointer { outBuf in
                soxr_oneshot(
                    Double(PCM16.sampleRate), Double(SherpaEngine.sampleRate), 1, inBuf.baseAddress, input.count, nil,
                    outBuf.baseAddress, capacity, &written, &io, &quality, nil)
            }
        }
        guard error == nil else { return [] }
        return Array(output.prefix(written))
    }
}
