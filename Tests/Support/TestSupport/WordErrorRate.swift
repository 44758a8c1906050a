import Foundation

/// Word error rate as the speech fixtures' README scores it: lowercase, dashes as spaces,
/// apostrophes and other punctuation dropped; small numbers written as words on both sides
/// ("10 meters" and "ten meters" are the same words, as Whisper's normaliser treats them).
public enum WordErrorRate {
    static let numbers = [
        "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
        "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
        "nineteen", "twenty",
    ]

    public static func words(_ text: String) -> [String] {
        var cleaned = ""
        for ch in text.lowercased() {
            if ch == "-" || ch == "—" || ch.isWhitespace {
                cleaned.append(" ")
            } else if ch.isLetter || ch.isNumber {
                cleaned.append(ch)
            }
        }
        return cleaned.split(separator: " ").map { word in
            if let n = Int(word), n >= 0, n < numbers.count { return numbers[n] }
            return String(word)
        }
    }

    /// Edit distance between the word sequences over the reference length (0 = perfect).
    public static func score(reference: String, hypothesis: String) -> Double {
        let r = words(reference)
        let h = words(hypothesis)
        guard !r.isEmpty else { return h.isEmpty ? 0 : 1 }
        var previous = Array(0...h.count)
        for i in 1...r.count {
            var current = [i] + Array(repeating: 0, count: h.count)
            for j in stride(from: 1, through: h.count, by: 1) {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (r[i - 1] == h[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return Double(previous[h.count]) / Double(r.count)
    }
}
