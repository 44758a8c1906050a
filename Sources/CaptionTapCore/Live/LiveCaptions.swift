/// Live captions while a turn is spoken: decides which audio the local recognizer decodes and
/// turns its results into growing partial captions, until the backend's final replaces them.
///
/// The backend's VAD opens a turn (`speech_started`); from then on the turn's audio so far is
/// decoded every ``Policy/refreshMs`` of new audio, one decode at a time. To keep the cost bounded
/// in long turns, the open tail is closed into a *settled segment* once it grows past
/// ``Policy/maxTailMs`` (cut at the quietest moment the caller finds), decoded once more, and only
/// the audio after the cut is re-decoded from then on, with ``SegmentJoin/contextMs`` of context
/// so the join invents no sentence break. Text two consecutive decodes agree on is *stable*.
///
/// Pure: positions are absolute samples at 24 kHz on the run's timeline; the caller reads the
/// audio, runs the decodes (anywhere) and reports results with ``decoded(job:text:)``.
public struct LiveCaptions: Sendable {
    public struct Policy: Sendable, Equatable {
        /// The first decode waits until the turn holds this much audio (prefix padding included).
        public var firstDecodeMs = 600
        /// Then a decode starts whenever this much audio has come since the last one started.
        public var refreshMs = 500
        /// An open tail longer than this is closed into a settled segment...
        public var maxTailMs = 5000
        /// ...cut no earlier than this after the segment's start and no later than
        /// ``cutMarginMs`` before the newest audio (words at the edge may be incomplete).
        public var minSegmentMs = 2500
        public var cutMarginMs = 400
        public init() {}
    }

    public struct Job: Sendable, Equatable {
        public enum Kind: Sendable, Equatable {
            /// The open tail up to the newest audio: its text is shown.
            case tail
            /// A settled segment ending at `cut`: its text is kept, the tail starts there.
            case segment(cut: Int)
        }
        public var id: Int
        public var itemID: String
        /// Absolute 24 kHz samples to decode.
        public var from: Int
        public var to: Int
        public var kind: Kind
    }

    public enum Action: Sendable, Equatable {
        /// Decode samples `job.from ..< job.to` and report with ``decoded(job:text:)``.
        case decode(Job)
        /// Show this partial caption for the open turn `itemID`: `text` is everything so far,
        /// `stable` the part of it that is not expected to change.
        case partial(itemID: String, text: String, stable: String)
    }

    private struct Turn {
        var itemID: String
        var start: Int
        var segmentStart: Int
        var settled = ""
        var shown = ""
        var lastDecodeAt: Int?
        var inFlight: Int?
    }

    public let policy: Policy
    private var turn: Turn?
    private var nextJob = 1
    /// Turns whose final came (their partials must not reappear).
    private var finished: [String] = []

    public init(policy: Policy = Policy()) {
        self.policy = policy
    }

    private static func samples(_ ms: Int) -> Int { ms * PCM16.sampleRate / 1000 }

    /// The backend's open turn (nil between turns) and the newest audio position; returns the
    /// next decode when one is due. `quietest` finds the quietest moment in a range of samples
    /// (where a settled segment is cut).
    public mutating func tick(open: (itemID: String, start: Int)?, audioEnd: Int, quietest: (Range<Int>) -> Int) -> [Action] {
        guard let open, !finished.contains(open.itemID) else {
            if let t = turn, t.inFlight == nil, open?.itemID != t.itemID { turn = nil }
            return []
        }
        if turn?.itemID != open.itemID {
            turn = Turn(itemID: open.itemID, start: open.start, segmentStart: open.start)
        }
        guard var t = turn, t.inFlight == nil else { return [] }
        let context = t.segmentStart > t.start ? max(t.start, t.segmentStart - Self.samples(SegmentJoin.contextMs)) : t.segmentStart
        var job: Job?
        if audioEnd - t.segmentStart > Self.samples(policy.maxTailMs) {
            let earliest = t.segmentStart + Self.samples(policy.minSegmentMs), latest = audioEnd - Self.samples(policy.cutMarginMs)
            let cut = earliest < latest ? min(max(quietest(earliest..<latest), earliest), latest) : latest
            job = Job(id: nextJob, itemID: t.itemID, from: context, to: cut, kind: .segment(cut: cut))
        } else if audioEnd - t.start >= Self.samples(policy.firstDecodeMs),
                  audioEnd - (t.lastDecodeAt ?? 0) >= Self.samples(policy.refreshMs) {
            job = Job(id: nextJob, itemID: t.itemID, from: context, to: audioEnd, kind: .tail)
            t.lastDecodeAt = audioEnd
        }
        guard let job else { return [] }
        nextJob += 1
        t.inFlight = job.id
        turn = t
        return [.decode(job)]
    }

    /// A decode came back (`text` nil: it was dropped). Results for a turn that has ended or was
    /// replaced are ignored.
    public mutating func decoded(job: Job, text: String?) -> [Action] {
        guard var t = turn, t.itemID == job.itemID, t.inFlight == job.id else { return [] }
        t.inFlight = nil
        defer { turn = t }
        guard let text else { return [] }
        switch job.kind {
        case .segment(let cut):
            t.settled = SegmentJoin.join(t.settled, text)
            t.segmentStart = cut
            t.lastDecodeAt = nil  // decode the new tail right away
            return []
        case .tail:
            let full = SegmentJoin.join(t.settled, text)
            guard !full.isEmpty, full != t.shown else { return [] }
            let stable = Self.commonWords(full, t.shown)
            t.shown = full
            return [.partial(itemID: t.itemID, text: full, stable: stable)]
        }
    }

    /// The final for `itemID` was shown: its partials stop, and late results are dropped.
    public mutating func finalShown(itemID: String) {
        finished.append(itemID)
        if finished.count > 16 { finished.removeFirst(finished.count - 16) }
        if turn?.itemID == itemID { turn = nil }
    }

    /// Whether a decode is in flight (the caller waits for it before the next).
    public var isDecoding: Bool { turn?.inFlight != nil }

    /// The words `a` and `b` begin with alike (case and punctuation aside), as `a` spells them.
    static func commonWords(_ a: String, _ b: String) -> String {
        let wa = SegmentJoin.words(a), wb = SegmentJoin.words(b)
        var n = 0
        while n < min(wa.count, wb.count), SegmentJoin.normalized(wa[n]) == SegmentJoin.normalized(wb[n]) { n += 1 }
        return wa.prefix(n).joined(separator: " ")
    }
}
