/// When to leave a backend that keeps failing for a fallback, and when to go back.
///
/// Never silent when the cloud is down: if the primary backend cannot be reached, or keeps
/// failing (lost connections, refused handshakes, server errors, exhausted quota), for
/// ``afterSeconds``, captions continue on the fallback (the embedded backend) from the replayed
/// audio. While there, the primary is tried every ``afterSeconds``; once a session with it
/// opens, captioning rotates back to it. Turns are neither lost nor doubled across a switch: that
/// is the transcriber's replay and rotation at work; this only decides *when*.
///
/// Pure state: the caller reports what happened, with its clock, and asks.
public struct Failover: Sendable, Equatable {
    public enum Backend: Sendable, Equatable {
        case primary, fallback
    }

    public let afterSeconds: Double
    public private(set) var current = Backend.primary
    /// Since when the primary has been failing, if it is.
    public private(set) var troubleSince: Double?
    /// Since when a primary session has been working without a new failure.
    private var healthySince: Double?
    private var nextRetryAt = 0.0

    public init(afterSeconds: Double) {
        self.afterSeconds = afterSeconds
    }

    /// The primary failed: a connection could not open or was lost, or it answered with an error
    /// that retrying will not fix soon (server error, quota, rate limit).
    public mutating func primaryFailed(now: Double) {
        if troubleSince == nil { troubleSince = now }
        healthySince = nil
    }

    /// A primary session works (it answered a `session.update`): once it has for half the
    /// failover time without failing again, the trouble is over.
    public mutating func primaryWorks(now: Double) {
        if healthySince == nil { healthySince = now }
    }

    /// The primary delivered a transcript: the trouble is over at once.
    public mutating func primaryAnswered() {
        troubleSince = nil
        healthySince = nil
    }

    /// Whether to switch to the fallback now (it then counts as current).
    public mutating func shouldFallBack(now: Double) -> Bool {
        guard current == .primary, let since = troubleSince else { return false }
        if let healthy = healthySince, now - healthy >= afterSeconds / 2 {
            troubleSince = nil
            healthySince = nil
            return false
        }
        guard now - since >= afterSeconds else { return false }
        current = .fallback
        nextRetryAt = now + afterSeconds
        return true
    }

    /// While on the fallback: whether to try the primary again now.
    public mutating func shouldTryPrimary(now: Double) -> Bool {
        guard current == .fallback, now >= nextRetryAt else { return false }
        nextRetryAt = now + afterSeconds
        return true
    }

    /// A session with the primary opened while on the fallback: captioning goes back to it.
    public mutating func backOnPrimary() {
        current = .primary
        troubleSince = nil
        healthySince = nil
    }
}
