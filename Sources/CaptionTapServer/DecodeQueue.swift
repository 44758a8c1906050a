import CaptionTapCore
import CaptionTapServerCore
import Foundation
import Synchronization

/// The one recognizer is shared by every session: decodes run on dedicated threads, in the order
/// ``DecodeSchedule`` picks (finals first, sessions taking turns). A decode cancelled before it
/// starts is skipped (a speculative decode made stale by speech resuming); one already running
/// finishes and its result is ignored.
///
/// With several sessions, turns end close together and one thread leaves them waiting for each
/// other; a second thread decodes beside the first (onnxruntime runs one model from several
/// threads at once), so on two cores the queue drains about twice as fast. A second thread
/// costs nothing while one is enough: it only picks up a job while the first is busy.
final class DecodeQueue: @unchecked Sendable {
    struct Key: Hashable, Sendable {
        var connection: Int
        var job: Int
    }

    private struct Job {
        var key: Key
        var samples: [Float]
        var speculative: Bool
        var done: @Sendable (Result<String, TranscriptionFailure>) -> Void
    }

    /// What the decode threads share: the jobs, and when each connection was last served.
    private struct State {
        var jobs: [Job] = []
        var stopped = false
        var served: [Int: Int] = [:]
        var round = 0
    }

    private let engine: SpeechEngine
    private let threads: Int
    private let state = Mutex(State())
    private let available = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    /// Seconds of audio decoded and seconds spent, for the real-time factor in logs.
    private let totals = Mutex<(audio: Double, busy: Double)>((0, 0))

    init(engine: SpeechEngine, sampleRate: Int, threads: Int = 1) {
        self.engine = engine
        self.threads = max(1, threads)
        for _ in 0..<self.threads {
            let t = Thread { [self] in run(sampleRate: sampleRate) }
            t.name = "captiontap-decode"
            t.start()
        }
    }

    func submit(
        _ key: Key, samples: [Float], speculative: Bool = false,
        done: @escaping @Sendable (Result<String, TranscriptionFailure>) -> Void
    ) {
        state.withLock { $0.jobs.append(Job(key: key, samples: samples, speculative: speculative, done: done)) }
        available.signal()
    }

    func cancel(_ key: Key) {
        state.withLock { $0.jobs.removeAll { $0.key == key } }
    }

    /// A queued speculative decode became a final one: it now goes with the finals.
    func promote(_ key: Key) {
        state.withLock { s in
            for i in s.jobs.indices where s.jobs[i].key == key { s.jobs[i].speculative = false }
        }
    }

    func cancelAll(connection: Int) {
        state.withLock { $0.jobs.removeAll { $0.key.connection == connection } }
    }

    var realTimeFactor: (audio: Double, busy: Double) { totals.withLock { $0 } }

    /// Decodes waiting to run.
    var depth: Int { state.withLock { $0.jobs.count } }
    /// Queued decodes a final caption waits for (not speculative ones).
    var finalDepth: Int { state.withLock { $0.jobs.count { !$0.speculative } } }

    func stop() {
        state.withLock { $0.stopped = true }
        for _ in 0..<threads { available.signal() }
        for _ in 0..<threads { finished.wait() }
    }

    private func run(sampleRate: Int) {
        defer { finished.signal() }
        while true {
            available.wait()
            enum Next {
                case job(Job)
                case none, stop
            }
            let next = state.withLock { s -> Next in
                if s.stopped { return .stop }
                guard let job = Self.take(from: &s) else { return .none }
                return .job(job)
            }
            guard case .job(let job) = next else {
                if case .stop = next { return }
                continue  // the job this wake-up was for was cancelled before it ran
            }
            let start = DispatchTime.now().uptimeNanoseconds
            let text: Result<String, TranscriptionFailure>
            do throws(TranscriptionFailure) {
                text = .success(job.samples.isEmpty ? "" : try engine.transcribe(job.samples))
            } catch {
                text = .failure(error)
            }
            let busy = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            totals.withLock {
                $0.audio += Double(job.samples.count) / Double(sampleRate)
                $0.busy += busy
            }
            job.done(text)
        }
    }

    /// Decodes a final caption waits for come first, taking sessions in turn (the one served
    /// longest ago first), so one session's long upload cannot hold the recognizer while others
    /// wait; speculative ones when nothing else waits.
    private static func take(from s: inout State) -> Job? {
        guard !s.jobs.isEmpty else { return nil }
        let index = DecodeSchedule.next(
            s.jobs.map { .init(connection: $0.key.connection, speculative: $0.speculative) }, served: s.served)
        let job = s.jobs.remove(at: index)
        s.served[job.key.connection] = s.round
        s.round += 1
        if s.served.count > 256 {
            let waiting = Set(s.jobs.map(\.key.connection))
            s.served = s.served.filter { waiting.contains($0.key) }
        }
        return job
    }
}
