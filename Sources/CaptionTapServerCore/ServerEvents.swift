import CaptionTapCore

/// Which protocol a client speaks: the GA Realtime API, or the beta one (`OpenAI-Beta:
/// realtime=v1`) that some transcription clients still use. Only the transcription-session part
/// of the beta differs here: `transcription_session.*` events and `conversation.item.created`.
public enum ProtocolDialect: Sendable, Equatable {
    case ga, beta
}

/// Builds the embedded backend's server events as JSON text: the server-side counterpart of
/// ``ClientEvents``. Each event gets a fresh `event_id`; shapes follow docs/PROTOCOL.md and are
/// validated against the official SDK's types by the tests.
struct ServerEvents {
    var dialect: ProtocolDialect = .ga
    private var ids = IDGenerator()

    mutating func id(_ prefix: String) -> String { ids.next(prefix) }

    /// Any event: `type`, a new `event_id`, then `fields` in order.
    mutating func event(_ type: String, _ fields: JSONValue) -> String {
        var pairs: [(String, JSONValue)] = [("type", .string(type)), ("event_id", .string(ids.next("event")))]
        if case .object(let rest) = fields { pairs += rest }
        return JSONValue.object(pairs).text
    }

    mutating func error(_ problem: ProtocolProblem, eventID: String?) -> String {
        event("error", ["error": problem.errorObject(eventID: eventID)])
    }

    // MARK: Session

    /// The first event: `session.created`, or `transcription_session.created` for a beta client.
    mutating func created(_ session: SessionObject) -> String {
        if dialect == .beta && session.kind == .transcription {
            return event("transcription_session.created", ["session": session.betaJSON])
        }
        return event("session.created", ["session": session.json])
    }

    mutating func updated(_ session: SessionObject) -> String {
        if dialect == .beta && session.kind == .transcription {
            return event("transcription_session.updated", ["session": session.betaJSON])
        }
        return event("session.updated", ["session": session.json])
    }

    // MARK: Input audio buffer

    mutating func speechStarted(item: String, ms: Int) -> String {
        event("input_audio_buffer.speech_started", ["audio_start_ms": .number(Double(ms)), "item_id": .string(item)])
    }

    mutating func speechStopped(item: String, ms: Int) -> String {
        event("input_audio_buffer.speech_stopped", ["audio_end_ms": .number(Double(ms)), "item_id": .string(item)])
    }

    mutating func timeoutTriggered(item: String, startMs: Int, endMs: Int) -> String {
        event(
            "input_audio_buffer.timeout_triggered",
            [
                "audio_start_ms": .number(Double(startMs)), "audio_end_ms": .number(Double(endMs)),
                "item_id": .string(item),
            ])
    }

    mutating func committed(item: String, previous: String?) -> String {
        event("input_audio_buffer.committed", ["previous_item_id": Self.optional(previous), "item_id": .string(item)])
    }

    // MARK: Conversation items

    /// A finished item entering the conversation: `conversation.item.added` then `.done` (GA), or
    /// `conversation.item.created` (beta).
    mutating func itemEntered(_ item: JSONValue, previous: String?) -> [String] {
        let fields: JSONValue = ["previous_item_id": Self.optional(previous), "item": item]
        if dialect == .beta { return [event("conversation.item.created", fields)] }
        return [event("conversation.item.added", fields), event("conversation.item.done", fields)]
    }

    /// A conversation item of type `message`, as items are shown in `conversation.item.*` events.
    static func messageItem(_ id: String, role: String, status: String, content: [JSONValue]) -> JSONValue {
        [
            "id": .string(id), "type": "message", "object": "realtime.item", "status": .string(status),
            "role": .string(role), "content": .array(content),
        ]
    }

    /// A committed turn: user audio whose transcript is not known yet.
    static func userAudioItem(_ id: String) -> JSONValue {
        messageItem(id, role: "user", status: "completed", content: [["type": "input_audio", "transcript": nil]])
    }

    // MARK: Input transcription

    mutating func transcriptionDelta(item: String, delta: String) -> String {
        event(
            "conversation.item.input_audio_transcription.delta",
            ["item_id": .string(item), "content_index": 0, "delta": .string(delta)])
    }

    mutating func transcriptionCompleted(item: String, transcript: String, seconds: Double) -> String {
        event(
            "conversation.item.input_audio_transcription.completed",
            [
                "item_id": .string(item), "content_index": 0, "transcript": .string(transcript),
                "usage": ["type": "duration", "seconds": .number(seconds)],
            ])
    }

    mutating func transcriptionFailed(item: String, problem: ProtocolProblem) -> String {
        event(
            "conversation.item.input_audio_transcription.failed",
            [
                "item_id": .string(item), "content_index": 0,
                "error": [
                    "type": .string(problem.type), "code": .string(problem.code), "message": .string(problem.message),
                    "param": nil,
                ],
            ])
    }

    static func optional(_ value: String?) -> JSONValue { value.map(JSONValue.string) ?? .null }
}

/// Realtime-style ids: a prefix, a random per-session part and a counter (never repeats).
struct IDGenerator {
    private var counter = 0
    private let stem: String
    private static let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")

    init() {
        stem = String((0..<12).map { _ in Self.alphabet.randomElement()! })
    }

    mutating func next(_ prefix: String) -> String {
        counter += 1
        var n = counter
        var tail = ""
        repeat {
            tail.append(Self.alphabet[n % 62])
            n /= 62
        } while n > 0
        return prefix + "_" + stem + String(repeating: "0", count: max(0, 8 - tail.count)) + String(tail.reversed())
    }
}
