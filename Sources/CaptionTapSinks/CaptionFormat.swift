import CaptionTapCore

/// Pure text renderings of captions shared by the sinks: JSON lines, plain text lines, SRT and WebVTT cues.
///
/// Kept free of I/O so every byte a sink emits can be unit tested, and so the sinks agree on one
/// spelling of each format (a JSONL line on stdout is byte-identical to one written to a FIFO).
public enum CaptionFormat {
    // MARK: JSON

    /// One JSON object, no trailing newline, keys in a fixed order:
    /// `type`, `final`, `text`, `item_id`, `response_id` (null when absent), `start_ms`, `end_ms`,
    /// then, when the caption carries them, `stable` (a live partial's settled part), `latency_ms`
    /// (a final's delay after the speech ended) and `at_ms` (the audio clock when it was shown),
    /// then `source` only when `source` is given, then `usage` only on finals that carry it.
    ///
    /// Hand-written rather than `JSONEncoder` so the key order is stable (consumers diff and grep
    /// these lines) and no Foundation is needed on the caption thread.
    public static func jsonLine(_ caption: Caption, source: String? = nil) -> String {
        var out = #"{"type":"caption","final":"#
        out += caption.isFinal ? "true" : "false"
        out += #","text":"# + jsonString(caption.text)
        out += #","item_id":"# + jsonString(caption.itemID)
        out += #","response_id":"# + (caption.responseID.map(jsonString) ?? "null")
        out += #","start_ms":\#(caption.startMs),"end_ms":\#(caption.endMs)"#
        if !caption.isFinal, let stable = caption.stableText { out += #","stable":"# + jsonString(stable) }
        if caption.isFinal, let latency = caption.latencyMs { out += #","latency_ms":\#(latency)"# }
        if let at = caption.atMs { out += #","at_ms":\#(at)"# }
        if let source {
            out += #","source":"# + jsonString(source)
        }
        if caption.isFinal, let usage = caption.usage {
            out += #","usage":{"input_tokens":\#(usage.inputTokens),"output_tokens":\#(usage.outputTokens)}"#
        }
        out += "}"
        return out
    }

    /// `{"type":"lost",…}`: a turn whose transcript can never come, in JSONL.
    public static func lostLine(_ turn: LostTurn, source: String? = nil) -> String {
        var out = #"{"type":"lost","item_id":"# + jsonString(turn.itemID)
        out += #","start_ms":\#(turn.startMs),"end_ms":\#(turn.endMs),"reason":"# + jsonString(turn.reason)
        if let source { out += #","source":"# + jsonString(source) }
        return out + "}"
    }

    /// `s` as a quoted JSON string literal.
    ///
    /// Escapes what RFC 8259 requires (quote, backslash, U+0000–U+001F) plus U+2028/U+2029, which
    /// are legal JSON but end a line in JavaScript and in some line-based tools; everything else,
    /// including non-ASCII text, passes through as UTF-8 so the output stays readable.
    public static func jsonString(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count + 2)
        JSONValue.writeString(s, into: &out)
        return out
    }

    // MARK: Plain text

    /// The caption text on one line: line breaks, tabs and other control characters become single
    /// spaces and the ends are trimmed.
    ///
    /// Every line-oriented output (text stdout, FIFO lines, subtitle cues, the OBS file) relies on
    /// one caption being one line: an embedded newline would split a caption in two for a line
    /// reader, end an SRT/VTT cue early, or push an OBS overlay past its line budget.
    public static func singleLine(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        var pendingSpace = false
        for scalar in text.unicodeScalars {
            let v = scalar.value
            let isBreak = v < 0x20 || (0x7F...0x9F).contains(v) || v == 0x2028 || v == 0x2029
            if isBreak || scalar == " " {
                pendingSpace = !out.isEmpty
                continue
            }
            if pendingSpace {
                out += " "
                pendingSpace = false
            }
            out.unicodeScalars.append(scalar)
        }
        return out
    }

    /// The text line for a caption: `[label] text` when a source label is given, else the text,
    /// flattened to one line. No newline.
    public static func textLine(_ text: String, source: String? = nil) -> String {
        let body = singleLine(text)
        guard let source else { return body }
        return "[\(singleLine(source))] " + body
    }

    /// Approximate terminal columns `text` occupies: 2 for East Asian wide/fullwidth characters and
    /// emoji, 0 for combining marks and zero-width characters, 1 otherwise.
    ///
    /// Good enough to keep a rewritten partial on one terminal row (see `terminalTail`); not a full
    /// `wcwidth`, which would need locale data.
    public static func displayWidth(_ text: String) -> Int {
        text.unicodeScalars.reduce(0) { $0 + scalarWidth($1) }
    }

    /// The end of `text` that fits in `columns` terminal columns, led by `…` when cut.
    ///
    /// A partial rewritten with `\r` and clear-to-end-of-line only erases the current terminal row:
    /// if it wrapped, every rewrite would leave its first rows behind and scroll the screen. Showing
    /// the newest words (the tail) keeps the live line on one row.
    public static func terminalTail(_ text: String, columns: Int) -> String {
        guard columns > 0 else { return "" }
        if displayWidth(text) <= columns { return text }
        guard columns > 1 else { return "…" }
        var width = 1  // the ellipsis
        var start = text.endIndex
        while start > text.startIndex {
            let previous = text.index(before: start)
            let w = displayWidth(String(text[previous]))
            if width + w > columns { break }
            width += w
            start = previous
        }
        return "…" + text[start...]
    }

    private static func scalarWidth(_ scalar: Unicode.Scalar) -> Int {
        let v = scalar.value
        if v == 0x200B || v == 0x200C || v == 0x200D || v == 0xFEFF { return 0 }
        switch scalar.properties.generalCategory {
        case .nonspacingMark, .enclosingMark, .format, .control: return 0
        default: break
        }
        return wideRanges.contains { $0.contains(v) } ? 2 : 1
    }

    /// East Asian Wide/Fullwidth blocks and the common emoji planes.
    private static let wideRanges: [ClosedRange<UInt32>] = [
        0x1100...0x115F, 0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF,
        0xA000...0xA4CF, 0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE30...0xFE4F, 0xFF00...0xFF60,
        0xFFE0...0xFFE6, 0x1F300...0x1F64F, 0x1F900...0x1F9FF, 0x20000...0x3FFFD,
    ]

    // MARK: Subtitles

    /// `HH:MM:SS,mmm` as SRT requires. Negative times clamp to zero; hours grow past two digits
    /// rather than wrapping (a run longer than 99 h still orders correctly).
    public static func srtTimestamp(_ milliseconds: Int) -> String {
        timestamp(milliseconds, separator: ",")
    }

    /// `HH:MM:SS.mmm` as WebVTT requires (hours always present, so every cue has one shape).
    public static func vttTimestamp(_ milliseconds: Int) -> String {
        timestamp(milliseconds, separator: ".")
    }

    private static func timestamp(_ milliseconds: Int, separator: String) -> String {
        let ms = max(0, milliseconds)
        let hours = ms / 3_600_000
        let minutes = ms / 60_000 % 60
        let seconds = ms / 1000 % 60
        let millis = ms % 1000
        return pad(hours, 2) + ":" + pad(minutes, 2) + ":" + pad(seconds, 2) + separator + pad(millis, 3)
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    /// One SRT cue: index, `start --> end`, the text on one line, and the blank line that ends it.
    public static func srtCue(index: Int, startMs: Int, endMs: Int, text: String) -> String {
        "\(index)\n\(srtTimestamp(startMs)) --> \(srtTimestamp(endMs))\n\(singleLine(text))\n\n"
    }

    /// One WebVTT cue: the optional identifier line, `start --> end`, the text and a blank line.
    ///
    /// The text is flattened to one line and `&`, `<`, `>` are escaped, since WebVTT cue text is
    /// markup: a transcribed `<` would otherwise open a tag, and `-->` could never appear.
    public static func vttCue(index: Int? = nil, startMs: Int, endMs: Int, text: String) -> String {
        let identifier = index.map { "\($0)\n" } ?? ""
        return identifier + "\(vttTimestamp(startMs)) --> \(vttTimestamp(endMs))\n\(vttEscape(singleLine(text)))\n\n"
    }

    /// WebVTT's cue-text escaping (`&amp;`, `&lt;`, `&gt;`).
    public static func vttEscape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for ch in text {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            default: out.append(ch)
            }
        }
        return out
    }

    /// The header every WebVTT file starts with, followed by the blank line that ends it.
    public static let vttHeader = "WEBVTT\n\n"
}
