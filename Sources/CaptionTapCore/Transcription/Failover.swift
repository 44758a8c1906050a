/// When to leave a backend that keeps failing for a fallback, and when to go back.
///
/// Never silent when the cloud is down: if the primary backend cannot be reached, or keeps
/// failing (lost connections, refused handshakes, server errors, exhausted quota), for
/// ``afterSeconds``, captions continue on the fallback (the embedded backend) from the replayed
/// audio. While there, the primary is tried again, first after ``afterSeconds``; once a session
/// with it opens, captioning goes back to it *on trial*: the first transcript it delivers ends
/// the trial, and a failure before that (an exhausted quota answers every request with an error
/// on a session that opens fine) goes straight back to the fallback, with the next try twice as
/// far off (up to ``maxRetrySeconds``). So a backend that opens but cannot transcribe costs one
/// failed turn per try, not ``afterSeconds`` of stalled captions every other ``afterSeconds``.
/// Turns are neither lost nor doubled across a switch: that is the transcriber's replay and
/// rotation at work; this only decides *when*.
///
/// Pure state: the caller reports what happened, with its clock, and asks.
public struct Failover: Sendable, Equatable {
    public enum Backend: Sendable, Equatable {
        case primary, fallback
    }

    public let afterSeconds: Double
    /// The longest wait between tries of a primary that keeps failing its trials.
    public var maxRetrySeconds: Double { max(afterSeconds, 600) }
    public private(set) var current = Backend.primary
    /// Since when the primary has been failing, if it is.
    public private(set) var troubleSince: Double?
    /// Whether captioning went back to the primary and it has not delivered a transcript since.
    public private(set) var onTrial = false
    /// The wait before the next try of the primary from the fallback.
    public private(set) var retrySeconds: Double
    /// Since when a primary session has been working without a new failure.
    private var healthySince: Double?
    private var trialFailed = false
    private var nextRetryAt = 0.0

    public init(afterSeconds: Double) {
        self.afterSeconds = afterSeconds
        retrySeconds = afterSeconds
    }

    /// The primary failed: a connection could not open or was lost, or it answered with an error
    /// that retrying will not fix soon (server error, quota, rate limit).
    public mutating func primaryFailed(now: Double) {
        if troubleSince == nil { troubleSince = now }
        healthySince = nil
        if onTrial { trialFailed = true }
    }

    /// A primary session works (it answered a `session.update`): once it has for half the
    /// failover time without failing again, the trouble is over. (Not a trial's end: a session
    /// that opens is what started the trial.)
    public mutating func primaryWorks(now: Double) {
        if healthySince == nil { healthySince = now }
    }

    /// The primary delivered a transcript: the trouble is over at once, and so is a trial (even
    /// one a request failed in: a rate limit beside a transcript is no outage). True when that
    /// ended a trial (captioning is back on the primary for good).
    @discardableResult
    public mutating func primaryAnswered() -> Bool {
        troubleSince = nil
        healthySince = nil
        let ended = onTrial
        onTrial = false
        trialFailed = false
        if ended { retrySeconds = afterSeconds }
        return ended
    }

    /// Whether to switch to the fallback now (it then counts as current): at once when a trial
    /// failed, else once the primary has been failing for ``afterSeconds``.
    public mutating func shouldFallBack(now: Double) -> Bool {
        guard current == .primary else { return false }
        if onTrial && trialFailed {
            retrySeconds = min(retrySeconds * 2, maxRetrySeconds)
            switchToFallback(now: now)
            return true
        }
        guard let since = troubleSince else { return false }
        if let healthy = healthySince, now - healthy >= afterSeconds / 2 {
            troubleSince = nil
            healthySince = nil
            return false
        }
        guard now - since >= afterSeconds else { return false }
        switchToFallback(now: now)
        return true
    }

    /// While on the fallback: whether to try the primary again now.
    public mutating func shouldTryPrimary(now: Double) -> Bool {
        guard current == .fallback, now >= nextRetryAt else { return false }
        nextRetryAt = now + retrySeconds
        return true
    }

    /// A session with the primary opened while on the fallback: captioning goes back to it, on
    /// trial until it delivers a transcript.
    public mutating func backOnPrimary() {
        current = .primary
        troubleSince = nil
        healthySince = nil
        onTrial = true
        trialFailed = false
    }

    private mutating func switchToFallback(now: Double) {
        current = .fallback
        onTrial = false
        trialFailed = false
        nextRetryAt = now + retrySeconds
    }
}
