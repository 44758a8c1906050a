import CaptionTapCapture
import CaptionTapCore
import CaptionTapOverlay
import CaptionTapSinks
import CaptionTapTransport
import Foundation
import Logging
import Synchronization

/// What every source of a run shares: the backend, the live recognizer, the outputs that exist
/// once however many sources there are (subtitle files, OBS, the overlay) and the status line.
struct RunOutputs {
    /// nil with `--no-captions`.
    var backend: RunCommand.Backend?
    var live: PartialRecognizer?
    var shared: [CaptionSink] = []
    var obs: OBSClient?
    var status: StatusLine?
    /// Every source's session, for the status line's connection dot.
    let sessions = SessionList()
}

/// Where one source's audio comes from and how its capture ends.
struct RunSource {
    /// The node captions are labelled with when there are several sources.
    var label: String?
    var input: AudioInput
    /// Stops the capture (idempotent).
    var stop: () -> Void = {}
    /// Why the capture ended early (the JACK server went away), if it did.
    var failure: () -> String? = { nil }
    /// Upkeep between chunks, on the worker (JACK: link a source that came back).
    var tend: () -> Void = {}
}

/// One source during a run: its pump feeds its session (and `--record`/`--events-out`), its
/// captions go to its own line outputs and the shared ones.
final class SourceRun: @unchecked Sendable {
    let source: RunSource
    let transcription: RealtimeTranscription?
    /// The line outputs (stdout, FIFO) this source owns and closes.
    let sinks: [CaptionSink]
    let pump: AudioPump
    /// Closes what the pump wrote besides the session (`--record`, `--events-out`).
    let closeTaps: () throws -> Void
    /// When its audio began to stream: a live timeline's caption delay is measured from here.
    let started: StreamStart

    init(
        source: RunSource, transcription: RealtimeTranscription?, sinks: [CaptionSink], pump: AudioPump,
        started: StreamStart, closeTaps: @escaping () throws -> Void
    ) {
        self.source = source
        self.transcription = transcription
        self.sinks = sinks
        self.pump = pump
        self.started = started
        self.closeTaps = closeTaps
    }

    /// Pumps until the audio ends, `--duration` is reached, the run is stopped or the source
    /// or its session fails; then stops the capture.
    func pumpAudio(maxSeconds: Double?, stop: StopSignal, logger: Logger) throws {
        started.mark()
        pump.run(maxSeconds: maxSeconds) {
            source.tend()
            return stop.isStopped || transcription?.fatalOutcome != nil || source.failure() != nil
        }
        transcription?.wakeForAudio()
        source.stop()
        try closeTaps()
        let stats = pump.stats
        logger.info(
            "\(source.label.map { "\($0): " } ?? "")captured \(String(format: "%.2f", stats.seconds)) s of audio in \(stats.chunks) chunks; dropped \(stats.droppedSamples) samples"
        )
    }
}

/// When a source's audio began to stream: set by its worker, read by its caption thread.
final class StreamStart: Sendable {
    private let value = Mutex<Date?>(nil)
    func mark() { value.withLock { $0 = Date() } }
    var date: Date? { value.withLock { $0 } }
}

/// The sessions of a run, registered as they are made and read by the status line's thread.
final class SessionList: Sendable {
    private let sessions = Mutex<[RealtimeTranscription]>([])
    func add(_ session: RealtimeTranscription) { sessions.withLock { $0.append(session) } }
    /// Every session is streaming (false before the first exists).
    var allStreaming: Bool { sessions.withLock { !$0.isEmpty && $0.allSatisfy(\.isStreaming) } }
}

/// One run, for one source or several: outputs → sources → pump → drain → report.
/// `RunCommand.capture` builds the outputs and the sources; this runs the rest.
struct RunLifecycle {
    let command: RunCommand
    let outputs: RunOutputs
    let runs: [SourceRun]
    let logger: Logger

    /// Streams every source on a thread of its own (a loud meeting never delays the microphone)
    /// until all have ended.
    func pump(maxSeconds: Double?, stop: StopSignal) throws {
        for run in runs { run.transcription?.start() }
        logger.debug("streaming audio")
        outputs.status?.start()
        let failures = Mutex<[Error]>([])
        let workers = DispatchGroup()
        for run in runs {
            workers.enter()
            let logger = logger
            let thread = Thread {
                do { try run.pumpAudio(maxSeconds: maxSeconds, stop: stop, logger: logger) } catch {
                    failures.withLock { $0.append(error) }
                }
                workers.leave()
            }
            thread.name = "captiontap-worker"
            thread.start()
        }
        workers.wait()
        if let failure = failures.withLock({ $0.first }) { throw failure }
    }

    /// Waits for every outstanding transcript, closes the outputs, reports, and throws if a
    /// session or a capture failed (after every caption that could be given was given).
    func finish(drainTimeout: Double) throws {
        let outcomes = drain(timeout: drainTimeout)
        outputs.live?.stop()
        outputs.status?.stop()
        let sinks = runs.flatMap(\.sinks) + outputs.shared
        for sink in sinks { sink.close() }
        if let obs = outputs.obs {
            obs.finish(timeout: 2)
            logger.info("\(OBSOptions.summary(obs.statistics, textSource: command.obs.obsTextSource))")
        }
        reportDrops(sinks)
        let embedded = outputs.backend?.embedded != nil
        for run in runs {
            guard let transcription = run.transcription else { continue }
            command.report(transcription.statistics, embedded: embedded, logger: logger, label: run.source.label)
        }
        if let live = outputs.live {
            let seconds = runs.compactMap { $0.transcription?.statistics.audioSecondsSent }.max() ?? 0
            command.reportLive(live, seconds: seconds, logger: logger)
        }
        for outcome in outcomes { try command.check(outcome) }
        if let failure = runs.lazy.compactMap({ $0.source.failure() }).first { throw CLIError.failure(failure) }
    }

    /// Drains every session in parallel: each may wait up to `timeout` for its transcripts.
    private func drain(timeout: Double) -> [RealtimeTranscription.Outcome] {
        let outcomes = Mutex<[RealtimeTranscription.Outcome]>([])
        let drains = DispatchGroup()
        for case let transcription? in runs.map(\.transcription) {
            drains.enter()
            Thread {
                let outcome = transcription.finish(timeout: timeout)
                outcomes.withLock { $0.append(outcome) }
                drains.leave()
            }.start()
        }
        drains.wait()
        return outcomes.withLock { $0 }
    }

    /// Captions outputs had to drop, once at the end.
    private func reportDrops(_ sinks: [CaptionSink]) {
        for case let fifo as FIFOSink in sinks where fifo.droppedLines > 0 {
            logger.info(
                "FIFO \(fifo.path): \(fifo.droppedLines) captions dropped while no reader was attached or it was full")
        }
        for case let overlay as OverlaySink in sinks where overlay.droppedPages > 0 {
            logger.info(
                "overlay: \(overlay.droppedPages) pages dropped for falling \(OverlaySink.maxQueuedMessages) captions behind"
            )
        }
    }
}
