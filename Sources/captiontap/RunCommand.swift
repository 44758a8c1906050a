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
            "With --backend jack: connect this JACK output port to captiontap:input (repeatable, up to 8: one input port each, averaged; see jack_lsp).",
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
        if jackConnect.count > JackRTState.maxPorts {
            throw ValidationError(
                "--jack-connect is given more than \(JackRTState.maxPorts) times (one input port each)")
        }
        if Set(jackConnect).count != jackConnect.count {
            throw ValidationError("the same --jack-connect is given twice")
        }
        if let duration, !(duration > 0 && duration <= Self.maxDuration) {
            throw ValidationError(
                "--duration must be a number of seconds above 0 and at most \(Int(Self.maxDuration)) (a year)")
        }
        if virtualSink?.isEmpty == true { throw ValidationError("--virtual-sink name must not be empty") }
        do { _ = try ChunkPolicy(milliseconds: chunkMs) } catch { throw ValidationError(error.description) }
    }

    /// What the status line calls the source.
    var sourceDescription: String {
        if targets.count > 1 { return "\(targets.count) sources" }
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

    /// One source or several, the same way: outputs → sources → pump → drain → report.
    private func capture() throws {
        let logger = global.bootstrapLogging()
        if noCaptions && record == nil && eventsOut == nil {
            throw CLIError.usage("--no-captions needs --record FILE.wav or --events-out FILE, or nothing is produced")
        }
        if targets.count > 1 && (record != nil || eventsOut != nil || noCaptions) {
            throw CLIError.usage(
                "--record, --events-out and --no-captions take one source; several --target values each need a session")
        }
        let chunk = try! ChunkPolicy(milliseconds: chunkMs)
        // Everything that can be wrong with the command line is checked before capture starts.
        let outputs = try makeOutputs(logger: logger)
        defer { outputs.backend?.embedded?.stop() }
        let taps = try openTaps()
        // Every source starts before any session: a mistyped target fails fast.
        let sources = try startSources(logger: logger)
        defer { for source in sources { source.stop() } }
        let stop = StopSignal()
        let signals = SignalHandling.install(stop: stop, logger: logger)
        defer { _ = signals }
        var runs: [SourceRun] = []
        for source in sources {
            runs.append(
                try makeSourceRun(source, outputs: outputs, taps: taps, chunk: chunk, stop: stop, logger: logger))
        }
        let lifecycle = RunLifecycle(command: self, outputs: outputs, runs: runs, logger: logger)
        try lifecycle.pump(maxSeconds: duration, stop: stop)
        try lifecycle.finish(drainTimeout: session.drainTimeout)
    }
}
