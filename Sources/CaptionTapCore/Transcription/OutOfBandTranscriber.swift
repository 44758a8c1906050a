import Foundation

/// The out-of-band transcription state machine: the heart of captiontap.
///
/// Server VAD commits turns; for every `input_audio_buffer.committed` this sends a
/// `response.create` with `conversation: "none"` asking for a verbatim transcript of that turn,
/// follows the response by its id (learned from the metadata echoed in `response.created`), and
/// turns deltas into partial captions and `response.done` into a final one. Finals leave in
/// commit order, whatever order responses finish in.
///
/// It spans sessions. Each WebSocket session is an *epoch*; the caller reports a lost session
/// (``sessionLost(epoch:)``) and starts a new one (``startSession(epoch:rotation:)``), which
/// returns `session.update` plus the audio to replay: item ids die with a session, so every
/// turn not yet transcribed is re-sent as audio (bounded history), re-detected by the new
/// session's VAD, and matched back to its place by audio time. Turns already final are
/// recognised by overlap and not captioned twice.
///
/// No I/O and no clocks of its own: the caller passes `now` (seconds) and performs the returned
/// actions, which keeps it deterministic and testable without a network.
public final class OutOfBandTranscriber {
    public struct Config: Sendable {
        public var session: SessionConfig
        /// Tries per turn for a request the server answers with an error.
        public var maxAttempts = 3
        /// First retry delay; doubles per attempt.
        public var retryBaseSeconds = 0.5
        /// Audio kept for replay after a dropped connection.
        public var replayLimitSeconds = 120
        /// A request the server has not finished answering after this long is sent again (it
        /// counts as a try): a stalled turn never holds later finals back for good.
        public var responseTimeoutSeconds = 30.0

        public init(session: SessionConfig) { self.session = session }
    }

    public enum Action: Sendable, Equatable {
        /// Send this text frame on the session `epoch`.
        case send(epoch: Int, text: String)
        case caption(Caption)
        /// A problem worth one stderr line (never contains the key).
        case warning(String)
        /// A turn whose transcript can never come (reported after its warning).
        case lost(LostTurn)
    }

    /// Where a turn is in its life.
    enum TurnState: Equatable {
        case requested(eventID: String)
        case waitingToRetry(at: Double)
        case streaming(responseID: String)
        /// Its session died before it was transcribed; waiting to be re-detected in replayed audio.
        case awaitingReplay
        case final
    }

    struct Turn {
        var itemID: String
        var epoch: Int
        var startMs: Int
        var endMs: Int
        var state: TurnState
        var responseID: String?
        var text = ""
        var usage: Usage?
        var attempts = 1
        /// When the commit arrived (caller's clock), for the commit-to-final latency.
        var committedAt: Double = 0
        /// When the current request was sent (caller's clock), for the response timeout.
        var requestedAt: Double = 0
        /// Settled without a caption of its own: its words are in another turn's (replayed audio
        /// heard as one turn), or it was lost.
        var silent = false

        var isRequested: Bool { if case .requested = state { true } else { false } }
        var isStreaming: Bool { if case .streaming = state { true } else { false } }
    }

    struct OpenSpeech {
        var itemID: String
        var startMs: Int
        var endMs: Int?
    }

    public let config: Config
    private(set) var turns: [Turn] = []
    private var emitted = 0
    private var requestCounter = 0
    private(set) var liveEpoch: Int?
    private var drainingEpochs: Set<Int> = []
    private var epochBaseSamples: [Int: Int] = [:]
    private var epochSentSamples: [Int: Int] = [:]
    private(set) var open: [Int: OpenSpeech] = [:]
    private var stopped: [String: Int] = [:]
    private var commitEventID: String?
    private var rateLimitReset: Double?
    private var recentFinals: [String] = []
    private var inputFinished = false
    /// `session.update`s sent / `session.updated`s seen per epoch: an update sent after the last
    /// append is a barrier, its reply proves the server has processed all audio before it.
    private var updatesSent: [Int: Int] = [:]
    private var updatesSeen: [Int: Int] = [:]
    private var barrier: (epoch: Int, count: Int)?

    // Audio history (PCM16 LE bytes) for replay: a ring of `replayLimitSeconds` of audio that
    // holds absolute samples `historyStartSample ..< totalSamples`, sample `s` at byte
    // `(2 * s) % history.count`. Fixed size: appending never moves or reallocates it.
    let history: UnsafeMutableRawBufferPointer
    private(set) var historyStartSample = 0
    /// Every sample captured in this run.
    public private(set) var totalSamples = 0

    public private(set) var totalUsage = Usage()
    public private(set) var finalsEmitted = 0
    /// Turns whose transcript had no words: they get no caption (counted in `finalsEmitted` too,
    /// as their final is settled).
    public private(set) var wordlessTurns = 0
    /// Turns whose transcript can never come (reported with `.lost`), counted in `finalsEmitted`.
    public private(set) var lostTurns = 0
    /// Final captions shown (turns with words).
    public private(set) var captionsEmitted = 0
    public private(set) var samplesSent = 0
    /// Seconds from each turn's commit to its final caption, in emission order.
    public private(set) var latencies: [Double] = []

    public init(config: Config) {
        self.config = config
        history = .allocate(byteCount: max(0, config.replayLimitSeconds) * PCM16.sampleRate * 2, alignment: 16)
    }

    deinit { history.deallocate() }

    /// Turns not yet emitted. Finals leave in order, so everything before `emitted` is done and
    /// the hot paths (every server event, every tick) only look at this short tail.
    private var unfinished: Range<Int> { emitted..<turns.count }

    // MARK: - Audio

    /// Records captured audio (one append event's PCM) and says whether to send that event to
    /// the live session now. Audio that is not sent stays in the history for replay.
    public func audioCaptured(_ pcm: UnsafeRawBufferPointer) -> Int? {
        let samples = pcm.count / 2
        if history.count > 0 {
            // Only the newest `history.count` bytes can survive; write them, wrapping at the end.
            let keep = min(samples * 2, history.count)
            var source = pcm.baseAddress! + (samples * 2 - keep)
            var at = ((totalSamples + samples) * 2 - keep) % history.count
            var left = keep
            while left > 0 {
                let n = min(left, history.count - at)
                (history.baseAddress! + at).copyMemory(from: source, byteCount: n)
                source += n
                left -= n
                at = 0
            }
        }
        totalSamples += samples
        historyStartSample = max(historyStartSample, totalSamples - history.count / 2)
        guard let live = liveEpoch else { return nil }
        epochSentSamples[live, default: 0] += samples
        samplesSent += samples
        return live
    }

    /// Copies `count` samples of history from absolute sample `sample` on into `out`.
    func readHistory(from sample: Int, count: Int, into out: UnsafeMutableRawPointer) {
        var at = (sample * 2) % history.count
        var done = 0
        while done < count * 2 {
            let n = min(count * 2 - done, history.count - at)
            (out + done).copyMemory(from: history.baseAddress! + at, byteCount: n)
            done += n
            at = 0
        }
    }

    /// Milliseconds of audio captured so far, on the run's timeline.
    public var timelineMs: Int { totalSamples * 1000 / PCM16.sampleRate }

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
            actions.append(.warning(
                "\((historyStartSample - replayFromSample) / PCM16.sampleRate) s of audio are older than the \(config.replayLimitSeconds) s replay buffer and cannot be transcribed"))
            replayFromSample = historyStartSample
            let historyStartMs = historyStartSample * 1000 / PCM16.sampleRate
            for i in unfinished where turns[i].state == .awaitingReplay && turns[i].endMs <= historyStartMs {
                actions += settleLost(turnAt: i, reason: "its audio is older than the \(config.replayLimitSeconds) s replay buffer")
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

    private var lastCommittedEndSample: Int? {
        turns.last.map { $0.endMs * PCM16.sampleRate / 1000 }
    }

    private func replayEvents(from sample: Int, epoch: Int) -> [Action] {
        var actions: [Action] = []
        var encoder = AppendEventEncoder(maxSamples: 2400)
        var position = sample
        let pcm = UnsafeMutableRawPointer.allocate(byteCount: 2400 * 2, alignment: 16)
        defer { pcm.deallocate() }
        while position < totalSamples {
            let n = min(2400, totalSamples - position)
            readHistory(from: position, count: n, into: pcm)
            actions.append(.send(epoch: epoch, text: encoder.encode(pcm16: UnsafeRawBufferPointer(start: pcm, count: n * 2))))
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

    /// Samples the last ``startSession(epoch:rotation:)`` replayed.
    public private(set) var lastReplaySamples = 0

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
            if let i = unfinished.first(where: { turns[$0].epoch == epoch && turns[$0].itemID == item && turns[$0].isRequested }) {
                turns[i].state = .streaming(responseID: responseID)
                turns[i].responseID = responseID
                turns[i].text = ""
            }
        case .textDelta(let responseID, let delta):
            guard let i = turnIndex(responseID: responseID, epoch: epoch) else { break }
            turns[i].text += delta
            guard !Self.trimmingWhitespace(turns[i].text).isEmpty else { break }
            return [.caption(caption(turns[i], final: false))]
        case .textDone(let responseID, let text):
            if let i = turnIndex(responseID: responseID, epoch: epoch) { turns[i].text = text }
        case .responseDone(let done):
            return responseDone(done, epoch: epoch, now: now)
        case .rateLimits(_, let reset):
            if let reset { rateLimitReset = reset }
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
    private func absoluteMs(_ sessionMs: Int, epoch: Int) -> Int {
        let sentMs = (epochSentSamples[epoch] ?? 0) * 1000 / PCM16.sampleRate
        return (epochBaseSamples[epoch] ?? 0) * 1000 / PCM16.sampleRate + min(max(0, sessionMs), sentMs)
    }

    private func turnIndex(responseID: String, epoch: Int) -> Int? {
        unfinished.first { turns[$0].epoch == epoch && turns[$0].responseID == responseID && turns[$0].state != .final }
    }

    private func committed(item: String, epoch: Int, now: Double) -> [Action] {
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
            if turns[i].state != .awaitingReplay && turns[i].epoch != epoch && mostlyCovers(turns[i], start, end) { return actions }
        }
        turns.append(Turn(itemID: item, epoch: epoch, startMs: start, endMs: max(end, start), state: .requested(eventID: ""),
                          committedAt: now))
        return actions + request(turnAt: turns.count - 1, now: now)
    }

    /// A live session has committed audio from `start` on: a turn still waiting for replay that
    /// ended before it was in the replayed audio (or, partly older than the replay buffer, could
    /// not all be) but was never heard as speech again. It is lost.
    private func settlePassedOver(before start: Int, epoch: Int) -> [Action] {
        var actions: [Action] = []
        for i in unfinished where turns[i].state == .awaitingReplay && turns[i].endMs <= start {
            actions += settleLost(turnAt: i, reason: "its replayed audio was not heard as speech again")
        }
        return actions
    }

    /// Settles a turn whose transcript can never come: a warning, a `.lost` report, and the
    /// finals queued behind it flow.
    private func settleLost(turnAt i: Int, reason: String) -> [Action] {
        turns[i].state = .final
        turns[i].silent = true
        turns[i].text = ""
        lostTurns += 1
        let lost = LostTurn(itemID: turns[i].itemID, startMs: turns[i].startMs, endMs: turns[i].endMs, reason: reason)
        return [.warning("the transcript of \(lost.itemID) (\(lost.startMs)–\(lost.endMs) ms) is lost: \(reason)"), .lost(lost)]
            + emitFinals(now: nil)
    }

    private func lastCommittedEndMs(before end: Int) -> Int {
        turns.last.map { min($0.endMs, end) } ?? 0
    }

    private func overlaps(_ turn: Turn, _ start: Int, _ end: Int) -> Bool {
        min(turn.endMs, end) - max(turn.startMs, start) > 0
    }

    /// Whether an existing turn covers most of [start, end): the same speech seen again.
    private func mostlyCovers(_ turn: Turn, _ start: Int, _ end: Int) -> Bool {
        let overlap = min(turn.endMs, end) - max(turn.startMs, start)
        return overlap > 0 && overlap * 2 >= max(1, end - start)
    }

    private func request(turnAt i: Int, now: Double) -> [Action] {
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

    private var recentTranscripts: [String] {
        guard case .recent(let n) = config.session.context else { return [] }
        return Array(recentFinals.suffix(n))
    }

    private func responseDone(_ done: ServerEvent.ResponseDone, epoch: Int, now: Double) -> [Action] {
        var index = turnIndex(responseID: done.responseID, epoch: epoch)
        if index == nil, let item = done.itemID {
            index = unfinished.first { turns[$0].epoch == epoch && turns[$0].itemID == item && turns[$0].state != .final }
        }
        guard let i = index else { return [] }
        if let usage = done.usage {
            totalUsage = totalUsage + usage
            turns[i].usage = usage
        }
        if done.status == "failed" {
            return retry(turnAt: i, now: now, reason: "response failed")
        }
        if let full = done.outputText { turns[i].text = full }
        turns[i].state = .final
        return emitFinals(now: now)
    }

    private func serverError(_ error: ServerEvent.ServerError, epoch: Int, now: Double) -> [Action] {
        if let eventID = error.eventID,
           let i = unfinished.first(where: { turns[$0].epoch == epoch && turns[$0].state == .requested(eventID: eventID) })
        {
            return retry(turnAt: i, now: now, reason: error.isRateLimit ? "rate limited" : "\(error.type): \(error.message)",
                         rateLimited: error.isRateLimit)
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

    private func retry(turnAt i: Int, now: Double, reason: String, rateLimited: Bool = false) -> [Action] {
        guard turns[i].attempts < config.maxAttempts else {
            turns[i].state = .final
            turns[i].text = ""
            return [.warning("giving up on the transcript of \(turns[i].itemID) after \(config.maxAttempts) tries: \(reason)")]
                + emitFinals(now: now)
        }
        let backoff = config.retryBaseSeconds * Double(1 << (turns[i].attempts - 1))
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

    private func caption(_ turn: Turn, final: Bool) -> Caption {
        Caption(text: turn.text, isFinal: final, itemID: turn.itemID, responseID: turn.responseID,
                startMs: turn.startMs, endMs: turn.endMs, usage: final ? turn.usage : nil)
    }

    /// Emits every final whose predecessors are all out: captions stay in commit order.
    private func emitFinals(now: Double?) -> [Action] {
        var actions: [Action] = []
        while emitted < turns.count, turns[emitted].state == .final {
            let turn = turns[emitted]
            let text = Self.trimmingWhitespace(turn.text)
            if turn.silent {
                // Merged into another turn's caption, or lost (reported when it was settled).
            } else if text.isEmpty {
                // No words (a cough, music, a noise the VAD took for speech): nothing to show, and
                // an empty caption on any output would only blank what a reader is looking at.
                wordlessTurns += 1
            } else {
                var final = caption(turn, final: true)
                final.text = text
                final.latencyMs = max(0, timelineMs - (turn.endMs - config.session.silenceMs))
                actions.append(.caption(final))
                captionsEmitted += 1
                recentFinals.append(text)
            }
            if recentFinals.count > 50 { recentFinals.removeFirst(recentFinals.count - 50) }
            emitted += 1
            finalsEmitted += 1
            if let now, !turn.silent { latencies.append(max(0, now - turn.committedAt)) }
        }
        compact()
        return actions
    }

    /// Forgets emitted turns no replay can reach any more (older than the replay buffer plus the
    /// minute `committed` looks back), and the oldest latencies, so a run of days keeps its
    /// memory flat. Amortized: only when hundreds have piled up.
    private func compact() {
        if latencies.count > 20_000 { latencies.removeFirst(10_000) }
        guard emitted > 512 else { return }
        let horizon = timelineMs - (config.replayLimitSeconds + 120) * 1000
        let old = turns[..<emitted].prefix { $0.endMs < horizon }.count
        guard old > 256 else { return }
        turns.removeFirst(old)
        emitted -= old
        forgottenTurns += old
    }

    /// `trimmingCharacters(in: .whitespacesAndNewlines)` without Foundation's NSString bridge:
    /// that set (Unicode Z* plus U+0009–U+000D and U+0085) is exactly Unicode's White_Space.
    static func trimmingWhitespace(_ text: String) -> String {
        let scalars = text.unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })!
        if first == scalars.startIndex && last == scalars.index(before: scalars.endIndex) { return text }
        return String(scalars[first...last])
    }

    // MARK: - End of input

    /// The input has ended. Once the server has processed every append (a `session.update`
    /// barrier), the open turn, if any, is committed so its transcript is requested.
    public func finishInput() -> [Action] {
        inputFinished = true
        return sendBarrier()
    }

    private func sendBarrier() -> [Action] {
        guard let live = liveEpoch else { return [] }
        updatesSent[live, default: 0] += 1
        barrier = (live, updatesSent[live]!)
        return [.send(epoch: live, text: ClientEvents.sessionUpdate(config.session))]
    }

    private func commitOpenTurn() -> [Action] {
        guard let live = liveEpoch, open[live] != nil else { return [] }
        requestCounter += 1
        let eventID = "ct_commit_\(requestCounter)"
        commitEventID = eventID
        return [.send(epoch: live, text: ClientEvents.commit(eventID: eventID))]
    }

    /// A sign-of-life request for the live session: a `session.update` (the same settings), which
    /// the server answers with `session.updated` in order. Counted like every update, so an
    /// end-of-input barrier stays exact. Empty when no session is live.
    public func probe() -> [Action] {
        guard let live = liveEpoch else { return [] }
        updatesSent[live, default: 0] += 1
        return [.send(epoch: live, text: ClientEvents.sessionUpdate(config.session))]
    }

    /// Every turn has its final caption out and no speech is left open.
    public var isDrained: Bool {
        inputFinished && barrier == nil && liveEpoch != nil && emitted == turns.count && (liveEpoch.map { open[$0] == nil } ?? true)
            && commitEventID == nil
    }

    /// Turns seen so far (each gets exactly one final).
    public var turnCount: Int { forgottenTurns + turns.count }

    /// Turns held in memory now (bounded: see `compact()`).
    public var heldTurns: Int { turns.count }
    private var forgottenTurns = 0
}
