import ArgumentParser
import CaptionTapCapture
import CaptionTapCore
import CaptionTapSinks
import CaptionTapTransport
import Foundation
import Logging

extension AudioInput.Pace: ExpressibleByArgument {}

/// `captiontap run`: capture, chunk and encode audio for the Realtime session.
struct RunCommand: ParsableCommand {
    static let defaultVirtualSinkName = "CaptionTap"

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

    @Option(help: ArgumentHelp("Capture one node by node.name or serial: a sink (its monitor), a source, or an app stream (see 'captiontap devices').", valueName: "node"))
    var target: String?

    @Option(name: .customLong("virtual-sink"), help: ArgumentHelp("Create a sink called NAME (default \(defaultVirtualSinkName)) to route apps to; captioned and passed through to the default output.", valueName: "name"))
    var virtualSink: String?

    @Option(help: ArgumentHelp("Caption an audio file (WAV, FLAC, OGG, ...) instead of live audio; needs no PipeWire.", valueName: "file"))
    var input: String?

    @Option(help: "How fast to feed --input: fast or realtime (default fast).")
    var pace: AudioInput.Pace?

    @Option(help: ArgumentHelp("Also write the exact 24 kHz mono PCM16 that is streamed to a WAV file.", valueName: "file.wav"))
    var record: String?

    @Option(name: .customLong("chunk-ms"), help: "Audio per append event in milliseconds (20–500).")
    var chunkMs = 100

    @Option(help: ArgumentHelp("Stop after this many seconds of audio.", valueName: "seconds"))
    var duration: Double?

    @Option(name: .customLong("events-out"), help: ArgumentHelp("Write every append event as a JSON line to this file (debugging).", valueName: "file"))
    var eventsOut: String?

    @Flag(name: .customLong("no-captions"), help: "Capture (and --record) only; connect to no backend.")
    var noCaptions = false

    func validate() throws {
        let sources = [target != nil, virtualSink != nil, input != nil].filter { $0 }.count
        if sources > 1 { throw ValidationError("choose one source: --target, --virtual-sink or --input") }
        if pace != nil && input == nil { throw ValidationError("--pace applies to --input files only") }
        if let duration, !(duration > 0) { throw ValidationError("--duration must be a positive number of seconds") }
        if virtualSink?.isEmpty == true { throw ValidationError("--virtual-sink name must not be empty") }
        do { _ = try ChunkPolicy(milliseconds: chunkMs) } catch { throw ValidationError(error.description) }
    }

    func run() throws {
        let logger = global.bootstrapLogging()
        let chunk = try! ChunkPolicy(milliseconds: chunkMs)
        if noCaptions && record == nil && eventsOut == nil {
            throw CLIError.usage("--no-captions needs --record FILE.wav or --events-out FILE, or nothing is produced")
        }

        // Everything that can be wrong with the command line is checked before capture starts.
        var transcriptionSetup: RealtimeTranscription?
        var sinks: [CaptionSink] = []
        if !noCaptions {
            let key = try session.apiKey { logger.warning("\($0)") }
            let endpoint = session.endpoint()
            if key == nil && session.url == SessionOptions.defaultURL {
                throw CLIError.usage(
                    "no API key: set OPENAI_API_KEY or pass --api-key-file FILE, or use --url ws://HOST:PORT/v1/realtime for a local Realtime backend")
            }
            sinks = try output.makeSinks()
            var config = OutOfBandTranscriber.Config(session: try session.sessionConfig())
            config.replayLimitSeconds = 120
            var options = RealtimeTranscription.Options(endpoint: endpoint, apiKey: key, transcriber: config)
            options.rotateAfterSeconds = session.sessionMaxMinutes * 60
            options.connectTimeoutSeconds = session.drainTimeout
            options.promptPartials = sinks.contains { $0.showsPartials }
            let captionSinks = sinks
            transcriptionSetup = RealtimeTranscription(options: options, logger: logger) { caption in
                for sink in captionSinks { sink.caption(caption) }
            }
            logger.info("transcribing with \(endpoint.hostHeader) (out-of-band, context \(session.context))")
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
        if let input {
            let reader = try cliCatching { () throws(CaptureError) in try AudioFileReader(path: input) }
            logger.info("reading \(input): \(reader.inputRate) Hz, \(reader.inputChannels) ch, \(String(format: "%.2f", reader.duration)) s")
            audioInput = .file(reader, pace: pace ?? .fast)
        } else {
            let target: CaptureTarget =
                if let target { .node(target) } else if let virtualSink { .virtualSink(name: virtualSink) } else { .defaultOutput }
            // ~10.9 s at 24 kHz: the worker can stall that long before audio is dropped.
            let ring = AudioRing(minimumCapacity: 1 << 18)
            let live = PipeWireCapture(target: target, ring: ring, logger: logger)
            try cliCatching { () throws(CaptureError) in try live.start() }
            capture = live
            audioInput = .ring(ring)
        }
        transcription?.start()

        // A file read fast must neither outrun the socket by an hour of queued audio nor read past
        // the replay buffer while disconnected; live capture never waits.
        // A file also hands its chunks over in runs of up to 16, waking the session worker once
        // per run instead of once per chunk; live audio wakes it for every chunk.
        let throttle = input != nil
        var unwoken = 0
        let pump = AudioPump(input: audioInput, chunk: chunk, logger: logger) { event, pcm in
            recorder?.write(pcm)
            if let events { events.write(Data((event + "\n").utf8)) }
            guard let transcription else { return }
            transcription.audio(event: event, pcm: pcm, wake: !throttle)
            guard throttle else { return }
            unwoken += 1
            if unwoken >= 16 {
                transcription.wakeForAudio()
                unwoken = 0
            }
            // Up to 64 messages ahead of the socket; once there, wait until only 32 are left, so
            // the pump and the worker run in bursts instead of a chunk per 2 ms.
            guard transcription.backlog > 64 || !transcription.isStreaming else { return }
            if unwoken > 0 {
                transcription.wakeForAudio()
                unwoken = 0
            }
            while (transcription.backlog > 32 || !transcription.isStreaming)
                && !stop.isStopped && transcription.fatalOutcome == nil
            {
                usleep(3_000)
            }
        }
        pump.run(maxSeconds: duration) { stop.isStopped || transcription?.fatalOutcome != nil }
        transcription?.wakeForAudio()
        capture?.stop()
        recorder?.close()
        try events?.close()
        let stats = pump.stats
        logger.info(
            "captured \(String(format: "%.2f", stats.seconds)) s of audio in \(stats.chunks) chunks; dropped \(stats.droppedSamples) samples")

        guard let transcription else { return }
        let outcome = transcription.finish(timeout: session.drainTimeout)
        for sink in sinks { sink.close() }
        for case let fifo as FIFOSink in sinks where fifo.droppedLines > 0 {
            logger.info("FIFO \(fifo.path): \(fifo.droppedLines) captions dropped while no reader was attached or it was full")
        }
        let s = transcription.statistics
        let cost = session.cost(s.usage)
        logger.info(
            "sent \(String(format: "%.1f", s.audioSecondsSent)) s of audio; \(s.turns) turns; tokens in \(s.usage.inputTokens) (audio \(s.usage.inputAudioTokens)), out \(s.usage.outputTokens); estimated cost $\(String(format: "%.4f", cost))")
        if !s.commitToFinal.isEmpty {
            let sorted = s.commitToFinal.sorted()
            logger.info(
                "commit to final caption: median \(String(format: "%.1f", sorted[sorted.count / 2] * 1000)) ms, max \(String(format: "%.1f", sorted.last! * 1000)) ms over \(sorted.count) turns")
        }
        switch outcome {
        case .drained:
            break
        case .timedOut(let pending):
            throw CLIError.failure("\(pending) transcripts still outstanding after --drain-timeout \(session.drainTimeout) s")
        case .fatal(let message):
            throw CLIError.failure(message)
        }
    }
}

/// Turns a capture error into the CLI's one-line error with the right exit code.
func cliCatching<T>(_ body: () throws(CaptureError) -> T) throws(CLIError) -> T {
    do {
        return try body()
    } catch {
        throw CLIError(message: error.description, exitCode: error.isUsageError ? 2 : 1)
    }
}

/// SIGINT/SIGTERM end the run cleanly; a second SIGINT exits at once.
enum SignalHandling {
    static func install(stop: StopSignal, logger: Logger) -> [DispatchSourceSignal] {
        [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                if stop.isStopped && number == SIGINT {
                    logger.warning("second interrupt: exiting now")
                    exit(130)
                }
                stop.stop()
            }
            source.resume()
            return source
        }
    }
}
