import CaptionTapCore

/// Server VAD for the embedded backend: turns per-window speech decisions into Realtime turns,
/// and cuts long turns into recognizer-sized segments so the final transcript is ready soon after
/// speech ends.
///
/// Why segments: an offline recognizer needs the whole utterance, and decoding an 11 s turn after
/// its 800 ms silence would put the caption seconds behind the speech. So the segmenter asks for
/// decodes while the turn is still open — a closed segment at a natural pause once it is long
/// enough to decode accurately, and a *speculative* decode of the open tail as soon as a pause
/// starts. If the pause turns into the end of the turn, the speculative result is the final one;
/// if speech resumes, it is discarded. Positions are sample indices on the session timeline at
/// the detector's rate.
public struct TurnSegmenter: Sendable {
    /// The session's `server_vad` values (prefix padding and silence), in milliseconds.
    public struct Settings: Sendable, Equatable {
        public var prefixPaddingMs: Int
        public var silenceDurationMs: Int
        public init(prefixPaddingMs: Int = 300, silenceDurationMs: Int = 500) {
            self.prefixPaddingMs = prefixPaddingMs
            self.silenceDurationMs = silenceDurationMs
        }
    }

    /// How turns are cut for the recognizer. Defaults measured on the speech fixtures: segments of
    /// 2–25 s decode best; shorter fragments lose words, and single calls beyond ~40 s invent text.
    public struct Policy: Sendable, Equatable {
        /// A pause this long starts a speculative decode of the open segment.
        public var speculateAfterMs = 240
        /// A pause this long may close a segment...
        public var splitPauseMs = 300
        /// ...once the segment holds at least this much audio.
        public var minSegmentMs = 3000
        /// Segments longer than this are cut without a pause, at the quietest window of the last
        /// `cutSearchMs`: the decode left when the turn ends stays short, so the final caption
        /// follows the end of speech within the silence plus a fraction of a second.
        public var maxSegmentMs = 6000
        public var cutSearchMs = 1500
        /// Turns longer than this are committed at the next `splitPauseMs` pause: captions stay live.
        public var softTurnMs = 15000
        /// Turns are committed at this length even without a pause.
        public var maxTurnMs = 25000
        /// Silero's decision lags the end of speech (its probability decays over a few windows):
        /// up to this much of the voiced audio just before a pause that is already 20 dB under
        /// the turn's loudest counts toward the silence that ends the turn, so
        /// `silence_duration_ms` runs from where the words stopped. Speculation, splits and cuts
        /// keep the detector's own pause: a decode that ends closer to the last word loses it
        /// ("ask not" came back empty).
        public var quietTailMs = 256
        /// ...for sessions whose silence is at least this long. A client that asks for less
        /// (LiveKit's plugin: 350 ms) wants turns at pauses the size of gaps between words, and
        /// tuned that number against a detector that lags like Silero: counting the quiet tail
        /// there split "ask | not" into fragments that came back empty.
        public var quietTailMinSilenceMs = 600
        public init() {}
    }

    public enum Event: Equatable, Sendable {
        /// Speech started; the turn's audio begins at `start` (prefix padding included).
        case speechStarted(start: Int)
        /// Recognize `[start, end)`. Speculative decodes cover the open tail during a pause; a
        /// non-speculative one is a closed segment whose audio will not grow.
        case decode(start: Int, end: Int, speculative: Bool)
        /// Speech resumed: the last speculative decode is stale.
        case discardSpeculative
        /// The pause is long enough to split here: the last speculative decode is final for its
        /// segment, and the next segment starts where it ended.
        case keepSpeculative
        /// The turn ended at `end` (speech_stopped, then committed). If the last decode was
        /// speculative and not discarded, it is the final one for the turn's last segment.
        case committed(end: Int)
    }

    public let sampleRate: Int
    public var settings: Settings
    public var policy: Policy

    /// Where the open turn's audio starts, or nil between turns.
    public private(set) var turnStart: Int?
    private var segmentStart = 0
    private var silentSamples = 0
    private var speculating = false
    private var speculativeEnd = 0
    /// Earliest position a new turn may start (after the last commit or clear).
    private var floor = 0
    /// The quiet tail the last turn's commit was brought forward by.
    private var floorLead = 0
    /// Recent windows (end, energy) for choosing a cut inside continuous speech.
    private var recent: [(end: Int, energy: Float)] = []
    /// The loudest window of the open turn, and the quiet voiced audio before the current pause
    /// (``Policy/quietTailMs``).
    private var turnPeak: Float = 0
    private var quietTail = 0

    public init(sampleRate: Int, settings: Settings = Settings(), policy: Policy = Policy()) {
        self.sampleRate = sampleRate
        self.settings = settings
        self.policy = policy
    }

    private func samples(ms: Int) -> Int { ms * sampleRate / 1000 }

    /// Feeds one detector window `[end - count, end)`, its decision and its energy (mean square).
    public mutating func window(voiced: Bool, end: Int, count: Int, energy: Float = 0) -> [Event] {
        var events: [Event] = []
        recent.append((end, energy))
        if recent.count > 1, recent[0].end < end - samples(ms: policy.cutSearchMs) { recent.removeFirst() }
        guard let start = turnStart else {
            if voiced {
                // Not before where the last turn would have ended without its quiet tail: a turn
                // that opens with more silence than that loses words ("ask" became "as"). Never
                // after its first voiced window.
                let begin = min(
                    max(floor + floorLead, end - count - samples(ms: settings.prefixPaddingMs)), end - count)
                turnStart = begin
                segmentStart = begin
                silentSamples = 0
                quietTail = 0
                turnPeak = energy
                speculating = false
                events.append(.speechStarted(start: begin))
            }
            return events
        }
        if voiced {
            if speculating {
                events.append(.discardSpeculative)
                speculating = false
            }
            silentSamples = 0
            quietTail = 0
            turnPeak = max(turnPeak, energy)
        } else {
            if silentSamples == 0, settings.silenceDurationMs >= policy.quietTailMinSilenceMs {
                quietTail = quietVoicedTail(before: end - count, turnStart: start)
            }
            silentSamples += count
        }
        let pauseStart = end - silentSamples
        let turnLength = end - start
        // (A silence of 0 ms ends the turn at its first silent window, not at every voiced one.)
        if silentSamples > 0, silentSamples + quietTail >= samples(ms: settings.silenceDurationMs) {
            events += close(at: end, position: end, broughtForward: quietTail)
            return events
        }
        if turnLength >= samples(ms: policy.maxTurnMs) {
            // No pause long enough: cut at the start of the current pause if there is one.
            events += close(at: silentSamples > 0 ? pauseStart : end, position: end)
            return events
        }
        if silentSamples >= samples(ms: policy.splitPauseMs) && !voiced {
            if turnLength >= samples(ms: policy.softTurnMs) {
                events += close(at: end, position: end)
                return events
            }
            if pauseStart - segmentStart >= samples(ms: policy.minSegmentMs) {
                if speculating {
                    events.append(.keepSpeculative)
                    segmentStart = speculativeEnd
                    speculating = false
                } else {
                    // Close the segment inside the pause; the rest belongs to the next one.
                    let cut = end - silentSamples / 2
                    events.append(.decode(start: segmentStart, end: cut, speculative: false))
                    segmentStart = cut
                }
                return events
            }
        }
        if voiced && end - segmentStart >= samples(ms: policy.maxSegmentMs) {
            // Continuous speech: cut between words, where it is quietest.
            let quietest = recent.dropLast().min { $0.energy < $1.energy }
            let cut = max(segmentStart + 1, quietest?.end ?? end)
            events.append(.decode(start: segmentStart, end: cut, speculative: false))
            segmentStart = cut
            return events
        }
        if !speculating && silentSamples >= samples(ms: policy.speculateAfterMs) && pauseStart > segmentStart {
            speculating = true
            speculativeEnd = end
            events.append(.decode(start: segmentStart, end: end, speculative: true))
        }
        return events
    }

    /// How much voiced audio just before `pauseStart` is already quiet (20 dB under the turn's
    /// loudest window), up to ``Policy/quietTailMs`` and never before the turn.
    private func quietVoicedTail(before pauseStart: Int, turnStart: Int) -> Int {
        let floor = turnPeak / 100
        let limit = pauseStart - min(samples(ms: policy.quietTailMs), max(0, pauseStart - turnStart))
        var quietFrom = pauseStart
        for (i, w) in recent.enumerated().reversed() where w.end <= pauseStart {
            let begin = i > 0 ? recent[i - 1].end : w.end
            guard w.energy < floor, begin >= limit else { break }
            quietFrom = begin
        }
        return pauseStart - quietFrom
    }

    /// Ends the open turn at `end` (the client's `input_audio_buffer.commit`, or the VAD).
    public mutating func commitOpenTurn(at end: Int) -> [Event] {
        guard turnStart != nil else { return [] }
        return close(at: end, position: end)
    }

    /// Drops the open turn without committing it (`input_audio_buffer.clear`).
    public mutating func clear(at position: Int) {
        turnStart = nil
        speculating = false
        floor = position
        floorLead = 0
    }

    /// Commits the turn at `end`; `position` is where the detector is (`end` or later).
    /// `broughtForward`: how much sooner the quiet tail made the silence end the turn (a turn
    /// ended at a short pause, or by length, has no silence after it to keep the next one from).
    private mutating func close(at end: Int, position: Int, broughtForward: Int = 0) -> [Event] {
        var events: [Event] = []
        // A segment that is only the tail of a pause has nothing to recognize.
        if !speculating && position - silentSamples > segmentStart {
            events.append(.decode(start: segmentStart, end: end, speculative: false))
        }
        events.append(.committed(end: end))
        turnStart = nil
        speculating = false
        silentSamples = 0
        floorLead = broughtForward
        quietTail = 0
        floor = end
        return events
    }
}
