import Foundation

// swift-format-ignore: AlwaysUseLowerCamelCase
/// The wire shapes of the server events captiontap reads (protocol §3, §5, §6); every field
/// optional, unknown fields ignored. Property names are the JSON keys, so no coding keys are
/// needed (a key strategy would also rewrite the `metadata` dictionary's keys).
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
            /// A `failed` response says why here (`error.type`, `error.code`).
            var status_details: StatusDetails?
        }
        struct StatusDetails: Decodable {
            var error: ErrorEvent.Detail?
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
            Usage(
                inputTokens: input_tokens ?? 0, outputTokens: output_tokens ?? 0,
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
