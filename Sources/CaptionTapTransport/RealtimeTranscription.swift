import CaptionTapCore
import Foundation
import Logging
import Synchronization

/// Runs the out-of-band transcription over real WebSocket sessions: connects, feeds audio,
/// reconnects with backoff and replay, rotates sessions before their maximum length, and
/// drains at the end. All state lives on one worker thread; other threads only enqueue.
public final class RealtimeTranscription: @unchecked Sendable {
    /// How a run ended.
    public enum Outcome: Sendable, Equatable {
        case drained
        case timedOut(pendingTurns: Int)
        /// A failure no retry can fix (e.g. the key was refused): one line for the user.
        case fatal(String)
    }

    enum Input {
        case audio(event: String, pcm: [UInt8])
        case socket(epoch: Int, event: WebSocketClient.Event)
        /// A text frame already parsed on the connection's thread.
        case server(epoch: Int, event: ServerEvent)
        /// A live-caption decode came back from the local recognizer (nil: dropped).
        case partial(job: LiveCaptions.Job, text: String?)
        case finish
    }

    let options: Options
    let logger: Logger
    let onCaption: (Caption) -> Void
    /// Told of each turn whose transcript can never come (after its warning on the log).
    public var onLost: ((LostTurn) -> Void)?
    private struct Inbox {
        var items: [Input] = []
        /// Items were added since the last signal without one (audio with `wake: false`).
        var unsignalled = false
    }

    private let inbox = Mutex(Inbox())
    let wakeup = DispatchSemaphore(value: 0)
    let pendingAudio = Atomic<Int>(0)
    let queuedOnSockets = Atomic<Int>(0)
    let sessionLive = Atomic<Bool>(false)
    let outcomeBox = Mutex<Outcome?>(nil)
    let finishedSignal = DispatchSemaphore(value: 0)
    let started = Date()

    // Worker-thread state.
    let transcriber: OutOfBandTranscriber
    var clients: [Int: WebSocketClient] = [:]
    var nextEpoch = 1
    var connecting: Int?
    var liveSince: Double = 0
    var reconnectAttempt = 0
    var nextConnectAt: Double = 0
    var rotating = false
    var finishing = false
    var drainDeadline: Double = .infinity
    var everOpened = false
    var lastFailure = ""
    /// When the live session last said anything, and when it was probed for a sign of life.
    var lastHeardAt: Double = 0
    var probedAt: Double?
    /// Audio sent to the live session since it last said anything.
    var unconfirmedSamples = 0
    /// Told the name of the backend captioning continues on, at each switch.
    public var onBackendChange: ((String) -> Void)?
    // Failover state (worker thread).
    var failover: Failover?
    var fallbackEndpoint: WebSocketEndpoint?
    var epochBackend: [Int: Failover.Backend] = [:]
    var worker: Thread?
    // Live-caption state (worker thread).
    var liveCaptions = LiveCaptions()
    /// Turns with a live partial shown (their first-text latency is counted once).
    var liveTurnsShown: Set<String> = []
    /// Per turn: audio ms from speech onset to its first live partial; from speech end to final.
    var firstTextMs: [Int] = []
    var finalLatencyMs: [Int] = []
    /// Sends of the current batch, in order, grouped by session.
    var staged: [(epoch: Int, texts: [String])] = []

    public init(options: Options, logger: Logger, onCaption: @escaping (Caption) -> Void) {
        self.options = options
        self.logger = logger
        self.onCaption = onCaption
        transcriber = OutOfBandTranscriber(config: options.transcriber)
        failover = options.fallback.map { Failover(afterSeconds: $0.afterSeconds) }
    }

    /// Starts the worker and the first session.
    public func start() {
        let t = Thread { [self] in run() }
        t.name = "captiontap-session"
        worker = t
        t.start()
    }

    /// Audio ready to stream: the append event and the PCM it carries. Never blocks.
    ///
    /// With `wake: false` the worker is not woken for it: a caller that has more audio at hand
    /// right away (a file read fast) hands over a run of chunks and then calls ``wakeForAudio()``,
    /// so the worker wakes once per run instead of once per chunk. (The worker also looks at
    /// its inbox on its own every 50 ms.)
    public func audio(event: String, pcm: UnsafeRawBufferPointer, wake: Bool = true) {
        pendingAudio.add(1, ordering: .relaxed)
        enqueue(.audio(event: event, pcm: Array(pcm)), wake: wake)
    }

    /// Wakes the worker for audio handed over with `wake: false`.
    public func wakeForAudio() {
        let signal = inbox.withLock { inbox -> Bool in
            defer { inbox.unsignalled = false }
            return inbox.unsignalled
        }
        if signal { wakeup.signal() }
    }

    /// Messages not yet on the wire: lets a file reader slow down instead of buffering an hour.
    public var backlog: Int {
        pendingAudio.load(ordering: .relaxed) + queuedOnSockets.load(ordering: .relaxed)
    }

    /// Whether a session is open and taking audio now, and has said something within the last
    /// ``unconfirmedAudioLimitSeconds`` of audio sent to it. A file reader waits while it is not,
    /// instead of reading past what the replay buffer can hold: a session that hangs silently
    /// would otherwise swallow minutes of fast-read audio before the watchdog replaces it.
    public var isStreaming: Bool { sessionLive.load(ordering: .relaxed) }

    /// Audio sent to a session without a word from it before readers of files wait (the live
    /// session is probed at half this).
    public static let unconfirmedAudioLimitSeconds = 50

    /// The input ended (end of file, or a signal): commit the open turn and wait up to
    /// `timeout` seconds for every outstanding transcript.
    public func finish(timeout: Double) -> Outcome {
        drainTimeout = timeout
        enqueue(.finish)
        finishedSignal.wait()
        return outcomeBox.withLock { $0 } ?? .drained
    }

    /// Returns as soon as the run failed fatally (for callers that don't reach ``finish``).
    public var fatalOutcome: Outcome? {
        outcomeBox.withLock { if case .fatal = $0 { $0 } else { nil } }
    }

    var drainTimeout: Double = 30

    func enqueue(_ input: Input, wake: Bool = true) {
        // The worker drains the whole inbox per wake-up: one signal per batch is enough, given
        // when the inbox turns non-empty, or later for audio that was enqueued without one.
        let signal = inbox.withLock { inbox -> Bool in
            inbox.items.append(input)
            if !wake {
                inbox.unsignalled = true
                return false
            }
            defer { inbox.unsignalled = false }
            return inbox.items.count == 1 || inbox.unsignalled
        }
        if signal { wakeup.signal() }
    }

    // MARK: - Worker

    var now: Double { Date().timeIntervalSince(started) }

    func run() {
        defer { finishedSignal.signal() }
        connectNext()
        var batch: [Input] = []
        while true {
            _ = wakeup.wait(timeout: .now() + 0.05)
            batch.removeAll(keepingCapacity: true)
            inbox.withLock { inbox in
                swap(&inbox.items, &batch)
                inbox.unsignalled = false
            }
            for input in batch { process(input) }
            perform(transcriber.tick(now: now))
            driveLiveCaptions()
            flushSends()
            superviseConnections()
            queuedOnSockets.store(clients.values.reduce(0) { $0 + $1.queuedMessages }, ordering: .relaxed)
            // Files wait for the session when it has been quiet for long, or when a reconnect would
            // have to replay more than fits the replay buffer (with 20 s to spare).
            let replayRoom = (options.transcriber.replayLimitSeconds - 20) * PCM16.sampleRate
            sessionLive.store(
                transcriber.liveSession != nil
                    && unconfirmedSamples < Self.unconfirmedAudioLimitSeconds * PCM16.sampleRate
                    && transcriber.replayWindowSamples < replayRoom, ordering: .relaxed)
            // With a fallback, a backend unreachable from the start is left for it first.
            let failoverGrace = failover.map { $0.afterSeconds.isFinite ? $0.afterSeconds + 10 : 0 } ?? 0
            let giveUpAfter = options.connectTimeoutSeconds + failoverGrace
            if !everOpened && now > giveUpAfter {
                if options.endpoint.secure && lastFailure.contains("SSL") {
                    fail(
                        "TLS with \(options.endpoint.hostHeader) failed (\(lastFailure)): its certificate is not trusted by the system CA store (SSL_CERT_FILE names another bundle)"
                    )
                } else {
                    fail(
                        "cannot reach \(options.endpoint)\(lastFailure.isEmpty ? "" : " (\(lastFailure))"): is the Realtime server running and the URL right?"
                    )
                }
            }
            if let outcome = outcomeBox.withLock({ $0 }) {
                closeAll()
                logger.debug("session worker done: \(outcome)")
                return
            }
            if finishing {
                if transcriber.isDrained {
                    outcomeBox.withLock { $0 = .drained }
                } else if now > drainDeadline {
                    outcomeBox.withLock {
                        $0 = .timedOut(pendingTurns: transcriber.turnCount - transcriber.finalsEmitted)
                    }
                }
            }
        }
    }

    func process(_ input: Input) {
        switch input {
        case .audio(let event, let pcm):
            pendingAudio.subtract(1, ordering: .relaxed)
            let epoch = pcm.withUnsafeBytes { transcriber.audioCaptured($0) }
            if let epoch {
                send(event, epoch: epoch)
                unconfirmedSamples += pcm.count / 2
            }
        case .socket(let epoch, let event):
            socketEvent(event, epoch: epoch)
        case .server(let epoch, let event):
            serverEvent(event, epoch: epoch)
        case .partial(let job, let text):
            livePartialDecoded(job, text: text)
        case .finish:
            finishing = true
            drainDeadline = now + drainTimeout
            perform(transcriber.finishInput())
        }
    }

    func socketEvent(_ event: WebSocketClient.Event, epoch: Int) {
        switch event {
        case .open:
            let rotation = rotating && transcriber.liveSession != nil
            if connecting == epoch { connecting = nil }
            openedOn(epoch)
            everOpened = true
            logger.debug("session \(epoch) open", metadata: ["session.epoch": "\(epoch)"])
            liveSince = now
            heard()
            perform(transcriber.startSession(epoch: epoch, rotation: rotation))
            unconfirmedSamples = transcriber.lastReplaySamples
            rotating = false
        case .text(let text):
            if let parsed = parse(text) { serverEvent(parsed, epoch: epoch) }
        case .closed(let info):
            if closedTryingPrimary(epoch, info) { return }
            clients.removeValue(forKey: epoch)
            let wasConnecting = connecting == epoch
            if wasConnecting { connecting = nil }
            if !info.message.isEmpty { lastFailure = info.message }
            if info.httpStatus == 401 || info.httpStatus == 403 {
                fail(
                    "the server refused the API key (HTTP \(info.httpStatus!)): check OPENAI_API_KEY or --api-key-file")
                return
            }
            let wasLive = transcriber.liveSession == epoch
            transcriber.sessionLost(epoch: epoch)
            if !wasLive && !wasConnecting && transcriber.needsReplay, let live = transcriber.liveSession {
                // A rotated-away session died owing transcripts: replay them in a fresh session.
                flushSends()
                clients[live]?.close()
                transcriber.sessionLost(epoch: live)
            }
            if wasLive || wasConnecting || transcriber.needsReplay {
                let delay = backoff()
                logger.warning(
                    "connection to \(options.endpoint.hostHeader) \(info.wasOpen ? "lost" : "failed")\(info.message.isEmpty ? "" : ": \(info.message)"); reconnecting in \(String(format: "%.1f", delay)) s"
                )
                nextConnectAt = now + delay
                rotating = false
            } else {
                logger.debug("rotated session \(epoch) closed")
            }
        }
    }

    /// Whether the worker must wake for `event` now. Events that only update state (VAD
    /// boundaries, the response id, the done text, rate limits) wait in the inbox, in order, for
    /// the next wake-up: the next prompt event, the next audio run, or the 50 ms tick. Commits
    /// (which send the request), deltas (partial captions, when something shows them),
    /// response.done (the final), the end-of-input barrier and errors wake it at once.
    static func isPrompt(_ event: ServerEvent, partials: Bool) -> Bool {
        switch event {
        case .speechStarted, .speechStopped, .responseCreated, .textDone, .rateLimits, .ignored: false
        case .textDelta: partials
        default: true
        }
    }

    /// A text frame as a server event worth the worker's time; nil (logged) for frames that are
    /// not JSON events and for event types captiontap ignores. Touches no worker state: it runs
    /// on the connection's service thread, so ignored events never wake the worker.
    func parse(_ text: String) -> ServerEvent? {
        guard let parsed = ServerEvent.parse(text) else {
            logger.debug("ignored a non-JSON text frame (\(text.utf8.count) bytes)")
            return nil
        }
        if case .ignored(let type) = parsed {
            logger.trace("ignored event \(type)")
            return nil
        }
        return parsed
    }

    func heard() {
        lastHeardAt = now
        probedAt = nil
        unconfirmedSamples = 0
    }

    func serverEvent(_ parsed: ServerEvent, epoch: Int) {
        if epoch == transcriber.liveSession { heard() }
        observePrimary(parsed, epoch: epoch)
        // A session that answered a request works: the next reconnect need not wait long. (Not
        // on `session.updated`: a server that accepts sessions and drops them would be retried
        // at once, forever.)
        if case .responseDone = parsed { reconnectAttempt = 0 }
        if case .error(let error) = parsed {
            if error.isAuthentication {
                fail(
                    "the server refused the API key (\(error.code ?? error.type)): check OPENAI_API_KEY or --api-key-file"
                )
                return
            }
            if error.isSessionExpired && epoch == transcriber.liveSession {
                logger.info("session \(epoch) reached its maximum length; starting a new one")
                rotateNow()
            }
        }
        transcriber.holdForFailover = failoverIsComing(epoch: epoch)
        perform(transcriber.handle(parsed, epoch: epoch, now: now))
        if transcriber.canClose(epoch: epoch) {
            flushSends()
            clients[epoch]?.close()
        }
    }
}
