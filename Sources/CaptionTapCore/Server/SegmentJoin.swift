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
    /// of `previous`. Words are separated by single spaces.
    public static func join(_ previous: String, _ next: String) -> String {
        let p = words(previous), n = words(next)
        guard !p.isEmpty else { return n.joined(separator: " ") }
        guard !n.isEmpty else { return p.joined(separator: " ") }
        let (i, j) = overlap(p, n) ?? (p.count, 0)
        return (p[..<i] + n[j...]).joined(separator: " ")
    }

    /// Where `previous`'s tail reappears in `next`: `previous[i...]` equals `next[j ..< j + (count - i)]`
    /// (normalized), the longest such tail, with `j` only a few words in. A single-word overlap
    /// further in than `j == 0` must be a word of five letters or more (a short common word is
    /// too likely a coincidence).
    static func overlap(_ p: [Substring], _ n: [Substring]) -> (Int, Int)? {
        let pn = p.map(normalized), nn = n.map(normalized)
        for k in stride(from: min(maxOverlapWords, p.count, n.count), through: 1, by: -1) {
            let tail = pn.suffix(k)
            for j in 0...min(maxLeadingWords, nn.count - k) where k > 1 || j == 0 || tail.first!.count >= 5 {
                if nn[j..<j + k].elementsEqual(tail) && !tail.allSatisfy(\.isEmpty) { return (p.count - k, j) }
            }
        }
        return nil
    }

    /// The words of a text, settled ones first: all but the last ``maxOverlapWords`` cannot be
    /// changed by a later ``join(_:_:)``.
    public static func settledPrefix(_ text: String) -> String {
        words(text).dropLast(maxOverlapWords).joined(separator: " ")
    }

    static func words(_ text: String) -> [Substring] {
        text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" })
    }

    static func normalized(_ word: Substring) -> String {
        String(word.lowercased().filter { $0.isLetter || $0.isNumber })
    }
}
