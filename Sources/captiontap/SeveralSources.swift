import CaptionTapCapture
import CaptionTapCore
import CaptionTapServer
import CaptionTapSinks
import CaptionTapTransport
import Foundation
import Logging
import Synchronization

/// `--target A --target B`: each source gets its own PipeWire stream, ring, worker and Realtime
/// session, so a loud meeting never delays the microphone's captions; all share the outputs.
extension RunCommand {
    func captureSeveral(logger: Logger, chunk: ChunkPolicy) throws {
        if record != nil || eventsOut != nil || noCaptions {
            throw CLIError.usage(
                "--record, --events-out and --no-captions take one source; several --target values each need a session")
        }
        let backend = try makeBackend(logger: logger, sessionsPerSource: targets.count)
        defer { backend.embedded?.stop() }
        let live = try makeLiveRecognizer(backend, logger: logger)
        var shared = try output.makeSharedFileSinks(logger: logger)
        let obsConnection = try obs.connect(lines: output.obsLines, logger: logger)
        if let (_, sink) = obsConnection { shared.append(sink) }
        let status =
            noStatus
            ? nil
            : StatusLine(
                source: "\(targets.count) sources", backend: backend.name, showCost: backend.embedded == nil,
                connected: { true })

        // Check every target and start every stream before any session: a typo fails fast.
        var sources: [(label: String, capture: PipeWireCapture, ring: AudioRing)] = []
        for target in targets {
            let ring = AudioRing(minimumCapacity: 1 << 18)
            let capture = PipeWireCapture(target: .node(target), ring: ring, logger: logger)
            try cliCatching { () throws(CaptureError) in try capture.start() }
            sources.append((target, capture, ring))
        }
        defer { for source in sources { source.capture.stop() } }

        let stop = StopSignal()
        let signals = SignalHandling.install(stop: stop, logger: logger)
        defer { _ = signals }
        var sessions: [(label: String, transcription: RealtimeTranscription, sinks: [CaptionSink])] = []
        for source in sources {
            var sinks = try output.makeSinks(label: source.label, severalSources: true, live: live != nil)
            sinks += shared.map { LabelledSink($0, label: source.label) as CaptionSink }
            let captionSinks = sinks
            let prices = session
            let transcription = try makeTranscription(backend, live: live, logger: logger, sinks: captionSinks) {
                caption in
                for sink in captionSinks { sink.caption(caption) }
                if caption.isFinal { status?.caption(caption, cost: caption.usage.map(prices.cost), delaySeconds: nil) }
            }
            sessions.append((source.label, transcription, sinks))
        }

        let workers = DispatchGroup()
        for (source, session) in zip(sources, sessions) {
            session.transcription.start()
            let pump = AudioPump(input: .ring(source.ring), chunk: chunk, logger: logger) { event, pcm in
                status?.audio(rms: Self.rms(pcm))
                session.transcription.audio(event: event, pcm: pcm)
            }
            // The pump moves to its thread and is used only there.
            let worker = Worker(pump: pump, transcription: session.transcription, label: source.label)
            let thread = Thread { [duration] in
                worker.pump.run(maxSeconds: duration) { stop.isStopped || worker.transcription.fatalOutcome != nil }
                logger.info(
                    "\(worker.label): captured \(String(format: "%.2f", worker.pump.stats.seconds)) s of audio; dropped \(worker.pump.stats.droppedSamples) samples"
                )
                workers.leave()
            }
            thread.name = "captiontap-worker"
            workers.enter()
            thread.start()
        }
        status?.start()
        workers.wait()
        for source in sources { source.capture.stop() }

        // Drain every session in parallel; report each; fail if any failed.
        let outcomes = Mutex<[RealtimeTranscription.Outcome]>([])
        let drains = DispatchGroup()
        let timeout = session.drainTimeout
        for session in sessions {
            drains.enter()
            let transcription = session.transcription
            Thread {
                let outcome = transcription.finish(timeout: timeout)
                outcomes.withLock { $0.append(outcome) }
                drains.leave()
            }.start()
        }
        drains.wait()
        live?.stop()
        status?.stop()
        for session in sessions {
            for sink in session.sinks where !(sink is LabelledSink) { sink.close() }
            report(
                session.transcription.statistics, embedded: backend.embedded != nil, logger: logger,
                label: session.label)
        }
        if let live {
            reportLive(
                live, seconds: sessions.map { $0.transcription.statistics.audioSecondsSent }.max() ?? 0, logger: logger)
        }
        for sink in shared { sink.close() }
        if let (client, _) = obsConnection {
            client.finish(timeout: 2)
            logger.info("\(OBSOptions.summary(client.statistics, textSource: obs.obsTextSource))")
        }
        for outcome in outcomes.withLock({ $0 }) { try check(outcome) }
    }
}

private struct Worker: @unchecked Sendable {
    let pump: AudioPump
    let transcription: RealtimeTranscription
    let label: String
}

/// One shared file output (SRT, WebVTT, OBS text) seen from one source: calls are serialized
/// (each source's captions arrive on its own session thread) and the text says whose it is.
final class LabelledSink: CaptionSink, @unchecked Sendable {
    private static let lock = NSLock()
    let inner: CaptionSink
    let label: String

    init(_ inner: CaptionSink, label: String) {
        self.inner = inner
        self.label = label
    }

    func caption(_ caption: Caption) {
        var labelled = caption
        // Item ids are per session: make them unique across sources (the overlay keys partials on them).
        labelled.itemID = label + ":" + caption.itemID
        if !CaptionFormat.singleLine(caption.text).isEmpty {
            labelled.text = CaptionFormat.textLine(caption.text, source: label)
        }
        Self.lock.withLock { inner.caption(labelled) }
    }

    func lost(_ turn: LostTurn) {
        var labelled = turn
        labelled.itemID = label + ":" + turn.itemID
        Self.lock.withLock { inner.lost(labelled) }
    }

    var showsPartials: Bool { inner.showsPartials }

    /// The shared sink is closed once, by its owner.
    func close() {}
}
