import CaptionTapCore
import CaptionTapServerCore
import Foundation
import Synchronization

/// The one recognizer is shared by every session: decodes run one at a time on a dedicated
/// thread, in the order ``DecodeSchedule`` picks (finals first, sessions taking turns). A decode
/// cancelled before it starts is skipped (a speculative decode made stale by speech resuming);
/// one already running finishes and its result is ignored.
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

    private let engine: SpeechEngine
    private let state = Mutex<(jobs: [Job], stopped: Bool)>(([], false))
    private let available = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    /// Seconds of audio decoded and seconds spent, for the real-time factor in logs.
    private let totals = Mutex<(audio: Double, busy: Double)>((0, 0))

    init(engine: SpeechEngine, sampleRate: Int) {
        self.engine = engine
        let t = Thread { [self] in run(sampleRate: sampleRate) }
        t.name = "captiontap-decode"
        t.start()
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
        available.signal()
        finished.wait()
    }

    // Decode-thread state: when each connection was last served.
    private var served: [Int: Int] = [:]
    private var round = 0

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
                // Decodes a final caption waits for come first, taking sessions in turn (the one
                // served longest ago first), so one session's long upload cannot hold the
                // recognizer while others wait; speculative ones when idle.
                guard !s.jobs.isEmpty else { return .none }
                let index = DecodeSchedule.next(
                    s.jobs.map { .init(connection: $0.key.connection, speculative: $0.speculative) }, served: served)
                let job = s.jobs.remove(at: index)
                served[job.key.connection] = round
                round += 1
                if served.count > 256 {
                    served = served.filter { entry in s.jobs.contains { $0.key.connection == entry.key } }
                }
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
}
