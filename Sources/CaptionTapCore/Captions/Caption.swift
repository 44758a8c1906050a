/// One caption: the transcript of one turn (a committed input audio item), partial or final.
///
/// Times are on the audio timeline of the whole run (milliseconds of audio captured since
/// start), not wall clock: they come from the server's `speech_started` / `speech_stopped`,
/// shifted by where the session's audio began, so they stay monotonic across reconnects and
/// session rotation.
public struct Caption: Sendable, Equatable {
    /// Everything transcribed so far (partials carry the whole text, not a delta).
    public var text: String
    public var isFinal: Bool
    /// The input audio item the turn was committed as (in the session that transcribed it).
    public var itemID: String
    public var responseID: String?
    public var startMs: Int
    public var endMs: Int
    /// Token usage from `response.done`, on finals only.
    public var usage: Usage?
    /// On a live partial: the part of `text` two decodes agreed on (not expected to change).
    public var stableText: String?
    /// On a final: milliseconds of audio captured between the end of the speech (the turn's end
    /// less the silence that ended it) and the caption, i.e. how long after the words it showed.
    public var latencyMs: Int?
    /// Milliseconds of audio captured when the caption was shown (the run's audio clock, on which
    /// `startMs`/`endMs` lie too): when the text became visible, measured against the words.
    public var atMs: Int?
    /// The source it came from, when a run has several (`--target` names them); nil otherwise.
    public var source: String?

    public init(
        text: String, isFinal: Bool, itemID: String, responseID: String?, startMs: Int, endMs: Int, usage: Usage? = nil
    ) {
        self.text = text
        self.isFinal = isFinal
        self.itemID = itemID
        self.responseID = responseID
        self.startMs = startMs
        self.endMs = endMs
        self.usage = usage
    }
}

/// Token counts of one response (`response.done.response.usage`), or of a run. Each count is the
/// server's number held to 0…``maxTokens`` (totals stop there): no run adds up to an overflow.
public struct Usage: Sendable, Equatable {
    public static let maxTokens = 1 << 40

    public var inputTokens: Int
    public var outputTokens: Int
    public var inputTextTokens: Int
    public var inputAudioTokens: Int
    public var cachedTokens: Int

    public init(
        inputTokens: Int = 0, outputTokens: Int = 0, inputTextTokens: Int = 0, inputAudioTokens: Int = 0,
        cachedTokens: Int = 0
    ) {
        func held(_ n: Int) -> Int { min(max(0, n), Self.maxTokens) }
        self.inputTokens = held(inputTokens)
        self.outputTokens = held(outputTokens)
        self.inputTextTokens = held(inputTextTokens)
        self.inputAudioTokens = held(inputAudioTokens)
        self.cachedTokens = held(cachedTokens)
    }

    public static func + (a: Usage, b: Usage) -> Usage {
        Usage(
            inputTokens: a.inputTokens + b.inputTokens, outputTokens: a.outputTokens + b.outputTokens,
            inputTextTokens: a.inputTextTokens + b.inputTextTokens,
            inputAudioTokens: a.inputAudioTokens + b.inputAudioTokens,
            cachedTokens: a.cachedTokens + b.cachedTokens)
    }
}

/// A turn whose transcript can never come: its session died and its audio is no longer in the
/// replay buffer, or the replayed audio was never heard as speech again. Reported (a warning,
/// and a `"type":"lost"` line in JSONL) so later finals flow and nothing disappears silently.
public struct LostTurn: Sendable, Equatable {
    public var itemID: String
    public var startMs: Int
    public var endMs: Int
    public var reason: String

    public init(itemID: String, startMs: Int, endMs: Int, reason: String) {
        self.itemID = itemID
        self.startMs = startMs
        self.endMs = endMs
        self.reason = reason
    }
}
