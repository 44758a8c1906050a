/// A final caption cut to what a CEA-608 stream caption can carry.
///
/// OBS copies each `SendStreamCaption` text into a buffer of 128 bytes (four rows of 32) and
/// drops the rest without a word: a 160-character sentence lost its end on viewers' screens. So a
/// long final goes as several captions, cut between words into at most four rows of at most 32
/// characters and 128 bytes, each but the last shown long enough to be read before the next
/// replaces it (OBS shows the next at once otherwise).
public enum StreamCaption {
    public static let rowCharacters = 32
    public static let rows = 4
    public static let maxBytes = 128

    /// `text` (one line) as captions in order; a word longer than a row is cut at the row's end.
    public static func pieces(_ text: String) -> [String] {
        // A character of more than 32 bytes (a letter under dozens of combining marks) keeps only
        // its first scalar: whole, it could outgrow a caption, and OBS would cut it mid-sequence.
        let text = String(text.map { $0.utf8.count > 32 ? Character($0.unicodeScalars.first!) : $0 })
        var pieces: [String] = []
        var rowsInPiece: [String] = []
        for row in wrap(text) {
            let candidate = (rowsInPiece + [row]).joined(separator: " ")
            if !rowsInPiece.isEmpty && (rowsInPiece.count == rows || candidate.utf8.count > maxBytes) {
                pieces.append(rowsInPiece.joined(separator: " "))
                rowsInPiece = []
            }
            rowsInPiece.append(row)
        }
        if !rowsInPiece.isEmpty { pieces.append(rowsInPiece.joined(separator: " ")) }
        return pieces
    }

    /// How long a piece stays before the next one of the same final: about a word per 0.3 s,
    /// 1.5–4 s (captions are read a little slower than speech, and a final's pieces must not fall
    /// far behind the speech that follows).
    public static func readingSeconds(_ piece: String) -> Double {
        let words = piece.split(separator: " ").count
        return min(4, max(1.5, Double(words) * 0.3))
    }

    /// Rows of at most ``rowCharacters`` characters (and ``maxBytes`` bytes), cut between words.
    static func wrap(_ text: String) -> [String] {
        var rows: [String] = []
        var row = ""
        for word in text.split(separator: " ").flatMap(chunks) {
            let next = row.isEmpty ? String(word) : row + " " + word
            if next.count <= rowCharacters && next.utf8.count <= maxBytes {
                row = next
            } else {
                if !row.isEmpty { rows.append(row) }
                row = String(word)
            }
        }
        if !row.isEmpty { rows.append(row) }
        return rows
    }

    /// `word` in pieces that each fit a row (characters and bytes).
    private static func chunks(_ word: Substring) -> [Substring] {
        var out: [Substring] = []
        var start = word.startIndex
        var count = 0
        var bytes = 0
        for i in word.indices {
            let size = word[i].utf8.count
            if count == rowCharacters || bytes + size > maxBytes {
                out.append(word[start..<i])
                start = i
                count = 0
                bytes = 0
            }
            count += 1
            bytes += size
        }
        out.append(word[start...])
        return out
    }
}
