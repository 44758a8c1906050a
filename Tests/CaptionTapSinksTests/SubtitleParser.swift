/// A strict little SRT/WebVTT reader for checking what `SubtitleFileSink` wrote: it accepts only
/// files made of whole cues (each ended by a blank line), checks every line's shape, and returns
/// the cues so the tests can check numbering and timing.
enum SubtitleParser {
    struct Cue: Equatable {
        var index: Int?
        var startMs: Int
        var endMs: Int
        var text: String
    }

    struct Invalid: Error, CustomStringConvertible {
        var description: String
    }

    static func parseSRT(_ content: String) throws(Invalid) -> [Cue] {
        try parseBlocks(content).map { (block) throws(Invalid) -> Cue in
            guard block.count >= 3 else { throw Invalid(description: "short SRT cue: \(block)") }
            guard block[0].wholeMatch(of: #/[1-9][0-9]*/#) != nil, let index = Int(block[0]) else {
                throw Invalid(description: "bad SRT index line '\(block[0])'")
            }
            let times = try timing(block[1], separator: ",")
            return Cue(index: index, startMs: times.0, endMs: times.1, text: try text(block[2...]))
        }
    }

    static func parseVTT(_ content: String) throws(Invalid) -> [Cue] {
        guard content.hasPrefix("WEBVTT\n\n") else { throw Invalid(description: "missing WEBVTT header") }
        return try parseBlocks(String(content.dropFirst("WEBVTT\n\n".count))).map { (block) throws(Invalid) -> Cue in
            var lines = block[...]
            var index: Int?
            if !lines[lines.startIndex].contains("-->") {
                index = Int(lines.removeFirst())
                guard index != nil else { throw Invalid(description: "unexpected VTT identifier in \(block)") }
            }
            guard lines.count >= 2 else { throw Invalid(description: "short VTT cue: \(block)") }
            let times = try timing(lines.removeFirst(), separator: ".")
            return Cue(index: index, startMs: times.0, endMs: times.1, text: try text(lines))
        }
    }

    /// Splits into cues: the content must be empty or end with a blank line, and no cue may be empty.
    private static func parseBlocks(_ content: String) throws(Invalid) -> [[String]] {
        if content.isEmpty { return [] }
        guard content.hasSuffix("\n\n") else { throw Invalid(description: "file does not end with a whole cue") }
        let blocks = content.dropLast(2).components(separatedBy: "\n\n")
        return try blocks.map { (block) throws(Invalid) -> [String] in
            let lines = block.components(separatedBy: "\n")
            guard !lines.contains(where: \.isEmpty) else { throw Invalid(description: "stray blank line in \(lines)") }
            return lines
        }
    }

    private static func text(_ lines: ArraySlice<String>) throws(Invalid) -> String {
        guard !lines.isEmpty, !lines.contains(where: { $0.contains("-->") }) else {
            throw Invalid(description: "bad cue text \(Array(lines))")
        }
        return lines.joined(separator: "\n")
    }

    private static func timing(_ line: String, separator: Character) throws(Invalid) -> (Int, Int) {
        let halves = line.components(separatedBy: " --> ")
        guard halves.count == 2, let start = timestamp(halves[0], separator), let end = timestamp(halves[1], separator)
        else { throw Invalid(description: "bad timing line '\(line)'") }
        return (start, end)
    }

    private static func timestamp(_ s: String, _ separator: Character) -> Int? {
        guard let m = s.wholeMatch(of: #/([0-9]{2,}):([0-5][0-9]):([0-5][0-9])([,.])([0-9]{3})/#),
            m.output.4.first == separator,
            let h = Int(m.output.1), let min = Int(m.output.2), let sec = Int(m.output.3), let ms = Int(m.output.5)
        else { return nil }
        return ((h * 60 + min) * 60 + sec) * 1000 + ms
    }
}
