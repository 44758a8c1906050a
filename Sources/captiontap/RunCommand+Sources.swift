import CaptionTapCapture
import CaptionTapCore
import CaptionTapSinks
import CaptionTapTransport
import Foundation
import Logging

/// The stages of a run before the pump starts: the shared outputs, the sources, and each
/// source's session and pump.
extension RunCommand {
    /// The backend, the live recognizer, the shared outputs and the status line (nothing but
    /// the sources with `--no-captions`).
    func makeOutputs(logger: Logger) throws(CLIError) -> RunOutputs {
        guard !noCaptions else { return RunOutputs() }
        // One session per source.
        let backend = try makeBackend(logger: logger, sessionsPerSource: max(1, targets.count))
        var outputs = RunOutputs(backend: backend)
        outputs.live = try makeLiveRecognizer(backend, logger: logger)
        outputs.shared = try output.makeSharedFileSinks(logger: logger)
        if let (client, sink) = try obs.connect(lines: output.obsLines, logger: logger) {
            outputs.obs = client
            outputs.shared.append(sink)
        }
        if !noStatus {
            let sessions = outputs.sessions
            outputs.status = StatusLine(
                source: sourceDescription, backend: backend.name, showCost: backend.embedded == nil,
                connected: { sessions.allStreaming })
        }
        return outputs
    }

    /// `--record` and `--events-out` (one source only).
    func openTaps() throws -> RunTaps {
        var taps = RunTaps()
        taps.recorder = try record.map { path in
            try cliCatching { () throws(CaptureError) in try PCM16WavWriter(path: path) }
        }
        taps.events = try eventsOut.map(Self.openEvents)
        return taps
    }

    /// The `--events-out` path opened as it is: a FIFO, a device, `/dev/stdout` or a link are
    /// written to, never replaced by a new file (FileManager's createFile renames one over them);
    /// a regular file is emptied first, one that is missing created.
    static func openEvents(_ path: String) throws(CLIError) -> FileHandle {
        let fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw CLIError.usage("cannot write events file '\(path)': \(String(cString: strerror(errno)))")
        }
        var info = stat()
        if fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG { _ = ftruncate(fd, 0) }
        return FileHandle(fileDescriptor: fd, closeOnDealloc: true)
    }

    /// Starts every capture: JACK, a file, each `--target`, a virtual sink or the default output.
    func startSources(logger: Logger) throws(CLIError) -> [RunSource] {
        if backend == .jack {
            let ring = AudioRing(minimumCapacity: 1 << 19)  // ~5.5 s at 96 kHz, 10.9 s at 48 kHz
            let jack = JackCapture(ring: ring, connectTo: jackConnect, logger: logger)
            try cliCatching { () throws(CaptureError) in try jack.start() }
            return [
                RunSource(
                    input: .ringAtRate(ring, rate: jack.sampleRate), stop: jack.stop, failure: { jack.failure },
                    tend: jack.tend)
            ]
        }
        if let input {
            let reader = try cliCatching { () throws(CaptureError) in try AudioFileReader(path: input) }
            logger.info(
                "reading \(input): \(reader.inputRate) Hz, \(reader.inputChannels) ch, \(String(format: "%.2f", reader.duration)) s"
            )
            return [RunSource(input: .file(reader, pace: pace ?? .fast))]
        }
        if targets.count > 1 {
            var sources: [RunSource] = []
            for target in targets { sources.append(try startPipeWire(.node(target), label: target, logger: logger)) }
            return sources
        }
        let target: CaptureTarget =
            if let target { .node(target) } else if let virtualSink { .virtualSink(name: virtualSink) } else {
                .defaultOutput
            }
        return [try startPipeWire(target, label: nil, logger: logger)]
    }

    private func startPipeWire(_ target: CaptureTarget, label: String?, logger: Logger) throws(CLIError) -> RunSource {
        // ~10.9 s at 24 kHz: the worker can stall that long before audio is dropped.
        let ring = AudioRing(minimumCapacity: 1 << 18)
        let capture = PipeWireCapture(target: target, ring: ring, logger: logger)
        try cliCatching { () throws(CaptureError) in try capture.start() }
        return RunSource(label: label, input: .ring(ring), stop: capture.stop)
    }

    /// One source's session (unless `--no-captions`), with its own line outputs and the shared
    /// ones (labelled when there are several sources), and the pump that feeds it.
    func makeSourceRun(
        _ source: RunSource, outputs: RunOutputs, taps: RunTaps, chunk: ChunkPolicy, stop: StopSignal, logger: Logger
    ) throws(CLIError) -> SourceRun {
        let started = StreamStart()
        var transcription: RealtimeTranscription?
        var own: [CaptionSink] = []
        if let backend = outputs.backend {
            own = try output.makeSinks(
                label: source.label, severalSources: targets.count > 1, live: outputs.live != nil)
            let shared = outputs.shared.map { sink in source.label.map { LabelledSink(sink, label: $0) } ?? sink }
            let sinks = own + shared
            let status = outputs.status
            let prices = session
            // On a live timeline the audio's end is `endMs` after streaming began.
            let liveTimeline = input == nil || pace == .realtime
            let session = try makeTranscription(backend, live: outputs.live, logger: logger, sinks: sinks) { caption in
                for sink in sinks { sink.caption(caption) }
                guard let status, caption.isFinal else { return }
                let delay =
                    liveTimeline
                    ? started.date.map { Date().timeIntervalSince($0) - Double(caption.endMs) / 1000 } : nil
                status.caption(caption, cost: caption.usage.map(prices.cost), delaySeconds: delay)
            }
            session.onBackendChange = { name in status?.setBackend(name) }
            outputs.sessions.add(session)
            transcription = session
        }
        let pump = makePump(
            source, transcription: transcription, taps: taps, status: outputs.status, chunk: chunk, logger: logger
        ) { stop.isStopped }
        return SourceRun(
            source: source, transcription: transcription, sinks: own, pump: pump, started: started,
            closeTaps: taps.close)
    }

    /// The pump's chunks go to the taps, the level meter and the session. A file read fast is
    /// paced by the session's backlog; live capture never waits.
    private func makePump(
        _ source: RunSource, transcription: RealtimeTranscription?, taps: RunTaps, status: StatusLine?,
        chunk: ChunkPolicy, logger: Logger, stopped: @escaping () -> Bool
    ) -> AudioPump {
        let pacing = input != nil ? transcription.map(FilePacing.init) : nil
        return AudioPump(input: source.input, chunk: chunk, logger: logger) { event, pcm in
            taps.write(event: event, pcm: pcm)
            if let status { status.audio(rms: Self.rms(pcm)) }
            if let pacing {
                pacing.handOver(event: event, pcm: pcm, stopped: stopped)
            } else {
                transcription?.audio(event: event, pcm: pcm)
            }
        }
    }
}

/// `--record` and `--events-out`: what the pump of the one source also writes.
struct RunTaps {
    var recorder: PCM16WavWriter?
    var events: FileHandle?

    func write(event: String, pcm: UnsafeRawBufferPointer) {
        recorder?.write(pcm)
        // A full disk or a reader gone: the events stop, the captions go on (`write(_:)` traps).
        if let events { try? events.write(contentsOf: Data((event + "\n").utf8)) }
    }

    func close() throws {
        recorder?.close()
        try events?.close()
    }
}
