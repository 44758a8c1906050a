import CaptionTapCore
import Foundation

/// Responses: the client's `response.create` (out-of-band captions, or in the conversation), the
/// automatic one per turn with `create_response`, cancellation, and the text they answer with.
extension RealtimeServerSession {
    func createResponse(_ params: JSONValue, eventID: String?) -> [Action] {
        let conversation = params["conversation"]?.string ?? "auto"
        guard conversation == "auto" || conversation == "none" else {
            return [
                error(
                    ProtocolProblem(
                        message:
                            "Invalid value: '\(conversation.prefix(64))'. Supported values are: 'auto' and 'none'.",
                        code: "invalid_value", param: "response.conversation"), eventID: eventID)
            ]
        }
        if let problem = Self.limitProblem(params, waiting: waiting.count) { return [error(problem, eventID: eventID)] }
        let modalities = params["output_modalities"]?.array?.compactMap(\.string) ?? session.outputModalities
        if modalities.contains("audio") {
            return [
                error(
                    ProtocolProblem(
                        message:
                            "Audio output is not supported by the embedded backend; request output_modalities [\"text\"].",
                        code: "unsupported_output_modality", param: "response.output_modalities"), eventID: eventID)
            ]
        }
        if let tools = params["tools"]?.array, !tools.isEmpty {
            return [
                error(
                    ProtocolProblem(
                        message: "Tools are not supported by the embedded backend.", code: "unsupported_tools",
                        param: "response.tools"), eventID: eventID)
            ]
        }
        var textTokens = (params["instructions"]?.string ?? session.instructions).count / 4 + 4
        let target: String?
        var actions: [Action] = []
        var inline: [String] = []
        if let input = params["input"], !input.isNull {
            switch inputTarget(input, textTokens: &textTokens) {
            case .failure(let problem): return [error(problem, eventID: eventID)]
            case .success(let found):
                target = found.item
                actions = found.actions
                inline = found.inline
            }
        } else if let named = params["metadata"]?["item_id"]?.string, items[named]?.jobs.isEmpty == false {
            // No input: the whole conversation is context. The turn to transcribe is the one the
            // request names in its metadata (captiontap's --context session), not whatever user
            // item happens to be last by now.
            target = named
        } else {
            target = order.last { items[$0]?.role == "user" && !(items[$0]?.jobs.isEmpty ?? true) }
        }
        if conversation == "auto", let active = activeDefaultResponse {
            forget(inline: inline)
            return [
                error(
                    ProtocolProblem(
                        message:
                            "Conversation already has an active response in progress: \(active). Wait until the response is finished before creating a new one.",
                        code: "conversation_already_has_active_response"), eventID: eventID)
            ]
        }
        let response = ServerEvents.Response(
            id: events.id("resp"), conversation: conversation, metadata: params["metadata"] ?? .null,
            maxOutputTokens: params["max_output_tokens"] ?? "inf")
        let request = Request(response: response, itemID: target, textTokens: textTokens, inline: inline)
        return actions + begin(request) + deliverReady()
    }

    /// The item a response's `input` asks about: an `item_reference`, or inline audio that
    /// becomes a hidden item of its own (its decode actions come along).
    private func inputTarget(_ input: JSONValue, textTokens: inout Int) -> Result<
        (item: String?, actions: [Action], inline: [String]), ProtocolProblem
    > {
        var target: String?
        var actions: [Action] = []
        var inline: [String] = []
        for (i, entry) in (input.array ?? []).enumerated() {
            if entry["type"]?.string == "item_reference" {
                guard let ref = entry["id"]?.string, items[ref] != nil else {
                    forget(inline: inline)
                    return .failure(
                        ProtocolProblem(
                            message: "Item with id '\(entry["id"]?.string?.prefix(128) ?? "")' not found.",
                            code: "item_not_found", param: "response.input[\(i)].id"))
                }
                target = ref
                continue
            }
            for part in entry["content"]?.array ?? [] {
                textTokens += (part["text"]?.string ?? "").count / 4 + 1
                guard let b64 = part["audio"]?.string, let data = Data(base64Encoded: b64) else { continue }
                guard data.count / 2 <= Self.maxBufferSeconds * PCM16.sampleRate else {
                    forget(inline: inline)
                    return .failure(Self.tooMuchAudio(param: "response.input[\(i)].content"))
                }
                guard hasRoomToDecode(samples: data.count / 2) else {
                    forget(inline: inline)
                    return .failure(Self.decodesFull(param: "response.input[\(i)].content"))
                }
                let id = events.id("item")
                items[id] = Item(id: id, role: "user", committed: true, hasAudio: true)
                actions += decode(resampleForDecode(data), for: id)
                inline.append(id)
                target = id
            }
        }
        return .success((target, actions, inline))
    }

    /// Responses a session may have waiting for transcripts (each holds its request's data).
    public static let maxWaitingResponses = 64

    /// Why a `response.create` is refused before anything else: too many responses waiting, or
    /// `metadata` beyond the cloud's limits (16 keys of up to 64 characters, values up to 512).
    static func limitProblem(_ params: JSONValue, waiting: Int) -> ProtocolProblem? {
        if waiting >= maxWaitingResponses {
            return ProtocolProblem(
                message:
                    "\(maxWaitingResponses) responses are already waiting for transcripts; wait for their answers.",
                code: "too_many_pending_responses", param: nil)
        }
        guard let metadata = params["metadata"], !metadata.isNull else { return nil }
        guard case .object(let pairs) = metadata, pairs.count <= 16,
            pairs.allSatisfy({ $0.0.count <= 64 && $0.1.string.map { $0.count <= 512 } == true })
        else {
            return ProtocolProblem(
                message: "metadata must hold at most 16 string values (keys up to 64 characters, values up to 512).",
                code: "invalid_value", param: "response.metadata")
        }
        return nil
    }

    /// `response.created`; the answer follows once the target's transcript is ready.
    private func begin(_ request: Request) -> [Action] {
        if request.response.inBand { activeDefaultResponse = request.id }
        waiting.append(request)
        return [.send(events.responseCreated(request.response))]
    }

    /// The response `create_response` asks for when a turn is committed. One runs at a time in
    /// the default conversation, as on the cloud; a turn that ends while one is still running gets
    /// its response when that one is done, never an error the client did not provoke.
    func automaticResponse(for item: String) -> [Action] {
        guard activeDefaultResponse == nil && automaticPending.isEmpty else {
            automaticPending.append(item)
            return []
        }
        return beginAutomatic(item)
    }

    private func beginAutomatic(_ item: String) -> [Action] {
        let response = ServerEvents.Response(
            id: events.id("resp"), conversation: "auto", metadata: .null, maxOutputTokens: "inf")
        let textTokens = session.instructions.count / 4 + 4
        return begin(Request(response: response, itemID: items[item] == nil ? nil : item, textTokens: textTokens))
    }

    /// Starts the next waiting automatic response once the default conversation is free.
    func nextAutomatic() -> [Action] {
        guard activeDefaultResponse == nil, !automaticPending.isEmpty else { return [] }
        return beginAutomatic(automaticPending.removeFirst())
    }

    func cancelResponse(_ event: JSONValue, eventID: String?) -> [Action] {
        let id = event["response_id"]?.string ?? activeDefaultResponse
        guard let index = waiting.firstIndex(where: { $0.id == id }) else {
            return [
                error(
                    ProtocolProblem(
                        message: "Cancellation failed: no active response found.", code: "response_cancel_not_active"),
                    eventID: eventID)
            ]
        }
        let request = waiting.remove(at: index)
        if activeDefaultResponse == request.id { activeDefaultResponse = nil }
        forget(inline: request.inline)
        return [.send(events.responseCancelled(request.response))] + deliverReady()
    }

    /// Answers `request` with `text`: the whole GA text-response sequence.
    func respond(_ request: Request, text: String) -> [Action] {
        if activeDefaultResponse == request.id { activeDefaultResponse = nil }
        let outID = events.id("item")
        let previous = order.last
        let usage = ServerEvents.Usage(
            textTokens: request.textTokens, audioSeconds: request.itemID.flatMap { items[$0]?.seconds } ?? 0,
            outputWords: ServerEvents.words(text).count)
        let sent = events.textResponse(
            request.response, outputItem: outID, previous: previous, text: text, usage: usage)
        if request.response.inBand {
            order.append(outID)
            items[outID] = Item(id: outID, role: "assistant", committed: true)
        }
        forget(inline: request.inline)
        return sent.map(Action.send)
    }

    /// The hidden items of a request's inline audio go when it is answered, cancelled or refused:
    /// they are in no conversation, so nothing else would ever prune them.
    private func forget(inline ids: [String]) {
        for id in ids {
            forget(item: id)
            transcribed.remove(id)
        }
    }
}
