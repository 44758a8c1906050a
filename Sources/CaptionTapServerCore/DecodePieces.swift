import CaptionTapCore

/// Cuts a long stretch of audio into recognizer-sized pieces, each ending at the quietest
/// window near its end (between words, as far as energy tells).
///
/// Why: a client may commit minutes of audio at once (manual commits, inline item audio). One
/// decode of all of it would hold the single shared recognizer for as long, starving every other
/// session, and Moonshine invents text on single calls beyond ~40 s. Pieces are decoded as
/// separate jobs, so the decode queue interleaves them with other sessions' work.
public enum DecodePieces {
    /// The longest piece, and how far back from it a cut is searched, in seconds.
    public static let maxSeconds = 20
    public static let searchSeconds = 3

    /// `[start, end)` of each piece of `samples` at `rate`, in order, covering all of it.
    public static func cut(_ samples: ArraySlice<Float>, rate: Int) -> [Range<Int>] {
        let maxLength = maxSeconds * rate
        let search = searchSeconds * rate
        let window = max(1, rate / 32)
        var pieces: [Range<Int>] = []
        var start = samples.startIndex
        while samples.endIndex - start > maxLength {
            var best = start + maxLength
            var quietest = Float.infinity
            var at = start + maxLength - search
            while at + window <= start + maxLength {
                var energy: Float = 0
                for x in samples[at..<at + window] { energy += x * x }
                if energy < quietest {
                    quietest = energy
                    best = at + window / 2
                }
                at += window
            }
            pieces.append(start..<best)
            start = best
        }
        if start < samples.endIndex { pieces.append(start..<samples.endIndex) }
        return pieces
    }
}
