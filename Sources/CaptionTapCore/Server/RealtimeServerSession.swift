import Foundation

/// Turns 24 kHz client audio into detector windows: resampling and voice activity detection live
/// in an adapter (libsoxr + Silero); the session only sees windows and decisions.
public protocol SpeechFrontEnd: AnyObject {
    /// The rate of the windows handed to `emit` (the recognizer's rate too).
    var sampleRate: Int { get }
    /// The speech probability threshold (the session's `server_vad.threshold`).
    var threshold: Double { get set }
    /// Consumes 24 kHz mono samples; calls `emit` once per complete window with its decision.
    func process(_ samples: UnsafeBufferPointer<Float>, emit: (UnsafeBufferPointer<Float>, Bool) -> Void)
}

/// One server-side Realtime session of the embedded backend: parses client events, runs turn
/// detection over the front end's windows, asks for recognizer decodes and answers
/// `response.create` with the full text-response event sequence (docs/PROTOCOL.md).
///
/// Pure protocol logic: no sockets, threads or clock. The server adapter owns one per connection,
/// calls it from one thread, performs the `Action`s and feeds decode results back.
public final class RealtimeServerSession {
    public enum Action: Equatable {
        /// Send this server event (JSON text).
        case send(String)
        /// Recognize these samples (front-end rate) and call ``decoded(job:text:)``.
        case decode(job: Int, samples: [Float])
        /// A queued decode is no longer needed (its result would be ignored anyway).
        case cancel(job: Int)
        /// A committed audio item's transcript is complete (for the speech-end → transcript
        /// latency an operator watches); once per item.
        case transcribed(item: String)
    }

    public let model: String
    public private(set) var session: SessionObject
    private var ids: IDGenerator
    private let frontEnd: SpeechFrontEnd
    private var segmenter: TurnSegmenter
    private let rate: Int

    // Audio at the front end's rate, from `audioBase` on; only what a turn may still need.
    private var audio: [Float] = []
    private var audioBase = 0
    private var position: Int { audioBase + audio.count }
    /// Start of the uncommitted part of the input buffer (for commits without VAD).
    private var bufferStart = 0

    private struct Item {
        var id: String
        var role: String
        var jobs: [Int] = []
        var texts: [Int: String] = [:]
        var committed = false
        var seconds = 0.0
        var textInput = ""
        /// Holds audio (a turn, a commit, an inline upload): it gets a transcript, empty or not.
        var hasAudio = false
        /// Leading jobs whose text already went out as transcription deltas, and whether any did.
        var streamedJobs = 0
        var streamedText = false
        var isReady: Bool { committed && jobs.allSatisfy { texts[$0] != nil } }
        var transcript: String {
            jobs.compactMap { texts[$0] }.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
                .joined(separator: " ")
        }
    }
    private var items: [String: Item] = [:]
    private var order: [String] = []
    private var openItem: String?
    /// Audio items whose transcript was reported complete.
    private var transcribed: Set<String> = []
    /// Where speech was heard in the uncommitted buffer (manual commits decode only that).
    private var voicedSpan: (first: Int, last: Int)?
    private var openStart = 0
    private var speculativeJob: Int?
    private var jobOwner: [Int: String] = [:]
    private var nextJob = 1

    private struct Request {
        var id: String
        var itemID: String?
        var conversation: String
        var metadata: JSONValue
        var maxOutputTokens: JSONValue
        var textTokens: Int
    }
    private var waiting: [Request] = []
    private var activeDefaultResponse: String?
    private var transcriptionSent: Set<String> = []

    public init(model: String, frontEnd: SpeechFrontEnd, sessionSeconds: Int = 3600, now: Int = Int(Date().timeIntervalSince1970),
                policy: TurnSegmenter.Policy = .init()) {
        self.model = model
        self.frontEnd = frontEnd
        self.rate = frontEnd.sampleRate
        var ids = IDGenerator()
        session = SessionObject(id: ids.next("sess"), model: model, expiresAt: now + sessionSeconds)
        self.ids = ids
        segmenter = TurnSegmenter(sampleRate: frontEnd.sampleRate, policy: policy)
        applyVADSettings()
    }

    /// Whether a decode is the speculative one (the open tail during a pause): it may be wasted,
    /// so a busy decoder runs it after every other decode.
    public func isSpeculative(job: Int) -> Bool { job == speculativeJob }

    /// `session.created`, the first event on a new connection.
    public func start() -> [Action] { [send("session.created", ["session": session.json])] }

    private func ms(_ samples: Int) -> Int { samples * 1000 / rate }

    // MARK: Client events

    /// Handles one text frame from the client.
    public func receive(text: String) -> [Action] {
        guard let event = JSONValue.parse(text), case .object = event else {
            return [error(ProtocolProblem(message: "The server failed to parse the event: not a JSON object.", code: "invalid_json"), eventID: nil)]
        }
        let eventID = event["event_id"]?.string
        guard let type = event["type"]?.string else {
            return [error(ProtocolProblem(message: "Missing required parameter: 'type'.", code: "missing_required_parameter", param: "type"), eventID: eventID)]
        }
        switch type {
        case "input_audio_buffer.append": return append(event, eventID: eventID)
        case "session.update":
            let update = event["session"] ?? .null
            if let problem = session.apply(update: update) { return [error(problem, eventID: eventID)] }
            applyVADSettings()
            return [send("session.updated", ["session": session.json])]
        case "input_audio_buffer.commit": return commit(eventID: eventID)
        case "input_audio_buffer.clear":
            segmenter.clear(at: position)
            voicedSpan = nil
            if let open = openItem { drop(item: open) }
            bufferStart = position
            trimAudio()
            return discardSpeculative() + [send("input_audio_buffer.cleared", [:])]
        case "response.create": return createResponse(event["response"] ?? .object([]), eventID: eventID)
        case "response.cancel": return cancelResponse(event, eventID: eventID)
        case "conversation.item.create": return createItem(event, eventID: eventID)
        case "conversation.item.retrieve":
            guard let id = event["item_id"]?.string, let item = items[id] else {
                return [error(ProtocolProblem(message: "Item with id '\(event["item_id"]?.string?.prefix(128) ?? "")' not found.", code: "item_not_found", param: "item_id"), eventID: eventID)]
            }
            return [send("conversation.item.retrieved", ["item": retrieved(item)])]
        case "conversation.item.delete":
            guard let id = event["item_id"]?.string, items[id] != nil else {
                return [error(ProtocolProblem(message: "Item with id '\(event["item_id"]?.string ?? "")' not found.", code: "item_not_found", param: "item_id"), eventID: eventID)]
            }
            items[id] = nil
            order.removeAll { $0 == id }
            return [send("conversation.item.deleted", ["item_id": .string(id)])]
        default:
            return [error(ProtocolProblem(message: "The embedded backend does not support '\(type)'.", code: "unsupported_event", param: "type"), eventID: eventID)]
        }
    }

    /// A binary frame: the protocol is JSON text only.
    public func receiveBinary() -> [Action] {
        [error(ProtocolProblem(message: "Binary frames are not supported; send JSON text events.", code: "invalid_json"), eventID: nil)]
    }

    private func applyVADSettings() {
        frontEnd.threshold = session.vadThreshold
        segmenter.settings = .init(prefixPaddingMs: session.prefixPaddingMs, silenceDurationMs: session.silenceDurationMs)
    }

    private func append(_ event: JSONValue, eventID: String?) -> [Action] {
        guard let b64 = event["audio"]?.string, let data = Data(base64Encoded: b64) else {
            return [error(ProtocolProblem(message: "Invalid 'audio': not valid base64.", code: "invalid_value", param: "audio"), eventID: eventID)]
        }
        // Without VAD the buffer only empties on commit or clear: bounded, so is memory.
        if session.turnDetection == nil, position - bufferStart + data.count / 2 * rate / PCM16.sampleRate > Self.maxBufferSeconds * rate {
            return [error(Self.tooMuchAudio(param: "audio"), eventID: eventID)]
        }
        var samples = [Float](repeating: 0, count: data.count / 2)
        let count = Self.decodePCM16(data, into: &samples)
        var actions: [Action] = []
        let vad = session.turnDetection != nil
        samples.withUnsafeBufferPointer { buffer in
            frontEnd.process(buffer) { window, voiced in
                audio.append(contentsOf: window)
                if voiced { voicedSpan = (voicedSpan?.first ?? position - window.count, position) }
                guard vad else { return }
                var energy: Float = 0
                for x in window { energy += x * x }
                let events = segmenter.window(voiced: voiced, end: position, count: window.count, energy: energy / Float(max(1, window.count)))
                for e in events { actions += handle(e) }
            }
        }
        if segmenter.turnStart == nil && vad { trimAudio() }
        return actions
    }

    /// Keeps only the audio a future turn can still reach back to (its prefix padding).
    private func trimAudio() {
        let keep = segmenter.turnStart ?? max(bufferStart, position - (session.prefixPaddingMs + 100) * rate / 1000)
        let drop = min(max(0, keep - audioBase), audio.count)
        if drop > rate { // trim in chunks: removing from the front copies the rest
            audio.removeFirst(drop)
            audioBase += drop
        }
    }

    private func handle(_ event: TurnSegmenter.Event) -> [Action] {
        switch event {
        case .speechStarted(let start):
            let id = ids.next("item")
            openItem = id
            openStart = start
            items[id] = Item(id: id, role: "user", hasAudio: true)
            return [send("input_audio_buffer.speech_started", ["audio_start_ms": .number(Double(ms(start))), "item_id": .string(id)])]
        case .decode(let start, let end, let speculative):
            guard let id = openItem else { return [] }
            let job = nextJob
            nextJob += 1
            items[id]?.jobs.append(job)
            jobOwner[job] = id
            if speculative { speculativeJob = job }
            return [.decode(job: job, samples: slice(start, end))]
        case .discardSpeculative:
            return discardSpeculative()
        case .keepSpeculative:
            speculativeJob = nil
            return []
        case .committed(let end):
            guard let id = openItem else { return [] }
            speculativeJob = nil
            return [send("input_audio_buffer.speech_stopped", ["audio_end_ms": .number(Double(ms(end))), "item_id": .string(id)])]
                + commitItem(id, end: end)
        }
    }

    private func discardSpeculative() -> [Action] {
        guard let job = speculativeJob else { return [] }
        speculativeJob = nil
        jobOwner[job] = nil
        // The decode may have finished already: its text must go too.
        if let open = openItem {
            items[open]?.jobs.removeAll { $0 == job }
            items[open]?.texts[job] = nil
        }
        return [.cancel(job: job)]
    }

    private func slice(_ start: Int, _ end: Int) -> [Float] {
        let a = max(0, start - audioBase), b = max(a, min(audio.count, end - audioBase))
        return Array(audio[a..<b])
    }

    private func commitItem(_ id: String, end: Int) -> [Action] {
        let previous = order.last
        openItem = nil
        items[id]?.committed = true
        items[id]?.seconds = Double(max(0, end - openStart)) / Double(rate)
        order.append(id)
        bufferStart = end
        voicedSpan = nil
        var actions = [send("input_audio_buffer.committed", ["previous_item_id": previous.map(JSONValue.string) ?? .null, "item_id": .string(id)])]
        let item = itemJSON(id, status: "completed")
        actions.append(send("conversation.item.added", ["previous_item_id": previous.map(JSONValue.string) ?? .null, "item": item]))
        actions.append(send("conversation.item.done", ["previous_item_id": previous.map(JSONValue.string) ?? .null, "item": item]))
        if session.createResponse && session.turnDetection != nil {
            actions += createResponse(.object([]), eventID: nil)
        }
        return actions + reportTranscribed(id) + deliverReady()
    }

    private func commit(eventID: String?) -> [Action] {
        if segmenter.turnStart != nil {
            return segmenter.commitOpenTurn(at: position).flatMap { handle($0) }
        }
        guard position - bufferStart >= rate / 10 else {
            let have = Double(max(0, position - bufferStart)) * 1000 / Double(rate)
            return [error(ProtocolProblem(message: String(format: "Error committing input audio buffer: buffer too small. Expected at least 100ms of audio, but buffer only has %.2fms of audio.", have),
                                          code: "input_audio_buffer_commit_empty"), eventID: eventID)]
        }
        // No VAD turn: the whole uncommitted buffer becomes the item.
        let id = ids.next("item")
        items[id] = Item(id: id, role: "user", hasAudio: true)
        openItem = id
        openStart = bufferStart
        // The speech in the buffer, as the voice detector found it (with the session's prefix
        // padding and 300 ms after), not the raw buffer: leading or trailing silence makes
        // Moonshine return nothing. A buffer without speech gets an empty transcript.
        let prefix = session.prefixPaddingMs * rate / 1000, tail = 300 * rate / 1000
        let decodes = voicedSpan.map { decode(slice(max(bufferStart, $0.first - prefix), min(position, $0.last + tail)), for: id) } ?? []
        voicedSpan = nil
        let end = position
        segmenter.clear(at: end)
        return decodes + commitItem(id, end: end)
    }

    /// Decode jobs for `samples` of item `id`, in pieces no longer than ``DecodePieces/maxSeconds``
    /// (the item's transcript joins them), so no item holds the shared recognizer for long.
    private func decode(_ samples: [Float], for id: String) -> [Action] {
        DecodePieces.cut(samples[...], rate: rate).map { piece in
            let job = nextJob
            nextJob += 1
            items[id]?.jobs.append(job)
            jobOwner[job] = id
            return .decode(job: job, samples: Array(samples[piece]))
        }
    }

    /// PCM16 bytes to floats (an odd last byte is ignored); returns the sample count.
    static func decodePCM16(_ data: Data, into samples: inout [Float]) -> Int {
        guard !samples.isEmpty else { return 0 }
        return data.withUnsafeBytes { raw in samples.withUnsafeMutableBufferPointer { PCM16.decode(raw, into: $0.baseAddress!) } }
    }

    /// The most audio one item or uncommitted buffer may hold: beyond it, appends and inline
    /// audio are refused with an error (memory stays bounded; the client commits or clears).
    public static let maxBufferSeconds = 300

    static func tooMuchAudio(param: String?) -> ProtocolProblem {
        ProtocolProblem(message: "The embedded backend takes at most \(maxBufferSeconds) s of audio per item or uncommitted buffer; commit or clear the buffer, or send shorter audio.",
                        code: "input_audio_buffer_full", param: param)
    }

    /// Removes an item that never got into the conversation, with its decode jobs.
    private func forget(item id: String) {
        for job in items[id]?.jobs ?? [] { jobOwner[job] = nil }
        items[id] = nil
    }

    private func drop(item id: String) {
        for job in items[id]?.jobs ?? [] { jobOwner[job] = nil }
        items[id] = nil
        openItem = nil
    }

    private func createItem(_ event: JSONValue, eventID: String?) -> [Action] {
        guard let item = event["item"], case .object = item else {
            return [error(ProtocolProblem(message: "Missing required parameter: 'item'.", code: "missing_required_parameter", param: "item"), eventID: eventID)]
        }
        let id = item["id"]?.string ?? ids.next("item")
        if items[id] != nil {
            return [error(ProtocolProblem(message: "Item with id '\(id)' already exists.", code: "item_already_exists", param: "item.id"), eventID: eventID)]
        }
        items[id] = Item(id: id, role: item["role"]?.string ?? "user")
        var actions: [Action] = []
        var content: [JSONValue] = []
        for part in item["content"]?.array ?? [] {
            if let b64 = part["audio"]?.string {
                guard let data = Data(base64Encoded: b64) else {
                    forget(item: id)
                    return [error(ProtocolProblem(message: "Invalid 'audio': not valid base64.", code: "invalid_value", param: "item.content"), eventID: eventID)]
                }
                guard data.count / 2 <= Self.maxBufferSeconds * PCM16.sampleRate else {
                    forget(item: id)
                    return [error(Self.tooMuchAudio(param: "item.content"), eventID: eventID)]
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
        let role = items[id]?.role ?? "user"
        let previous = order.last
        order.append(id)
        let json: JSONValue = [
            "id": .string(id), "type": "message", "object": "realtime.item", "status": "completed",
            "role": .string(role), "content": .array(content),
        ]
        actions.append(send("conversation.item.added", ["previous_item_id": previous.map(JSONValue.string) ?? .null, "item": json]))
        actions.append(send("conversation.item.done", ["previous_item_id": previous.map(JSONValue.string) ?? .null, "item": json]))
        return actions
    }

    /// Inline item audio goes through the same front end, outside the session timeline.
    private func resampleForDecode(_ data: Data) -> [Float] {
        var samples = [Float](repeating: 0, count: data.count / 2)
        let count = Self.decodePCM16(data, into: &samples)
        guard rate != 24000 else { return samples }
        // Linear interpolation is enough here: this path is for occasional whole-item uploads.
        let n = count * rate / 24000
        return (0..<n).map { i in
            let x = Double(i) * 24000 / Double(rate)
            let j = Int(x), f = Float(x - Double(j))
            return j + 1 < count ? samples[j] * (1 - f) + samples[j + 1] * f : samples[min(j, count - 1)]
        }
    }

    // MARK: Responses

    private func createResponse(_ params: JSONValue, eventID: String?) -> [Action] {
        let conversation = params["conversation"]?.string ?? "auto"
        guard conversation == "auto" || conversation == "none" else {
            return [error(ProtocolProblem(message: "Invalid value: '\(conversation)'. Supported values are: 'auto' and 'none'.", code: "invalid_value", param: "response.conversation"), eventID: eventID)]
        }
        let modalities = params["output_modalities"]?.array?.compactMap(\.string) ?? session.outputModalities
        if modalities.contains("audio") {
            return [error(ProtocolProblem(message: "Audio output is not supported by the embedded backend; request output_modalities [\"text\"].",
                                          code: "unsupported_output_modality", param: "response.output_modalities"), eventID: eventID)]
        }
        if let tools = params["tools"]?.array, !tools.isEmpty {
            return [error(ProtocolProblem(message: "Tools are not supported by the embedded backend.", code: "unsupported_tools", param: "response.tools"), eventID: eventID)]
        }
        var target: String?
        var textTokens = (params["instructions"]?.string ?? session.instructions).count / 4 + 4
        var actions: [Action] = []
        if let input = params["input"], !input.isNull {
            for (i, entry) in (input.array ?? []).enumerated() {
                if entry["type"]?.string == "item_reference" {
                    guard let ref = entry["id"]?.string, items[ref] != nil else {
                        return [error(ProtocolProblem(message: "Item with id '\(entry["id"]?.string ?? "")' not found.", code: "item_not_found", param: "response.input[\(i)].id"), eventID: eventID)]
                    }
                    target = ref
                } else {
                    for part in entry["content"]?.array ?? [] {
                        textTokens += (part["text"]?.string ?? "").count / 4 + 1
                        if let b64 = part["audio"]?.string, let data = Data(base64Encoded: b64) {
                            guard data.count / 2 <= Self.maxBufferSeconds * PCM16.sampleRate else {
                                return [error(Self.tooMuchAudio(param: "response.input[\(i)].content"), eventID: eventID)]
                            }
                            // Inline audio: recognized as a hidden item of its own.
                            let id = ids.next("item")
                            items[id] = Item(id: id, role: "user", committed: true, hasAudio: true)
                            actions += decode(resampleForDecode(data), for: id)
                            target = id
                        }
                    }
                }
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
            return [error(ProtocolProblem(message: "Conversation already has an active response in progress: \(active). Wait until the response is finished before creating a new one.",
                                          code: "conversation_already_has_active_response"), eventID: eventID)]
        }
        let request = Request(id: ids.next("resp"), itemID: target, conversation: conversation,
                              metadata: params["metadata"] ?? .null,
                              maxOutputTokens: params["max_output_tokens"] ?? "inf", textTokens: textTokens)
        if conversation == "auto" { activeDefaultResponse = request.id }
        waiting.append(request)
        return actions + [send("response.created", ["response": responseJSON(request, status: "in_progress", output: [], usage: .null)])]
            + deliverReady()
    }

    private func cancelResponse(_ event: JSONValue, eventID: String?) -> [Action] {
        let id = event["response_id"]?.string ?? activeDefaultResponse
        guard let index = waiting.firstIndex(where: { $0.id == id }) else {
            return [error(ProtocolProblem(message: "Cancellation failed: no active response found.", code: "response_cancel_not_active"), eventID: eventID)]
        }
        let request = waiting.remove(at: index)
        if activeDefaultResponse == request.id { activeDefaultResponse = nil }
        var response = responseJSON(request, status: "cancelled", output: [], usage: .null)
        response = response.setting(["status_details"], to: ["type": "cancelled", "reason": "client_cancelled"])
        return [send("response.done", ["response": response])]
    }

    /// A decode finished (in any order); answers every response and transcription now ready.
    public func decoded(job: Int, text: String) -> [Action] {
        guard let owner = jobOwner.removeValue(forKey: job), items[owner] != nil else { return [] }
        items[owner]?.texts[job] = text
        return reportTranscribed(owner) + streamTranscription(owner, final: false) + deliverReady()
    }

    /// Built-in transcription deltas for the decoded segments at the front of an item, in order,
    /// as they finish: a long turn streams while it is spoken. A speculative decode may still be
    /// thrown away, so it streams only once the item is final. The deltas add up to the
    /// `.completed` transcript exactly.
    private func streamTranscription(_ id: String, final: Bool) -> [Action] {
        guard session.wantsInputTranscription, !transcriptionSent.contains(id), var item = items[id] else { return [] }
        var actions: [Action] = []
        while item.streamedJobs < item.jobs.count, let text = item.texts[item.jobs[item.streamedJobs]],
              final || item.jobs[item.streamedJobs] != speculativeJob
        {
            let words = text.trimmingCharacters(in: .whitespaces)
            if !words.isEmpty {
                for word in Self.words((item.streamedText ? " " : "") + words) {
                    actions.append(send("conversation.item.input_audio_transcription.delta", ["item_id": .string(id), "content_index": 0, "delta": .string(word)]))
                }
                item.streamedText = true
            }
            item.streamedJobs += 1
        }
        items[id] = item
        return actions
    }

    /// `.transcribed` the first time an audio item is committed with every decode done.
    private func reportTranscribed(_ id: String) -> [Action] {
        guard let item = items[id], item.hasAudio, item.isReady, transcribed.insert(id).inserted else { return [] }
        return [.transcribed(item: id)]
    }

    private func deliverReady() -> [Action] {
        var actions: [Action] = []
        for id in order where !transcriptionSent.contains(id) {
            guard session.wantsInputTranscription, let item = items[id], item.isReady, item.hasAudio else { continue }
            actions += streamTranscription(id, final: true)
            transcriptionSent.insert(id)
            let transcript = item.transcript
            actions.append(send("conversation.item.input_audio_transcription.completed", [
                "item_id": .string(id), "content_index": 0, "transcript": .string(transcript),
                "usage": ["type": "duration", "seconds": .number(item.seconds)],
            ]))
        }
        var remaining: [Request] = []
        for request in waiting {
            if let id = request.itemID {
                guard let item = items[id] else {
                    // The item was cleared or deleted while its transcript was pending.
                    actions += respond(request, text: "")
                    continue
                }
                guard item.isReady else { remaining.append(request); continue }
                actions += respond(request, text: item.transcript)
            } else {
                actions += respond(request, text: "")
            }
        }
        waiting = remaining
        pruneHistory()
        return actions
    }

    /// Items kept for references (`item_reference`, retrieve, delete): a session that runs for
    /// hours would otherwise keep every turn's texts. The oldest finished ones beyond this go.
    public static let keptItems = 256

    /// Items held now (for tests: bounded by ``keptItems`` plus those still in flight).
    public var itemCount: Int { items.count }

    private func pruneHistory() {
        guard order.count > Self.keptItems else { return }
        let excess = order.count - Self.keptItems
        var dropped = 0
        for id in order.prefix(excess) {
            guard let item = items[id], item.isReady || item.role != "user", id != openItem,
                  !waiting.contains(where: { $0.itemID == id }) else { break }
            for job in item.jobs { jobOwner[job] = nil }
            items[id] = nil
            transcriptionSent.remove(id)
            transcribed.remove(id)
            dropped += 1
        }
        order.removeFirst(dropped)
    }

    /// The GA text-response sequence: output item, content part, word-sized deltas, then done.
    private func respond(_ request: Request, text: String) -> [Action] {
        if activeDefaultResponse == request.id { activeDefaultResponse = nil }
        let outID = ids.next("item")
        let inBand = request.conversation == "auto"
        let previous = order.last
        var item: JSONValue = ["id": .string(outID), "object": "realtime.item", "type": "message", "status": "in_progress", "role": "assistant", "content": []]
        let ids: [(String, JSONValue)] = [("response_id", .string(request.id)), ("item_id", .string(outID)), ("output_index", 0), ("content_index", 0)]
        var actions = [send("response.output_item.added", ["response_id": .string(request.id), "output_index": 0, "item": item])]
        if inBand { actions.append(send("conversation.item.added", ["previous_item_id": previous.map(JSONValue.string) ?? .null, "item": item])) }
        actions.append(send("response.content_part.added", .object(ids + [("part", ["type": "text", "text": ""])])))
        let words = Self.words(text)
        for word in words {
            actions.append(send("response.output_text.delta", .object(ids + [("delta", .string(word))])))
        }
        actions.append(send("response.output_text.done", .object(ids + [("text", .string(text))])))
        actions.append(send("response.content_part.done", .object(ids + [("part", ["type": "text", "text": .string(text)])])))
        item = item.setting(["status"], to: "completed").setting(["content"], to: [["type": "output_text", "text": .string(text)]])
        actions.append(send("response.output_item.done", ["response_id": .string(request.id), "output_index": 0, "item": item]))
        if inBand {
            order.append(outID)
            items[outID] = Item(id: outID, role: "assistant", committed: true)
            actions.append(send("conversation.item.done", ["previous_item_id": previous.map(JSONValue.string) ?? .null, "item": item]))
        }
        // Token counts follow the cloud's shape: audio at 10 tokens per second, a token a word out.
        let audioTokens = Int(((request.itemID.flatMap { items[$0]?.seconds } ?? 0) * 10).rounded(.up))
        let outputTokens = words.count + 1
        let usage: JSONValue = [
            "total_tokens": .number(Double(request.textTokens + audioTokens + outputTokens)),
            "input_tokens": .number(Double(request.textTokens + audioTokens)),
            "output_tokens": .number(Double(outputTokens)),
            "input_token_details": [
                "text_tokens": .number(Double(request.textTokens)), "audio_tokens": .number(Double(audioTokens)),
                "image_tokens": 0, "cached_tokens": 0,
                "cached_tokens_details": ["text_tokens": 0, "audio_tokens": 0, "image_tokens": 0],
            ],
            "output_token_details": ["text_tokens": .number(Double(outputTokens)), "audio_tokens": 0],
        ]
        actions.append(send("response.done", ["response": responseJSON(request, status: "completed", output: [item], usage: usage)]))
        return actions
    }

    private func responseJSON(_ request: Request, status: String, output: [JSONValue], usage: JSONValue) -> JSONValue {
        [
            "id": .string(request.id), "object": "realtime.response", "status": .string(status), "status_details": nil,
            "conversation_id": request.conversation == "auto" ? "conv_local" : nil,
            "output_modalities": ["text"], "max_output_tokens": request.maxOutputTokens, "metadata": request.metadata,
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

    // MARK: Event building

    private func send(_ type: String, _ fields: JSONValue) -> Action {
        var pairs: [(String, JSONValue)] = [("type", .string(type)), ("event_id", .string(ids.next("event")))]
        if case .object(let rest) = fields { pairs += rest }
        return .send(JSONValue.object(pairs).text)
    }

    private func error(_ problem: ProtocolProblem, eventID: String?) -> Action {
        send("error", ["error": [
            "type": .string(problem.type), "code": .string(problem.code), "message": .string(problem.message),
            "param": problem.param.map(JSONValue.string) ?? .null, "event_id": eventID.map(JSONValue.string) ?? .null,
        ]])
    }

    /// An item as `conversation.item.retrieved` shows it: user audio with its transcript once
    /// known, user text, or an assistant message.
    private func retrieved(_ item: Item) -> JSONValue {
        var content: [JSONValue] = []
        if item.hasAudio { content.append(["type": "input_audio", "transcript": item.isReady ? .string(item.transcript) : nil]) }
        if !item.textInput.isEmpty { content.append(["type": "input_text", "text": .string(item.textInput)]) }
        return ["id": .string(item.id), "type": "message", "object": "realtime.item",
                "status": item.committed ? "completed" : "in_progress", "role": .string(item.role), "content": .array(content)]
    }

    private func itemJSON(_ id: String, status: String) -> JSONValue {
        ["id": .string(id), "type": "message", "object": "realtime.item", "status": .string(status), "role": "user",
         "content": [["type": "input_audio", "transcript": nil]]]
    }
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
