import CaptionTapCore
import Foundation
import Logging
import Synchronization

/// An obs-websocket v5 connection that survives OBS restarts, for sending captions.
///
/// ``send(_:)`` never blocks and never buffers for long: while OBS is not connected and
/// identified the request is dropped and counted (a caption is only worth showing now), and
/// when more than `maxQueued` messages wait for the socket (OBS stalled) new ones are dropped too.
/// OBS runs requests on a thread pool, in any order, so captions go through an
/// ``OBSRequestPacer``: one stream caption and one text update per source in flight at a time.
/// After a reconnection the newest text of each source is sent again (a restarted OBS lost it).
/// Responses are counted by kind; a 501 to `SendStreamCaption` ("output not running": OBS is not
/// streaming) is expected and logged at debug only.
///
/// A lost connection is retried with exponential backoff and jitter (0.5 s doubling, capped at
/// 2 s: OBS is usually on this machine or the LAN, where a refused connection costs nothing, and
/// captions should resume soon after OBS is back). A refused password (close 4009) is reported by ``start(timeout:)`` at startup, where it is
/// a configuration error; if it happens later (OBS restarted with a new password) it is logged
/// once as an error and retried every 30 s, so captions resume once the password matches again.
/// The password is never logged.
public final class OBSClient: @unchecked Sendable {
    public struct Statistics: Sendable, Equatable {
        /// `SendStreamCaption` answered with success: the caption is in the stream.
        public var streamCaptionsSent = 0
        /// `SendStreamCaption` answered 501: OBS was not streaming.
        public var notStreaming = 0
        /// Other requests (`SetInputSettings`) answered with success.
        public var otherSucceeded = 0
        /// Requests answered with any other failure code.
        public var failed = 0
        /// Requests dropped because OBS was not connected, the queue was full, or the connection
        /// was lost before the answer came.
        public var dropped = 0
        /// Connections identified (the first, then every reconnection).
        public var connections = 0
        /// Text updates replaced by a newer one while the previous was in flight (not an error).
        public var superseded = 0
    }

    public enum StartOutcome: Sendable, Equatable {
        /// `authenticated`: the server asked for a password and accepted ours.
        case identified(version: String?, authenticated: Bool)
        /// Close 4009. `passwordGiven` tells a wrong password from a missing one.
        case authenticationFailed(passwordGiven: Bool)
        /// Close 4010: not obs-websocket 5.x's RPC version 1.
        case unsupportedVersion
        /// The first attempt failed (OBS not running?); retrying in the background.
        case unreachable(String)
    }

    public let endpoint: WebSocketEndpoint
    public let maxQueued: Int
    private let password: String?
    private let logger: Logger
    private let state: Mutex<Shared>
    private let started = DispatchSemaphore(value: 0)

    private struct Shared {
        var client: WebSocketClient?
        var session: OBSWebSocketSession?
        var generation = 0
        var failures = 0
        var stopped = false
        var connected = false
        var startOutcome: StartOutcome?
        var authFailureLogged = false
        var reportedFailures: Set<String> = []
        /// Callers of ``request(_:timeout:)`` waiting for their answer, by request ID.
        var waiters: [String: @Sendable (OBSResponse) -> Void] = [:]
        var pacer: OBSRequestPacer
        var statistics = Statistics()
        /// When a wake-up to release a resting lane is scheduled for, if one is.
        var wakeAt: Double?
    }

    /// How long a connection may take from open to Identified.
    static let identifyTimeout = 10.0

    /// Seconds on a monotonic clock, for the pacer's holds.
    private static var now: Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

    public init(endpoint: WebSocketEndpoint, password: String?, maxQueued: Int = 256, logger: Logger) {
        self.endpoint = endpoint
        self.password = password
        self.maxQueued = maxQueued
        self.logger = logger
        self.state = Mutex(Shared(pacer: OBSRequestPacer(maxWaiting: maxQueued)))
    }

    public var statistics: Statistics {
        state.withLock { shared in
            var statistics = shared.statistics
            statistics.superseded = shared.pacer.superseded
            statistics.dropped += shared.pacer.overflowed
            return statistics
        }
    }
    public var isConnected: Bool { state.withLock { $0.connected } }

    /// Connects and waits up to `timeout` seconds for the first attempt's outcome. Unless the
    /// server refused us (4009, 4010: then the client stops), it keeps reconnecting in the background.
    public func start(timeout: Double) -> StartOutcome {
        connect()
        _ = started.wait(timeout: .now() + timeout)
        return state.withLock { shared in
            if let outcome = shared.startOutcome { return outcome }
            shared.startOutcome = .unreachable("no answer within \(timeout) s")
            return shared.startOutcome!
        }
    }

    /// Queues `request` if OBS is connected and identified; otherwise drops and counts it. Never blocks.
    public func send(_ request: OBSRequest) {
        state.withLock { shared in
            guard !shared.stopped, shared.connected else {
                shared.statistics.dropped += 1
                shared.pacer.remember(request)
                return
            }
            if let next = shared.pacer.submit(request, now: Self.now) { transmit(next, in: &shared) }
            scheduleWake(in: &shared)
        }
    }

    /// Wakes when a resting lane (the piece of a long stream caption being read) may go on.
    private func scheduleWake(in shared: inout Shared) {
        guard let at = shared.pacer.wakeAt(now: Self.now), shared.wakeAt.map({ at < $0 }) ?? true else { return }
        shared.wakeAt = at
        let generation = shared.generation
        DispatchQueue.global().asyncAfter(deadline: .now() + max(0, at - Self.now)) { [weak self] in
            self?.state.withLock { shared in
                guard shared.wakeAt == at else { return }
                shared.wakeAt = nil
                if shared.generation == generation, shared.connected, !shared.stopped {
                    for request in shared.pacer.due(now: Self.now) { self?.transmit(request, in: &shared) }
                }
                self?.scheduleWake(in: &shared)  // a rest begun on a newer connection still needs its wake
            }
        }
    }

    /// Writes a request the pacer released; drops and counts it when the socket is backed up.
    private func transmit(_ request: OBSRequest, in shared: inout Shared) {
        guard let client = shared.client, client.queuedMessages < maxQueued,
            let message = shared.session?.message(for: request)
        else {
            shared.statistics.dropped += 1
            return
        }
        shared.pacer.sent(request, id: message.id, now: Self.now)
        client.send(message.text)
    }

    /// Sends `request` and waits up to `timeout` seconds for its answer (for `doctor`; captions use
    /// ``send(_:)``). Nil when OBS is not connected or does not answer in time.
    public func request(_ request: OBSRequest, timeout: Double) -> OBSResponse? {
        let answered = DispatchSemaphore(value: 0)
        let box = ResponseBox()
        let id: String? = state.withLock { shared in
            guard !shared.stopped, shared.connected, let client = shared.client,
                let message = shared.session?.message(for: request)
            else { return nil }
            shared.waiters[message.id] = { response in
                box.set(response)
                answered.signal()
            }
            client.send(message.text)
            return message.id
        }
        guard let id else { return nil }
        _ = answered.wait(timeout: .now() + timeout)
        state.withLock { _ = $0.waiters.removeValue(forKey: id) }
        return box.value
    }

    /// The answer handed from the service thread to a waiting ``request(_:timeout:)``.
    private final class ResponseBox: @unchecked Sendable {
        private let lock = NSLock()
        private var stored: OBSResponse?
        func set(_ response: OBSResponse) { lock.withLock { stored = response } }
        var value: OBSResponse? { lock.withLock { stored } }
    }

    /// Waits up to `timeout` seconds for answers to the requests in flight, then closes for good.
    public func finish(timeout: Double) {
        // The pieces of a long last caption still to be read are waited for too (up to 20 s).
        let holds = state.withLock { $0.pacer.holdsAhead(now: Self.now) }
        let deadline = Date().addingTimeInterval(timeout + min(20, holds))
        while Date() < deadline
            && state.withLock({ $0.connected && (($0.session?.outstanding ?? 0) > 0 || $0.pacer.waitingCount > 0) })
        {
            Thread.sleep(forTimeInterval: 0.01)
        }
        let client = state.withLock { shared -> WebSocketClient? in
            shared.stopped = true
            shared.connected = false
            shared.statistics.dropped += (shared.session?.outstanding ?? 0) + shared.pacer.reset()
            shared.session = nil
            return shared.client
        }
        client?.close()
        _ = client?.waitUntilFinished(timeout: 2)
    }

    // MARK: - Connection

    private func connect() {
        state.withLock { shared in
            guard !shared.stopped else { return }
            shared.generation += 1
            let generation = shared.generation
            shared.session = OBSWebSocketSession(password: password, sha256: SHA256.digest)
            let client = WebSocketClient(endpoint: endpoint, headers: []) { [weak self] event in
                self?.handle(event, generation: generation)
            }
            shared.client = client
            client.connect()
        }
    }

    private func handle(_ event: WebSocketClient.Event, generation: Int) {
        switch event {
        case .open:
            // Hello and Identified come next; a server that stays silent is left, not waited on
            // for good (captions for OBS would be dropped all along).
            DispatchQueue.global().asyncAfter(deadline: .now() + Self.identifyTimeout) { [weak self] in
                guard let self else { return }
                let client = self.state.withLock { shared in
                    shared.generation == generation && !shared.connected && !shared.stopped ? shared.client : nil
                }
                guard let client else { return }
                self.logger.warning(
                    "OBS at \(self.endpoint) did not identify within \(Int(Self.identifyTimeout)) s; reconnecting")
                client.abort()
            }
        case .text(let text):
            receive(text, generation: generation)
        case .closed(let info):
            closed(info, generation: generation)
        }
    }

    private func receive(_ text: String, generation: Int) {
        state.withLock { shared in
            guard shared.generation == generation, !shared.stopped, var session = shared.session else { return }
            let action = session.receive(text)
            shared.session = session
            switch action {
            case .send(let message):
                shared.client?.send(message)
            case .ready:
                shared.connected = true
                shared.failures = 0
                shared.statistics.connections += 1
                let version = session.serverVersion ?? "unknown version"
                if shared.startOutcome == nil {
                    shared.startOutcome = .identified(
                        version: session.serverVersion, authenticated: session.authenticationRequired)
                    started.signal()
                } else {
                    logger.info("reconnected to OBS at \(endpoint) (obs-websocket \(version))")
                    for request in shared.pacer.resubmitLatest() { transmit(request, in: &shared) }
                }
                shared.authFailureLogged = false
            case .response(let response):
                if let next = shared.pacer.answered(id: response.requestID, now: Self.now) {
                    transmit(next, in: &shared)
                }
                scheduleWake(in: &shared)
                if let waiter = shared.waiters.removeValue(forKey: response.requestID) {
                    waiter(response)
                } else {
                    count(response, in: &shared)
                }
            case .fail(let reason):
                logger.warning("OBS: \(reason); reconnecting")
                shared.client?.close()
            case .none:
                break
            }
        }
    }

    private func count(_ response: OBSResponse, in shared: inout Shared) {
        switch (response.requestType, response.code) {
        case ("SendStreamCaption", OBSWebSocketSession.StatusCode.success):
            shared.statistics.streamCaptionsSent += 1
        case ("SendStreamCaption", OBSWebSocketSession.StatusCode.outputNotRunning):
            shared.statistics.notStreaming += 1
            logger.debug("OBS is not streaming: stream caption not sent (501)")
        case (_, OBSWebSocketSession.StatusCode.success):
            shared.statistics.otherSucceeded += 1
        default:
            shared.statistics.failed += 1
            // One warning per kind of failure, not one per caption.
            let key = "\(response.requestType) \(response.code)"
            if shared.reportedFailures.insert(key).inserted {
                let comment = response.comment.map { ": \($0)" } ?? ""
                logger.warning("OBS refused \(response.requestType) (code \(response.code)\(comment))")
            }
        }
    }

    private func closed(_ info: WebSocketClient.CloseInfo, generation: Int) {
        let delay: Double? = state.withLock { shared in
            guard shared.generation == generation else { return nil }
            let wasConnected = shared.connected
            shared.connected = false
            shared.statistics.dropped += (shared.session?.outstanding ?? 0) + shared.pacer.reset()
            shared.session = nil
            shared.client = nil
            shared.wakeAt = nil  // its rests are gone; the next connection schedules its own
            guard !shared.stopped else { return nil }
            switch info.code {
            case OBSWebSocketSession.CloseCode.authenticationFailed,
                OBSWebSocketSession.CloseCode.unsupportedRPCVersion:
                let auth = info.code == OBSWebSocketSession.CloseCode.authenticationFailed
                if shared.startOutcome == nil {
                    // At startup this is a configuration error: the caller reports it and exits.
                    shared.startOutcome =
                        auth ? .authenticationFailed(passwordGiven: password != nil) : .unsupportedVersion
                    shared.stopped = true
                    started.signal()
                    return nil
                }
                if !shared.authFailureLogged {
                    shared.authFailureLogged = true
                    logger.error(
                        auth
                            ? "OBS refused the password after a reconnection (close 4009): check --obs-password-file; retrying every 30 s"
                            : "OBS no longer speaks obs-websocket RPC version 1 (close 4010); retrying every 30 s")
                }
                return 30
            default:
                let reason =
                    info.code.map { "close \($0)" } ?? (info.message.isEmpty ? "connection closed" : info.message)
                if shared.startOutcome == nil {
                    shared.startOutcome = .unreachable(reason)
                    started.signal()
                } else if wasConnected {
                    logger.warning(
                        "lost the connection to OBS at \(endpoint) (\(reason)); reconnecting, captions for OBS are dropped meanwhile"
                    )
                } else {
                    logger.debug("OBS at \(endpoint) still unreachable (\(reason))")
                }
                shared.failures += 1
                let base = min(2, 0.5 * pow(2, Double(min(shared.failures - 1, 5))))
                return base * Double.random(in: 0.8...1.2)
            }
        }
        guard let delay else { return }
        DispatchQueue.global().asyncAfter(deadline: .now() + delay) { [weak self] in
            guard let self else { return }
            let current = self.state.withLock { $0.generation == generation && !$0.stopped }
            if current { self.connect() }
        }
    }
}
