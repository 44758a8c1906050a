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

/// The backend a run transcribes with, the session worker around it, and what it reports.
extension RunCommand {
    /// The shortest time a run tries to reach its backend at start, whatever `--drain-timeout` says.
    static let minimumConnectSeconds = 5.0

    /// The Realtime backend: the named or cloud one, or the embedded one started in-process.
    struct Backend {
        var endpoint: WebSocketEndpoint
        var key: String?
        var embedded: RealtimeServer?
        var name: String { embedded == nil ? endpoint.hostHeader : "embedded (offline)" }
    }

    func makeBackend(logger: Logger, sessionsPerSource sources: Int = 1) throws(CLIError) -> Backend {
        let key = try session.apiKey { logger.warning("\($0)") }
        let endpoint = session.endpoint()
        if session.withholdsEnvironmentKey() {
            logger.info(
                "OPENAI_API_KEY is not sent to \(endpoint.hostHeader) (only to api.openai.com over TLS); give that backend a key with --api-key-file"
            )
        }
        guard key == nil && session.url == SessionOptions.defaultURL else {
            logger.info("transcribing with \(endpoint.hostHeader) (out-of-band, context \(session.context))")
            return Backend(endpoint: endpoint, key: key, embedded: nil)
        }
        // No key and no backend named: caption offline with the embedded one, in-process on an
        // ephemeral loopback port, so the client path is the same as for the cloud.
        let engine: SpeechEngine
        do {
            engine = try recognizer.engine(logger: logger, essential: true)
        } catch {
            throw CLIError(
                message: "no API key, and \(error.message); or set OPENAI_API_KEY / --api-key-file, or pass --url",
                exitCode: error.exitCode)
        }
        // One session per source, plus the next one during a session rotation.
        let server: RealtimeServer
        do {
            server = try Self.startEmbedded(engine, maxSessions: 2 * sources, decodeThreads: sources, logger: logger)
        } catch {
            throw CLIError.failure(error.description)
        }
        logger.info(
            "no API key: captioning offline with the embedded backend (\(engine.name), Silero VAD); set OPENAI_API_KEY to use OpenAI"
        )
        return Backend(endpoint: WebSocketEndpoint(server.url)!, key: nil, embedded: server)
    }

    func makeTranscription(
        _ backend: Backend, live: PartialRecognizer?, logger: Logger, sinks: [CaptionSink],
        onCaption: @escaping (Caption) -> Void
    ) throws(CLIError) -> RealtimeTranscription {
        var config = OutOfBandTranscriber.Config(session: try session.sessionConfig())
        config.replayLimitSeconds = 120
        var options = RealtimeTranscription.Options(
            endpoint: backend.endpoint, apiKey: backend.key, transcriber: config)
        options.rotateAfterSeconds = session.sessionMaxMinutes * 60
        options.idleTimeoutSeconds = session.idleTimeout
        // The replay after a reconnect is queued at once: the bound leaves room for it and a minute.
        options.maxQueuedMessages = (config.replayLimitSeconds + 60) * 1000 / chunkMs
        options.fallback = makeFallback(for: backend, logger: logger)
        if options.fallback != nil {
            // A turn the backend fails while it is down waits for the failover to take it over.
            options.transcriber.outageGraceSeconds = session.failoverAfter * 2 + 10
        }
        // At least a few seconds: `--drain-timeout 0` (no wait at the end) must not mean giving up
        // before a TLS handshake could finish.
        options.connectTimeoutSeconds = max(session.drainTimeout, Self.minimumConnectSeconds)
        // Deltas only need prompt handling when something shows partials.
        options.promptPartials = sinks.contains { $0.showsPartials }
        options.live = live
        let transcription = RealtimeTranscription(options: options, logger: logger, onCaption: onCaption)
        transcription.onLost = { turn in for sink in sinks { sink.lost(turn) } }
        return transcription
    }

    /// Where to fail over to when the backend keeps failing: `--fallback-url`, else the embedded
    /// backend, started in-process on first use. None when already offline or `--no-failover`.
    func makeFallback(for backend: Backend, logger: Logger) -> RealtimeTranscription.Fallback? {
        guard backend.embedded == nil, !session.noFailover else { return nil }
        if let url = session.fallbackURL, let endpoint = WebSocketEndpoint(url) {
            return .init(afterSeconds: session.failoverAfter, name: endpoint.hostHeader) { .success(endpoint) }
        }
        let recognizer = recognizer
        let started = Mutex<RealtimeServer?>(nil)  // kept alive for the rest of the run
        return .init(afterSeconds: session.failoverAfter, name: "the embedded backend") {
            do {
                let server = try Self.startEmbedded(
                    try recognizer.engine(logger: logger), maxSessions: 4, decodeThreads: 1, logger: logger)
                started.withLock { $0 = server }
                return .success(WebSocketEndpoint(server.url)!)
            } catch {
                return .failure(.init("\(error)"))
            }
        }
    }

    /// The embedded backend in-process, on an ephemeral loopback port, its session log quiet
    /// (sessions opening is noise in `run`). One source needs one decode thread (its segments
    /// rarely wait for each other, and a second would only add a decode's memory); several may
    /// use a second.
    static func startEmbedded(
        _ engine: SpeechEngine, maxSessions: Int, decodeThreads: Int, logger: Logger
    ) throws(WebSocketServer.StartError) -> RealtimeServer {
        var config = RealtimeServer.Configuration()
        config.port = 0
        config.maxSessions = maxSessions
        config.decodeThreads = min(config.decodeThreads, max(1, decodeThreads))
        var quiet = logger
        quiet.logLevel = max(logger.logLevel, .warning)
        let server = RealtimeServer(
            configuration: config, engine: engine, sampleRate: RecognizerOptions.sampleRate, logger: quiet)
        try server.start()
        return server
    }

    /// The exit summary on stderr.
    func report(_ s: RealtimeTranscription.Statistics, embedded: Bool, logger: Logger, label: String? = nil) {
        let cost = session.cost(s.usage)
        let prefix = label.map { "\($0): " } ?? ""
        logger.info(
            "\(prefix)sent \(String(format: "%.1f", s.audioSecondsSent)) s of audio; \(s.turns) turns; \(s.wordlessTurns > 0 ? "\(s.wordlessTurns) without words (not captioned); " : "")\(s.lostTurns > 0 ? "\(s.lostTurns) lost; " : "")tokens in \(s.usage.inputTokens) (audio \(s.usage.inputAudioTokens)), out \(s.usage.outputTokens); \(!embedded ? "estimated cost $" + String(format: "%.4f", cost) : "no cost (embedded backend)")"
        )
        if !s.commitToFinal.isEmpty {
            let sorted = s.commitToFinal.sorted()
            logger.info(
                "\(prefix)commit to final caption: median \(String(format: "%.1f", sorted[sorted.count / 2] * 1000)) ms, max \(String(format: "%.1f", sorted.last! * 1000)) ms over \(sorted.count) turns"
            )
        }
        if !s.finalLatencyMs.isEmpty {
            logger.info(
                "\(prefix)final captions after speech ended: \(Self.percentiles(s.finalLatencyMs)) over \(s.finalLatencyMs.count) turns"
            )
        }
        if !s.firstTextMs.isEmpty {
            logger.info(
                "\(prefix)live captions, first words after speech began: \(Self.percentiles(s.firstTextMs)) over \(s.firstTextMs.count) turns"
            )
        }
    }

    func check(_ outcome: RealtimeTranscription.Outcome) throws(CLIError) {
        switch outcome {
        case .drained:
            break
        case .timedOut(let pending):
            throw CLIError.failure(
                "\(pending) transcripts still outstanding after --drain-timeout \(session.drainTimeout) s")
        case .fatal(let message):
            throw CLIError.failure(message)
        }
    }
}
