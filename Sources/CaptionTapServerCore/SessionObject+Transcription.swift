import CaptionTapCore

/// Transcription sessions: the GA `type: "transcription"` object, and its beta form
/// (`transcription_session.update`, flat `input_audio_*` fields) for clients that still speak it.
extension SessionObject {
    /// The transcription model a session uses unless the client names one.
    public static let defaultTranscriptionModel = "gpt-4o-mini-transcribe"

    /// A transcription session (`?intent=transcription`). `model` is the URL's `model`, if any:
    /// a transcription model there becomes the session's transcription model.
    public init(transcriptionID id: String, model: String?, expiresAt: Int) {
        let transcriptionModel =
            model.flatMap { Self.isTranscriptionModel($0) ? $0 : nil } ?? Self.defaultTranscriptionModel
        kind = .transcription
        json = [
            "type": "transcription",
            "object": "realtime.transcription_session",
            "id": .string(id),
            "expires_at": .number(Double(expiresAt)),
            "include": nil,
            "audio": [
                "input": [
                    "format": ["type": "audio/pcm", "rate": 24000],
                    "transcription": ["model": .string(transcriptionModel), "language": nil, "prompt": ""],
                    "noise_reduction": nil,
                    "turn_detection": Self.defaultServerVAD,
                ]
            ],
        ]
    }

    static func isTranscriptionModel(_ model: String) -> Bool {
        isSupported(model: model) && (model.contains("transcribe") || model.contains("whisper"))
    }

    /// What a transcription session's `session.update` may set.
    static let transcriptionKeys: Set = ["type", "audio", "include"]
    /// The only `include` value the API defines (logprobs are accepted; the local recognizer
    /// has none to send).
    static let includeValues: Set = ["item.input_audio_transcription.logprobs"]

    mutating func applyTranscription(update: JSONValue) -> ProtocolProblem? {
        if let type = update["type"]?.string, type != "transcription" {
            return ProtocolProblem(
                message:
                    "This is a transcription session; session.type must be 'transcription', got '\(type.prefix(64))'.",
                code: "invalid_value", param: "session.type")
        }
        if case .object(let pairs) = update,
            let unknown = pairs.first(where: { !Self.transcriptionKeys.contains($0.0) })
        {
            return ProtocolProblem(
                message: "Unknown parameter: 'session.\(unknown.0.prefix(64))'.", code: "unknown_parameter",
                param: "session.\(unknown.0.prefix(64))")
        }
        if let include = update["include"], !include.isNull {
            guard let values = include.array, values.allSatisfy({ $0.string.map(Self.includeValues.contains) == true })
            else {
                return ProtocolProblem(
                    message: "include may only hold 'item.input_audio_transcription.logprobs'.", code: "invalid_value",
                    param: "session.include")
            }
        }
        return applyInput(Self.merge(json, update), input: update["audio"]?["input"])
    }

    // MARK: The beta protocol

    /// A beta `transcription_session.update` session object in the GA shape, or why it is refused.
    public static func fromBeta(_ beta: JSONValue) -> Result<JSONValue, ProtocolProblem> {
        guard case .object(let pairs) = beta else {
            return .failure(
                ProtocolProblem(
                    message: "Invalid 'session': expected an object.", code: "invalid_type", param: "session"))
        }
        var input: [(String, JSONValue)] = []
        var ga: [(String, JSONValue)] = [("type", "transcription")]
        for (key, value) in pairs {
            switch key {
            case "input_audio_format":
                guard value.isNull || value.string == "pcm16" else {
                    return .failure(
                        ProtocolProblem(
                            message:
                                "Only pcm16 input audio is supported; got '\(value.string?.prefix(32) ?? "another format")'.",
                            code: "invalid_value", param: "session.input_audio_format"))
                }
                input.append(("format", ["type": "audio/pcm", "rate": 24000]))
            case "input_audio_transcription": input.append(("transcription", value))
            case "turn_detection": input.append(("turn_detection", value))
            case "input_audio_noise_reduction": input.append(("noise_reduction", value))
            case "include": ga.append(("include", value))
            case "modalities", "client_secret": continue  // text is all there is; no ephemeral keys here
            default:
                return .failure(
                    ProtocolProblem(
                        message: "Unknown parameter: 'session.\(key.prefix(64))'.", code: "unknown_parameter",
                        param: "session.\(key.prefix(64))"))
            }
        }
        if !input.isEmpty { ga.append(("audio", ["input": .object(input)])) }
        return .success(.object(ga))
    }

    /// The session as a beta client reads it (`transcription_session.created`/`.updated`), in the
    /// fields the beta type has (noise reduction and `include` are kept but not shown). The beta
    /// type requires a `client_secret`: this server issues no ephemeral keys, so its value is empty.
    public var betaJSON: JSONValue {
        let input = json["audio"]?["input"]
        var turn: JSONValue = .null
        if let td = turnDetection {
            turn = ["type": td["type"] ?? "server_vad"]
            if td["type"]?.string == "server_vad" {
                for key in ["threshold", "prefix_padding_ms", "silence_duration_ms"] {
                    turn = turn.setting([key], to: td[key] ?? .null)
                }
            }
        }
        return [
            "id": json["id"] ?? .null,
            "object": "realtime.transcription_session",
            "expires_at": json["expires_at"] ?? .null,
            "modalities": ["text"],
            "input_audio_format": "pcm16",
            "input_audio_transcription": input?["transcription"] ?? .null,
            "turn_detection": turn,
            "client_secret": ["value": "", "expires_at": json["expires_at"] ?? 0],
        ]
    }
}
