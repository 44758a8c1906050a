import Foundation

/// The server events the transcription state machine acts on, read leniently: unknown event
/// types and unknown fields are ignored, so a newer server never breaks an older client.
public enum ServerEvent: Sendable, Equatable {
    case sessionCreated
    case sessionUpdated
    case speechStarted(itemID: String, audioStartMs: Int)
    case speechStopped(itemID: String, audioEndMs: Int)
    case committed(itemID: String)
    case responseCreated(responseID: String, itemID: String?)
    case textDelta(responseID: String, delta: String)
    case textDone(responseID: String, text: String)
    case responseDone(ResponseDone)
    /// The `requests` limit's `reset_seconds`, if the server sent one.
    case rateLimits(requestsRemaining: Int?, resetSeconds: Double?)
    case error(ServerError)
    /// Valid JSON with a type captiontap does not act on.
    case ignored(type: String)

    public struct ResponseDone: Sendable, Equatable {
        public var responseID: String
        public var status: String
        public var itemID: String?
        public var usage: Usage?
        /// The full text from `output`, when the server included it.
        public var outputText: String?
    }

    public struct ServerError: Sendable, Equatable, Error {
        public var type: String
        public var code: String?
        public var message: String
        /// The client event that failed, when the server says.
        public var eventID: String?

        public var isRateLimit: Bool {
            code == "rate_limit_exceeded" || type == "rate_limit_error" || type == "rate_limit_exceeded"
        }
        public var isAuthentication: Bool {
            code == "invalid_api_key" || type == "authentication_error"
        }
        public var isSessionExpired: Bool { code == "session_expired" }
    }

    /// Parses one text frame; nil if it is not a JSON object with a string `type`.
    ///
    /// Only `type` is read first; the few events the state machine acts on are then decoded into
    /// small structs. Most server events (items, content parts, the full session) are skipped
    /// without building a tree: a generic JSON tree per event cost more CPU than all the audio
    /// encoding of a session.
    public static func parse(_ text: String) -> ServerEvent? {
        // Servers put `type` first; when they do, events captiontap ignores cost no parsing at all.
        let leading = leadingType(text)
        if let leading, !actedOn.contains(leading) { return .ignored(type: leading) }
        let data = Data(text.utf8)
        let decoder = JSONDecoder()
        guard let type = leading ?? (try? decoder.decode(Wire.Envelope.self, from: data))?.type else { return nil }
        func decode<T: Decodable>(_: T.Type) -> T? { try? decoder.decode(T.self, from: data) }
        switch type {
        case "session.created": return .sessionCreated
        case "session.updated": return .sessionUpdated
        case "input_audio_buffer.speech_started":
            let e = decode(Wire.AudioBuffer.self)
            return .speechStarted(itemID: e?.item_id ?? "", audioStartMs: e?.audio_start_ms ?? 0)
        case "input_audio_buffer.speech_stopped":
            let e = decode(Wire.AudioBuffer.self)
            return .speechStopped(itemID: e?.item_id ?? "", audioEndMs: e?.audio_end_ms ?? 0)
        case "input_audio_buffer.committed":
            return .committed(itemID: decode(Wire.AudioBuffer.self)?.item_id ?? "")
        case "response.created":
            let r = decode(Wire.ResponseEvent.self)?.response
            return .responseCreated(responseID: r?.id ?? "", itemID: r?.metadata?["item_id"])
        case "response.output_text.delta", "response.text.delta":
            let e = decode(Wire.TextEvent.self)
            return .textDelta(responseID: e?.response_id ?? "", delta: e?.delta ?? "")
        case "response.output_text.done", "response.text.done":
            let e = decode(Wire.TextEvent.self)
            return .textDone(responseID: e?.response_id ?? "", text: e?.text ?? "")
        case "response.done":
            let r = decode(Wire.ResponseEvent.self)?.response
            let parts: [Wire.OutputItem.Part] = (r?.output ?? []).flatMap { $0.content ?? [] }
            let texts: [String] = parts.compactMap { $0.type == "output_text" || $0.type == "text" ? $0.text : nil }
            return .responseDone(ResponseDone(
                responseID: r?.id ?? "", status: r?.status ?? "completed", itemID: r?.metadata?["item_id"],
                usage: r?.usage?.usage, outputText: texts.isEmpty ? nil : texts.joined()))
        case "rate_limits.updated":
            let requests = decode(Wire.RateLimits.self)?.rate_limits?.first { $0.name == "requests" }
            return .rateLimits(requestsRemaining: requests?.remaining, resetSeconds: requests?.reset_seconds)
        case "error":
            let e = decode(Wire.ErrorEvent.self)?.error
            return .error(ServerError(type: e?.type ?? "error", code: e?.code, message: e?.message ?? "", eventID: e?.event_id))
        default:
            return .ignored(type: type)
        }
    }

    /// The event types ``parse(_:)`` decodes; everything else is `.ignored`.
    static let actedOn: Set<String> = [
        "session.created", "session.updated", "input_audio_buffer.speech_started",
        "input_audio_buffer.speech_stopped", "input_audio_buffer.committed", "response.created",
        "response.output_text.delta", "response.text.delta", "response.output_text.done", "response.text.done",
        "response.done", "rate_limits.updated", "error",
    ]

    /// `type` when the frame starts `{"type":"…"` (whitespace allowed); nil otherwise, and then
    /// the full decoder decides. Never trusted for anything but skipping.
    static func leadingType(_ text: String) -> String? {
        var utf8 = text.utf8[...]
        func skipSpace() { while let c = utf8.first, c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { utf8 = utf8.dropFirst() } }
        func expect(_ literal: String) -> Bool {
            for byte in literal.utf8 {
                guard utf8.first == byte else { return false }
                utf8 = utf8.dropFirst()
            }
            return true
        }
        skipSpace()
        guard expect("{") else { return nil }
        skipSpace()
        guard expect("\"type\"") else { return nil }
        skipSpace()
        guard expect(":") else { return nil }
        skipSpace()
        guard expect("\"") else { return nil }
        guard let end = utf8.firstIndex(where: { $0 == 0x22 || $0 == 0x5C }), utf8[end] == 0x22 else { return nil }
        return String(decoding: utf8[..<end], as: UTF8.self)
    }
}

/// The wire shapes of the server events captiontap reads (protocol §3, §5, §6); every field
/// optional, unknown fields ignored.
enum Wire {
    struct Envelope: Decodable { var type: String }

    struct AudioBuffer: Decodable {
        var item_id: String?
        var audio_start_ms: Int?
        var audio_end_ms: Int?
    }

    struct TextEvent: Decodable {
        var response_id: String?
        var delta: String?
        var text: String?
    }

    struct ResponseEvent: Decodable {
        struct Response: Decodable {
            var id: String?
            var status: String?
            var metadata: [String: String]?
            var usage: UsageJSON?
            var output: [OutputItem]?
        }
        var response: Response?
    }

    struct OutputItem: Decodable {
        struct Part: Decodable {
            var type: String?
            var text: String?
        }
        var content: [Part]?
    }

    struct UsageJSON: Decodable {
        struct InputDetails: Decodable {
            var text_tokens: Int?
            var audio_tokens: Int?
            var cached_tokens: Int?
        }
        var input_tokens: Int?
        var output_tokens: Int?
        var input_token_details: InputDetails?

        var usage: Usage {
            Usage(inputTokens: input_tokens ?? 0, outputTokens: output_tokens ?? 0,
                  inputTextTokens: input_token_details?.text_tokens ?? 0,
                  inputAudioTokens: input_token_details?.audio_tokens ?? 0,
                  cachedTokens: input_token_details?.cached_tokens ?? 0)
        }
    }

    struct RateLimits: Decodable {
        struct Limit: Decodable {
            var name: String?
            var remaining: Int?
            var reset_seconds: Double?
        }
        var rate_limits: [Limit]?
    }

    struct ErrorEvent: Decodable {
        struct Detail: Decodable {
            var type: String?
            var code: String?
            var message: String?
            var event_id: String?
        }
        var error: Detail?
    }
}
