import ArgumentParser
import CaptionTapCapture
import CaptionTapServer
import CaptionTapTransport
import Foundation
import Logging

/// `captiontap serve`: the embedded offline backend as a Realtime-compatible WebSocket server.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the embedded offline recognizer as a Realtime-compatible WebSocket server.",
        discussion: """
            Speaks the OpenAI Realtime protocol at ws://HOST:PORT/v1/realtime with Silero VAD and \
            Moonshine base-en: realtime sessions, and transcription sessions (?intent=transcription, \
            GA or the beta transcription_session flow) for speech-to-text clients. Point a client's \
            base URL at http://HOST:PORT/v1 with any key. GET /healthz and /metrics for operators. \
            Prints its URL on stdout once listening. Stop with Ctrl-C.
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup(title: "Recognizer") var recognizer: RecognizerOptions

    @Option(help: "Address to listen on; anything but loopback needs --api-key-file.")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on (0 picks a free one).")
    var port = 8765

    @Option(name: .customLong("max-sessions"), help: "Sessions served at once; more are refused with an error event.")
    var maxSessions = 4

    @Option(
        name: .customLong("decode-threads"),
        help: "Decodes run at once, each on one core (1–16; default 2 on two or more cores, else 1).")
    var decodeThreads: Int?

    @Option(
        name: .customLong("api-key-file"),
        help: ArgumentHelp(
            "A file holding the key clients must send as 'Authorization: Bearer KEY'.", valueName: "file"))
    var apiKeyFile: String?

    @Option(
        name: .customLong("allow-origin"),
        help: ArgumentHelp(
            "A web page origin (scheme://host[:port]) allowed to connect; repeatable. Browser pages are refused otherwise; other clients send no Origin and are not affected.",
            valueName: "origin"))
    var allowOrigin: [String] = []

    func validate() throws {
        for origin in allowOrigin
        where !(origin.hasPrefix("http://") || origin.hasPrefix("https://")) || origin.count > 256 {
            throw ValidationError(
                "--allow-origin '\(origin.prefix(64))' must be an origin like https://example.org or http://localhost:3000"
            )
        }
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0…65535") }
        guard (1...256).contains(maxSessions) else { throw ValidationError("--max-sessions must be 1–256") }
        if let decodeThreads, !(1...16).contains(decodeThreads) {
            throw ValidationError("--decode-threads must be 1–16")
        }
        let loopback = WebSocketServer.isLoopback(host)
        if !loopback && apiKeyFile == nil {
            throw ValidationError(
                "listening on \(host) (not loopback) needs --api-key-file FILE: clients must then send its key as a bearer token"
            )
        }
    }

    func run() throws {
        let logger = global.bootstrapLogging()
        var token: String?
        if let apiKeyFile {
            guard let text = try? String(contentsOfFile: apiKeyFile, encoding: .utf8) else {
                throw CLIError.usage("cannot read --api-key-file '\(apiKeyFile)'")
            }
            token = text.trimmingCharacters(in: .whitespacesAndNewlines)
            if token!.isEmpty { throw CLIError.usage("--api-key-file '\(apiKeyFile)' is empty") }
        }
        let engine = try recognizer.engine(logger: logger, essential: true)
        var config = RealtimeServer.Configuration()
        config.host = host
        config.port = port
        config.maxSessions = maxSessions
        if let decodeThreads { config.decodeThreads = decodeThreads }
        config.bearerToken = token
        config.allowedOrigins = allowOrigin
        let server = RealtimeServer(
            configuration: config, engine: engine, sampleRate: RecognizerOptions.sampleRate, logger: logger)
        do {
            try server.start()
        } catch {
            throw CLIError.failure(error.description)
        }
        logger.info(
            "serving \(server.url) with \(engine.name) and Silero VAD, up to \(maxSessions) sessions, \(config.decodeThreads) decode threads"
        )
        Diagnostics.write(to: 1, server.url + "\n")

        let stop = StopSignal()
        let signals = SignalHandling.install(stop: stop, logger: logger)
        defer { _ = signals }
        while !stop.isStopped { usleep(50_000) }
        server.stop()
        let totals = server.decodeTotals
        if totals.audio > 0 {
            logger.info(
                "decoded \(String(format: "%.1f", totals.audio)) s of speech in \(String(format: "%.1f", totals.busy)) s (real-time factor \(String(format: "%.2f", totals.busy / totals.audio)))"
            )
        }
    }
}
