/// Live captions while a turn is spoken: decides which audio the local recognizer decodes and
/// turns its results into growing partial captions, until the backend's final replaces them.
///
/// The backend's VAD opens a turn (`speech_started`); from then on the open tail of the turn is
/// decoded every ``Policy/refreshMs`` of new audio, one decode at a time. To keep the cost bounded
/// in long turns, the tail is *settled* once a decode of it covers more than ``Policy/maxTailMs``:
/// the text shown becomes fixed, and decoding restarts at the quietest moment of the last
/// stretch (a pause between words). The audio from that cut to the end of the last decode is
/// heard by both decodes, so ``SegmentJoin`` finds its words in both and joins them without
/// repeating them: no decode is spent on settling. Text two consecutive decodes agree on is
/// *stable*.
///
/// Pure: positions are absolute samples at 24 kHz on the run's timeline; the caller reads the
/// audio, runs the decodes (anywhere) and reports results with ``decoded(job:text:)``.
public struct LiveCaptions: Sendable {
    public struct Policy: Sendable, Equatable {
        /// The first decode waits until this much audio from the start of speech (less
        /// ``leadMs``) has come.
        public var firstDecodeMs = 600
        /// Audio kept before the speech onset the caller finds.
        public var leadMs = 150
        /// Then a decode starts whenever this much audio has come since the last one started:
        /// with a decode's own time, how far the text may trail the speech...
        public var refreshMs = 700
        /// ...or this much in the turn's first ``firstWordsMs`` of speech (its first words come
        /// sooner, and a first guess cut mid-word is put right sooner; the decodes are short
        /// then, so cheap).
        public var firstWordsRefreshMs = 350
        public var firstWordsMs = 2000
        /// A tail decoded this long is settled at a pause between words, when it has one...
        public var settleMs = 1500
        /// ...and one decoded this long at its quietest moment (continuous speech; the cut may
        /// split a word, so only when it must).
        public var maxTailMs = 3000
        /// The cut is no earlier than this after the tail's start, and no later than
        /// ``cutMarginMs`` before the decoded audio's end (words there may be incomplete).
        public var minSegmentMs = 700
        public var cutMarginMs = 300
        /// A turn that starts this soon after the last one's final tail began is decoded with
        /// that tail in front until its first words show (their words are known and dropped from
        /// the result): Moonshine hears a phrase's first words far better in their sentence
        /// (jfk.wav: "What's your country?" alone, "Ask not what your country" with the turn
        /// before). Only until then, within the turn's first words (``firstWordsMs``), and not
        /// again once a result could not be split: it doubles what a decode costs.
        public var contextMs = 2500
        public init() {}
    }

    public struct Job: Sendable, Equatable {
        public var id: Int
        public var itemID: String
        /// Absolute 24 kHz samples to decode: the open tail.
        public var from: Int
        public var to: Int
        /// The text already known for the start of `from ..< to` (the last turn's tail), which
        /// is not this turn's; nil when the audio is all this turn's.
        public var context: String?
    }

    public enum Action: Sendable, Equatable {
        /// Decode samples `job.from ..< job.to` and report with ``decoded(job:text:)``.
        case decode(Job)
        /// Show this partial caption for turn `itemID`: `text` is everything so far, `stable` the
        /// part of it that is not expected to change, `start` where the turn's audio starts (a
        /// decode may come back after the backend closed the turn, before its final: the caption
        /// still belongs to the turn, not to the stretch of it that decode heard).
        case partial(itemID: String, text: String, stable: String, start: Int)
    }

    private struct Turn {
        var itemID: String
        var start: Int
        /// Where the open tail starts, and where speech is looked for while no words show (the
        /// turn's start, later once unrecognized audio was skipped).
        var tailStart: Int
        var searchFrom: Int
        /// Text of the settled tails (fixed), and everything shown so far.
        var settled = ""
        var shown = ""
        /// Where the last decode ended (it started when this much audio had come), and the end of
        /// the audio the shown text covers.
        var decodedTo: Int?
        var shownTo: Int?
        var inFlight: Int?
        /// The words the last decode heard, and the tail it heard them in (a tail settled since
        /// starts later: its words are not known yet). A decode with the last turn's words in front
        /// started earlier, but what is kept of it is this tail's.
        var heard: (from: Int, to: Int, text: String)?
        /// The last decode came back with nothing that could be shown (empty, or implausible).
        var heardNothing = false
        /// A decode with the last turn's tail in front could not be split: no more of those.
        var contextFailed = false
        /// The tail was settled at a pause: the next decode shares no words with the last one
        /// but what follows the pause.
        var cutAtPause = false
        /// The tail and decoded end last searched for a settling cut (none found): the answer
        /// only changes with them, and the worker ticks twenty times a second between decodes.
        var searched: (tailStart: Int, shownTo: Int)?
    }

    public let policy: Policy
    private var turn: Turn?
    private var nextJob = 1
    /// Turns whose final came (their partials must not reappear).
    private var finished: [String] = []
    /// The last turn, where its final tail began, and what was heard in it: its final's text
    /// once that came, else the tail's last decode (``Policy/contextMs``) and where that decode
    /// ended (`to`; nil once the final came: its text is all the turn said).
    private var lastTail: (itemID: String, from: Int, to: Int?, text: String)?

    public init(policy: Policy = Policy()) {
        self.policy = policy
    }

    private static func samples(_ ms: Int) -> Int { ms * PCM16.sampleRate / 1000 }

    /// The backend's open turn (nil between turns) and the newest audio position; returns the
    /// next decode when one is due. `audio` answers questions about the audio (where speech
    /// starts, where a long tail can be cut, whether new audio holds speech).
    public mutating func tick(open: (itemID: String, start: Int)?, audioEnd: Int, audio: some LiveAudio) -> [Action] {
        guard let open, !finished.contains(open.itemID) else {
            if let t = turn, t.inFlight == nil, open?.itemID != t.itemID { retire(t) }
            return []
        }
        if turn?.itemID != open.itemID {
            if let t = turn { retire(t) }
            turn = Turn(itemID: open.itemID, start: open.start, tailStart: open.start, searchFrom: open.start)
        }
        guard var t = turn, t.inFlight == nil else { return [] }
        if t.shown.isEmpty, t.settled.isEmpty, let speech = audio.speechOnset(in: t.searchFrom..<audioEnd) {
            // Until words show, the tail starts where speech does: a turn that reaches back over a
            // pause would have the recognizer decode silence first (and return nothing). The lead
            // may reach before the turn: one that opens right on its first word (the last turn
            // ended just before it) loses that word otherwise ("It was…" heard as "Was…").
            t.tailStart = speech - Self.samples(policy.leadMs)
        }
        if let shownTo = t.shownTo, t.searched.map({ $0 != (t.tailStart, shownTo) }) ?? true {
            if let cut = settlingCut(t, shownTo: shownTo, audio: audio) {
                t.settled = t.shown
                t.tailStart = cut.at
                t.cutAtPause = cut.atPause
            } else {
                t.searched = (t.tailStart, shownTo)
            }
        }
        if t.heardNothing, audioEnd - t.tailStart > Self.samples(policy.maxTailMs) {
            skipUnrecognized(&t, audioEnd: audioEnd, audio: audio)
        }
        let early =
            t.settled.isEmpty && t.searchFrom == t.start && audioEnd - t.tailStart < Self.samples(policy.firstWordsMs)
        let refresh = early ? policy.firstWordsRefreshMs : policy.refreshMs
        guard audioEnd - t.tailStart >= Self.samples(policy.firstDecodeMs),
            audioEnd - (t.decodedTo ?? 0) >= Self.samples(refresh)
        else {
            turn = t
            return []
        }
        // Only silence since the last decode (a pause): the text cannot have changed.
        if let last = t.decodedTo, !t.shown.isEmpty,
            !audio.hasSpeech(in: last..<audioEnd, comparedTo: t.tailStart..<last)
        {
            turn = t
            return []
        }
        if settleAtResumedPause(&t, audioEnd: audioEnd, audio: audio),
            audioEnd - t.tailStart < Self.samples(policy.firstDecodeMs)
        {
            turn = t
            return []
        }
        var job = Job(id: nextJob, itemID: t.itemID, from: t.tailStart, to: audioEnd)
        if early, t.shown.isEmpty, let last = context(for: t, audio: audio) {
            job.from = last.from
            job.context = last.text
        }
        nextJob += 1
        t.inFlight = job.id
        t.decodedTo = audioEnd
        turn = t
        return [.decode(job)]
    }

    /// The last turn's tail to decode in front of `t`'s first words (``Policy/contextMs``), if
    /// it is close enough and its words are known: until its final comes they are known only as
    /// far as its last decode heard, and words spoken after that would be taken for `t`'s.
    private func context(for t: Turn, audio: some LiveAudio) -> (from: Int, text: String)? {
        guard !t.contextFailed, let last = lastTail, last.from < t.tailStart,
            t.tailStart - last.from <= Self.samples(policy.contextMs)
        else { return nil }
        if let heardTo = last.to, heardTo < t.tailStart,
            audio.hasSpeech(in: heardTo..<t.tailStart, comparedTo: last.from..<heardTo)
        {
            return nil
        }
        return (last.from, last.text)
    }

    /// Where to settle the open tail, whose text covers audio up to `shownTo`: at a pause once it
    /// is ``Policy/settleMs`` long, anywhere quiet once it is ``Policy/maxTailMs`` long.
    private func settlingCut(_ t: Turn, shownTo: Int, audio: some LiveAudio) -> (at: Int, atPause: Bool)? {
        let length = shownTo - t.tailStart
        let earliest = t.tailStart + Self.samples(policy.minSegmentMs)
        let latest = shownTo - Self.samples(policy.cutMarginMs)
        guard length > Self.samples(policy.settleMs), earliest < latest else { return nil }
        if let pause = audio.pauseEnd(in: earliest..<latest, comparedTo: t.tailStart..<shownTo) {
            return (min(max(pause, earliest), latest), true)
        }
        guard length > Self.samples(policy.maxTailMs) else { return nil }
        return (Self.quietestCut(earliest, latest, audio), false)
    }

    /// The quietest point of `earliest ..< latest`, kept inside it.
    private static func quietestCut(_ earliest: Int, _ latest: Int, _ audio: some LiveAudio) -> Int {
        min(max(audio.cutPoint(in: earliest..<latest), earliest), latest)
    }

    /// The tail grew past ``Policy/maxTailMs`` while its last decode recognized nothing (noise,
    /// a whisper, a language the recognizer does not know): what is shown stays, and the tail
    /// restarts within the last ``Policy/maxTailMs`` at its quietest moment, so decodes stay as
    /// short as in speech instead of growing with the turn.
    private func skipUnrecognized(_ t: inout Turn, audioEnd: Int, audio: some LiveAudio) {
        let earliest = audioEnd - Self.samples(policy.maxTailMs)
        let latest = audioEnd - Self.samples(policy.settleMs)
        t.settled = t.shown
        t.tailStart = Self.quietestCut(earliest, latest, audio)
        t.searchFrom = t.tailStart
        t.cutAtPause = false
        t.shownTo = nil
        t.searched = nil
        t.heardNothing = false
    }

    /// Settles the tail where speech resumed after a pause the last decode ended in, if it has;
    /// returns whether it did. Nothing of the new tail is decoded yet: its first decode is due
    /// once it is long enough.
    private func settleAtResumedPause(_ t: inout Turn, audioEnd: Int, audio: some LiveAudio) -> Bool {
        guard let cut = resumedAfterDecode(t, audioEnd: audioEnd, audio: audio) else { return false }
        t.settled = t.shown
        t.tailStart = cut
        t.cutAtPause = true
        t.decodedTo = nil
        t.shownTo = nil
        return true
    }

    /// Where speech resumed after a pause the last decode ended in, when it has: that decode
    /// heard every word before the pause whole, so the tail can settle at the pause's end and the
    /// next decode hear only what follows. Without this the tail settles only once a decode
    /// reaches ``Policy/cutMarginMs`` past the pause, and that decode hears the phrase before it
    /// again (two_cities: 115 s of audio decoded for partials became 102 s).
    private func resumedAfterDecode(_ t: Turn, audioEnd: Int, audio: some LiveAudio) -> Int? {
        guard let shownTo = t.shownTo, shownTo - t.tailStart >= Self.samples(policy.minSegmentMs) else { return nil }
        let tail = t.tailStart..<shownTo
        let quietFrom = shownTo - Self.samples(100)
        // The decode ended in quiet, and the pause it ended in is over: speech came after it.
        guard !audio.hasSpeech(in: quietFrom..<shownTo, comparedTo: tail),
            let end = audio.pauseEnd(in: max(t.tailStart, shownTo - Self.samples(400))..<audioEnd, comparedTo: tail),
            end > shownTo, audioEnd - end >= Self.samples(40),
            !audio.hasSpeech(in: quietFrom..<end - Self.samples(20), comparedTo: tail),
            audio.hasSpeech(in: end..<audioEnd, comparedTo: tail)
        else { return nil }
        return end
    }

    /// A decode came back (`text` nil: it was dropped). Results for a turn that has ended or was
    /// replaced are ignored.
    public mutating func decoded(job: Job, text: String?) -> [Action] {
        guard var t = turn, t.itemID == job.itemID, t.inFlight == job.id else { return [] }
        t.inFlight = nil
        defer { turn = t }
        // Decoded after the last turn's tail: only what follows its words is this turn's.
        let ours = job.context.map { context in text.flatMap { Self.after(context, in: $0) } } ?? text
        if job.context != nil, text != nil, ours == nil { t.contextFailed = true }
        // Nothing recognized (a decode of a breath or a pause) is no news: the text stays; so is
        // text that cannot be what was said (the recognizer looping on a fragment).
        guard let heard = ours, Self.plausible(heard, samples: job.to - job.from) else {
            if text != nil { t.heardNothing = true }
            return []
        }
        t.heardNothing = false
        let text = Self.unlooped(heard)
        // After a pause the words before it were heard whole: none of them is the recognizer's
        // invention at a cut, and a phrase that repeats them ("it was the season of…") is new.
        let full = t.cutAtPause ? SegmentJoin.joinAfterPause(t.settled, text) : SegmentJoin.join(t.settled, text)
        t.shownTo = job.to
        t.heard = (t.tailStart, job.to, text)
        guard full != t.shown else { return [] }
        let stable = Self.commonWords(full, t.shown)
        t.shown = full
        return [.partial(itemID: t.itemID, text: full, stable: stable, start: t.start)]
    }

    /// The final for `itemID` was shown (`text`): its partials stop, and late results are dropped.
    public mutating func finalShown(itemID: String, text: String? = nil) {
        finished.append(itemID)
        if finished.count > 16 { finished.removeFirst(finished.count - 16) }
        if let t = turn, t.itemID == itemID { retire(t) }
        if let text, lastTail?.itemID == itemID {
            lastTail?.text = text
            lastTail?.to = nil
        }
    }

    /// The open turn ended: its last tail becomes context for the next one.
    private mutating func retire(_ t: Turn) {
        lastTail = t.heard.map { (t.itemID, $0.from, $0.to, $0.text) }
        turn = nil
    }

    /// The words of `text` after the last words of `context`, found near its start as
    /// ``SegmentJoin`` finds an overlap; nil when they are not there: the decode cannot be split
    /// (a guess at where the context ends dropped or kept the wrong words).
    static func after(_ context: String, in text: String) -> String? {
        let c = SegmentJoin.words(context)
        let n = SegmentJoin.words(text)
        guard !c.isEmpty, !n.isEmpty, let match = SegmentJoin.overlap(c, n) else { return nil }
        return Self.capitalized(SegmentJoin.text(n[(match.next + match.count)...]))
    }

    /// `text` with its first letter in upper case: it begins the turn's caption.
    static func capitalized(_ text: String) -> String { text.prefix(1).uppercased() + text.dropFirst() }

    /// Whether a decode is in flight (the caller waits for it before the next).
    public var isDecoding: Bool { turn?.inFlight != nil }

    /// Whether a decode of `samples` (24 kHz) could have heard `text`: some words, none said three
    /// times in a row, and no faster than anyone speaks (6 words a second, plus one). Moonshine
    /// given a fragment of a word sometimes loops ("As as as as as…"); that is nothing heard.
    static func plausible(_ text: String, samples: Int) -> Bool {
        let words = SegmentJoin.tokens(text).map(SegmentJoin.normalized)
        guard samples > 0, !words.isEmpty, words.count <= 1 + samples / (PCM16.sampleRate / 6) else { return false }
        return !Repetition.tripled(words, length: 1)
    }

    /// `text` without a phrase said twice in a row (three words or more: "It was the age of
    /// wisdom. It was the age of wisdom."): Moonshine loops so on audio cut off mid-phrase, and
    /// the second copy is not speech. Only its first such repeat; texts past 200 words as they are.
    /// It loops on a comma too ("In short,, the period…", for seconds on two_cities): one stays.
    static func unlooped(_ text: String) -> String {
        let split = SegmentJoin.tokens(text)
        guard split.count <= Repetition.maxWords else { return text }
        let words = split.map(oneComma)
        guard let (i, k) = Repetition.doubled(words.map(SegmentJoin.normalized)) else {
            return words.joined(separator: " ")
        }
        return (words[..<(i + k)] + words[(i + 2 * k)...]).joined(separator: " ")
    }

    /// `word` with one comma where the recognizer repeated it at its end.
    static func oneComma(_ word: Substring) -> Substring {
        var w = word
        while w.hasSuffix(",,") { w = w.dropLast() }
        return w
    }

    /// The words `a` and `b` begin with alike (case and punctuation aside), as `a` spells them.
    static func commonWords(_ a: String, _ b: String) -> String {
        let wa = SegmentJoin.words(a)
        let wb = SegmentJoin.words(b)
        var n = 0
        while n < min(wa.count, wb.count), SegmentJoin.normalized(wa[n]) == SegmentJoin.normalized(wb[n]) { n += 1 }
        return SegmentJoin.text(wa.prefix(n))
    }
}

/// What live captions ask about the audio (absolute 24 kHz samples); the transcriber answers
/// from its history.
public protocol LiveAudio {
    /// Where speech starts in `range`, if anywhere.
    func speechOnset(in range: Range<Int>) -> Int?
    /// Where to cut speech in `range` with the least chance of splitting a word.
    func cutPoint(in range: Range<Int>) -> Int
    /// Where a pause between words in `range` ends (speech resumes), judged against the level of
    /// `reference`; nil when `range` holds none.
    func pauseEnd(in range: Range<Int>, comparedTo reference: Range<Int>) -> Int?
    /// Whether `range` holds speech, judged against the level of `reference`.
    func hasSpeech(in range: Range<Int>, comparedTo reference: Range<Int>) -> Bool
}
