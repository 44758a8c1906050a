import Foundation
import Testing

@testable import CaptionTapCore
@testable import CaptionTapServerCore

/// Windows of 16 ms at 1 kHz keep the arithmetic readable: one sample is one millisecond.
@Suite struct TurnSegmenterTests {
    /// Feeds `pattern` (one Bool per 16 ms window) and returns the events with window ends.
    func run(_ segmenter: inout TurnSegmenter, _ pattern: [Bool], from start: Int = 0) -> [TurnSegmenter.Event] {
        var events: [TurnSegmenter.Event] = []
        for (i, voiced) in pattern.enumerated() {
            events += segmenter.window(voiced: voiced, end: start + (i + 1) * 16, count: 16)
        }
        return events
    }

    func pattern(_ parts: [(Bool, Int)]) -> [Bool] { parts.flatMap { Array(repeating: $0.0, count: $0.1 / 16) } }

    @Test func aTurnStartsWithPrefixPaddingAndCommitsAfterTheSilence() {
        var s = TurnSegmenter(sampleRate: 1000, settings: .init(prefixPaddingMs: 300, silenceDurationMs: 800))
        let events = run(&s, pattern([(false, 1600), (true, 2000), (false, 1600)]))
        #expect(events.first == .speechStarted(start: 1600 - 16 - 300 + 16))
        // A speculative decode of the whole turn starts 240 ms into the pause and is kept.
        #expect(events.contains(.decode(start: 1300, end: 3600 + 240, speculative: true)))
        #expect(events.last == .committed(end: 3600 + 800))
        #expect(!events.contains(.discardSpeculative))
    }

    @Test func speechResumingDiscardsTheSpeculativeDecode() {
        var s = TurnSegmenter(sampleRate: 1000, settings: .init(prefixPaddingMs: 0, silenceDurationMs: 800))
        let events = run(&s, pattern([(true, 1008), (false, 256), (true, 1008), (false, 960)]))
        let decodes = events.filter { if case .decode = $0 { true } else { false } }
        #expect(events.filter { $0 == .discardSpeculative }.count == 1)
        #expect(decodes.count == 2)
        // The second speculative decode covers the whole turn, pause included.
        #expect(decodes.last == .decode(start: 0, end: 2272 + 240, speculative: true))
        #expect(events.last == .committed(end: 2272 + 800))
    }

    @Test func longTurnsAreCutIntoSegmentsAtPausesAndCommittedAtTheMaximum() {
        var s = TurnSegmenter(sampleRate: 1000, settings: .init(prefixPaddingMs: 0, silenceDurationMs: 800))
        // 4 s of speech, a 320 ms pause (closes a segment), then speech with no pause at all.
        let events = run(&s, pattern([(true, 4000), (false, 320), (true, 30000)]))
        #expect(events.contains(.keepSpeculative))
        let commit = events.first { if case .committed = $0 { true } else { false } }
        #expect(commit == .committed(end: 25008))  // the first window at or past 25 s
        // The next turn starts right where the cut was: no audio lost, none twice.
        #expect(events.contains(.speechStarted(start: 25008)))
    }

    @Test func continuousSpeechIsCutAtTheQuietestRecentWindow() {
        var s = TurnSegmenter(sampleRate: 1000, settings: .init(prefixPaddingMs: 0, silenceDurationMs: 800))
        var events: [TurnSegmenter.Event] = []
        for i in 0..<(7000 / 16) {
            let end = (i + 1) * 16
            // Loud everywhere but one window at 5.2 s: between two words.
            events += s.window(voiced: true, end: end, count: 16, energy: end == 5200 ? 0.001 : 0.1)
        }
        let decodes = events.filter { if case .decode = $0 { true } else { false } }
        #expect(decodes.first == .decode(start: 0, end: 5200, speculative: false))
        #expect(decodes.count == 1)
        #expect(s.turnStart == 0)  // still one turn: cutting a segment commits nothing
    }

    @Test func clientCommitClosesTheOpenTurnAndClearDropsIt() {
        var s = TurnSegmenter(sampleRate: 1000)
        _ = run(&s, pattern([(true, 1000)]))
        #expect(
            s.commitOpenTurn(at: 1000) == [.decode(start: 0, end: 1000, speculative: false), .committed(end: 1000)])
        _ = run(&s, pattern([(true, 500)]), from: 1000)
        s.clear(at: 1500)
        #expect(s.turnStart == nil)
        #expect(s.commitOpenTurn(at: 1500).isEmpty)
    }
}

/// An energy detector at 8 kHz (every third sample): enough to drive the session in unit tests;
/// the real front end (Silero through sherpa-onnx) is exercised by the integration tests.
final class EnergyFrontEnd: SpeechFrontEnd {
    let sampleRate = 8000
    var threshold = 0.5
    private var window: [Float] = []
    private var phase = 0

    func process(_ samples: UnsafeBufferPointer<Float>, emit: (UnsafeBufferPointer<Float>, Bool) -> Void) {
        for x in samples {
            if phase == 0 { window.append(x) }
            phase = (phase + 1) % 3
            if window.count == 128 {
                let rms = (window.map { $0 * $0 }.reduce(0, +) / 128).squareRoot()
                window.withUnsafeBufferPointer { emit($0, rms > 0.05) }
                window.removeAll(keepingCapacity: true)
            }
        }
    }
}

@Suite struct RealtimeServerSessionTests {
    func append(_ session: RealtimeServerSession, _ samples: [Float]) -> [RealtimeServerSession.Action] {
        var bytes = [UInt8](repeating: 0, count: samples.count * 2)
        samples.withUnsafeBufferPointer { PCM16.encode($0.baseAddress!, count: samples.count, into: &bytes) }
        return session.receive(
            text: JSONValue.object([
                ("type", "input_audio_buffer.append"), ("audio", .string(Data(bytes).base64EncodedString())),
            ]).text)
    }

    func events(_ actions: [RealtimeServerSession.Action]) -> [JSONValue] {
        actions.compactMap { if case .send(let text) = $0 { JSONValue.parse(text) } else { nil } }
    }

    func tone(_ seconds: Double) -> [Float] {
        (0..<Int(seconds * 24000)).map { Float(0.3 * sin(2 * Double.pi * 440 * Double($0) / 24000)) }
    }

    /// `turn_detection: null`: the client commits.
    let manual =
        #"{"type":"session.update","session":{"type":"realtime","output_modalities":["text"],"audio":{"input":{"turn_detection":null}}}}"#

    let vadOff =
        #"{"type":"session.update","session":{"type":"realtime","output_modalities":["text"],"audio":{"input":{"turn_detection":{"type":"server_vad","silence_duration_ms":500,"create_response":false}}}}}"#

    @Test func hostileNumbersInASessionUpdateGetAnErrorNotACrash() throws {
        let session = RealtimeServerSession(model: "gpt-realtime", frontEnd: EnergyFrontEnd())
        _ = session.start()
        let hostile = [
            #"{"type":"session.update","session":{"audio":{"input":{"format":{"type":"audio/pcm","rate":1e300}}}}}"#,
            #"{"type":"session.update","session":{"audio":{"input":{"format":{"type":"audio/pcm","rate":-1e300}}}}}"#,
            #"{"type":"session.update","session":{"audio":{"input":{"format":{"type":"audio/pcm","rate":"24000"}}}}}"#,
            #"{"type":"session.update","session":{"audio":{"input":{"turn_detection":{"type":"server_vad","prefix_padding_ms":1e15}}}}}"#,
            #"{"type":"session.update","session":{"audio":{"input":{"turn_detection":{"type":"server_vad","silence_duration_ms":9.3e18}}}}}"#,
            #"{"type":"session.update","session":{"audio":{"input":{"turn_detection":{"type":"server_vad","silence_duration_ms":-5}}}}}"#,
            #"{"type":"session.update","session":{"audio":{"input":{"turn_detection":{"type":"server_vad","prefix_padding_ms":"300"}}}}}"#,
            #"{"type":"session.update","session":{"audio":{"input":{"turn_detection":{"type":"server_vad","threshold":1e300}}}}}"#,
        ]
        for text in hostile {
            let reply = events(session.receive(text: text))
            #expect(reply.first?["type"]?.string == "error", "\(text) → \(reply)")
            #expect(reply.first?["error"]?["code"]?.string == "invalid_value")
        }
        // The session kept its defaults and still works.
        #expect(session.session.prefixPaddingMs == 300)
        #expect(events(session.receive(text: vadOff)).first?["type"]?.string == "session.updated")
        let actions = append(session, tone(1.0) + [Float](repeating: 0, count: 24000))
        #expect(events(actions).contains { $0["type"]?.string == "input_audio_buffer.committed" })
        #expect(JSONValue.number(1e300).int == nil)
        #expect(JSONValue.number(-.infinity).int == nil)
        #expect(JSONValue.number(800.7).int == 800)
    }

    @Test func outOfBandResponseWaitsForTheDecodeAndStreamsWordDeltas() throws {
        let session = RealtimeServerSession(model: "gpt-realtime", frontEnd: EnergyFrontEnd())
        #expect(events(session.start()).first?["type"]?.string == "session.created")
        #expect(events(session.receive(text: vadOff)).first?["type"]?.string == "session.updated")
        var actions = append(session, tone(1.0) + [Float](repeating: 0, count: 24000))
        let committed = try #require(events(actions).first { $0["type"]?.string == "input_audio_buffer.committed" })
        let item = try #require(committed["item_id"]?.string)
        let jobs = actions.compactMap { if case .decode(let job, _) = $0 { job } else { nil } }
        #expect(jobs.count == 1)

        let request =
            #"{"type":"response.create","response":{"conversation":"none","output_modalities":["text"],"metadata":{"purpose":"caption","item_id":"\#(item)"},"input":[{"type":"item_reference","id":"\#(item)"}]}}"#
        actions = session.receive(text: request)
        let created = events(actions)
        #expect(created.map { $0["type"]?.string } == ["response.created"])
        #expect(created[0]["response"]?["metadata"]?["item_id"]?.string == item)
        #expect(created[0]["response"]?["conversation_id"]?.isNull == true)

        let done = events(session.decoded(job: jobs[0], text: "tone four forty hertz"))
        let deltas = done.filter { $0["type"]?.string == "response.output_text.delta" }.compactMap {
            $0["delta"]?.string
        }
        #expect(deltas == ["tone", " four", " forty", " hertz"])
        let final = try #require(done.last)
        #expect(final["type"]?.string == "response.done")
        #expect(
            final["response"]?["output"]?.array?.first?["content"]?.array?.first?["text"]?.string
                == "tone four forty hertz")
        #expect((final["response"]?["usage"]?["output_tokens"]?.int ?? 0) > 0)
        // An out-of-band response adds nothing to the conversation.
        #expect(!done.contains { $0["type"]?.string == "conversation.item.added" })
    }

    @Test func unsupportedRequestsGetErrorEvents() {
        let session = RealtimeServerSession(model: "gpt-realtime", frontEnd: EnergyFrontEnd())
        func errorCode(_ text: String) -> String? {
            events(session.receive(text: text)).first { $0["type"]?.string == "error" }?["error"]?["code"]?.string
        }
        #expect(
            errorCode(#"{"type":"response.create","response":{"output_modalities":["audio"]}}"#)
                == "unsupported_output_modality")
        #expect(
            errorCode(#"{"type":"session.update","session":{"type":"realtime","output_modalities":["audio"]}}"#)
                == "unsupported_output_modality")
        #expect(
            errorCode(
                #"{"type":"session.update","session":{"type":"realtime","tools":[{"type":"function","name":"f"}]}}"#)
                == "unsupported_tools")
        #expect(
            errorCode(#"{"type":"session.update","session":{"type":"realtime","model":"gpt-5-imaginary"}}"#)
                == "model_not_found")
        #expect(
            errorCode(#"{"type":"response.create","response":{"input":[{"type":"item_reference","id":"item_nope"}]}}"#)
                == "item_not_found")
        #expect(errorCode(#"{"type":"input_audio_buffer.commit"}"#) == "input_audio_buffer_commit_empty")
        #expect(errorCode(#"{"type":"input_audio_buffer.append","audio":"%%%"}"#) == "invalid_value")
        #expect(errorCode("not json") == "invalid_json")
        #expect(errorCode(#"{"type":"conversation.item.truncate","item_id":"x"}"#) == "unsupported_event")
        #expect(errorCode(#"{"type":"transcription_session.update"}"#) == "invalid_type")
        // The session is unchanged by the refused updates (still a realtime session).
        #expect(session.session.outputModalities == ["text"])
        #expect(session.session.kind == .realtime)
    }

    @Test func createResponseTrueAnswersEachTurnInTheConversation() throws {
        let session = RealtimeServerSession(model: "gpt-realtime", frontEnd: EnergyFrontEnd())
        _ = session.receive(
            text:
                #"{"type":"session.update","session":{"type":"realtime","audio":{"input":{"turn_detection":{"type":"server_vad","create_response":true}}}}}"#
        )
        let actions = append(session, tone(0.5) + [Float](repeating: 0, count: 24000))
        let created = try #require(events(actions).first { $0["type"]?.string == "response.created" })
        #expect(created["response"]?["conversation_id"]?.string != nil)
        let job = try #require(actions.compactMap { if case .decode(let job, _) = $0 { job } else { nil } }.first)
        let out = events(session.decoded(job: job, text: "hello"))
        #expect(
            out.contains {
                $0["type"]?.string == "conversation.item.added" && $0["item"]?["role"]?.string == "assistant"
            })
        #expect(out.last?["type"]?.string == "response.done")
        // A second default response while one is active is refused, as on the real server.
        let again = append(session, tone(0.5) + [Float](repeating: 0, count: 24000))
        let busy = try #require(again.compactMap { if case .decode(let job, _) = $0 { job } else { nil } }.first)
        let second = events(session.receive(text: #"{"type":"response.create"}"#))
        #expect(second.first?["error"]?["code"]?.string == "conversation_already_has_active_response")
        _ = session.decoded(job: busy, text: "again")
    }

    @Test func builtInTranscriptionEventsWhenTheSessionAsksForThem() throws {
        let session = RealtimeServerSession(model: "gpt-realtime", frontEnd: EnergyFrontEnd())
        _ = session.receive(
            text:
                #"{"type":"session.update","session":{"type":"realtime","audio":{"input":{"transcription":{"model":"whisper-1"},"turn_detection":{"type":"server_vad","create_response":false}}}}}"#
        )
        let actions = append(session, tone(0.5) + [Float](repeating: 0, count: 24000))
        let job = try #require(actions.compactMap { if case .decode(let job, _) = $0 { job } else { nil } }.first)
        let out = events(session.decoded(job: job, text: "hello there"))
        #expect(
            out.map { $0["type"]?.string ?? "" } == [
                "conversation.item.input_audio_transcription.delta",
                "conversation.item.input_audio_transcription.delta",
                "conversation.item.input_audio_transcription.completed",
            ])
        #expect(out.last?["transcript"]?.string == "hello there")
    }

    @Test func manualCommitWithoutVADTranscribesTheBuffer() throws {
        let session = RealtimeServerSession(model: "gpt-realtime", frontEnd: EnergyFrontEnd())
        _ = session.receive(
            text: #"{"type":"session.update","session":{"type":"realtime","audio":{"input":{"turn_detection":null}}}}"#)
        #expect(
            !events(append(session, tone(0.5))).contains { $0["type"]?.string == "input_audio_buffer.speech_started" })
        let actions = session.receive(text: #"{"type":"input_audio_buffer.commit"}"#)
        #expect(events(actions).first?["type"]?.string == "input_audio_buffer.committed")
        let samples = try #require(actions.compactMap { if case .decode(_, let s) = $0 { s } else { nil } }.first)
        // 0.5 s at the front end's 8 kHz, in whole detector windows (128 samples).
        #expect(samples.count == 4000 / 128 * 128)
    }
}
