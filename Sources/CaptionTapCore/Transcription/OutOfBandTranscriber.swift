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
        /// With a failover behind the backend: how long after a turn's first outage error (server
        /// error, quota, rate limit) it is still tried again (every 2 s at most) past
        /// `maxAttempts`, while ``OutOfBandTranscriber/holdForFailover`` says a failover is on its
        /// way, so it takes the turn over rather than the turn being given up (0: none).
        public var outageGraceSeconds = 0.0

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
        /// A turn settled without a caption of its own (no words, heard as part of another turn,
        /// or lost), in commit order among the finals; the caption names it (its text empty). A
        /// partial shown for it while it was spoken must go (a cough heard as "Hmm." live).
        case uncaptioned(Caption)
    }

    /// Where a turn is in its life.
    enum TurnState: Equatable {
        case requested(eventID: String)
        case waitingToRetry(at: Double)
        /// Its response is streaming text (the response id is the turn's `responseID`).
        case streaming
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
        /// The response transcribing it, from `response.created` until it is requested again or
        /// its session is lost; a final caption carries it.
        var responseID: String?
        var text = ""
        var usage: Usage?
        var attempts = 1
        /// When its first outage error came (caller's clock), for `outageGraceSeconds`.
        var outageSince: Double?
        /// When the commit arrived (caller's clock), for the commit-to-final latency.
        var committedAt: Double = 0
        /// When the current request was sent (caller's clock), for the response timeout.
        var requestedAt: Double = 0
        /// Settled without a caption of its own: its words are in another turn's (replayed audio
        /// heard as one turn), or it was lost.
        var silent = false

        var isRequested: Bool { if case .requested = state { true } else { false } }
        var isStreaming: Bool { state == .streaming }
    }

    struct OpenSpeech {
        var itemID: String
        var startMs: Int
        var endMs: Int?
    }

    public let config: Config
    var turns: [Turn] = []
    var emitted = 0
    var requestCounter = 0
    var liveEpoch: Int?
    var drainingEpochs: Set<Int> = []
    var epochBaseSamples: [Int: Int] = [:]
    var epochSentSamples: [Int: Int] = [:]
    var open: [Int: OpenSpeech] = [:]
    var stopped: [String: Int] = [:]
    var commitEventID: String?
    var rateLimitReset: Double?
    /// The longest a rate-limited retry waits, whatever `reset_seconds` said: later finals wait
    /// for it (they leave in commit order), and the response timeout does not cover the wait.
    static let maxRateLimitWait = 60.0
    /// The most text one turn's transcript may hold (an hour of speech is about 60 KB).
    static let maxTurnTextBytes = 65_536

    /// `text` cut, at a character boundary, to ``maxTurnTextBytes``.
    static func held(_ text: String) -> String {
        guard text.utf8.count > maxTurnTextBytes else { return text }
        var bytes = 0
        return String(
            text.prefix {
                bytes += $0.utf8.count
                return bytes <= maxTurnTextBytes
            })
    }
    var recentFinals: [String] = []
    var inputFinished = false
    /// `session.update`s sent / `session.updated`s seen per epoch: an update sent after the last
    /// append is a barrier, its reply proves the server has processed all audio before it.
    var updatesSent: [Int: Int] = [:]
    var updatesSeen: [Int: Int] = [:]
    var barrier: (epoch: Int, count: Int)?

    // Audio history (PCM16 LE bytes) for replay: a ring of `replayLimitSeconds` of audio that
    // holds absolute samples `historyStartSample ..< totalSamples`, sample `s` at byte
    // `(2 * s) % history.count`. Fixed size: appending never moves or reallocates it.
    let history: UnsafeMutableRawBufferPointer
    var historyStartSample = 0
    /// Every sample captured in this run.
    public internal(set) var totalSamples = 0

    public internal(set) var totalUsage = Usage()
    public internal(set) var finalsEmitted = 0
    /// Turns whose transcript had no words: they get no caption (counted in `finalsEmitted` too,
    /// as their final is settled).
    public internal(set) var wordlessTurns = 0
    /// Turns whose transcript can never come (reported with `.lost`), counted in `finalsEmitted`.
    public internal(set) var lostTurns = 0
    /// Final captions shown (turns with words).
    public internal(set) var captionsEmitted = 0
    public internal(set) var samplesSent = 0
    /// Samples the last ``startSession(epoch:rotation:)`` replayed.
    public internal(set) var lastReplaySamples = 0
    /// Seconds from each turn's commit to its final caption, in emission order.
    public internal(set) var latencies: [Double] = []

    public init(config: Config) {
        self.config = config
        history = .allocate(byteCount: max(0, config.replayLimitSeconds) * PCM16.sampleRate * 2, alignment: 16)
    }

    deinit { history.deallocate() }

    /// Turns not yet emitted. Finals leave in order, so everything before `emitted` is done and
    /// the hot paths (every server event, every tick) only look at this short tail.
    var unfinished: Range<Int> { emitted..<turns.count }

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

    /// Set by the caller while a failover is on its way (the backend has been failing and no
    /// transcript has come since): turns failed by an outage wait for it, up to
    /// `outageGraceSeconds`, instead of being given up.
    public var holdForFailover = false

    // MARK: - End of input

    /// The input has ended. Once the server has processed every append (a `session.update`
    /// barrier), the open turn, if any, is committed so its transcript is requested.
    public func finishInput() -> [Action] {
        inputFinished = true
        return sendBarrier()
    }

    func sendBarrier() -> [Action] {
        guard let live = liveEpoch else { return [] }
        updatesSent[live, default: 0] += 1
        barrier = (live, updatesSent[live]!)
        return [.send(epoch: live, text: ClientEvents.sessionUpdate(config.session))]
    }

    func commitOpenTurn() -> [Action] {
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
        inputFinished && barrier == nil && liveEpoch != nil && emitted == turns.count
            && (liveEpoch.map { open[$0] == nil } ?? true)
            && commitEventID == nil
    }

    /// Turns seen so far (each gets exactly one final).
    public var turnCount: Int { forgottenTurns + turns.count }

    /// Turns held in memory now (bounded: see `compact()`).
    public var heldTurns: Int { turns.count }
    var forgottenTurns = 0
}
