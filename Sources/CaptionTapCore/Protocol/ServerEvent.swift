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
        /// Why a `failed` response failed, when the server said (`status_details.error`: quota
        /// and rate limits come this way too).
        public var failure: ServerError?
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
        /// Says the backend cannot serve now (not a mistake in one request): a failover may help.
        public var isOutage: Bool {
            type == "server_error" || code == "server_error" || code == "insufficient_quota" || isRateLimit
        }
    }

    /// Parses one text frame; nil if it is not a JSON object with a string `type`.
    ///
    /// Only `type` is read first; the few events the state machine acts on are then decoded into
    /// small structs. Most server events (items, content parts, the full session) are skipped
    /// without building a tree: a generic JSON tree per event cost more CPU than all the audio
    /// encoding of a session.
    public static func parse(_ text: String) -> ServerEvent? {
        // Servers put `type` first; when they do, events captiontap ignores cost no parsing at all.
        var text = text
        let leading = text.withUTF8 { bytes -> (type: String, actedOn: Bool)? in
            guard let range = leadingTypeRange(bytes) else { return nil }
            let type = UnsafeBufferPointer(rebasing: bytes[range])
            return (String(decoding: type, as: UTF8.self), actedOnBytes.contains { type.equals($0) })
        }
        if let leading, !leading.actedOn { return .ignored(type: leading.type) }
        // The events captiontap acts on, deltas above all, are read by a scanner; anything it
        // does not accept (odd types, escaped keys, invalid JSON) goes to the decoder below.
        if let fast = scan(text) { return fast }
        return decode(text, leadingType: leading?.type)
    }

    /// The `JSONDecoder` reading of `text` (the reference the scanner must agree with).
    static func decode(_ text: String, leadingType leading: String?) -> ServerEvent? {
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
            let failure = r?.status_details?.error.map {
                ServerError(type: $0.type ?? "error", code: $0.code, message: $0.message ?? "", eventID: nil)
            }
            return .responseDone(
                ResponseDone(
                    responseID: r?.id ?? "", status: r?.status ?? "completed", itemID: r?.metadata?["item_id"],
                    usage: r?.usage?.usage, outputText: texts.isEmpty ? nil : texts.joined(), failure: failure))
        case "rate_limits.updated":
            let requests = decode(Wire.RateLimits.self)?.rate_limits?.first { $0.name == "requests" }
            return .rateLimits(requestsRemaining: requests?.remaining, resetSeconds: requests?.reset_seconds)
        case "error":
            let e = decode(Wire.ErrorEvent.self)?.error
            return .error(
                ServerError(type: e?.type ?? "error", code: e?.code, message: e?.message ?? "", eventID: e?.event_id))
        default:
            return .ignored(type: type)
        }
    }

    /// The scanner's reading of `text`, or nil to let `JSONDecoder` decide. Reads the same
    /// fields as the `Wire` structs; a field of an unexpected type makes it give up, so its
    /// results never differ from the decoder's.
    static func scan(_ text: String) -> ServerEvent? {
        var text = text
        return text.withUTF8 { bytes in
            var scanner = JSONScanner(bytes)
            var fields = ScannedFields()
            guard scanner.object({ s, key in fields.read(key, &s) }), scanner.atEnd(), let type = fields.type else {
                return nil
            }
            switch type {
            case "session.created": return .sessionCreated
            case "session.updated": return .sessionUpdated
            case "input_audio_buffer.speech_started":
                return .speechStarted(itemID: fields.itemID ?? "", audioStartMs: fields.audioStartMs ?? 0)
            case "input_audio_buffer.speech_stopped":
                return .speechStopped(itemID: fields.itemID ?? "", audioEndMs: fields.audioEndMs ?? 0)
            case "input_audio_buffer.committed":
                return .committed(itemID: fields.itemID ?? "")
            case "response.output_text.delta", "response.text.delta":
                return .textDelta(responseID: fields.responseID ?? "", delta: fields.delta ?? "")
            case "response.output_text.done", "response.text.done":
                return .textDone(responseID: fields.responseID ?? "", text: fields.text ?? "")
            case "response.created":
                let r = fields.response
                return .responseCreated(responseID: r?.id ?? "", itemID: r?.itemID)
            case "response.done":
                let r = fields.response
                // A failed response's reasons are left to the decoder (the scanner reads no
                // status_details).
                guard r?.status != "failed" else { return nil }
                return .responseDone(
                    ResponseDone(
                        responseID: r?.id ?? "", status: r?.status ?? "completed", itemID: r?.itemID,
                        usage: r?.usage, outputText: (r?.texts.isEmpty ?? true) ? nil : r?.texts.joined()))
            case "rate_limits.updated":
                let requests = fields.rateLimits?.first { $0.name == "requests" }
                return .rateLimits(requestsRemaining: requests?.remaining, resetSeconds: requests?.resetSeconds)
            default:
                return nil  // errors, other types: the decoder
            }
        }
    }

    /// ``actedOn`` as bytes, compared without hashing a String per frame.
    static let actedOnBytes: [StaticString] = [
        "response.output_text.delta", "input_audio_buffer.speech_started", "input_audio_buffer.speech_stopped",
        "input_audio_buffer.committed", "response.created", "response.done", "rate_limits.updated",
        "response.output_text.done", "response.text.delta", "response.text.done", "session.created",
        "session.updated", "error",
    ]

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
        var text = text
        return text.withUTF8 { bytes in
            leadingTypeRange(bytes).map { String(decoding: UnsafeBufferPointer(rebasing: bytes[$0]), as: UTF8.self) }
        }
    }

    /// Where the leading `type` value's characters are, if the frame starts `{"type":"` and the
    /// value has no escapes.
    static func leadingTypeRange(_ bytes: UnsafeBufferPointer<UInt8>) -> Range<Int>? {
        var i = 0
        let n = bytes.count
        func skipSpace() {
            while i < n, bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09 { i += 1 }
        }
        func expect(_ literal: StaticString) -> Bool {
            let count = literal.utf8CodeUnitCount
            guard i + count <= n else { return false }
            for k in 0..<count where bytes[i + k] != literal.utf8Start[k] { return false }
            i += count
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
        let start = i
        while i < n, bytes[i] != 0x22 {
            if bytes[i] == 0x5C { return nil }
            i += 1
        }
        return i < n ? start..<i : nil
    }
}

/// Top-level fields of a server event as the scanner reads them.
private struct ScannedFields {
    struct Response {
        var id: String?
        var status: String?
        var itemID: String?
        var usage: Usage?
        var texts: [String] = []
    }

    var type: String?
    var itemID: String?
    var audioStartMs: Int?
    var audioEndMs: Int?
    var responseID: String?
    var delta: String?
    var text: String?
    var response: Response?
    var rateLimits: [(name: String?, remaining: Int?, resetSeconds: Double?)]?

    mutating func read(_ key: UnsafeBufferPointer<UInt8>, _ s: inout JSONScanner) -> Bool {
        if key.equals("type") { return s.optionalString(&type) }
        if key.equals("delta") { return s.optionalString(&delta) }
        if key.equals("response_id") { return s.optionalString(&responseID) }
        if key.equals("item_id") { return s.optionalString(&itemID) }
        if key.equals("audio_start_ms") { return s.optionalInt(&audioStartMs) }
        if key.equals("audio_end_ms") { return s.optionalInt(&audioEndMs) }
        if key.equals("text") { return s.optionalString(&text) }
        if key.equals("response") {
            if s.consumeNull() {
                response = nil
                return true
            }
            var r = Response()
            guard s.object({ s, key in Self.readResponse(key, &s, &r) }) else { return false }
            response = r
            return true
        }
        if key.equals("rate_limits") {
            if s.consumeNull() {
                rateLimits = nil
                return true
            }
            var limits: [(name: String?, remaining: Int?, resetSeconds: Double?)] = []
            let ok = s.array { s in
                var limit: (name: String?, remaining: Int?, resetSeconds: Double?) = (nil, nil, nil)
                let ok = s.object { s, key in
                    if key.equals("name") { return s.optionalString(&limit.name) }
                    if key.equals("remaining") { return s.optionalInt(&limit.remaining) }
                    if key.equals("reset_seconds") {
                        if s.consumeNull() {
                            limit.resetSeconds = nil
                            return true
                        }
                        guard let d = s.double() else { return false }
                        limit.resetSeconds = d
                        return true
                    }
                    return s.skipValue()
                }
                limits.append(limit)
                return ok
            }
            rateLimits = limits
            return ok
        }
        return s.skipValue()
    }

    /// False for malformed JSON or a field the decoder would refuse.
    private static func readResponse(_ key: UnsafeBufferPointer<UInt8>, _ s: inout JSONScanner, _ r: inout Response)
        -> Bool
    {
        if key.equals("id") { return s.optionalString(&r.id) }
        if key.equals("status") { return s.optionalString(&r.status) }
        if key.equals("metadata") {
            if s.consumeNull() {
                r.itemID = nil
                return true
            }
            var itemID: String?
            let ok = s.object { s, key in
                guard let value = s.string() else { return false }  // [String: String] only
                if key.equals("item_id") { itemID = value }
                return true
            }
            r.itemID = itemID
            return ok
        }
        if key.equals("usage") {
            if s.consumeNull() {
                r.usage = nil
                return true
            }
            var input: Int?
            var output: Int?
            var text: Int?
            var audio: Int?
            var cached: Int?
            let ok = s.object { s, key in
                if key.equals("input_tokens") { return s.optionalInt(&input) }
                if key.equals("output_tokens") { return s.optionalInt(&output) }
                if key.equals("input_token_details") {
                    if s.consumeNull() { return true }
                    return s.object { s, key in
                        if key.equals("text_tokens") { return s.optionalInt(&text) }
                        if key.equals("audio_tokens") { return s.optionalInt(&audio) }
                        if key.equals("cached_tokens") { return s.optionalInt(&cached) }
                        return s.skipValue()
                    }
                }
                return s.skipValue()
            }
            r.usage = Usage(
                inputTokens: input ?? 0, outputTokens: output ?? 0, inputTextTokens: text ?? 0,
                inputAudioTokens: audio ?? 0, cachedTokens: cached ?? 0)
            return ok
        }
        if key.equals("output") {
            if s.consumeNull() {
                r.texts = []
                return true
            }
            var texts: [String] = []
            let ok = s.array { s in
                s.object { s, key in
                    guard key.equals("content") else { return s.skipValue() }
                    if s.consumeNull() { return true }
                    return s.array { s in
                        var type: String?
                        var text: String?
                        let ok = s.object { s, key in
                            if key.equals("type") { return s.optionalString(&type) }
                            if key.equals("text") { return s.optionalString(&text) }
                            return s.skipValue()
                        }
                        if ok, type == "output_text" || type == "text", let text { texts.append(text) }
                        return ok
                    }
                }
            }
            r.texts = texts
            return ok
        }
        return s.skipValue()
    }
}

extension JSONScanner {
    /// Reads a string or `null` into `value`; false for any other type.
    mutating func optionalString(_ value: inout String?) -> Bool {
        if consumeNull() {
            value = nil
            return true
        }
        guard let s = string() else { return false }
        value = s
        return true
    }

    /// Reads an integer or `null` into `value`; false for any other type.
    mutating func optionalInt(_ value: inout Int?) -> Bool {
        if consumeNull() {
            value = nil
            return true
        }
        guard let n = int() else { return false }
        value = n
        return true
    }
}
