import CaptionTapCore
import Foundation

/// Failover to the fallback backend and back (``Failover`` decides when; this acts). Runs on the
/// worker thread with the rest of ``RealtimeTranscription``.
extension RealtimeTranscription {
    /// The primary's health, from what its sessions say.
    func observePrimary(_ event: ServerEvent, epoch: Int) {
        guard failover != nil, epochBackend[epoch] == .primary else { return }
        switch event {
        case .sessionUpdated:
            failover?.primaryWorks(now: now)
        case .responseDone(let done) where done.status == "completed":
            if failover?.primaryAnswered() == true {
                logger.warning("\(options.endpoint.hostHeader) answers again: captioning continues there")
            }
        case .responseDone(let done) where done.status == "failed" && done.failure?.isOutage == true:
            primaryOutage(done.failure!)
        case .error(let error) where error.isOutage:
            primaryOutage(error)
        default:
            break
        }
    }

    /// The primary answered with an outage (in an `error`, or a failed `response.done`).
    private func primaryOutage(_ error: ServerEvent.ServerError) {
        failover?.primaryFailed(now: now)
        // Only a name from the known set is logged (the server's text is not).
        lastFailure =
            error.isRateLimit
            ? "rate limited" : error.code == "insufficient_quota" ? "insufficient_quota" : "server_error"
    }

    /// Whether a turn failed by an outage on `epoch` should wait for a failover: the primary has
    /// been failing (or is on trial) with no transcript since, and the run is not finishing.
    func failoverIsComing(epoch: Int) -> Bool {
        guard let f = failover, options.fallback != nil, !finishing, epochBackend[epoch] == .primary,
            f.current == .primary, f.afterSeconds.isFinite
        else { return false }
        return f.troubleSince != nil || f.onTrial
    }

    /// A session opened: a primary one while on the fallback means the primary may be back;
    /// captioning goes to it on trial (``Failover``: its first transcript ends the trial).
    func openedOn(_ epoch: Int) {
        guard var f = failover, epochBackend[epoch] == .primary, f.current == .fallback else { return }
        f.backOnPrimary()
        failover = f
        logger.info("\(options.endpoint.hostHeader) accepts a session again: trying it")
        onBackendChange?(options.endpoint.hostHeader)
    }

    /// A connection closed. An attempt to go back to the primary that never opened changes
    /// nothing (the fallback session goes on); true when it was one. Otherwise a primary's
    /// failure is noted.
    func closedTryingPrimary(_ epoch: Int, _ info: WebSocketClient.CloseInfo) -> Bool {
        guard failover != nil, epochBackend[epoch] == .primary else { return false }
        if failover?.current == .fallback && !info.wasOpen && connecting == epoch && rotating {
            clients.removeValue(forKey: epoch)
            connecting = nil
            rotating = false
            logger.debug("\(options.endpoint.hostHeader) still unreachable: \(info.message)")
            return true
        }
        if info.httpStatus != 401 && info.httpStatus != 403 { failover?.primaryFailed(now: now) }
        return false
    }

    /// Switches to the fallback when the primary has failed long enough; tries the primary again
    /// from time to time while on the fallback.
    func superviseFailover() {
        guard var f = failover, let fallback = options.fallback, !finishing else { return }
        defer { failover = f }
        let trial = f.onTrial
        if f.shouldFallBack(now: now) {
            if fallbackEndpoint == nil {
                switch fallback.start() {
                case .success(let endpoint): fallbackEndpoint = endpoint
                case .failure(let unavailable):
                    logger.warning(
                        "\(options.endpoint.hostHeader) keeps failing and \(fallback.name) is not available (\(unavailable.reason)); still retrying it"
                    )
                    f = Failover(afterSeconds: .infinity)  // no fallback: keep retrying the primary only
                    return
                }
            }
            let reason = lastFailure.isEmpty ? "" : " (\(lastFailure))"
            if trial {
                logger.warning(
                    "\(options.endpoint.hostHeader) failed again before answering\(reason): staying on \(fallback.name); next try in \(Int(f.retrySeconds)) s"
                )
            } else {
                logger.warning(
                    "\(options.endpoint.hostHeader) has failed for \(Int(fallback.afterSeconds)) s\(reason): continuing on \(fallback.name) from the replayed audio; back to \(options.endpoint.hostHeader) when it answers"
                )
            }
            onBackendChange?(fallback.name)
            reconnectAttempt = 0
            nextConnectAt = now
            if let live = transcriber.liveSession, let client = clients[live], epochBackend[live] == .primary {
                flushSends()
                client.abort()  // closed follows: its turns wait for replay on the fallback
            }
            return
        }
        if let live = transcriber.liveSession, epochBackend[live] == .fallback, !rotating, connecting == nil,
            f.shouldTryPrimary(now: now)
        {
            rotating = true
            connectNext(to: .primary)
        }
    }
}
