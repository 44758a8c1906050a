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
    public static func parse(_ text: String) -> ServerEvent? {
        guard let json = JSONValue.parse(text), let type = json["type"]?.string else { return nil }
        return ServerEvent(type: type, json: json)
    }

    init(type: String, json: JSONValue) {
        switch type {
        case "session.created": self = .sessionCreated
        case "session.updated": self = .sessionUpdated
        case "input_audio_buffer.speech_started":
            self = .speechStarted(itemID: json["item_id"]?.string ?? "", audioStartMs: json["audio_start_ms"]?.int ?? 0)
        case "input_audio_buffer.speech_stopped":
            self = .speechStopped(itemID: json["item_id"]?.string ?? "", audioEndMs: json["audio_end_ms"]?.int ?? 0)
        case "input_audio_buffer.committed":
            self = .committed(itemID: json["item_id"]?.string ?? "")
        case "response.created":
            let response = json["response"]
            self = .responseCreated(
                responseID: response?["id"]?.string ?? "", itemID: response?["metadata"]?["item_id"]?.string)
        case "response.output_text.delta", "response.text.delta":
            self = .textDelta(responseID: json["response_id"]?.string ?? "", delta: json["delta"]?.string ?? "")
        case "response.output_text.done", "response.text.done":
            self = .textDone(responseID: json["response_id"]?.string ?? "", text: json["text"]?.string ?? "")
        case "response.done":
            let response = json["response"]
            self = .responseDone(ResponseDone(
                responseID: response?["id"]?.string ?? "",
                status: response?["status"]?.string ?? "completed",
                itemID: response?["metadata"]?["item_id"]?.string,
                usage: response?["usage"].flatMap(Self.usage),
                outputText: response?["output"].flatMap(Self.outputText)))
        case "rate_limits.updated":
            let requests = json["rate_limits"]?.array?.first { $0["name"]?.string == "requests" }
            self = .rateLimits(requestsRemaining: requests?["remaining"]?.int, resetSeconds: requests?["reset_seconds"]?.double)
        case "error":
            let error = json["error"]
            self = .error(ServerError(
                type: error?["type"]?.string ?? "error", code: error?["code"]?.string,
                message: error?["message"]?.string ?? "", eventID: error?["event_id"]?.string))
        default:
            self = .ignored(type: type)
        }
    }

    static func usage(_ json: JSONValue) -> Usage? {
        guard json["total_tokens"] != nil || json["input_tokens"] != nil else { return nil }
        return Usage(
            inputTokens: json["input_tokens"]?.int ?? 0,
            outputTokens: json["output_tokens"]?.int ?? 0,
            inputTextTokens: json["input_token_details"]?["text_tokens"]?.int ?? 0,
            inputAudioTokens: json["input_token_details"]?["audio_tokens"]?.int ?? 0,
            cachedTokens: json["input_token_details"]?["cached_tokens"]?.int ?? 0)
    }

    static func outputText(_ json: JSONValue) -> String? {
        let texts = (json.array ?? []).flatMap { item in
            (item["content"]?.array ?? []).compactMap { part -> String? in
                let type = part["type"]?.string
                return type == "output_text" || type == "text" ? part["text"]?.string : nil
            }
        }
        return texts.isEmpty ? nil : texts.joined()
    }
}
