import CaptionTapCore
import CaptionTapServerCore
import CaptionTapTransport
import Foundation
import Logging

/// `captiontap serve`: a Realtime-compatible WebSocket server on the embedded recognizer.
///
/// Each connection gets a ``RealtimeServerSession`` (protocol logic) and a speech front end
/// (its own VAD state); all of them run on the WebSocket service thread. Decodes go to one shared
/// ``DecodeQueue`` and their results come back to the service thread through `post`.
public final class RealtimeServer: @unchecked Sendable {
    public struct Configuration: Sendable {
        public var host = "127.0.0.1"
        public var port = 8765
        public var maxSessions = 4
        /// Required in `Authorization: Bearer` when set (non-loopback binds).
        public var bearerToken: String?
        /// Browser origins allowed to connect (`--allow-origin`); clients that send no `Origin`
        /// (every non-browser client) are always allowed, any other page is refused with 403.
        public var allowedOrigins: [String] = []
        /// The largest client message: the Realtime API's 15 MiB append limit, plus its JSON.
        public var maxMessageBytes = 16 << 20
        /// Threads decoding at once (each runs the recognizer on one core): two where there are
        /// two cores, so turns that end together do not wait for each other.
        public var decodeThreads = min(2, max(1, ProcessInfo.processInfo.activeProcessorCount))
        public init() {}
    }

    public let configuration: Configuration
    /// The recognizer (shared with live captions in `run`).
    public let engine: SpeechEngine
    private let logger: Logger
    private var socket: WebSocketServer!
    private var decoder: DecodeQueue!
    private let sampleRate: Int

    // Service-thread state.
    private var sessions: [Int: RealtimeServerSession] = [:]
    /// When each session's items were committed, for the speech-end → transcript latency.
    private var committedAt: [Int: [String: Double]] = [:]
    private let metrics = ServerMetrics()

    public private(set) var port = 0
    public var url: String {
        "ws://\(configuration.host == "0.0.0.0" ? "127.0.0.1" : configuration.host):\(port)/v1/realtime"
    }

    public init(configuration: Configuration, engine: SpeechEngine, sampleRate: Int, logger: Logger) {
        self.configuration = configuration
        self.engine = engine
        self.sampleRate = sampleRate
        self.logger = logger
    }

    /// Starts listening; returns the bound port.
    @discardableResult
    public func start() throws(WebSocketServer.StartError) -> Int {
        decoder = DecodeQueue(engine: engine, sampleRate: sampleRate, threads: configuration.decodeThreads)
        socket = WebSocketServer(
            options: .init(
                host: configuration.host, port: configuration.port, path: "/v1/realtime",
                bearerToken: configuration.bearerToken,
                httpHandler: { [unowned self] path in http(path) },
                // A client that stops reading is dropped rather than queued for without bound.
                maxQueuedMessages: 20_000, maxQueuedBytes: 64 << 20,
                // Sessions, plus room for the ones refused with an error and for HTTP probes.
                maxConnections: configuration.maxSessions + 16,
                maxMessageBytes: configuration.maxMessageBytes, origins: .listed(configuration.allowedOrigins),
                forwardedHeaders: ["openai-beta"])
        ) { [unowned self] event in handle(event) }
        port = try socket.start()
        return port
    }

    public func stop() {
        socket?.stop()
        decoder?.stop()
        engine.settle()  // a run shorter than the model's load must not exit in the middle of it
    }

    /// `GET /healthz` (`503 loading` until the recognizer is loaded: a load balancer sends no
    /// session before its decodes can run) and `GET /metrics`; runs on the service thread, like
    /// the sessions it reads.
    private func http(_ path: String) -> WebSocketServer.HTTPResponse? {
        switch path {
        case "/healthz":
            guard engine.isReady else {
                return .init(status: 503, contentType: "text/plain; charset=utf-8", body: Array("loading\n".utf8))
            }
            return .init(contentType: "text/plain; charset=utf-8", body: Array("ok\n".utf8))
        case "/metrics":
            let text = metrics.render(
                activeSessions: sessions.count, queueDepth: decoder.depth, decoded: decoder.realTimeFactor)
            return .init(contentType: "text/plain; version=0.0.4; charset=utf-8", body: Array(text.utf8))
        default:
            return nil
        }
    }

    /// Whether decodes a final caption needs wait for the recognizer (live captions hold back
    /// while they do; speculative ones do not count).
    public var hasQueuedDecodes: Bool { (decoder?.finalDepth ?? 0) > 0 }

    /// Seconds of audio decoded and seconds the recognizer was busy, since start.
    public var decodeTotals: (audio: Double, busy: Double) { decoder.realTimeFactor }

    private func handle(_ event: WebSocketServer.Event) {
        switch event {
        case .opened(let id, let handshake):
            let model = Self.queryValue("model", in: handshake.path) ?? "gpt-realtime"
            if sessions.count >= configuration.maxSessions {
                refuse(
                    id, code: 1013,
                    problem: ProtocolProblem(
                        message:
                            "The embedded backend is already serving \(configuration.maxSessions) sessions (--max-sessions); try again later.",
                        code: "session_limit_reached", type: "server_error"))
                logger.warning("refused a session: \(configuration.maxSessions) already open")
                metrics.sessionRefused()
                return
            }
            guard SessionObject.isSupported(model: model) else {
                refuse(
                    id, code: 1008,
                    problem: ProtocolProblem(
                        message: "The model '\(model)' does not exist or you do not have access to it.",
                        code: "model_not_found", param: "model"))
                return
            }
            let frontEnd: SpeechFrontEnd
            do {
                frontEnd = try engine.makeFrontEnd()
            } catch {
                refuse(
                    id, code: 1011,
                    problem: ProtocolProblem(
                        message: "The voice activity detector failed to start: \(error).", code: "server_error",
                        type: "server_error"))
                return
            }
            let (kind, dialect) = Self.flavor(handshake)
            let session = RealtimeServerSession(model: model, frontEnd: frontEnd, kind: kind, dialect: dialect)
            sessions[id] = session
            metrics.sessionOpened()
            logger.info(
                "session \(id) opened (\(model), \(kind)\(dialect == .beta ? ", beta" : "")), \(sessions.count) open")
            perform(session.start(), for: id)
        case .text(let id, let text):
            guard let session = sessions[id] else { return }
            perform(session.receive(text: text), for: id)
        case .binary(let id):
            guard let session = sessions[id] else { return }
            perform(session.receiveBinary(), for: id)
        case .closed(let id):
            close(id)
        }
    }

    /// Forgets a closed connection's session and checks that it was really freed: once the map
    /// lets go, nothing may hold it (decode results find sessions by ID), so a session still
    /// alive here is a leak of it, its audio and its native VAD, and is reported.
    private func close(_ id: Int) {
        weak var released: RealtimeServerSession?
        do {
            guard let session = sessions.removeValue(forKey: id) else { return }
            released = session
            committedAt[id] = nil
        }
        decoder.cancelAll(connection: id)
        if released == nil {
            logger.info("session \(id) closed and freed, \(sessions.count) open")
        } else {
            logger.warning(
                "session \(id) closed but is still referenced (a leak; please report it), \(sessions.count) open")
        }
    }

    private func refuse(_ id: Int, code: Int, problem: ProtocolProblem) {
        let error: JSONValue = [
            "type": "error", "event_id": .string("event_refused_\(id)"), "error": problem.errorObject(eventID: nil),
        ]
        socket.send(id, error.text)
        socket.close(id, code: code, reason: problem.code)
    }

    private func perform(_ actions: [RealtimeServerSession.Action], for id: Int) {
        guard let session = sessions[id] else { return }
        for action in actions {
            switch action {
            case .send(let text):
                if text.hasPrefix(#"{"type":"input_audio_buffer.committed""#),
                    let item = JSONValue.parse(text)?["item_id"]?.string
                {
                    // Items deleted before their transcript never report it: bounded, not kept.
                    if committedAt[id]?.count ?? 0 >= 512 { committedAt[id] = [:] }
                    committedAt[id, default: [:]][item] = Self.seconds()
                }
                if text.hasPrefix(#"{"type":"error""#) {
                    // What a client sent and was refused is worth an operator's eye: clients often stop on errors.
                    logger.info("session \(id) answered with an error: \(text.prefix(400))")
                } else if logger.logLevel <= .debug && !text.contains("output_text.delta") {
                    logger.debug("session \(id): → \(text.prefix(160))")
                }
                socket.send(id, text)
            case .decode(let job, let samples):
                logger.debug(
                    "session \(id): decode job \(job), \(String(format: "%.2f", Double(samples.count) / Double(sampleRate))) s"
                )
                decoder.submit(
                    .init(connection: id, job: job), samples: samples, speculative: session.isSpeculative(job: job)
                ) { [unowned self] text in
                    socket.post { [unowned self] in
                        guard let session = sessions[id] else { return }
                        switch text {
                        case .success(let text):
                            logger.debug("session \(id): job \(job) → \(text)")
                            perform(session.decoded(job: job, text: text), for: id)
                        case .failure(let failure):
                            logger.warning("session \(id): decode job \(job) failed: \(failure.reason)")
                            perform(session.decodeFailed(job: job, reason: failure.reason), for: id)
                        }
                    }
                }
            case .transcribed(let item):
                if let start = committedAt[id]?.removeValue(forKey: item) {
                    metrics.observeLatency(Self.seconds() - start)
                }
            case .cancel(let job):
                logger.debug("session \(id): cancel job \(job)")
                decoder.cancel(.init(connection: id, job: job))
            case .promote(let job):
                decoder.promote(.init(connection: id, job: job))
            }
        }
    }

    /// `?intent=transcription` opens a transcription session; `OpenAI-Beta: realtime=v1` picks
    /// the beta dialect for it.
    static func flavor(_ handshake: WebSocketServer.Handshake) -> (SessionObject.Kind, ProtocolDialect) {
        let kind: SessionObject.Kind =
            queryValue("intent", in: handshake.path) == "transcription" ? .transcription : .realtime
        let beta = handshake.headers["openai-beta"]?.lowercased().contains("realtime=v1") == true
        return (kind, beta ? .beta : .ga)
    }

    static func seconds() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

    static func queryValue(_ name: String, in path: String) -> String? {
        guard let q = path.split(separator: "?", maxSplits: 1).dropFirst().first else { return nil }
        for pair in q.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1)
            if kv.first.map(String.init) == name { return kv.count > 1 ? String(kv[1]).removingPercentEncoding : "" }
        }
        return nil
    }
}
