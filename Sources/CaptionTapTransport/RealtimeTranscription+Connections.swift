import CaptionTapCore
import Foundation

/// Connections on the worker thread: backoff, supervision of the live session (stalls, rotation),
/// connecting, and handing the transcriber's actions to the sockets and sinks.
extension RealtimeTranscription {
    func fail(_ message: String) {
        outcomeBox.withLock { $0 = .fatal(message) }
    }

    /// Exponential backoff with jitter, capped.
    func backoff() -> Double {
        reconnectAttempt += 1
        let base = min(options.backoffCapSeconds, 0.25 * pow(2, Double(reconnectAttempt - 1)))
        return base * Double.random(in: 0.5...1.0)
    }

    /// How long a session must stay up (or it must answer a request) before reconnects start again
    /// from the shortest wait: a server that accepts sessions and drops them is not retried ten
    /// times a second.
    static let stableSessionSeconds = 10.0

    func superviseConnections() {
        if reconnectAttempt > 0, transcriber.liveSession != nil, now - liveSince >= Self.stableSessionSeconds {
            reconnectAttempt = 0
        }
        if transcriber.liveSession == nil && connecting == nil && now >= nextConnectAt
            && outcomeBox.withLock({ $0 == nil })
        {
            connectNext()
        }
        watchLiveSession()
        superviseFailover()
        if let live = transcriber.liveSession, !rotating, connecting == nil, !finishing,
            now - liveSince > options.rotateAfterSeconds, transcriber.isBetweenTurns
        {
            logger.info("rotating session \(live) before its maximum length")
            rotateNow()
        }
    }

    /// Replaces a live session that stopped answering (a probe went unanswered) or cannot keep
    /// up (too many messages unsent). The connection is dropped at once; `closed` follows and
    /// the usual reconnect replays every turn it owed.
    func watchLiveSession() {
        guard let live = transcriber.liveSession, let client = clients[live], !rotating else { return }
        let backlog = client.queuedMessages
        var reason: String?
        if backlog > options.maxQueuedMessages {
            reason = "\(backlog) messages not yet sent"
        } else if let probed = probedAt {
            if now - probed > options.idleTimeoutSeconds {
                reason = "no answer for \(String(format: "%.0f", now - lastHeardAt)) s"
            }
        } else if now - lastHeardAt > options.idleTimeoutSeconds
            || unconfirmedSamples > Self.unconfirmedAudioLimitSeconds / 2 * PCM16.sampleRate
        {
            // Quiet for a while, or much audio (a file read fast) without a word: ask.
            perform(transcriber.probe())
            probedAt = now
        }
        guard let reason else { return }
        logger.warning("session \(live) with \(options.endpoint.hostHeader) is stalled (\(reason)); replacing it")
        probedAt = nil
        flushSends()
        client.abort()
    }

    func rotateNow() {
        guard connecting == nil else { return }
        rotating = true
        connectNext()
    }

    /// Connects a new session to the current backend (or `backend`): the key goes to the primary
    /// only, never to a fallback.
    func connectNext(to backend: Failover.Backend? = nil) {
        let epoch = nextEpoch
        nextEpoch += 1
        let target = backend ?? failover?.current ?? .primary
        let endpoint = target == .fallback ? (fallbackEndpoint ?? options.endpoint) : options.endpoint
        epochBackend[epoch] = target
        var headers: [(String, String)] = []
        if target == .primary, let key = options.apiKey { headers.append(("Authorization", "Bearer \(key)")) }
        let client = WebSocketClient(endpoint: endpoint, headers: headers) { [weak self] event in
            guard let self else { return }
            if case .text(let text) = event {
                if let parsed = parse(text) {
                    enqueue(
                        .server(epoch: epoch, event: parsed),
                        wake: Self.isPrompt(parsed, partials: options.promptPartials))
                }
            } else {
                enqueue(.socket(epoch: epoch, event: event))
            }
        }
        clients[epoch] = client
        connecting = epoch
        client.connect()
    }

    func perform(_ actions: [OutOfBandTranscriber.Action]) {
        for action in actions {
            switch action {
            case .send(let epoch, let text):
                send(text, epoch: epoch)
            case .caption(let caption):
                guard let shown = liveCaptionsFilter(caption) else { continue }
                onCaption(shown)
            case .warning(let message):
                logger.warning("\(message)")
            case .lost(let turn):
                onLost?(turn)
            case .uncaptioned(let turn):
                guard let withdrawn = liveWithdrawal(turn) else { continue }
                onCaption(withdrawn)
            }
        }
    }

    /// Messages for a session, handed to its client at the end of the worker's batch (or
    /// before a close): one hand-off, and at most one wake-up of its service thread, per batch.
    func send(_ text: String, epoch: Int) {
        if staged.isEmpty || staged[staged.count - 1].epoch != epoch {
            staged.append((epoch, [text]))
        } else {
            staged[staged.count - 1].texts.append(text)
        }
    }

    func flushSends() {
        guard !staged.isEmpty else { return }
        for (epoch, texts) in staged { clients[epoch]?.send(contentsOf: texts) }
        staged.removeAll(keepingCapacity: true)
    }

    func closeAll() {
        flushSends()
        let all = Array(clients.values)
        for client in all { client.close() }
        for client in all { _ = client.waitUntilFinished(timeout: 2) }
    }
}
