import CaptionTapCore
import Foundation

/// Conversation items: created by clients, retrieved, deleted, and pruned in long sessions.
extension RealtimeServerSession {
    /// Items kept for references (`item_reference`, retrieve, delete): a session that runs for
    /// hours would otherwise keep every turn's texts. The oldest finished ones beyond this go.
    public static let keptItems = 256

    /// The most text one item may carry, and the most decodes a session may have waiting (a client
    /// uploading audio faster than it is transcribed is told to wait, not queued for without end).
    public static let maxItemTextBytes = 256 << 10
    public static let maxPendingDecodes = 40

    /// Items held now (for tests: bounded by ``keptItems`` plus those still in flight).
    public var itemCount: Int { items.count }

    func createItem(_ event: JSONValue, eventID: String?) -> [Action] {
        guard let item = event["item"], case .object = item else {
            return [
                error(
                    ProtocolProblem(
                        message: "Missing required parameter: 'item'.", code: "missing_required_parameter",
                        param: "item"), eventID: eventID)
            ]
        }
        let id = item["id"]?.string ?? events.id("item")
        if items[id] != nil {
            return [
                error(
                    ProtocolProblem(
                        message: "Item with id '\(id.prefix(128))' already exists.", code: "item_already_exists",
                        param: "item.id"), eventID: eventID)
            ]
        }
        if let problem = contentProblem(item["content"]) {
            return [error(problem, eventID: eventID)]
        }
        items[id] = Item(id: id, role: item["role"]?.string ?? "user")
        var actions: [Action] = []
        var content: [JSONValue] = []
        for part in item["content"]?.array ?? [] {
            if let b64 = part["audio"]?.string {
                guard let data = Data(base64Encoded: b64) else {
                    forget(item: id)
                    return [
                        error(
                            ProtocolProblem(
                                message: "Invalid 'audio': not valid base64.", code: "invalid_value",
                                param: "item.content"), eventID: eventID)
                    ]
                }
                actions += decode(resampleForDecode(data), for: id)
                items[id]?.hasAudio = true
                content.append(["type": "input_audio", "transcript": nil])
            } else {
                items[id]?.textInput += (part["text"]?.string ?? "")
                content.append(part)
            }
        }
        items[id]?.committed = true
        let previous = order.last
        order.append(id)
        pruneHistory()
        let json = ServerEvents.messageItem(id, role: items[id]?.role ?? "user", status: "completed", content: content)
        return actions + events.itemEntered(json, previous: previous).map(Action.send)
    }

    /// Why an item's content is refused: more text than ``maxItemTextBytes``, more audio than
    /// ``maxBufferSeconds`` in all (so no single part can hold more), or more decodes than the
    /// session may have waiting.
    func contentProblem(_ content: JSONValue?) -> ProtocolProblem? {
        let parts = content?.array ?? []
        let text = parts.reduce(0) { $0 + ($1["text"]?.string?.utf8.count ?? 0) }
        guard text <= Self.maxItemTextBytes else {
            return ProtocolProblem(
                message: "An item's text may be at most \(Self.maxItemTextBytes >> 10) KiB.", code: "invalid_value",
                param: "item.content")
        }
        // Base64 is 4 characters for 3 bytes; 2 bytes a sample.
        let samples = parts.reduce(0) { $0 + ($1["audio"]?.string?.utf8.count ?? 0) } / 4 * 3 / 2
        guard samples <= Self.maxBufferSeconds * PCM16.sampleRate else {
            return Self.tooMuchAudio(param: "item.content")
        }
        return hasRoomToDecode(samples: samples) ? nil : Self.decodesFull(param: "item.content")
    }

    /// Whether `samples` (24 kHz) more may be queued for decoding within ``maxPendingDecodes``:
    /// items, manual commits and audio inline in a response all ask this.
    func hasRoomToDecode(samples: Int) -> Bool {
        jobOwner.count + Self.pieceCount(samples: samples, rate: rate) <= Self.maxPendingDecodes
    }

    /// How many decodes `samples` (24 kHz) may become at most: pieces are cut up to
    /// ``DecodePieces/searchSeconds`` short of ``DecodePieces/maxSeconds``.
    static func pieceCount(samples: Int, rate: Int) -> Int {
        let shortest = (DecodePieces.maxSeconds - DecodePieces.searchSeconds) * rate
        return (samples * rate / PCM16.sampleRate + shortest - 1) / shortest
    }

    /// The refusal for audio beyond what the session may have waiting to be decoded.
    static func decodesFull(param: String?) -> ProtocolProblem {
        ProtocolProblem(
            message:
                "Too much audio is waiting to be transcribed in this session; wait for earlier items' transcripts.",
            code: "input_audio_buffer_full", param: param)
    }

    func retrieveItem(_ id: String?, eventID: String?) -> [Action] {
        guard let id, let item = items[id] else { return [notFound(id, eventID: eventID)] }
        return [send("conversation.item.retrieved", ["item": retrieved(item)])]
    }

    func deleteItem(_ id: String?, eventID: String?) -> [Action] {
        // The turn being spoken is not in the conversation yet (`input_audio_buffer.clear` drops it).
        guard let id, items[id] != nil, id != openItem else { return [notFound(id, eventID: eventID)] }
        let cancels = (items[id]?.jobs ?? []).map { Action.cancel(job: $0) }  // its decodes are not needed
        forget(item: id)
        order.removeAll { $0 == id }
        transcribed.remove(id)
        transcriptionSent.remove(id)
        // A response waiting for its transcript answers now, with what is known.
        return cancels + [send("conversation.item.deleted", ["item_id": .string(id)])] + deliverReady()
    }

    func notFound(_ id: String?, eventID: String?) -> Action {
        error(
            ProtocolProblem(
                message: "Item with id '\(id?.prefix(128) ?? "")' not found.", code: "item_not_found", param: "item_id"),
            eventID: eventID)
    }

    /// An item as `conversation.item.retrieved` shows it: user audio with its transcript once
    /// known, user text, or an assistant message.
    func retrieved(_ item: Item) -> JSONValue {
        var content: [JSONValue] = []
        if item.hasAudio {
            content.append(["type": "input_audio", "transcript": item.isReady ? .string(item.transcript) : nil])
        }
        if !item.textInput.isEmpty { content.append(["type": "input_text", "text": .string(item.textInput)]) }
        return ServerEvents.messageItem(
            item.id, role: item.role, status: item.committed ? "completed" : "in_progress", content: content)
    }

    /// Removes an item that never got into the conversation, with its decode jobs.
    func forget(item id: String) {
        for job in items[id]?.jobs ?? [] { jobOwner[job] = nil }
        items[id] = nil
    }

    /// Removes the open turn (the client cleared the buffer).
    func drop(item id: String) {
        forget(item: id)
        openItem = nil
    }

    func pruneHistory() {
        guard order.count > Self.keptItems else { return }
        let excess = order.count - Self.keptItems
        var dropped = 0
        for id in order.prefix(excess) {
            if let item = items[id] {
                guard item.isReady || item.role != "user", id != openItem, !waiting.contains(where: { $0.itemID == id })
                else { break }
                forget(item: id)
            }
            transcriptionSent.remove(id)
            transcribed.remove(id)
            dropped += 1
        }
        order.removeFirst(dropped)
    }
}
