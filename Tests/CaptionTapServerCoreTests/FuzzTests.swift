import CaptionTapCore
import Foundation
import Testing

@testable import CaptionTapServerCore

/// Structure-aware fuzzing of the inputs parsed in-process: the client's server-event parser and
/// state machine, serve's session protocol and the config reader. Real inputs, mutated value by
/// value, key by key and byte by byte; bounded in count (a few seconds each). Nothing may trap,
/// and the same instance must work normally afterwards. A failure prints its seed.
@Suite struct FuzzTests {
    static let iterations = 20_000

    /// A seeded generator (SplitMix64): the same seed, the same inputs.
    struct Seeded: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static let oddNumbers: [Double] = [
        0, -1, 0.5, -0.0, 1e300, -1e300, 1e15, 9.3e18, 999_999_999_999_999, .infinity, -.infinity, .nan, 1e-300,
    ]
    static let oddStrings = [
        "", " ", "\u{0}", String(repeating: "é", count: 500), String(repeating: "x", count: 20_000), "null", "{",
        "item_1", "resp_1",
    ]

    static func mutateValue(_ value: JSONValue, _ rng: inout Seeded) -> JSONValue {
        switch Int.random(in: 0..<8, using: &rng) {
        case 0, 1: return .number(oddNumbers.randomElement(using: &rng)!)
        case 2: return .string(oddStrings.randomElement(using: &rng)!)
        case 3: return .null
        case 4: return .array(Array(repeating: value, count: Int.random(in: 0...3, using: &rng)))
        case 5: return .object([("x", value)])
        case 6: return .bool(Bool.random(using: &rng))
        default:
            var nested = JSONValue.number(1)
            for _ in 0..<Int.random(in: 1...100, using: &rng) { nested = .array([nested]) }
            return nested
        }
    }

    static func mutate(_ value: JSONValue, _ rng: inout Seeded) -> JSONValue {
        switch value {
        case .object(let pairs):
            var out: [(String, JSONValue)] = []
            for (key, child) in pairs {
                let r = Double.random(in: 0..<1, using: &rng)
                if r < 0.1 && key != "type" { continue }
                out.append((key, r < 0.35 ? mutateValue(child, &rng) : mutate(child, &rng)))
            }
            return .object(out)
        case .array(let items):
            return .array(items.map { mutate($0, &rng) })
        default:
            return Double.random(in: 0..<1, using: &rng) < 0.3 ? mutateValue(value, &rng) : value
        }
    }

    /// Byte-level damage on top: truncation, flips, duplication.
    static func damage(_ text: String, _ rng: inout Seeded) -> String {
        var bytes = Array(text.utf8)
        switch Int.random(in: 0..<6, using: &rng) {
        case 0 where !bytes.isEmpty: bytes = Array(bytes.prefix(Int.random(in: 0..<bytes.count, using: &rng)))
        case 1 where !bytes.isEmpty:
            for _ in 0..<Int.random(in: 1...8, using: &rng) {
                bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
        case 2 where !bytes.isEmpty:
            let cut = Int.random(in: 0..<bytes.count, using: &rng)
            bytes.insert(contentsOf: bytes[cut...], at: cut)
        default: break
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static let serverEvents = [
        #"{"type":"session.created","event_id":"e0","session":{"id":"sess_1","type":"realtime","model":"gpt-realtime"}}"#,
        #"{"type":"session.updated","event_id":"e1","session":{"id":"sess_1","type":"realtime"}}"#,
        #"{"type":"input_audio_buffer.speech_started","event_id":"e2","audio_start_ms":100,"item_id":"item_1"}"#,
        #"{"type":"input_audio_buffer.speech_stopped","event_id":"e3","audio_end_ms":900,"item_id":"item_1"}"#,
        #"{"type":"input_audio_buffer.committed","event_id":"e4","item_id":"item_1","previous_item_id":null}"#,
        #"{"type":"response.created","event_id":"e5","response":{"id":"resp_1","object":"realtime.response","status":"in_progress","output":[],"metadata":{"purpose":"caption","item_id":"item_1"}}}"#,
        #"{"type":"response.output_text.delta","event_id":"e6","response_id":"resp_1","item_id":"x","output_index":0,"content_index":0,"delta":"Hi"}"#,
        #"{"type":"response.output_text.done","event_id":"e7","response_id":"resp_1","item_id":"x","output_index":0,"content_index":0,"text":"Hi"}"#,
        #"{"type":"response.done","event_id":"e8","response":{"id":"resp_1","status":"completed","metadata":{"purpose":"caption","item_id":"item_1"},"output":[{"type":"message","content":[{"type":"output_text","text":"Hi"}]}],"usage":{"total_tokens":3,"input_tokens":2,"output_tokens":1,"input_token_details":{"text_tokens":1,"audio_tokens":1,"cached_tokens":0},"output_token_details":{"text_tokens":1,"audio_tokens":0}}}}"#,
        #"{"type":"error","event_id":"e9","error":{"type":"server_error","code":"server_error","message":"boom","event_id":"ct_oob_1"}}"#,
        #"{"type":"rate_limits.updated","event_id":"e10","rate_limits":[{"name":"requests","limit":100,"remaining":0,"reset_seconds":2.5}]}"#,
    ]

    /// A random seed, or `CAPTIONTAP_FUZZ_SEED` to replay a failure.
    static var seed: UInt64 {
        ProcessInfo.processInfo.environment["CAPTIONTAP_FUZZ_SEED"].flatMap { UInt64($0) }
            ?? UInt64.random(in: 1...UInt64.max)
    }

    @Test func theClientsEventParserAndStateMachineSurviveMutatedServerEvents() throws {
        let seed = Self.seed
        var rng = Seeded(state: seed)
        let t = OutOfBandTranscriber(config: .init(session: SessionConfig()))
        _ = t.startSession(epoch: 1)
        let silence = [UInt8](repeating: 0, count: 4800)
        let corpus = Self.serverEvents.compactMap(JSONValue.parse)
        for i in 0..<Self.iterations {
            if i % 10 == 0 { _ = silence.withUnsafeBytes { t.audioCaptured($0) } }
            let text = Self.damage(Self.mutate(corpus.randomElement(using: &rng)!, &rng).text, &rng)
            if let event = ServerEvent.parse(text) {
                _ = t.handle(event, epoch: Int.random(in: 0...2, using: &rng), now: Double(i) / 100)
            }
            if i % 50 == 0 { _ = t.tick(now: Double(i) / 100) }
            if i % 500 == 0 {
                t.sessionLost(epoch: 1)
                _ = t.startSession(epoch: 1)
            }
        }
        // Afterwards a new session still captions a normal turn: whatever the fuzzing left
        // unfinished is retried, given up or lost in time, and the new final flows.
        t.sessionLost(epoch: 1)
        _ = t.startSession(epoch: 7)
        for _ in 0..<20 { _ = silence.withUnsafeBytes { t.audioCaptured($0) } }
        var captions: [Caption] = []
        // At the end of the audio sent (times beyond it are held to it): after whatever spans the
        // fuzzed turns claimed, which are no longer the new turn's business.
        let base = Self.serverEvents.dropFirst(2).prefix(7).map {
            $0.replacingOccurrences(of: "item_1", with: "item_new").replacingOccurrences(of: "resp_1", with: "resp_new")
                .replacingOccurrences(of: #""audio_start_ms":100"#, with: #""audio_start_ms":999999999"#)
                .replacingOccurrences(of: #""audio_end_ms":900"#, with: #""audio_end_ms":999999999"#)
        }
        var now = 1000.0
        for text in base {
            let event = try #require(ServerEvent.parse(text))
            for case .caption(let c) in t.handle(event, epoch: 7, now: now) { captions.append(c) }
        }
        while now < 2000 && !captions.contains(where: { $0.isFinal && $0.text == "Hi" }) {
            now += 1
            for action in t.tick(now: now) {
                if case .caption(let c) = action { captions.append(c) }
                // Re-sent requests for the new turn get their answer again.
                if case .send(7, let text) = action, text.contains("item_new") {
                    for event in base.suffix(4).compactMap(ServerEvent.parse) {
                        for case .caption(let c) in t.handle(event, epoch: 7, now: now) { captions.append(c) }
                    }
                }
            }
        }
        #expect(captions.contains { $0.isFinal && $0.text == "Hi" }, "seed \(seed): \(captions)")
    }

    @Test func servesSessionProtocolSurvivesMutatedClientEvents() throws {
        let seed = Self.seed
        var rng = Seeded(state: seed)
        let helper = RealtimeServerSessionTests()
        let session = RealtimeServerSession(model: "gpt-realtime", frontEnd: EnergyFrontEnd())
        _ = session.start()
        let audio = Data((0..<4800).map { _ in UInt8.random(in: 0...255, using: &rng) }).base64EncodedString()
        let corpus: [JSONValue] = [
            JSONValue.parse(helper.vadOff)!,
            ["type": "input_audio_buffer.append", "audio": .string(audio)],
            ["type": "input_audio_buffer.commit"], ["type": "input_audio_buffer.clear"],
            JSONValue.parse(
                #"{"type":"response.create","response":{"conversation":"none","output_modalities":["text"],"metadata":{"item_id":"item_1"},"input":[{"type":"item_reference","id":"item_1"}]}}"#
            )!,
            JSONValue.parse(
                #"{"type":"conversation.item.create","item":{"type":"message","role":"user","content":[{"type":"input_audio","audio":"\#(audio)"}]}}"#
            )!,
            ["type": "conversation.item.delete", "item_id": "item_1"], ["type": "response.cancel"],
        ]
        for _ in 0..<Self.iterations {
            let text = Self.damage(Self.mutate(corpus.randomElement(using: &rng)!, &rng).text, &rng)
            for action in session.receive(text: text) {
                if case .decode(let job, _) = action { _ = session.decoded(job: job, text: "words") }
            }
        }
        let reply = helper.events(session.receive(text: helper.vadOff))
        #expect(reply.first?["type"]?.string == "session.updated", "seed \(seed): \(reply)")
    }

    @Test(arguments: [ProtocolDialect.ga, .beta])
    func transcriptionSessionsSurviveMutatedClientEvents(dialect: ProtocolDialect) throws {
        let seed = Self.seed
        var rng = Seeded(state: seed)
        let helper = RealtimeServerSessionTests()
        let session = RealtimeServerSession(
            model: "gpt-4o-transcribe", frontEnd: EnergyFrontEnd(), kind: .transcription, dialect: dialect)
        _ = session.start()
        let audio = Data((0..<4800).map { _ in UInt8.random(in: 0...255, using: &rng) }).base64EncodedString()
        let ga =
            #"{"type":"session.update","session":{"type":"transcription","audio":{"input":{"transcription":{"model":"gpt-4o-transcribe","language":"en"},"turn_detection":{"type":"server_vad","silence_duration_ms":300,"idle_timeout_ms":5000}}},"include":["item.input_audio_transcription.logprobs"]}}"#
        let beta =
            #"{"type":"transcription_session.update","session":{"input_audio_format":"pcm16","input_audio_transcription":{"model":"whisper-1"},"turn_detection":{"type":"semantic_vad","eagerness":"low"},"input_audio_noise_reduction":{"type":"far_field"}}}"#
        let corpus: [JSONValue] = [
            JSONValue.parse(ga)!, JSONValue.parse(beta)!,
            ["type": "input_audio_buffer.append", "audio": .string(audio)],
            ["type": "input_audio_buffer.commit"], ["type": "input_audio_buffer.clear"],
            ["type": "conversation.item.retrieve", "item_id": "item_1"],
            ["type": "conversation.item.delete", "item_id": "item_1"],
        ]
        for _ in 0..<Self.iterations {
            let text = Self.damage(Self.mutate(corpus.randomElement(using: &rng)!, &rng).text, &rng)
            for action in session.receive(text: text) {
                guard case .decode(let job, _) = action else { continue }
                _ =
                    Bool.random(using: &rng)
                    ? session.decoded(job: job, text: "words") : session.decodeFailed(job: job, reason: "fuzz")
            }
        }
        let reply = helper.events(session.receive(text: dialect == .beta ? beta : ga))
        #expect(
            reply.first?["type"]?.string == (dialect == .beta ? "transcription_session.updated" : "session.updated"),
            "seed \(seed): \(reply)")
    }

    @Test func theConfigReaderSurvivesMutatedFiles() {
        let seed = Self.seed
        var rng = Seeded(state: seed)
        let file = """
            # captiontap.conf
            captiontap.properties = {
                target = "alsa_output.pci"
                vad-threshold = 0.5
                silence-ms = 900
                chunk-ms = 100
                url = "ws://127.0.0.1:8765/v1/realtime"
                language = "de"
                overlay = "127.0.0.1:8766"
                partials = true
                context = "recent:3"
            }
            """
        let pieces = [
            "{", "}", "[", "]", "=", ":", "\"", "#", "\n", "1e300", "-1", "null", "true", "captiontap.properties", "\\",
            "\u{0}",
        ]
        var parsed = 0
        for _ in 0..<Self.iterations {
            var text = Self.damage(file, &rng)
            if Bool.random(using: &rng) {
                var bytes = Array(text)
                for _ in 0..<Int.random(in: 1...6, using: &rng) {
                    bytes.insert(
                        contentsOf: pieces.randomElement(using: &rng)!, at: Int.random(in: 0...bytes.count, using: &rng)
                    )
                }
                text = String(bytes)
            }
            if (try? ConfigFile(text: text)) != nil { parsed += 1 }
            _ = try? SPAJSON.parseFile(text)
        }
        #expect(parsed < Self.iterations, "seed \(seed): mutations should break some files")
        #expect((try? ConfigFile(text: file)) != nil)
    }
}
