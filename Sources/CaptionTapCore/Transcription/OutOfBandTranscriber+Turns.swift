import Foundation

/// Server events: turns opening and committing, the out-of-band request per turn, its answer,
/// errors and retries, and the tick that times requests out.
extension OutOfBandTranscriber {
    // MARK: - Server events

    public func handle(_ event: ServerEvent, epoch: Int, now: Double) -> [Action] {
        let draining = drainingEpochs.contains(epoch)
        switch event {
        case .speechStarted(let item, let ms) where !draining && epoch == liveEpoch:
            open[epoch] = OpenSpeech(itemID: item, startMs: absoluteMs(ms, epoch: epoch))
        case .speechStopped(let item, let ms) where !draining && epoch == liveEpoch:
            stopped[item] = absoluteMs(ms, epoch: epoch)
        case .committed(let item) where !draining && epoch == liveEpoch:
            return committed(item: item, epoch: epoch, now: now)
        case .sessionUpdated:
            updatesSeen[epoch, default: 0] += 1
            if let b = barrier, b.epoch == epoch, updatesSeen[epoch, default: 0] >= b.count {
                barrier = nil
                // The server has all the audio. With no speech open, a turn still waiting for
                // replay was not heard again and never will be.
                let passed = open[epoch] == nil ? settlePassedOver(before: Int.max, epoch: epoch) : []
                return passed + commitOpenTurn()
            }
        case .responseCreated(let responseID, let item):
            // Only a turn waiting for this very answer: a late event from a lost session must not
            // pull a turn that waits for replay onto a dead connection.
            if let i = unfinished.first(where: {
                turns[$0].epoch == epoch && turns[$0].itemID == item && turns[$0].isRequested
            }) {
                turns[i].state = .streaming
                turns[i].responseID = responseID
                turns[i].text = ""
            }
        case .textDelta(let responseID, let delta):
            guard let i = turnIndex(responseID: responseID, epoch: epoch) else { break }
            // A transcript longer than anyone speaks in a turn is a server gone wrong: held.
            guard turns[i].text.utf8.count + delta.utf8.count <= Self.maxTurnTextBytes else { break }
            turns[i].text += delta
            guard !Self.trimmingWhitespace(turns[i].text).isEmpty else { break }
            return [.caption(caption(turns[i], final: false))]
        case .textDone(let responseID, let text):
            if let i = turnIndex(responseID: responseID, epoch: epoch) { turns[i].text = Self.held(text) }
        case .responseDone(let done):
            return responseDone(done, epoch: epoch, now: now)
        case .rateLimits(_, let reset):
            // The server's number, held to what a retry may wait (NaN, 1e400 and days are not).
            rateLimitReset = reset.flatMap { $0.isFinite ? min(max($0, 0), Self.maxRateLimitWait) : nil }
        case .error(let error):
            return serverError(error, epoch: epoch, now: now)
        default:
            break
        }
        return []
    }

    /// A session time from the server on the run's timeline. The server cannot have heard audio
    /// that was never sent, so its times are held to what this session was sent: a hostile or
    /// broken `audio_end_ms` (negative, 10^15) can neither overflow the sample arithmetic nor
    /// push a turn past the audio.
    func absoluteMs(_ sessionMs: Int, epoch: Int) -> Int {
        let sentMs = (epochSentSamples[epoch] ?? 0) * 1000 / PCM16.sampleRate
        return (epochBaseSamples[epoch] ?? 0) * 1000 / PCM16.sampleRate + min(max(0, sessionMs), sentMs)
    }

    func turnIndex(responseID: String, epoch: Int) -> Int? {
        unfinished.first { turns[$0].epoch == epoch && turns[$0].responseID == responseID && turns[$0].state != .final }
    }

    func committed(item: String, epoch: Int, now: Double) -> [Action] {
        let speech = open[epoch]?.itemID == item ? open.removeValue(forKey: epoch) : nil
        let sessionNowMs = absoluteMs((epochSentSamples[epoch] ?? 0) * 1000 / PCM16.sampleRate, epoch: epoch)
        let end = stopped.removeValue(forKey: item) ?? sessionNowMs
        let start = min(speech?.startMs ?? lastCommittedEndMs(before: end), end)
        commitEventID = nil  // a pending end-of-input commit, if any, is answered

        // Replayed audio: take the place of the lost turn it overlaps, or skip a turn already final.
        // Turns that waited for replay and were passed over are lost (later finals must flow).
        var actions = settlePassedOver(before: start, epoch: epoch)
        let replayed = unfinished.filter { turns[$0].state == .awaitingReplay && overlaps(turns[$0], start, end) }
        if let i = replayed.first {
            turns[i].itemID = item
            turns[i].epoch = epoch
            turns[i].attempts = 1
            turns[i].outageSince = nil
            turns[i].committedAt = now
            // The new session heard several lost turns as one: the first carries the words of
            // all, the others are settled without a caption of their own.
            for j in replayed.dropFirst() {
                turns[i].endMs = max(turns[i].endMs, turns[j].endMs)
                turns[j].state = .final
                turns[j].silent = true
                turns[j].text = ""
            }
            return actions + request(turnAt: i, now: now)
        }
        // Only recent turns can overlap replayed audio: walk back until turns end before it.
        for i in turns.indices.reversed() {
            if turns[i].endMs <= start && turns[i].startMs < start - 60_000 { break }
            if turns[i].state != .awaitingReplay && turns[i].epoch != epoch && mostlyCovers(turns[i], start, end) {
                return actions
            }
        }
        turns.append(
            Turn(
                itemID: item, epoch: epoch, startMs: start, endMs: max(end, start), state: .requested(eventID: ""),
                committedAt: now))
        return actions + request(turnAt: turns.count - 1, now: now)
    }

    /// A live session has committed audio from `start` on: a turn still waiting for replay that
    /// ended before it was in the replayed audio (or, partly older than the replay buffer, could
    /// not all be) but was never heard as speech again. It is lost.
    func settlePassedOver(before start: Int, epoch: Int) -> [Action] {
        var actions: [Action] = []
        for i in unfinished where turns[i].state == .awaitingReplay && turns[i].endMs <= start {
            actions += settleLost(turnAt: i, reason: "its replayed audio was not heard as speech again")
        }
        return actions
    }

    /// Settles a turn whose transcript can never come: a warning, a `.lost` report, and the
    /// finals queued behind it flow.
    func settleLost(turnAt i: Int, reason: String) -> [Action] {
        turns[i].state = .final
        turns[i].silent = true
        turns[i].text = ""
        lostTurns += 1
        let lost = LostTurn(itemID: turns[i].itemID, startMs: turns[i].startMs, endMs: turns[i].endMs, reason: reason)
        return [
            .warning("the transcript of \(lost.itemID) (\(lost.startMs)–\(lost.endMs) ms) is lost: \(reason)"),
            .lost(lost),
        ]
            + emitFinals(now: nil)
    }

    func lastCommittedEndMs(before end: Int) -> Int {
        turns.last.map { min($0.endMs, end) } ?? 0
    }

    func overlaps(_ turn: Turn, _ start: Int, _ end: Int) -> Bool {
        min(turn.endMs, end) - max(turn.startMs, start) > 0
    }

    /// Whether an existing turn covers most of [start, end): the same speech seen again.
    func mostlyCovers(_ turn: Turn, _ start: Int, _ end: Int) -> Bool {
        let overlap = min(turn.endMs, end) - max(turn.startMs, start)
        return overlap > 0 && overlap * 2 >= max(1, end - start)
    }

    func request(turnAt i: Int, now: Double) -> [Action] {
        requestCounter += 1
        turns[i].requestedAt = now
        let eventID = "ct_oob_\(requestCounter)"
        turns[i].state = .requested(eventID: eventID)
        turns[i].responseID = nil
        turns[i].text = ""
        let text = ClientEvents.transcriptionRequest(
            eventID: eventID, itemID: turns[i].itemID, context: config.session.context,
            recentTranscripts: recentTranscripts, instructions: config.session.transcriptionInstructions)
        return [.send(epoch: turns[i].epoch, text: text)]
    }

    var recentTranscripts: [String] {
        guard case .recent(let n) = config.session.context else { return [] }
        return Array(recentFinals.suffix(n))
    }

    func responseDone(_ done: ServerEvent.ResponseDone, epoch: Int, now: Double) -> [Action] {
        var index = turnIndex(responseID: done.responseID, epoch: epoch)
        if index == nil, let item = done.itemID {
            index = unfinished.first {
                turns[$0].epoch == epoch && turns[$0].itemID == item && turns[$0].state != .final
            }
        }
        guard let i = index else { return [] }
        if let usage = done.usage {
            totalUsage = totalUsage + usage
            turns[i].usage = usage
        }
        if done.status == "failed" {
            let failure = done.failure
            return retry(
                turnAt: i, now: now, reason: "response failed" + (failure.map { " (\($0.code ?? $0.type))" } ?? ""),
                rateLimited: failure?.isRateLimit == true, outage: failure?.isOutage == true)
        }
        if let full = done.outputText { turns[i].text = full }
        turns[i].state = .final
        return emitFinals(now: now)
    }

    func serverError(_ error: ServerEvent.ServerError, epoch: Int, now: Double) -> [Action] {
        if let eventID = error.eventID,
            let i = unfinished.first(where: {
                turns[$0].epoch == epoch && turns[$0].state == .requested(eventID: eventID)
            })
        {
            return retry(
                turnAt: i, now: now, reason: error.isRateLimit ? "rate limited" : "\(error.type): \(error.message)",
                rateLimited: error.isRateLimit, outage: error.isOutage)
        }
        if let eventID = error.eventID, eventID == commitEventID {
            // The final commit found nothing to commit: the turn is already closed.
            commitEventID = nil
            open.removeValue(forKey: epoch)
            return []
        }
        if error.isSessionExpired { return [] }  // the caller rotates on this
        return [.warning("server error: \(error.type)\(error.code.map { " (\($0))" } ?? ""): \(error.message)")]
    }

    /// Tries turn `i` again after a backoff, or gives it up after ``Config/maxAttempts`` tries
    /// (`outage`: the backend cannot serve now; such a turn may wait for a failover, see
    /// ``Config/outageGraceSeconds``).
    func retry(turnAt i: Int, now: Double, reason: String, rateLimited: Bool = false, outage: Bool = false)
        -> [Action]
    {
        if outage && turns[i].outageSince == nil { turns[i].outageSince = now }
        let graced = holdForFailover && turns[i].outageSince.map { now - $0 < config.outageGraceSeconds } ?? false
        guard turns[i].attempts < config.maxAttempts || graced else {
            turns[i].state = .final
            turns[i].text = ""
            return [
                .warning(
                    "giving up on the transcript of \(turns[i].itemID) after \(turns[i].attempts) tries: \(reason)")
            ]
                + emitFinals(now: now)
        }
        let backoff = min(config.retryBaseSeconds * Double(1 << min(turns[i].attempts - 1, 16)), 2)
        let delay = rateLimited ? max(rateLimitReset ?? 1, 0.05) : backoff
        turns[i].attempts += 1
        turns[i].state = .waitingToRetry(at: now + delay)
        return []
    }

    /// Sends the retries that are due.
    public func tick(now: Double) -> [Action] {
        var actions: [Action] = []
        for i in unfinished where turns[i].isRequested || turns[i].isStreaming {
            guard now - turns[i].requestedAt > config.responseTimeoutSeconds else { continue }
            actions += retry(turnAt: i, now: now, reason: "no answer within \(Int(config.responseTimeoutSeconds)) s")
        }
        for i in unfinished {
            guard case .waitingToRetry(let at) = turns[i].state, at <= now else { continue }
            if turns[i].epoch == liveEpoch || drainingEpochs.contains(turns[i].epoch) {
                actions += request(turnAt: i, now: now)
            } else {
                turns[i].state = .awaitingReplay
            }
        }
        return actions
    }
}
