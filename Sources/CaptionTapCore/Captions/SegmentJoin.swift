import Foundation

/// Joins the texts of consecutive recognizer segments of one turn without inventing sentence
/// breaks the speaker did not make.
///
/// Why: an offline recognizer (Moonshine) decodes each segment as a whole utterance, so a segment
/// cut mid-sentence comes back ending in a full stop and the next one starting with a capital:
/// "…how much there might. Be prudently in his power…". The fix is at the source: every segment
/// after a turn's first is decoded with ``contextMs`` of the audio before it, so the recognizer
/// hears the sentence go on, and the words of that overlap, decoded again in context, replace the
/// previous segment's last words (its invented full stop with them). Matching is by words, case
/// and punctuation ignored; when no overlap is found the texts are joined as they are.
public enum SegmentJoin {
    /// Audio before a segment that its decode also hears.
    public static let contextMs = 1500
    /// The most trailing words of the previous text an overlap may replace; text before that is
    /// settled (safe to stream).
    public static let maxOverlapWords = 8
    /// Words the context decode may garble before the overlap starts (a word cut in half).
    static let maxLeadingWords = 3

    /// `previous` followed by `next`, where `next` was decoded with context that overlaps the end
    /// of `previous`. The overlap's words keep `previous`'s spelling (it heard them in their
    /// sentence; `next` starts its output with a capital) and take `next`'s punctuation (it heard
    /// what follows). Words are separated by single spaces. `trailing`: how many words at the end
    /// of `previous` an overlap may skip (see ``overlap(_:_:trailing:)``).
    public static func join(_ previous: String, _ next: String, trailing: Int = maxTrailingWords) -> String {
        let p = words(previous)
        let n = words(next)
        guard !p.isEmpty else { return text(n) }
        guard !n.isEmpty else { return text(p) }
        guard let match = overlap(p, n, trailing: trailing) else { return text(p + n) }
        let merged = (0..<match.count).map { t in
            let (a, b) = (p[match.previous + t], n[match.next + t])
            // A word the cut split ("dark" for "darkness") is taken whole from `next`.
            guard normalized(a) == normalized(b) else { return b }
            // Inside the overlap `previous` spells the compounds; at its end, what follows is
            // `next`'s, and so is the hyphen or space before it.
            let last = t == match.count - 1
            return Word(Substring(respell(a.text, like: b.text)), hyphenated: last ? b.hyphenated : a.hyphenated)
        }
        return text(Array(p[..<match.previous]) + merged + n[(match.next + match.count)...])
    }

    struct Overlap: Equatable {
        /// Where the overlap starts in `previous` and in `next`, and its length in words.
        var previous: Int, next: Int, count: Int
    }

    /// Where `previous`'s tail reappears in `next`: the longest run of words (normalized) that
    /// ends at `previous`'s end and starts at most ``maxLeadingWords`` into `next`; failing that,
    /// one that ends up to ``maxTrailingWords`` before `previous`'s end (a word the recognizer
    /// invented at the cut, heard again in context as nothing), of two words or more, at most one
    /// word into `next`, or up to ``maxLeadingWords`` into it if one of its words has five letters
    /// or more (the context's first word cut in half *and* a word invented at the cut: "…noisiest
    /// authorities insist this." and "Oise est authorities insisted on…"). A one-word overlap
    /// counts only at the very start of `next` or if the word has five letters or more. In an
    /// overlap of two words or more, its last word may be the start of `next`'s (a word the cut
    /// split: "…season of dark" and "it was the season of darkness").
    static func overlap(_ p: [Word], _ n: [Word], trailing: Int = maxTrailingWords) -> Overlap? {
        let pn = p.map(normalized)
        let nn = n.map(normalized)
        // An overlap that reaches the very end of `previous` is taken over one that skips words.
        for trim in 0...max(0, min(trailing, p.count - 1)) {
            for k in stride(from: min(maxOverlapWords, p.count - trim, n.count), through: trim == 0 ? 1 : 2, by: -1) {
                let i = p.count - trim - k
                let tail = pn[i..<i + k]
                guard !tail.allSatisfy(\.isEmpty) else { continue }
                let distinctive = tail.contains { $0.count >= 5 }
                let lead = trim == 0 || distinctive ? maxLeadingWords : 1
                for j in 0...min(lead, nn.count - k) where k > 1 || j == 0 || distinctive {
                    if matches(tail, nn[j..<j + k], splitLast: k > 1) {
                        return Overlap(previous: i, next: j, count: k)
                    }
                }
            }
        }
        return nil
    }

    /// Whether `tail` is `run` word for word, its last word possibly only the start of `run`'s.
    static func matches(_ tail: ArraySlice<String>, _ run: ArraySlice<String>, splitLast: Bool) -> Bool {
        guard splitLast, let a = tail.last, let b = run.last, a != b else { return tail.elementsEqual(run) }
        // Four letters or more, cut two or more short: "you" is a word of its own, not "your" cut.
        return a.count >= 4 && b.count >= a.count + 2 && b.hasPrefix(a) && tail.dropLast().elementsEqual(run.dropLast())
    }

    /// Words at the end of `previous` an overlap may skip.
    public static let maxTrailingWords = 2

    /// `previous` followed by `next`, where `next` was decoded from the end of a pause and
    /// `previous` from before it up to a little past it (live captions settle an open tail at a
    /// pause): the words `previous` heard after the pause start `next` again, heard whole.
    /// No word of `previous` is skipped (a phrase that repeats one before the pause is new), but
    /// its last word may be a fragment the recognizer made of the first one cut short: "…the
    /// epoch of belief. It was the e." + "It was the epoch of incredulity", "…for you, ass." +
    /// "Ask what you". Failing that, as ``join(_:_:trailing:)`` with no trailing words.
    public static func joinAfterPause(_ previous: String, _ next: String) -> String {
        let p = words(previous)
        let n = words(next)
        guard !p.isEmpty, !n.isEmpty, overlap(p, n, trailing: 0) == nil else {
            return join(previous, next, trailing: 0)
        }
        for k in stride(from: min(maxFragmentRun, p.count, n.count), through: 1, by: -1) {
            let i = p.count - k
            guard p[i..<p.count - 1].map(normalized).elementsEqual(n[0..<k - 1].map(normalized)),
                isFragment(p[p.count - 1], of: n[k - 1], alone: k == 1)
            else { continue }
            var rest = n
            // The words replaced went on a sentence ("…for you, ass."): so does their replacement.
            if p[i].text.first?.isLowercase == true {
                rest[0].text = Substring(rest[0].text.prefix(1).lowercased() + rest[0].text.dropFirst())
            }
            return text(Array(p[..<i]) + rest)
        }
        return join(previous, next, trailing: 0)
    }

    /// The most words after a pause that ``joinAfterPause(_:_:)`` looks for at `previous`'s end.
    static let maxFragmentRun = 4

    /// Whether `word` is what the recognizer made of `whole` cut short: its start, or (three
    /// letters or more, as long) one letter off ("ass" for "ask"). `alone`: the only word
    /// matched, so it must be three letters or more ("a" may be a word of its own).
    static func isFragment(_ word: Word, of whole: Word, alone: Bool) -> Bool {
        let a = normalized(word)
        let b = normalized(whole)
        guard !a.isEmpty, !b.isEmpty, !alone || a.count >= 3 else { return false }
        if b.hasPrefix(a) { return true }
        return a.count >= 3 && a.count == b.count && zip(a, b).filter { $0 != $1 }.count == 1
    }

    /// `word`'s letters with `model`'s trailing punctuation.
    static func respell(_ word: Substring, like model: Substring) -> String {
        let stem = word.reversed().drop { !$0.isLetter && !$0.isNumber }.reversed()
        let tail = model.reversed().prefix { !$0.isLetter && !$0.isNumber }.reversed()
        return String(stem) + String(tail)
    }

    /// The words of a text that a later ``join(_:_:)`` cannot change: all but the last
    /// ``maxOverlapWords`` plus ``maxTrailingWords``.
    public static func settledPrefix(_ text: String) -> String {
        Self.text(words(text).dropLast(maxOverlapWords + maxTrailingWords))
    }

    /// A word as joins compare them. The parts of a hyphenated compound are words of their own
    /// (two decodes may write "well-known" and "well known": the same words, not a repeat), the
    /// parts before a hyphen marked `hyphenated`.
    public struct Word: Equatable, Sendable {
        public var text: Substring
        public var hyphenated: Bool
        public init(_ text: Substring, hyphenated: Bool = false) {
            self.text = text
            self.hyphenated = hyphenated
        }
    }

    /// The words of `text`, split at white space and at hyphens between letters or digits.
    public static func words(_ text: String) -> [Word] {
        var out: [Word] = []
        for token in tokens(text) {
            var start = token.startIndex
            var i = token.startIndex
            while i < token.endIndex {
                let next = token.index(after: i)
                if token[i] == "-", i > start, next < token.endIndex, isWordCharacter(token[token.index(before: i)]),
                    isWordCharacter(token[next])
                {
                    out.append(Word(token[start..<i], hyphenated: true))
                    start = next
                }
                i = next
            }
            out.append(Word(token[start...]))
        }
        return out
    }

    /// The white-space separated tokens of `text` ("ha-ha-ha" is one): for telling a loop from
    /// speech, where a hyphenated repeat is one word said once.
    public static func tokens(_ text: String) -> [Substring] {
        text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" })
    }

    /// `words` written out: single spaces, and a hyphen after a `hyphenated` part.
    public static func text(_ words: some Collection<Word>) -> String {
        var out = ""
        var glue = ""
        for word in words {
            out += glue
            out += word.text
            glue = word.hyphenated ? "-" : " "
        }
        return glue == "-" ? out + glue : out
    }

    private static func isWordCharacter(_ c: Character) -> Bool { c.isLetter || c.isNumber }

    static func normalized(_ word: Word) -> String { normalized(word.text) }

    /// `word` as words are compared: lower case, letters and digits only, accents dropped (two
    /// decodes may spell "café" and "cafe": the same word, not two).
    static func normalized(_ word: Substring) -> String {
        var kept = String.UnicodeScalarView()
        for scalar in word.lowercased().decomposedStringWithCanonicalMapping.unicodeScalars
        where scalar.properties.isAlphabetic || scalar.properties.numericType != nil {
            kept.append(scalar)
        }
        return String(kept)
    }
}
