import CaptionTapCore

/// The response events: `response.created`, the GA text-response sequence, `response.done`.
extension ServerEvents {
    /// What a response echoes back in its `response` object.
    struct Response {
        var id: String
        var conversation: String
        var metadata: JSONValue
        var maxOutputTokens: JSONValue
        var inBand: Bool { conversation == "auto" }
    }

    /// Token counts in the cloud's shape: audio at 10 tokens per second, a token per word out.
    struct Usage {
        var textTokens: Int
        var audioSeconds: Double
        var outputWords: Int

        var json: JSONValue {
            let audioTokens = Int((audioSeconds * 10).rounded(.up))
            let outputTokens = outputWords + 1
            return [
                "total_tokens": .number(Double(textTokens + audioTokens + outputTokens)),
                "input_tokens": .number(Double(textTokens + audioTokens)),
                "output_tokens": .number(Double(outputTokens)),
                "input_token_details": [
                    "text_tokens": .number(Double(textTokens)), "audio_tokens": .number(Double(audioTokens)),
                    "image_tokens": 0, "cached_tokens": 0,
                    "cached_tokens_details": ["text_tokens": 0, "audio_tokens": 0, "image_tokens": 0],
                ],
                "output_token_details": ["text_tokens": .number(Double(outputTokens)), "audio_tokens": 0],
            ]
        }
    }

    mutating func responseCreated(_ response: Response) -> String {
        event(
            "response.created",
            ["response": Self.responseJSON(response, status: "in_progress", output: [], usage: .null)])
    }

    mutating func responseCancelled(_ response: Response) -> String {
        let json = Self.responseJSON(response, status: "cancelled", output: [], usage: .null)
            .setting(["status_details"], to: ["type": "cancelled", "reason": "client_cancelled"])
        return event("response.done", ["response": json])
    }

    /// The whole text answer: output item, content part, word-sized deltas, done events, and for
    /// an in-band response the assistant item entering the conversation after `previous`.
    mutating func textResponse(
        _ response: Response, outputItem outID: String, previous: String?, text: String, usage: Usage
    ) -> [String] {
        var item: JSONValue = [
            "id": .string(outID), "object": "realtime.item", "type": "message", "status": "in_progress",
            "role": "assistant", "content": [],
        ]
        let ids: [(String, JSONValue)] = [
            ("response_id", .string(response.id)), ("item_id", .string(outID)), ("output_index", 0),
            ("content_index", 0),
        ]
        let prior: JSONValue = ["previous_item_id": Self.optional(previous), "item": item]
        var events = [
            event("response.output_item.added", ["response_id": .string(response.id), "output_index": 0, "item": item])
        ]
        if response.inBand { events.append(event("conversation.item.added", prior)) }
        events.append(event("response.content_part.added", .object(ids + [("part", ["type": "text", "text": ""])])))
        for word in Self.words(text) {
            events.append(event("response.output_text.delta", .object(ids + [("delta", .string(word))])))
        }
        events.append(event("response.output_text.done", .object(ids + [("text", .string(text))])))
        events.append(
            event("response.content_part.done", .object(ids + [("part", ["type": "text", "text": .string(text)])])))
        item = item.setting(["status"], to: "completed").setting(
            ["content"], to: [["type": "output_text", "text": .string(text)]])
        events.append(
            event("response.output_item.done", ["response_id": .string(response.id), "output_index": 0, "item": item]))
        if response.inBand {
            events.append(event("conversation.item.done", ["previous_item_id": Self.optional(previous), "item": item]))
        }
        let done = Self.responseJSON(response, status: "completed", output: [item], usage: usage.json)
        events.append(event("response.done", ["response": done]))
        return events
    }

    static func responseJSON(_ response: Response, status: String, output: [JSONValue], usage: JSONValue) -> JSONValue {
        [
            "id": .string(response.id), "object": "realtime.response", "status": .string(status), "status_details": nil,
            "conversation_id": response.inBand ? "conv_local" : nil,
            "output_modalities": ["text"], "max_output_tokens": response.maxOutputTokens, "metadata": response.metadata,
            "audio": ["output": ["format": ["type": "audio/pcm", "rate": 24000], "voice": "marin"]],
            "output": .array(output), "usage": usage,
        ]
    }

    /// Word-sized deltas that concatenate back to the text: each word keeps its leading space.
    static func words(_ text: String) -> [String] {
        var out: [String] = []
        var current = ""
        for ch in text {
            if ch == " " && !current.isEmpty && current != " " {
                out.append(current)
                current = ""
            }
            current.append(ch)
        }
        if !current.isEmpty { out.append(current) }
        return out
    }
}
