import Foundation

/// Sessions come and go: starting one (with the replay of every turn not yet transcribed),
/// losing one, rotating away from one.
extension OutOfBandTranscriber {
    // MARK: - Sessions

    /// Begins session `epoch`: returns `session.update` and the append events that replay
    /// every not-yet-transcribed turn and any uncommitted audio.
    ///
    /// With `rotation`, the previous live session is still healthy: it finishes the responses
    /// it owes, drops its uncommitted audio, and only speech it had not committed is replayed.
    public func startSession(epoch: Int, rotation: Bool = false) -> [Action] {
        var actions: [Action] = [.send(epoch: epoch, text: ClientEvents.sessionUpdate(config.session))]
        var replayFromSample = totalSamples
        if rotation, let old = liveEpoch {
            drainingEpochs.insert(old)
            requestCounter += 1
            actions.append(.send(epoch: old, text: ClientEvents.clear(eventID: "ct_clear_\(requestCounter)")))
            if let speech = open.removeValue(forKey: old) {
                replayFromSample = min(replayFromSample, speech.startMs * PCM16.sampleRate / 1000)
            }
            // Speech the old session heard but had not reported yet (its VAD reports a window
            // late) would be cleared with its buffer: the new session also gets the last
            // second plus prefix padding, never reaching back into committed turns.
            let recent = totalSamples - (config.session.prefixMs + 1000) * PCM16.sampleRate / 1000
            replayFromSample = min(replayFromSample, max(recent, lastCommittedEndSample ?? 0, 0))
        } else {
            for turn in turns where turn.state == .awaitingReplay {
                replayFromSample = min(replayFromSample, turn.startMs * PCM16.sampleRate / 1000)
            }
            // Audio no session has committed yet: from the end of the last committed turn (or the
            // very start, which also covers audio captured before the first session was up).
            replayFromSample = min(replayFromSample, lastCommittedEndSample ?? 0)
        }
        if replayFromSample < historyStartSample {
            actions.append(
                .warning(
                    "\((historyStartSample - replayFromSample) / PCM16.sampleRate) s of audio are older than the \(config.replayLimitSeconds) s replay buffer and cannot be transcribed"
                ))
            replayFromSample = historyStartSample
            let historyStartMs = historyStartSample * 1000 / PCM16.sampleRate
            for i in unfinished where turns[i].state == .awaitingReplay && turns[i].endMs <= historyStartMs {
                actions += settleLost(
                    turnAt: i, reason: "its audio is older than the \(config.replayLimitSeconds) s replay buffer")
            }
        }
        liveEpoch = epoch
        epochBaseSamples[epoch] = replayFromSample
        epochSentSamples[epoch] = 0
        updatesSent[epoch] = 1
        actions += replayEvents(from: replayFromSample, epoch: epoch)
        if inputFinished { actions += sendBarrier() }
        return actions
    }

    var lastCommittedEndSample: Int? {
        turns.last.map { $0.endMs * PCM16.sampleRate / 1000 }
    }

    /// Replayed audio goes out in appends of 100 ms, like live audio at the default --chunk-ms.
    static let replayChunkSamples = PCM16.sampleRate / 10

    func replayEvents(from sample: Int, epoch: Int) -> [Action] {
        var actions: [Action] = []
        let chunk = Self.replayChunkSamples
        var encoder = AppendEventEncoder(maxSamples: chunk)
        var position = sample
        let pcm = UnsafeMutableRawPointer.allocate(byteCount: chunk * 2, alignment: 16)
        defer { pcm.deallocate() }
        while position < totalSamples {
            let n = min(chunk, totalSamples - position)
            readHistory(from: position, count: n, into: pcm)
            actions.append(
                .send(epoch: epoch, text: encoder.encode(pcm16: UnsafeRawBufferPointer(start: pcm, count: n * 2))))
            position += n
        }
        epochSentSamples[epoch, default: 0] += totalSamples - sample
        samplesSent += totalSamples - sample
        lastReplaySamples = totalSamples - sample
        return actions
    }

    /// How much audio a reconnect now would have to replay: from the oldest turn without its
    /// final (or the end of the last committed turn) to now. A reader of files keeps this under
    /// the replay buffer, so a dropped connection never loses what it already read.
    public var replayWindowSamples: Int {
        var origin = lastCommittedEndSample ?? 0
        for i in unfinished where turns[i].state != .final {
            origin = min(origin, turns[i].startMs * PCM16.sampleRate / 1000)
        }
        return max(0, totalSamples - origin)
    }

    /// The session `epoch` is gone (connection dropped, expired). Its unfinished turns wait for replay.
    public func sessionLost(epoch: Int) {
        for i in unfinished where turns[i].epoch == epoch && turns[i].state != .final {
            turns[i].state = .awaitingReplay
            turns[i].responseID = nil
            turns[i].text = ""
        }
        open.removeValue(forKey: epoch)
        drainingEpochs.remove(epoch)
        if liveEpoch == epoch { liveEpoch = nil }
        commitEventID = nil
        if barrier?.epoch == epoch { barrier = nil }  // re-sent by the next session
    }

    /// True when a draining (rotated-away) session owes no more responses and can be closed.
    public func canClose(epoch: Int) -> Bool {
        drainingEpochs.contains(epoch) && !turns[unfinished].contains { $0.epoch == epoch && $0.state != .final }
    }

    public var liveSession: Int? { liveEpoch }

    /// Turns whose session died and that wait for a new session to replay their audio.
    public var needsReplay: Bool { turns[unfinished].contains { $0.state == .awaitingReplay } }

    /// Whether the live session is between turns (no speech in progress): a safe rotation point.
    public var isBetweenTurns: Bool {
        guard let live = liveEpoch else { return false }
        return open[live] == nil
    }
}
