import ArgumentParser
import CaptionTapCapture
import CaptionTapCore
import CaptionTapOverlay
import CaptionTapServer
import CaptionTapSinks
import CaptionTapTransport
import Foundation
import Logging
import Synchronization

extension AudioInput.Pace: ExpressibleByArgument {}

/// `captiontap run`: capture, chunk and encode audio for the Realtime session.
struct RunCommand: ParsableCommand {
    static let defaultVirtualSinkName = "CaptionTap"
    /// The longest `--duration` accepted: a year of audio.
    static let maxDuration: Double = 365 * 24 * 3600

    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Capture audio and caption it (the default subcommand).",
        discussion: """
            With no source option, captures the monitor of the default sink: everything the \
            machine plays. Stop with Ctrl-C.
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup(title: "Transcription") var session: SessionOptions
    @OptionGroup(title: "Captions") var output: OutputOptions
    @OptionGroup(title: "OBS (obs-websocket 5)") var obs: OBSOptions
    @OptionGroup(title: "Embedded backend (used when there is no API key and no --url)") var recognizer:
        RecognizerOptions

    @Option(
        name: .customLong("target"),
        help: ArgumentHelp(
            "Capture one node by node.name or serial: a sink (its monitor), a source, or an app stream (see 'captiontap devices'). Repeat for several sources at once: each gets its own stream, ring and session, and its captions are labelled with the node's name.",
            valueName: "node"))
    var targets: [String] = []

    /// The single target (the config file's `target`); several come only from repeated flags.
    var target: String? {
        get { targets.first }
        set { targets = newValue.map { [$0] } ?? [] }
    }

    @Option(
        name: .customLong("virtual-sink"),
        help: ArgumentHelp(
            "Create a sink called NAME (default \(defaultVirtualSinkName)) to route apps to; captioned and passed through to the default output.",
            valueName: "name"))
    var virtualSink: String?

    @Option(
        help: ArgumentHelp(
            "Caption an audio file (WAV, FLAC, OGG, ...) instead of live audio; needs no PipeWire.", valueName: "file"))
    var input: String?

    @Option(help: "Capture backend: pipewire, or jack (JACK2, or PipeWire's JACK layer through pw-jack).")
    var backend: CaptureBackend = .pipewire

    @Option(
        name: .customLong("jack-connect"),
        help: ArgumentHelp(
            "With --backend jack: connect this JACK output port to captiontap:input (repeatable; see jack_lsp).",
            valueName: "port"))
    var jackConnect: [String] = []

    @Option(help: "How fast to feed --input: fast or realtime (default fast).")
    var pace: AudioInput.Pace?

    @Option(
        help: ArgumentHelp(
            "Also write the exact 24 kHz mono PCM16 that is streamed to a WAV file.", valueName: "file.wav"))
    var record: String?

    @Option(name: .customLong("chunk-ms"), help: "Audio per append event in milliseconds (20–500).")
    var chunkMs = 100

    @Option(help: ArgumentHelp("Stop after this many seconds of audio.", valueName: "seconds"))
    var duration: Double?

    @Option(
        name: .customLong("events-out"),
        help: ArgumentHelp("Write every append event as a JSON line to this file (debugging).", valueName: "file"))
    var eventsOut: String?

    @Flag(name: .customLong("no-captions"), help: "Capture (and --record) only; connect to no backend.")
    var noCaptions = false

    @Flag(
        name: .customLong("no-status"),
        help: "No status line at the bottom of the terminal (drawn only when stderr is a terminal).")
    var noStatus = false

    @Option(
        name: .customLong("config"),
        help: ArgumentHelp(
            "Read this config file (and FILE.d/*.conf drop-ins) instead of captiontap.conf from PipeWire's config path.",
            valueName: "file"))
    var configFile: String?

    @Flag(
        name: .customLong("print-config"),
        help: "Print the effective configuration (defaults, config files, flags) and exit.")
    var printConfig = false

    func validate() throws {
        let sources = [target != nil, virtualSink != nil, input != nil].filter { $0 }.count
        if sources > 1 { throw ValidationError("choose one source: --target (repeatable), --virtual-sink or --input") }
        if Set(targets).count != targets.count { throw ValidationError("the same --target is given twice") }
        if backend == .jack && sources > 0 {
            throw ValidationError(
                "--backend jack captures its own input port: use --jack-connect PORT instead of --target, --virtual-sink or --input"
            )
        }
        if !jackConnect.isEmpty && backend != .jack { throw ValidationError("--jack-connect needs --backend jack") }
        if let duration, !(duration > 0 && duration <= Self.maxDuration) {
            throw ValidationError(
                "--duration must be a number of seconds above 0 and at most \(Int(Self.maxDuration)) (a year)")
        }
        if virtualSink?.isEmpty == true { throw ValidationError("--virtual-sink name must not be empty") }
        do { _ = try ChunkPolicy(milliseconds: chunkMs) } catch { throw ValidationError(error.description) }
    }

    /// What the status line calls the source.
    private var sourceDescription: String {
        if let input { return URL(fileURLWithPath: input).lastPathComponent }
        if backend == .jack { return "JACK \(jackConnect.first ?? "captiontap:input")" }
        if let target { return "target \(target)" }
        if let virtualSink { return "sink \(virtualSink)" }
        return "default output"
    }

    /// RMS of little-endian PCM16.
    static func rms(_ pcm: UnsafeRawBufferPointer) -> Float {
        let samples = PCM16.floats(pcm)
        guard !samples.isEmpty else { return 0 }
        return (samples.reduce(0) { $0 + $1 * $1 } / Float(samples.count)).squareRoot()
    }

    /// Applies captiontap.conf (flags win), then runs.
    func run() throws {
        let config = try CaptionTapConfig.load(explicit: configFile)
        let given = CaptionTapConfig.givenOnCommandLine(CommandLine.arguments.dropFirst())
        var command = self
        config.apply(to: &command, given: given)
        // The flags were checked when parsed; the merged result is checked again, so a value from
        // a file meets the same rules (and a file cannot combine with a flag into a conflict).
        if !config.settings.isEmpty {
            do {
                try command.validate()
                try command.session.validate()
                try command.output.validate()
                try command.obs.validate()
            } catch let error as ValidationError {
                throw CLIError.usage("\(error.message) (with \(config.files.joined(separator: ", ")) applied)")
            }
        }
        if given.contains("pace") && command.input == nil {
            throw CLIError.usage("--pace applies to --input files only")
        }
        if command.input == nil { command.pace = nil }  // a config file's pace is for files only
        if printConfig {
            let key = (try? command.session.apiKey { _ in }) ?? nil
            print(config.render(command, given: given, apiKey: key == nil ? "null" : "\"(set, redacted)\""))
            return
        }
        try command.capture()
    }

    private func capture() throws {
        let logger = global.bootstrapLogging()
        let chunk = try! ChunkPolicy(milliseconds: chunkMs)
        if noCaptions && record == nil && eventsOut == nil {
            throw CLIError.usage("--no-captions needs --record FILE.wav or --events-out FILE, or nothing is produced")
        }

        // Everything that can be wrong with the command line is checked before capture starts.
        var transcriptionSetup: RealtimeTranscription?
        var sinks: [CaptionSink] = []
        var embedded: RealtimeServer?
        defer { embedded?.stop() }
        var obsClient: OBSClient?
        var status: StatusLine?
        var live: PartialRecognizer?
        let streamState = StreamState()
        if targets.count > 1 {
            return try captureSeveral(logger: logger, chunk: chunk)
        }
        if !noCaptions {
            let backend = try makeBackend(logger: logger)
            embedded = backend.embedded
            live = try makeLiveRecognizer(backend, logger: logger)
            sinks = try output.makeSinks(logger: logger, live: live != nil)
            if let (client, sink) = try obs.connect(lines: output.obsLines, logger: logger) {
                obsClient = client
                sinks.append(sink)
            }
            let captionSinks = sinks
            let liveTimeline = input == nil || pace == .realtime
            let prices = session
            let statusLine =
                noStatus
                ? nil
                : StatusLine(
                    source: sourceDescription, backend: backend.name,
                    showCost: embedded == nil, connected: { [streamState] in streamState.value?.isStreaming ?? false })
            status = statusLine
            transcriptionSetup = try makeTranscription(backend, live: live, logger: logger, sinks: captionSinks) {
                [streamState] caption in
                for sink in captionSinks { sink.caption(caption) }
                guard let statusLine, caption.isFinal else { return }
                // On a live timeline the audio's end is `endMs` after streaming began.
                let delay =
                    liveTimeline
                    ? streamState.started.map { Date().timeIntervalSince($0) - Double(caption.endMs) / 1000 } : nil
                statusLine.caption(caption, cost: caption.usage.map(prices.cost), delaySeconds: delay)
            }
            transcriptionSetup?.onBackendChange = { [statusLine] name in statusLine?.setBackend(name) }
            streamState.value = transcriptionSetup
        }

        let transcription = transcriptionSetup
        let stop = StopSignal()
        let signals = SignalHandling.install(stop: stop, logger: logger)
        defer { _ = signals }

        let recorder = try record.map { path in
            try cliCatching { () throws(CaptureError) in try PCM16WavWriter(path: path) }
        }
        let events = try eventsOut.map { path -> FileHandle in
            guard FileManager.default.createFile(atPath: path, contents: nil),
                let handle = FileHandle(forWritingAtPath: path)
            else { throw CLIError.usage("cannot write events file '\(path)'") }
            return handle
        }

        let audioInput: AudioInput
        var capture: PipeWireCapture?
        var jack: JackCapture?
        if backend == .jack {
            let ring = AudioRing(minimumCapacity: 1 << 19)  // ~5.5 s at 96 kHz, 10.9 s at 48 kHz
            let live = JackCapture(ring: ring, connectTo: jackConnect, logger: logger)
            try cliCatching { () throws(CaptureError) in try live.start() }
            jack = live
            audioInput = .ringAtRate(ring, rate: live.sampleRate)
        } else if let input {
            let reader = try cliCatching { () throws(CaptureError) in try AudioFileReader(path: input) }
            logger.info(
                "reading \(input): \(reader.inputRate) Hz, \(reader.inputChannels) ch, \(String(format: "%.2f", reader.duration)) s"
            )
            audioInput = .file(reader, pace: pace ?? .fast)
        } else {
            let target: CaptureTarget =
                if let target { .node(target) } else if let virtualSink { .virtualSink(name: virtualSink) } else {
                    .defaultOutput
                }
            // ~10.9 s at 24 kHz: the worker can stall that long before audio is dropped.
            let ring = AudioRing(minimumCapacity: 1 << 18)
            let live = PipeWireCapture(target: target, ring: ring, logger: logger)
            try cliCatching { () throws(CaptureError) in try live.start() }
            capture = live
            audioInput = .ring(ring)
        }
        transcription?.start()

        // A file read fast is paced by the session's backlog; live capture never waits.
        let pacing = input != nil ? transcription.map(FilePacing.init) : nil
        let pump = AudioPump(input: audioInput, chunk: chunk, logger: logger) { event, pcm in
            recorder?.write(pcm)
            if let status { status.audio(rms: Self.rms(pcm)) }
            if let events { events.write(Data((event + "\n").utf8)) }
            if let pacing {
                pacing.handOver(event: event, pcm: pcm) { stop.isStopped }
            } else {
                transcription?.audio(event: event, pcm: pcm)
            }
        }
        logger.debug("streaming audio")
        streamState.started = Date()
        status?.start()
        pump.run(maxSeconds: duration) { stop.isStopped || transcription?.fatalOutcome != nil || jack?.failure != nil }
        let captureFailure = jack?.failure
        transcription?.wakeForAudio()
        capture?.stop()
        jack?.stop()
        recorder?.close()
        try events?.close()
        let stats = pump.stats
        logger.info(
            "captured \(String(format: "%.2f", stats.seconds)) s of audio in \(stats.chunks) chunks; dropped \(stats.droppedSamples) samples"
        )

        guard let transcription else {
            if let captureFailure { throw CLIError.failure(captureFailure) }
            return
        }
        let outcome = transcription.finish(timeout: session.drainTimeout)
        live?.stop()
        status?.stop()
        for sink in sinks { sink.close() }
        if let obsClient {
            obsClient.finish(timeout: 2)
            logger.info("\(OBSOptions.summary(obsClient.statistics, textSource: obs.obsTextSource))")
        }
        for case let fifo as FIFOSink in sinks where fifo.droppedLines > 0 {
            logger.info(
                "FIFO \(fifo.path): \(fifo.droppedLines) captions dropped while no reader was attached or it was full")
        }
        for case let overlay as OverlaySink in sinks where overlay.droppedPages > 0 {
            logger.info(
                "overlay: \(overlay.droppedPages) pages dropped for falling \(OverlaySink.maxQueuedMessages) captions behind"
            )
        }
        report(transcription.statistics, embedded: embedded != nil, logger: logger)
        if let live { reportLive(live, seconds: transcription.statistics.audioSecondsSent, logger: logger) }
        try check(outcome)
        // Captions of what was captured are out; then say why capture ended early.
        if let captureFailure { throw CLIError.failure(captureFailure) }
    }
}
