import CaptionTapCore
import Foundation
import Testing

@testable import CaptionTapServerCore

/// What clients written for OpenAI's Realtime API send to `serve` (issue: serve as a drop-in):
/// OpenAI's model ids, semantic_vad, item retrieval, and manual commits that start or end with
/// silence.
@Suite struct DropInTests {
    let helper = RealtimeServerSessionTests()

    func session(_ update: String) -> RealtimeServerSession {
        let session = RealtimeServerSession(model: "gpt-realtime", frontEnd: EnergyFrontEnd())
        _ = session.start()
        _ = session.receive(text: update)
        return session
    }

    @Test func openAIsModelIdsAreAcceptedAndUnknownOnesRefused() {
        for model in [
            "gpt-realtime", "gpt-realtime-2025-08-28", "gpt-4o-realtime-preview-2024-12-17",
            "gpt-4o-mini-realtime-preview",
            "gpt-4o-transcribe", "gpt-4o-mini-transcribe", "gpt-4o-mini-transcribe-2025-03-20", "whisper-1",
        ] {
            #expect(SessionObject.isSupported(model: model), "\(model)")
        }
        for model in ["gpt-5", "whisper-2", "", "gpt-4o-transcribe" + String(repeating: "x", count: 200), "whisper-1x"]
        {
            #expect(!SessionObject.isSupported(model: model), "\(model)")
        }
        let s = session(
            #"{"type":"session.update","session":{"type":"realtime","audio":{"input":{"transcription":{"model":"gpt-4o-mini-transcribe"}}}}}"#
        )
        let refused = helper.events(
            s.receive(
                text:
                    #"{"type":"session.update","session":{"type":"realtime","audio":{"input":{"transcription":{"model":"no-such-model"}}}}}"#
            ))
        #expect(refused.first?["error"]?["param"]?.string == "session.audio.input.transcription.model", "\(refused)")
        #expect(
            s.session.json["audio"]?["input"]?["transcription"]?["model"]?.string == "gpt-4o-mini-transcribe", "echoed")
    }

    @Test func semanticVADIsAcceptedAndEagernessSetsTheSilenceThatEndsATurn() throws {
        func commitDelay(_ eagerness: String) throws -> Int? {
            let s = session(
                #"{"type":"session.update","session":{"type":"realtime","audio":{"input":{"turn_detection":{"type":"semantic_vad","eagerness":"\#(eagerness)","create_response":false}}}}}"#
            )
            #expect(s.session.turnDetection?["type"]?.string == "semantic_vad")
            _ = helper.append(s, helper.tone(1.0))
            // Silence in 100 ms steps until the turn is committed.
            for step in 1...40 {
                let events = helper.events(helper.append(s, [Float](repeating: 0, count: 2400)))
                if events.contains(where: { $0["type"]?.string == "input_audio_buffer.committed" }) {
                    return step * 100
                }
            }
            return nil
        }
        let high = try #require(try commitDelay("high"))
        let auto = try #require(try commitDelay("auto"))
        let low = try #require(try commitDelay("low"))
        #expect(high < auto && auto < low, "high \(high) ms, auto \(auto) ms, low \(low) ms")
        #expect(
            abs(high - 400) <= 100 && abs(auto - 800) <= 100 && abs(low - 1200) <= 100,
            "high \(high), auto \(auto), low \(low)")
        let bad = session(#"{"type":"session.update","session":{"type":"realtime"}}"#)
        let refused = helper.events(
            bad.receive(
                text:
                    #"{"type":"session.update","session":{"type":"realtime","audio":{"input":{"turn_detection":{"type":"semantic_vad","eagerness":"eager"}}}}}"#
            ))
        #expect(
            refused.first?["error"]?["param"]?.string == "session.audio.input.turn_detection.eagerness", "\(refused)")
    }

    @Test func aManualCommitDecodesTheSpeechNotTheSilenceAroundIt() throws {
        let manual =
            #"{"type":"session.update","session":{"type":"realtime","audio":{"input":{"turn_detection":null,"transcription":{"model":"whisper-1"}}}}}"#
        let s = session(manual)
        _ = helper.append(
            s, [Float](repeating: 0, count: 48_000) + helper.tone(1.0) + [Float](repeating: 0, count: 48_000))
        let actions = s.receive(text: #"{"type":"input_audio_buffer.commit"}"#)
        let decoded = actions.compactMap { if case .decode(_, let samples) = $0 { samples.count } else { nil } }.reduce(
            0, +)
        // 1 s of speech plus 300 ms prefix and 300 ms after, at 8 kHz: not the 5 s buffer.
        #expect(abs(decoded - 12_800) <= 400, "decoded \(decoded) samples")
        for case .decode(let job, _) in actions { _ = s.decoded(job: job, text: "a tone") }
        // A buffer with no speech: an empty transcript, never an error.
        _ = helper.append(s, [Float](repeating: 0, count: 24_000))
        let silent = helper.events(s.receive(text: #"{"type":"input_audio_buffer.commit"}"#))
        #expect(!silent.contains { $0["type"]?.string == "error" }, "\(silent)")
        let completed = silent.first { $0["type"]?.string == "conversation.item.input_audio_transcription.completed" }
        #expect(completed?["transcript"]?.string == "", "\(silent)")
    }

    @Test func itemsCanBeRetrieved() throws {
        let s = session(helper.vadOff)
        let actions = helper.append(s, helper.tone(1.0) + [Float](repeating: 0, count: 24_000))
        let item = try #require(
            helper.events(actions).first { $0["type"]?.string == "input_audio_buffer.committed" }?["item_id"]?.string)
        for case .decode(let job, _) in actions { _ = s.decoded(job: job, text: "a tone") }
        let retrieved = helper.events(s.receive(text: #"{"type":"conversation.item.retrieve","item_id":"\#(item)"}"#))
        #expect(retrieved.first?["type"]?.string == "conversation.item.retrieved")
        #expect(retrieved.first?["item"]?["content"]?.array?.first?["transcript"]?.string == "a tone", "\(retrieved)")
        let missing = helper.events(s.receive(text: #"{"type":"conversation.item.retrieve","item_id":"item_nope"}"#))
        #expect(missing.first?["error"]?["code"]?.string == "item_not_found")
    }

    @Test func transcriptionDeltasStreamPerSegmentWhileTheTurnIsSpoken() throws {
        let s = session(
            #"{"type":"session.update","session":{"type":"realtime","audio":{"input":{"transcription":{"model":"gpt-4o-transcribe"},"turn_detection":{"type":"server_vad","silence_duration_ms":800,"create_response":false}}}}}"#
        )
        var events: [JSONValue] = []
        var segmentTexts = [
            "one two three four five six seven eight nine ten.",
            "Eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty", "end",
        ]
        func run(_ actions: [RealtimeServerSession.Action]) {
            events += helper.events(actions)
            for case .decode(let job, _) in actions where !s.isSpeculative(job: job) {
                run(s.decoded(job: job, text: segmentTexts.isEmpty ? "x" : segmentTexts.removeFirst()))
            }
        }
        // Two closed segments (4 s of speech, a 350 ms pause, 4 s more, a pause) while speaking...
        for part in [
            helper.tone(4), [Float](repeating: 0, count: 8400), helper.tone(4), [Float](repeating: 0, count: 8400),
            helper.tone(1),
        ] {
            run(helper.append(s, part))
        }
        let deltasBeforeCommit = events.filter {
            $0["type"]?.string == "conversation.item.input_audio_transcription.delta"
        }
        #expect(!events.contains { $0["type"]?.string == "input_audio_buffer.committed" })
        // All but the last words, which a later segment's overlap could still change.
        #expect(
            deltasBeforeCommit.compactMap { $0["delta"]?.string }.joined()
                == "one two three four five six seven eight nine ten.",
            "\(deltasBeforeCommit)")
        // ...then the turn ends; the rest streams and the deltas add up to the transcript.
        run(helper.append(s, [Float](repeating: 0, count: 36_000)))
        let deltas = events.filter { $0["type"]?.string == "conversation.item.input_audio_transcription.delta" }
            .compactMap { $0["delta"]?.string }
        let completed = try #require(
            events.first { $0["type"]?.string == "conversation.item.input_audio_transcription.completed" },
            "\(events.map { $0["type"]?.string ?? "" })")
        #expect(deltas.joined() == completed["transcript"]?.string, "\(deltas) vs \(completed)")
    }
}
