/// Keeps captions in order on their way into OBS.
///
/// obs-websocket hands every incoming message to a thread pool (`WebSocketServer::onMessage`),
/// so two requests sent back to back may run in either order: a Text source could be left on the
/// caption before the last one, and stream captions could air out of order. The pacer keeps at
/// most one request in flight per lane and releases the next when OBS answers:
///
/// - **Stream captions**, first in, first out: each one airs, in order. When OBS falls more than
///   `maxWaiting` behind, the oldest waiting caption is dropped (a late broadcast caption is worth
///   less than the current one) and counted.
/// - **A Text source's text**, latest wins: only the newest text matters, so a newer one replaces
///   the one waiting (counted as superseded, not dropped). The newest text per source is also
///   remembered so a reconnection can show it at once (``resubmitLatest()``).
/// - Anything else (doctor's queries) goes out at once.
///
/// Pure bookkeeping, no I/O: the connection asks ``submit(_:)`` what to send, reports what it
/// sent with ``sent(_:id:)`` and hands every answer to ``answered(id:)``.
public struct OBSRequestPacer: Sendable {
    public enum Lane: Hashable, Sendable {
        case streamCaptions
        case text(input: String)
        case unpaced
    }

    public let maxWaiting: Int
    /// Text updates replaced by a newer one before they were sent.
    public private(set) var superseded = 0
    /// Stream captions dropped because more than `maxWaiting` were waiting.
    public private(set) var overflowed = 0

    private var inFlight: [String: Lane] = [:]
    private var busy: Set<Lane> = []
    private var waiting: [Lane: [OBSRequest]] = [:]
    private var latestText: [String: OBSRequest] = [:]
    /// Until when a lane rests after a request that asked for it (``OBSRequest/holdSeconds``).
    private var restUntil: [Lane: Double] = [:]

    public init(maxWaiting: Int = 256) {
        self.maxWaiting = max(1, maxWaiting)
    }

    public static func lane(of request: OBSRequest) -> Lane {
        switch request.type {
        case "SendStreamCaption":
            return .streamCaptions
        case "SetInputSettings":
            if let input = request.data["inputName"]?.string { return .text(input: input) }
            return .unpaced
        default:
            return .unpaced
        }
    }

    /// Requests accepted and not yet sent.
    public var waitingCount: Int { waiting.values.reduce(0) { $0 + $1.count } }

    /// Accepts `request`; returns the request to send now (not necessarily this one: the oldest
    /// waiting in its lane), or nil while the lane has one in flight or rests (`now`: seconds on
    /// the caller's clock, for holds).
    public mutating func submit(_ request: OBSRequest, now: Double = 0) -> OBSRequest? {
        let lane = Self.lane(of: request)
        switch lane {
        case .unpaced:
            return request
        case .streamCaptions:
            var queue = waiting[lane, default: []]
            queue.append(request)
            if queue.count > maxWaiting {
                overflowed += queue.count - maxWaiting
                queue.removeFirst(queue.count - maxWaiting)
            }
            waiting[lane] = queue
        case .text(let input):
            latestText[input] = request
            if waiting[lane]?.isEmpty == false { superseded += 1 }
            waiting[lane] = [request]
        }
        return busy.contains(lane) || resting(lane, now: now) ? nil : next(in: lane)
    }

    /// `request` (as returned by ``submit(_:now:)`` or ``answered(id:now:)``) went out with
    /// request ID `id`, at `now`.
    public mutating func sent(_ request: OBSRequest, id: String, now: Double = 0) {
        let lane = Self.lane(of: request)
        guard lane != .unpaced else { return }
        inFlight[id] = lane
        busy.insert(lane)
        if request.holdSeconds > 0 { restUntil[lane] = now + min(request.holdSeconds, 60) }
    }

    /// OBS answered request `id`; returns the next request of its lane to send, if any (none
    /// while the lane rests: ``due(now:)`` releases it later).
    public mutating func answered(id: String, now: Double = 0) -> OBSRequest? {
        guard let lane = inFlight.removeValue(forKey: id) else { return nil }
        busy.remove(lane)
        return resting(lane, now: now) ? nil : next(in: lane)
    }

    /// When the earliest resting lane with requests waiting may go on, if any: the caller calls
    /// ``due(now:)`` then.
    public func wakeAt(now: Double) -> Double? {
        restUntil.filter { $0.value > now && waiting[$0.key]?.isEmpty == false && !busy.contains($0.key) }
            .values.min()
    }

    /// Seconds of rest still ahead before every waiting request can go: the current rests and
    /// the holds of the requests waiting.
    public func holdsAhead(now: Double) -> Double {
        let rests = restUntil.values.map { max(0, $0 - now) }.reduce(0, +)
        return rests + waiting.values.joined().map(\.holdSeconds).reduce(0, +)
    }

    /// The requests of lanes whose rest is over, to send now.
    public mutating func due(now: Double) -> [OBSRequest] {
        var out: [OBSRequest] = []
        for lane in restUntil.keys.sorted(by: { "\($0)" < "\($1)" }) where !resting(lane, now: now) {
            restUntil[lane] = nil
            if !busy.contains(lane), let request = next(in: lane) { out.append(request) }
        }
        return out
    }

    private func resting(_ lane: Lane, now: Double) -> Bool { (restUntil[lane] ?? -.infinity) > now }

    /// The connection is gone: forgets what was in flight and drops what waited.
    /// Returns how many waiting requests were dropped.
    public mutating func reset() -> Int {
        let dropped = waitingCount
        inFlight.removeAll()
        busy.removeAll()
        waiting.removeAll()
        restUntil.removeAll()
        return dropped
    }

    /// A request dropped while OBS was away: a text is still remembered as the newest for
    /// ``resubmitLatest()``.
    public mutating func remember(_ request: OBSRequest) {
        if case .text(let input) = Self.lane(of: request) { latestText[input] = request }
    }

    /// After a reconnection: the newest text of every source, to send again (OBS may have
    /// restarted and lost it). Each is also queued as usual.
    public mutating func resubmitLatest() -> [OBSRequest] {
        latestText.keys.sorted().compactMap { submit(latestText[$0]!) }
    }

    private mutating func next(in lane: Lane) -> OBSRequest? {
        guard var queue = waiting[lane], !queue.isEmpty else { return nil }
        let first = queue.removeFirst()
        waiting[lane] = queue.isEmpty ? nil : queue
        return first
    }
}
