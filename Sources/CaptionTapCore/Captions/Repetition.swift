/// Where a recognizer says the same words again and again.
///
/// Why: Moonshine, given audio that ends soon after a phrase (a segment cut at a pause, or
/// mid-phrase in continuous speech), sometimes loops on its last words: "…it was a season of
/// light it was a season of light it was a season of light…". Measured on windows of the speech
/// fixtures ending at pauses: 2.7 % of decodes loop with no trailing silence, 0.9 % with half a
/// second; another decode of the same audio with different trailing silence usually does not.
public enum Repetition {
    /// More words than any segment says (25 s at six words a second): such a text is a loop, and
    /// is not searched for phrases (that search grows with the cube of the length).
    public static let maxWords = 200

    /// The longest phrase of `minLength` words or more that is said twice in a row: where its
    /// first copy starts and how many words it has. Words are compared as given (callers pass
    /// them normalized). Texts past ``maxWords`` are not searched.
    public static func doubled(_ words: [String], minLength: Int = 3) -> (start: Int, length: Int)? {
        guard words.count <= maxWords, minLength >= 1 else { return nil }
        for k in stride(from: words.count / 2, through: minLength, by: -1) {
            for i in 0...(words.count - 2 * k) where words[i..<i + k].elementsEqual(words[i + k..<i + 2 * k]) {
                return (i, k)
            }
        }
        return nil
    }

    /// Whether a phrase of `length` words is said three times in a row in `words` (compared as
    /// given).
    public static func tripled(_ words: [String], length k: Int) -> Bool {
        guard k >= 1, words.count >= 3 * k else { return false }
        return (0...(words.count - 3 * k)).contains { i in
            words[i..<i + k].elementsEqual(words[i + k..<i + 2 * k])
                && words[i..<i + k].elementsEqual(words[i + 2 * k..<i + 3 * k])
        }
    }

    /// Whether `text` loops (case and punctuation aside; past ``maxWords`` it does): a phrase of
    /// three words or more twice in a row, or of one or two words three times ("the 1960s, the
    /// 1960s, the 1960s…"). Real speech does that too ("no, no, no"), so callers only use it to
    /// try the audio again, never to drop words.
    public static func loops(_ text: String) -> Bool {
        let words = SegmentJoin.tokens(text).map(SegmentJoin.normalized)
        guard words.count <= maxWords else { return true }
        return doubled(words) != nil || tripled(words, length: 1) || tripled(words, length: 2)
    }

    /// `decode(padding)` for each of `paddings` in turn until a text that does not loop; the
    /// first text when every one loops (then the repeat may be speech). One decode when the first
    /// does not loop, which is nearly always.
    public static func firstUnlooped<Failure: Error>(
        paddings: [Int], _ decode: (Int) throws(Failure) -> String
    ) throws(Failure) -> String {
        var first: String?
        for padding in paddings {
            let text = try decode(padding)
            if !loops(text) { return text }
            if first == nil { first = text }
        }
        return first ?? ""
    }
}
