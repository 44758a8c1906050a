import CaptionTapCore

/// The session object of the embedded Realtime backend: what `session.created` announces and
/// how `session.update` changes it (docs/PROTOCOL.md §2).
///
/// Kept as JSON rather than a struct: clients send partial objects that are merged field by field,
/// and echoing the merged object is exactly what the protocol asks for.
public struct SessionObject: Sendable {
    /// A realtime session answers with responses; a transcription session (`?intent=transcription`,
    /// or `session.type: "transcription"`) only transcribes what it hears.
    public enum Kind: Sendable, Equatable {
        case realtime, transcription
    }

    public internal(set) var json: JSONValue
    public internal(set) var kind = Kind.realtime

    /// Models the backend answers to: OpenAI's realtime and transcription model ids, with their
    /// dated variants (`gpt-4o-transcribe-2025-03-20`). The cloud names are accepted so clients
    /// written for the cloud work unchanged; the transcript comes from the local recognizer either
    /// way, and the requested name is echoed.
    public static func isSupported(model: String) -> Bool {
        let known = [
            "gpt-realtime", "gpt-realtime-mini", "gpt-4o-realtime-preview", "gpt-4o-mini-realtime-preview",
            "gpt-4o-realtime", "gpt-4o-mini-realtime", "gpt-4o-transcribe", "gpt-4o-mini-transcribe",
            "gpt-4o-transcribe-diarize", "gpt-transcribe", "gpt-live-transcribe", "gpt-realtime-whisper",
            "whisper-1", "captiontap-local",
        ]
        return model.count <= 128 && known.contains { model == $0 || model.hasPrefix($0 + "-") }
    }

    public init(id: String, model: String, expiresAt: Int) {
        json = [
            "type": "realtime",
            "object": "realtime.session",
            "id": .string(id),
            "model": .string(model),
            // Text is the only output this backend produces, so it is the default.
            "output_modalities": ["text"],
            "instructions": "Transcribe the user's speech verbatim.",
            "tools": [],
            "tool_choice": "auto",
            "max_output_tokens": "inf",
            "tracing": nil,
            "truncation": "auto",
            "prompt": nil,
            "include": nil,
            "expires_at": .number(Double(expiresAt)),
            "audio": [
                "input": [
                    "format": ["type": "audio/pcm", "rate": 24000],
                    "transcription": nil,
                    "noise_reduction": nil,
                    "turn_detection": Self.defaultServerVAD,
                ],
                "output": [
                    "format": ["type": "audio/pcm", "rate": 24000],
                    "voice": "marin",
                    "speed": 1.0,
                ],
            ],
        ]
    }

    static let defaultSemanticVAD: JSONValue = [
        "type": "semantic_vad", "eagerness": "auto", "create_response": true, "interrupt_response": true,
    ]

    /// `semantic_vad` on the embedded backend: Silero VAD whose end-of-turn silence follows the
    /// eagerness (the cloud's semantic model is not available offline). Low waits longest.
    public static let eagernessSilenceMs = ["low": 1200, "medium": 800, "auto": 800, "high": 400]

    static let defaultServerVAD: JSONValue = [
        "type": "server_vad", "threshold": 0.5, "prefix_padding_ms": 300, "silence_duration_ms": 500,
        "idle_timeout_ms": nil, "create_response": true, "interrupt_response": true,
    ]

    // MARK: Reading the settings the backend acts on

    public var turnDetection: JSONValue? {
        let td = json["audio"]?["input"]?["turn_detection"]
        return td?.isNull == false ? td : nil
    }
    public var vadThreshold: Double { min(max(turnDetection?["threshold"]?.double ?? 0.5, 0), 1) }
    /// Checked when set; clamped here too, as the sample arithmetic must never overflow.
    public var prefixPaddingMs: Int { min(max(turnDetection?["prefix_padding_ms"]?.int ?? 300, 0), Self.maxVADMs) }
    public var silenceDurationMs: Int {
        if turnDetection?["type"]?.string == "semantic_vad" {
            return Self.eagernessSilenceMs[turnDetection?["eagerness"]?.string ?? "auto"] ?? 800
        }
        return min(max(turnDetection?["silence_duration_ms"]?.int ?? 500, 0), Self.maxVADMs)
    }
    /// Whether a turn the VAD commits gets a response by itself (never in a transcription session).
    public var createResponse: Bool { kind == .realtime && turnDetection?["create_response"]?.bool ?? true }
    /// Server VAD's idle timeout: silence this long after the last turn commits an empty turn.
    public var idleTimeoutMs: Int? {
        turnDetection?["type"]?.string == "server_vad" ? turnDetection?["idle_timeout_ms"]?.int : nil
    }
    public var wantsInputTranscription: Bool {
        guard let t = json["audio"]?["input"]?["transcription"] else { return kind == .transcription }
        return !t.isNull
    }
    public var instructions: String { json["instructions"]?.string ?? "" }
    public var outputModalities: [String] { json["output_modalities"]?.array?.compactMap(\.string) ?? ["text"] }

    // MARK: session.update

    /// Applies a client `session` object; on a problem the session is left unchanged.
    public mutating func apply(update: JSONValue) -> ProtocolProblem? {
        guard case .object = update else {
            return ProtocolProblem(
                message: "Invalid 'session': expected an object.", code: "invalid_type", param: "session")
        }
        if kind == .transcription { return applyTranscription(update: update) }
        if let type = update["type"]?.string, type != "realtime" {
            return ProtocolProblem(
                message:
                    "Only 'realtime' sessions can be updated here; got '\(type.prefix(64))'. Transcription sessions start with ?intent=transcription.",
                code: "invalid_value", param: "session.type")
        }
        if let model = update["model"]?.string, !Self.isSupported(model: model) {
            return ProtocolProblem(
                message: "The model '\(model.prefix(128))' does not exist or you do not have access to it.",
                code: "model_not_found", param: "session.model")
        }
        if let modalities = update["output_modalities"]?.array {
            if modalities.contains(where: { $0.string == "audio" }) {
                return ProtocolProblem(
                    message: "Audio output is not supported by the embedded backend; use output_modalities [\"text\"].",
                    code: "unsupported_output_modality", param: "session.output_modalities")
            }
            if modalities.count != 1 || modalities[0].string != "text" {
                return ProtocolProblem(
                    message: "output_modalities must be [\"text\"].", code: "invalid_value",
                    param: "session.output_modalities")
            }
        }
        if let tools = update["tools"]?.array, !tools.isEmpty {
            return ProtocolProblem(
                message: "Tools are not supported by the embedded backend.",
                code: "unsupported_tools", param: "session.tools")
        }
        return applyInput(Self.merge(json, update), input: update["audio"]?["input"])
    }

    /// Checks `audio.input` of an update and stores `merged` with its turn detection completed
    /// from the defaults (shared by both kinds of session).
    mutating func applyInput(_ merged: JSONValue, input: JSONValue?) -> ProtocolProblem? {
        if let format = input?["format"], !format.isNull {
            if let type = format["type"]?.string, type != "audio/pcm" {
                return ProtocolProblem(
                    message: "Only audio/pcm input is supported; got '\(type.prefix(64))'.",
                    code: "invalid_value", param: "session.audio.input.format.type")
            }
            if let rate = format["rate"], !rate.isNull, rate.int != 24000 {
                return ProtocolProblem(
                    message: "Input audio must be 24000 Hz PCM; got \(rate.int.map(String.init) ?? "another rate").",
                    code: "invalid_value", param: "session.audio.input.format.rate")
            }
        }
        if let model = input?["transcription"]?["model"]?.string, !Self.isSupported(model: model) {
            return ProtocolProblem(
                message: "The transcription model '\(model.prefix(128))' is not supported.", code: "invalid_value",
                param: "session.audio.input.transcription.model")
        }
        guard let td = input?["turn_detection"] else {
            json = merged
            return nil
        }
        switch Self.turnDetection(td) {
        case .failure(let problem): return problem
        case .success(let full): json = merged.setting(["audio", "input", "turn_detection"], to: full)
        }
        return nil
    }

    /// A client's `turn_detection`, completed from the defaults of its type, or why it is refused.
    static func turnDetection(_ td: JSONValue) -> Result<JSONValue, ProtocolProblem> {
        if td.isNull { return .success(.null) }
        let type = td["type"]?.string ?? "server_vad"
        if let problem = unknownTurnDetectionKey(td, type: type) { return .failure(problem) }
        if type == "semantic_vad" {
            let full = merge(defaultSemanticVAD, td)
            guard let eagerness = full["eagerness"]?.string, eagernessSilenceMs[eagerness] != nil else {
                return .failure(
                    ProtocolProblem(
                        message: "eagerness must be one of low, medium, high, auto.", code: "invalid_value",
                        param: "session.audio.input.turn_detection.eagerness"))
            }
            return .success(full)
        }
        guard type == "server_vad" else {
            return .failure(
                ProtocolProblem(
                    message: "Turn detection must be server_vad, semantic_vad or null; got '\(type.prefix(64))'.",
                    code: "invalid_value", param: "session.audio.input.turn_detection.type"))
        }
        let full = merge(defaultServerVAD, td)
        if let t = full["threshold"]?.double, !(0...1).contains(t) {
            return .failure(
                ProtocolProblem(
                    message: "threshold must be between 0 and 1.", code: "invalid_value",
                    param: "session.audio.input.turn_detection.threshold"))
        }
        for key in ["prefix_padding_ms", "silence_duration_ms"] where full[key].map(isValidMs) == false {
            return .failure(
                ProtocolProblem(
                    message: "\(key) must be a number of milliseconds from 0 to \(maxVADMs).",
                    code: "invalid_value", param: "session.audio.input.turn_detection.\(key)"))
        }
        if let idle = full["idle_timeout_ms"], !idle.isNull, idle.int.map(idleTimeoutRange.contains) != true {
            return .failure(
                ProtocolProblem(
                    message:
                        "idle_timeout_ms must be null or from \(idleTimeoutRange.lowerBound) to \(idleTimeoutRange.upperBound) milliseconds.",
                    code: "invalid_value", param: "session.audio.input.turn_detection.idle_timeout_ms"))
        }
        return .success(full)
    }

    /// A key `turn_detection` of `type` does not have, or a flag that is not a boolean (the
    /// cloud answers both so; stored, they would be echoed in every `session.updated`).
    static func unknownTurnDetectionKey(_ td: JSONValue, type: String) -> ProtocolProblem? {
        let keys = (type == "semantic_vad" ? defaultSemanticVAD : defaultServerVAD).objectKeys
        for key in td.objectKeys where !keys.contains(key) && td[key]?.isNull == false {
            return ProtocolProblem(
                message: "Unknown parameter: 'session.audio.input.turn_detection.\(key.prefix(64))'.",
                code: "unknown_parameter", param: "session.audio.input.turn_detection.\(key.prefix(64))")
        }
        for key in ["create_response", "interrupt_response"] where td[key].map({ $0.isNull || $0.bool != nil }) == false
        {
            return ProtocolProblem(
                message: "\(key) must be a boolean.", code: "invalid_type",
                param: "session.audio.input.turn_detection.\(key)")
        }
        if let t = td["threshold"], !t.isNull, t.double == nil {
            return ProtocolProblem(
                message: "threshold must be a number.", code: "invalid_type",
                param: "session.audio.input.turn_detection.threshold")
        }
        return nil
    }

    /// The longest prefix padding or silence a session may ask for (the sample arithmetic stays
    /// far from overflow, and no turn waits longer than this for its end).
    public static let maxVADMs = 10_000
    /// `idle_timeout_ms` as the cloud takes it (5 to 30 s), widened to ten minutes for local use.
    public static let idleTimeoutRange = 1000...600_000

    static func isValidMs(_ value: JSONValue) -> Bool {
        value.isNull || value.int.map { (0...maxVADMs).contains($0) } == true
    }

    /// Objects merge key by key; anything else (arrays, null, scalars) replaces. A null `audio`,
    /// `audio.input` or `audio.output` changes nothing, as on the real server.
    static func merge(_ base: JSONValue, _ update: JSONValue) -> JSONValue {
        guard case .object(var pairs) = base, case .object(let changes) = update else { return update }
        for (key, value) in changes {
            if value.isNull && ["audio", "input", "output"].contains(key) { continue }
            if let i = pairs.firstIndex(where: { $0.0 == key }) {
                if case .object = value, case .object = pairs[i].1 {
                    pairs[i].1 = merge(pairs[i].1, value)
                } else {
                    pairs[i].1 = value
                }
            } else {
                pairs.append((key, value))
            }
        }
        return .object(pairs)
    }
}

/// A client event the backend refuses: becomes an `error` event naming the cause.
public struct ProtocolProblem: Error, Sendable, Equatable {
    public var message: String
    public var code: String
    public var param: String?
    public var type = "invalid_request_error"
    public init(message: String, code: String, param: String? = nil, type: String = "invalid_request_error") {
        self.message = message
        self.code = code
        self.param = param
        self.type = type
    }

    /// The `error` object of an `error` event; `eventID` is the client event it answers, if any.
    public func errorObject(eventID: String?) -> JSONValue {
        [
            "type": .string(type), "code": .string(code), "message": .string(message),
            "param": param.map(JSONValue.string) ?? .null, "event_id": eventID.map(JSONValue.string) ?? .null,
        ]
    }
}

extension JSONValue {
    public var bool: Bool? { if case .bool(let b) = self { b } else { nil } }

    /// A copy with the value at `path` (object keys) replaced or added.
    func setting(_ path: ArraySlice<String>, to value: JSONValue) -> JSONValue {
        guard let key = path.first else { return value }
        guard case .object(var pairs) = self else { return self }
        if let i = pairs.firstIndex(where: { $0.0 == key }) {
            pairs[i].1 = pairs[i].1.setting(path.dropFirst(), to: value)
        } else {
            pairs.append((key, JSONValue.object([]).setting(path.dropFirst(), to: value)))
        }
        return .object(pairs)
    }

    public func setting(_ path: [String], to value: JSONValue) -> JSONValue { setting(path[...], to: value) }
}
