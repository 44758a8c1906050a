/// Builds the client events captiontap sends (GA shapes, docs/PROTOCOL.md §2, §5).
public enum ClientEvents {
    /// The session captiontap asks for: 24 kHz PCM in, server VAD that commits turns but never
    /// answers by itself (both auto flags false), text out.
    public static func sessionUpdate(_ config: SessionConfig) -> String {
        let vad: [(String, JSONValue)] = [
            ("type", "server_vad"),
            ("threshold", .number(config.vadThreshold)),
            ("prefix_padding_ms", .number(Double(config.prefixMs))),
            ("silence_duration_ms", .number(Double(config.silenceMs))),
            ("create_response", false),
            ("interrupt_response", false),
        ]
        var session: [(String, JSONValue)] = [("type", "realtime")]
        if let model = config.model { session.append(("model", .string(model))) }
        session.append(("output_modalities", ["text"]))
        session.append(("instructions", .string(config.sessionInstructions)))
        session.append(
            (
                "audio",
                .object([
                    (
                        "input",
                        .object([
                            ("format", ["type": "audio/pcm", "rate": 24000]),
                            ("turn_detection", .object(vad)),
                        ])
                    )
                ])
            ))
        return JSONValue.object([("type", "session.update"), ("session", .object(session))]).text
    }

    /// The out-of-band transcription request for one committed turn.
    ///
    /// `conversation: "none"` keeps the transcript out of the default conversation; the
    /// metadata is how `response.created` / `response.done` are matched back to the turn.
    public static func transcriptionRequest(
        eventID: String, itemID: String, context: ContextMode, recentTranscripts: [String], instructions: String
    ) -> String {
        var response: [(String, JSONValue)] = [
            ("conversation", "none"),
            ("output_modalities", ["text"]),
            ("instructions", .string(instructions)),
            ("metadata", ["purpose": "caption", "item_id": .string(itemID)]),
        ]
        switch context {
        case .turn:
            response.append(("input", [["type": "item_reference", "id": .string(itemID)]]))
        case .recent:
            var items: [JSONValue] = recentTranscripts.map { text in
                [
                    "type": "message", "role": "user",
                    "content": [["type": "input_text", "text": .string("Earlier transcript: \(text)")]],
                ]
            }
            items.append(["type": "item_reference", "id": .string(itemID)])
            response.append(("input", .array(items)))
        case .session:
            break  // no `input`: the model sees the whole default conversation
        }
        return JSONValue.object([
            ("type", "response.create"), ("event_id", .string(eventID)), ("response", .object(response)),
        ]).text
    }

    /// Commits the open turn (used at the end of input).
    public static func commit(eventID: String) -> String {
        JSONValue.object([("type", "input_audio_buffer.commit"), ("event_id", .string(eventID))]).text
    }

    /// Drops uncommitted audio (a session being rotated away from).
    public static func clear(eventID: String) -> String {
        JSONValue.object([("type", "input_audio_buffer.clear"), ("event_id", .string(eventID))]).text
    }
}

/// What the transcription request shows the model besides the turn (`--context`).
public enum ContextMode: Sendable, Equatable, CustomStringConvertible {
    /// Only the turn (`item_reference`): cheapest.
    case turn
    /// The last N final transcripts as text, then the turn: resolves names and terms.
    case recent(Int)
    /// No `input`: the whole conversation (the cookbook's most expensive mode).
    case session

    /// Parses `turn`, `recent:N` or `session`.
    public init?(argument: String) {
        switch argument {
        case "turn": self = .turn
        case "session": self = .session
        default:
            guard argument.hasPrefix("recent:"), let n = Int(argument.dropFirst(7)), (1...50).contains(n) else {
                return nil
            }
            self = .recent(n)
        }
    }

    public var description: String {
        switch self {
        case .turn: "turn"
        case .recent(let n): "recent:\(n)"
        case .session: "session"
        }
    }
}

/// Session settings (`session.update`) and the transcription prompt.
public struct SessionConfig: Sendable, Equatable {
    public var model: String?
    public var vadThreshold: Double = 0.6
    public var silenceMs: Int = 800
    public var prefixMs: Int = 300
    public var language: String?
    public var prompt: String?
    public var context: ContextMode = .turn
    /// Replaces the default transcription instructions (`--instructions-file`).
    public var customInstructions: String?

    public init() {}

    public static let defaultInstructions = """
        You are a transcription engine. Transcribe the latest user audio turn verbatim, in the \
        language it is spoken in. Output only the words spoken: no commentary, no answers, no \
        translation, no added punctuation beyond what the speech implies, nothing added. Keep \
        disfluencies and spelled letters. Earlier turns or transcripts are context only: never \
        repeat them. If the turn contains no speech, output nothing.
        """

    /// The per-request instructions: the default (or custom) text plus language and vocabulary.
    public var transcriptionInstructions: String {
        var text = customInstructions ?? Self.defaultInstructions
        if let language { text += "\nThe speech is in this language: \(language)." }
        if let prompt { text += "\nNames and terms that may occur (spell them like this): \(prompt)" }
        return text
    }

    /// Session-level instructions: the same, so a default-conversation response would transcribe too.
    public var sessionInstructions: String { transcriptionInstructions }
}
