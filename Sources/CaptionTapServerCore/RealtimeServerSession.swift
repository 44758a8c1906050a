import CaptionTapCore
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
/// detection over the front end's windows, asks for recognizer decodes, and answers with
/// transcripts and text responses (docs/PROTOCOL.md).
///
/// Two kinds of session share this type: a *realtime* session (responses, the out-of-band
/// captions captiontap asks for) and a *transcription* session (`?intent=transcription`: turns and
/// their transcripts only), each in the GA dialect or, for transcription, the beta one.
///
/// Pure protocol logic: no sockets, threads or clock. The server adapter owns one per connection,
/// calls it from one thread, performs the `Action`s and feeds decode results back. The work is
/// split by topic: audio and turns (`+Audio`), conversation items (`+Items`), responses
/// (`+Responses`), transcripts (`+Transcripts`).
public final class RealtimeServerSession {
    public enum Action: Equatable {
        /// Send this server event (JSON text).
        case send(String)
        /// Recognize these samples (front-end rate) and call ``decoded(job:text:)``, or
        /// ``decodeFailed(job:reason:)`` if the recognizer cannot.
        case decode(job: Int, samples: [Float])
        /// A queued decode is no longer needed (its result would be ignored anyway).
        case cancel(job: Int)
        /// A speculative decode became the final one for its segment: if still queued, it now
        /// goes with the finals.
        case promote(job: Int)
        /// A committed audio item's transcript is complete (for the speech-end → transcript
        /// latency an operator watches); once per item.
        case transcribed(item: String)
    }

    public let model: String
    public internal(set) var session: SessionObject
    var events = ServerEvents()
    let frontEnd: SpeechFrontEnd
    var segmenter: TurnSegmenter
    let rate: Int

    // Audio at the front end's rate, from `audioBase` on; only what a turn may still need.
    var audio: [Float] = []
    var audioBase = 0
    var position: Int { audioBase + audio.count }
    /// Start of the uncommitted part of the input buffer (for commits without VAD).
    var bufferStart = 0
    /// Where speech was heard in the uncommitted buffer (manual commits decode only that).
    var voicedSpan: (first: Int, last: Int)?
    /// The first byte of a sample whose second byte is in the next append: the appends are one
    /// byte stream, which a client may cut anywhere (base64 of whatever a pipe read returned).
    var halfSample: UInt8?
    /// Where the last turn ended (or the buffer was cleared): the idle timeout counts from here.
    var lastActivity = 0

    struct Item {
        var id: String
        var role: String
        var jobs: [Int] = []
        var texts: [Int: String] = [:]
        var committed = false
        var seconds = 0.0
        var textInput = ""
        /// Holds audio (a turn, a commit, an inline upload): it gets a transcript, empty or not.
        var hasAudio = false
        /// Why a decode of this item failed, if one did: it gets `.failed`, not `.completed`.
        var failure: String?
        /// Characters of the transcript already sent as transcription deltas.
        var streamedCharacters = 0
        var isReady: Bool { committed && (failure != nil || jobs.allSatisfy { texts[$0] != nil }) }
        /// The segments' texts joined where they overlap (each decode after the first hears the
        /// end of the one before; see ``SegmentJoin``).
        var transcript: String { joined(jobs.count) }
        func joined(_ leading: Int) -> String {
            jobs.prefix(leading).compactMap { texts[$0] }.reduce("") { SegmentJoin.join($0, $1) }
        }
    }
    var items: [String: Item] = [:]
    var order: [String] = []
    var openItem: String?
    var openStart = 0
    /// Audio items whose transcript was reported complete.
    var transcribed: Set<String> = []
    var transcriptionSent: Set<String> = []
    var speculativeJob: Int?
    var jobOwner: [Int: String] = [:]
    var nextJob = 1

    struct Request {
        var response: ServerEvents.Response
        var itemID: String?
        var textTokens: Int
        /// Hidden items made for the request's inline audio: they go with it.
        var inline: [String] = []
        var id: String { response.id }
    }
    var waiting: [Request] = []
    var activeDefaultResponse: String?
    /// Turns committed while a default-conversation response was still running: each gets its
    /// automatic response when the one before it is done, so `create_response` never collides.
    var automaticPending: [String] = []

    /// A session of `kind`, speaking `dialect`; `model` is what the client asked for (echoed).
    public init(
        model: String, frontEnd: SpeechFrontEnd, kind: SessionObject.Kind = .realtime, dialect: ProtocolDialect = .ga,
        sessionSeconds: Int = 3600, now: Int = Int(Date().timeIntervalSince1970), policy: TurnSegmenter.Policy = .init()
    ) {
        self.model = model
        self.frontEnd = frontEnd
        self.rate = frontEnd.sampleRate
        events.dialect = dialect
        let id = events.id("sess")
        switch kind {
        case .realtime: session = SessionObject(id: id, model: model, expiresAt: now + sessionSeconds)
        case .transcription: session = SessionObject(transcriptionID: id, model: model, expiresAt: now + sessionSeconds)
        }
        segmenter = TurnSegmenter(sampleRate: frontEnd.sampleRate, policy: policy)
        applyVADSettings()
    }

    /// Whether a decode is the speculative one (the open tail during a pause): it may be wasted,
    /// so a busy decoder runs it after every other decode.
    public func isSpeculative(job: Int) -> Bool { job == speculativeJob }

    /// The first event on a new connection: `session.created` (`transcription_session.created`
    /// for a beta transcription client).
    public func start() -> [Action] { [.send(events.created(session))] }

    func ms(_ samples: Int) -> Int { samples * 1000 / rate }

    // MARK: Client events

    /// Handles one text frame from the client.
    public func receive(text: String) -> [Action] {
        guard let event = JSONValue.parse(text), case .object = event else {
            return [
                error(
                    ProtocolProblem(
                        message: "The server failed to parse the event: not a JSON object.", code: "invalid_json"),
                    eventID: nil)
            ]
        }
        let eventID = event["event_id"]?.string
        guard let type = event["type"]?.string else {
            return [
                error(
                    ProtocolProblem(
                        message: "Missing required parameter: 'type'.", code: "missing_required_parameter",
                        param: "type"), eventID: eventID)
            ]
        }
        if session.kind == .transcription, Self.realtimeOnly.contains(type) {
            return [
                error(
                    ProtocolProblem(
                        message:
                            "'\(type)' is not available in a transcription session; connect without ?intent=transcription for responses.",
                        code: "unsupported_event", param: "type"), eventID: eventID)
            ]
        }
        switch type {
        case "input_audio_buffer.append": return append(event, eventID: eventID)
        case "session.update": return updateSession(event["session"] ?? .null, beta: false, eventID: eventID)
        case "transcription_session.update":
            return updateSession(event["session"] ?? .null, beta: true, eventID: eventID)
        case "input_audio_buffer.commit": return commit(eventID: eventID)
        case "input_audio_buffer.clear": return clearBuffer()
        case "response.create": return createResponse(event["response"] ?? .object([]), eventID: eventID)
        case "response.cancel": return cancelResponse(event, eventID: eventID)
        case "conversation.item.create": return createItem(event, eventID: eventID)
        case "conversation.item.retrieve": return retrieveItem(event["item_id"]?.string, eventID: eventID)
        case "conversation.item.delete": return deleteItem(event["item_id"]?.string, eventID: eventID)
        default:
            return [
                error(
                    ProtocolProblem(
                        message: "The embedded backend does not support '\(type.prefix(64))'.",
                        code: "unsupported_event", param: "type"), eventID: eventID)
            ]
        }
    }

    /// Client events that only make sense with responses.
    static let realtimeOnly: Set = ["response.create", "response.cancel", "conversation.item.create"]

    /// A binary frame: the protocol is JSON text only.
    public func receiveBinary() -> [Action] {
        [
            error(
                ProtocolProblem(
                    message: "Binary frames are not supported; send JSON text events.", code: "invalid_json"),
                eventID: nil)
        ]
    }

    // MARK: Session updates

    /// `session.update`, or the beta `transcription_session.update`. A realtime session that has
    /// heard nothing yet may turn into a transcription session (clients that connect without
    /// `?intent=transcription` and ask for one in their first update).
    private func updateSession(_ update: JSONValue, beta: Bool, eventID: String?) -> [Action] {
        var candidate = session
        if (beta || update["type"]?.string == "transcription") && session.kind == .realtime {
            guard position == 0 && items.isEmpty else {
                return [
                    error(
                        ProtocolProblem(
                            message:
                                "A session that has received audio cannot become a transcription session; open a new one with ?intent=transcription.",
                            code: "invalid_value", param: "session.type"), eventID: eventID)
                ]
            }
            candidate = SessionObject(
                transcriptionID: session.json["id"]?.string ?? events.id("sess"), model: nil,
                expiresAt: session.json["expires_at"]?.int ?? 0)
        }
        let problem: ProtocolProblem?
        switch beta ? SessionObject.fromBeta(update) : .success(update) {
        case .failure(let refused): problem = refused
        case .success(let ga): problem = candidate.apply(update: ga)
        }
        // A refused update changes nothing, not even the kind of session.
        if let problem { return [error(problem, eventID: eventID)] }
        // Turn detection switched off mid-turn: the turn ends here, as the VAD would have ended
        // it (else its audio would wait for a commit the segmenter no longer answers for).
        var closing: [Action] = []
        if candidate.turnDetection == nil && segmenter.turnStart != nil {
            closing = segmenter.commitOpenTurn(at: position).flatMap { handle($0) }
        }
        session = candidate
        // The client's last update says which protocol it speaks; events follow it.
        events.dialect = beta ? .beta : .ga
        applyVADSettings()
        return closing + [.send(events.updated(session))]
    }

    func applyVADSettings() {
        frontEnd.threshold = session.vadThreshold
        segmenter.settings = .init(
            prefixPaddingMs: session.prefixPaddingMs, silenceDurationMs: session.silenceDurationMs)
    }

    // MARK: Event building

    func send(_ type: String, _ fields: JSONValue) -> Action { .send(events.event(type, fields)) }

    func error(_ problem: ProtocolProblem, eventID: String?) -> Action {
        .send(events.error(problem, eventID: eventID))
    }
}
