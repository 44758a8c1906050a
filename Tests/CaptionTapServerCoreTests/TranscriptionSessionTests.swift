import Foundation
import Testing

@testable import CaptionTapCore
@testable import CaptionTapServerCore

/// Transcription sessions (`?intent=transcription`, GA and beta), decode failures, automatic
/// responses that never collide, and the idle timeout (issue: serve as a drop-in).
@Suite struct TranscriptionSessionTests {
    let helper = RealtimeServerSessionTests()

    func types(_ events: [JSONValue]) -> [String] { events.map { $0["type"]?.string ?? "?" } }

    /// Appends `samples`, answers every non-speculative decode with the next of `texts`, and
    /// returns all events.
    func speak(_ s: RealtimeServerSession, _ samples: [Float], texts: [String]) -> [JSONValue] {
        var texts = texts
        var out: [JSONValue] = []
        func run(_ actions: [RealtimeServerSession.Action]) {
            out += helper.events(actions)
            for case .decode(let job, _) in actions where !s.isSpeculative(job: job) {
                run(s.decoded(job: job, text: texts.isEmpty ? "" : texts.removeFirst()))
            }
        }
        run(helper.append(s, samples))
        return out
    }

    let turn: [Float] = RealtimeServerSessionTests().tone(1.0) + [Float](repeating: 0, count: 36_000)

    @Test func aTranscriptionSessionAnnouncesItselfAndOnlyTranscribes() throws {
        let s = RealtimeServerSession(model: "gpt-4o-mini-transcribe", frontEnd: EnergyFrontEnd(), kind: .transcription)
        let created = try #require(helper.events(s.start()).first)
        #expect(created["type"]?.string == "session.created")
        #expect(created["session"]?["type"]?.string == "transcription")
        #expect(created["session"]?["object"]?.string == "realtime.transcription_session")
        #expect(created["session"]?["audio"]?["input"]?["transcription"]?["model"]?.string == "gpt-4o-mini-transcribe")
        let updated = helper.events(
            s.receive(
                text:
                    #"{"type":"session.update","session":{"type":"transcription","audio":{"input":{"transcription":{"model":"gpt-4o-transcribe","language":"en"},"turn_detection":{"type":"semantic_vad","eagerness":"high"}}}}}"#
            ))
        #expect(types(updated) == ["session.updated"], "\(updated)")
        #expect(
            updated.first?["session"]?["audio"]?["input"]?["transcription"]?["model"]?.string == "gpt-4o-transcribe")
        let out = speak(s, turn, texts: ["hello there"])
        #expect(
            types(out) == [
                "input_audio_buffer.speech_started", "input_audio_buffer.speech_stopped",
                "input_audio_buffer.committed",
                "conversation.item.added", "conversation.item.done",
                "conversation.item.input_audio_transcription.delta",
                "conversation.item.input_audio_transcription.delta",
                "conversation.item.input_audio_transcription.completed",
            ], "\(types(out))")
        #expect(out.last?["transcript"]?.string == "hello there")
        #expect(out.last?["usage"]?["type"]?.string == "duration")
        // Responses do not exist here; realtime-only settings are refused, and nothing changes.
        let refused = helper.events(s.receive(text: #"{"type":"response.create"}"#))
        #expect(refused.first?["error"]?["code"]?.string == "unsupported_event")
        let realtimeKey = helper.events(
            s.receive(text: #"{"type":"session.update","session":{"type":"transcription","instructions":"x"}}"#))
        #expect(realtimeKey.first?["error"]?["code"]?.string == "unknown_parameter")
        let backToRealtime = helper.events(s.receive(text: #"{"type":"session.update","session":{"type":"realtime"}}"#))
        #expect(backToRealtime.first?["error"]?["param"]?.string == "session.type")
        #expect(s.session.kind == .transcription)
    }

    @Test func aFreshRealtimeSessionMayBecomeATranscriptionSessionButNotLater() {
        let fresh = RealtimeServerSession(model: "gpt-realtime", frontEnd: EnergyFrontEnd())
        let updated = helper.events(
            fresh.receive(text: #"{"type":"session.update","session":{"type":"transcription"}}"#))
        #expect(updated.first?["session"]?["type"]?.string == "transcription", "\(updated)")
        #expect(fresh.session.kind == .transcription)
        let used = RealtimeServerSession(model: "gpt-realtime", frontEnd: EnergyFrontEnd())
        _ = helper.append(used, helper.tone(0.2))
        let refused = helper.events(
            used.receive(text: #"{"type":"session.update","session":{"type":"transcription"}}"#))
        #expect(refused.first?["error"]?["param"]?.string == "session.type")
        #expect(used.session.kind == .realtime)
    }

    @Test func theBetaTranscriptionFlowUsesItsOwnEventNames() throws {
        let s = RealtimeServerSession(
            model: "gpt-4o-transcribe", frontEnd: EnergyFrontEnd(), kind: .transcription, dialect: .beta)
        let created = try #require(helper.events(s.start()).first)
        #expect(created["type"]?.string == "transcription_session.created")
        #expect(created["session"]?["input_audio_format"]?.string == "pcm16")
        let update =
            #"{"type":"transcription_session.update","session":{"input_audio_format":"pcm16","input_audio_transcription":{"model":"gpt-4o-transcribe","prompt":"","language":"en"},"turn_detection":{"type":"server_vad","threshold":0.5,"prefix_padding_ms":300,"silence_duration_ms":500},"input_audio_noise_reduction":{"type":"near_field"},"include":["item.input_audio_transcription.logprobs"]}}"#
        let updated = try #require(helper.events(s.receive(text: update)).first)
        #expect(updated["type"]?.string == "transcription_session.updated", "\(updated)")
        #expect(updated["session"]?["turn_detection"]?["silence_duration_ms"]?.int == 500)
        #expect(updated["session"]?["input_audio_transcription"]?["language"]?.string == "en")
        #expect(updated["session"]?["client_secret"] != nil)
        let out = speak(s, turn, texts: ["ask not"])
        #expect(types(out).contains("conversation.item.created"))
        #expect(!types(out).contains("conversation.item.added"))
        #expect(out.last?["type"]?.string == "conversation.item.input_audio_transcription.completed")
        #expect(out.last?["transcript"]?.string == "ask not")
    }

    @Test func betaUpdatesWithFormatsOrFieldsThisServerLacksAreRefused() {
        for (session, param) in [
            (#"{"input_audio_format":"g711_ulaw"}"#, "session.input_audio_format"),
            (#"{"voice":"alloy"}"#, "session.voice"),
            (
                #"{"turn_detection":{"type":"server_vad","silence_duration_ms":99999999}}"#,
                "session.audio.input.turn_detection.silence_duration_ms"
            ),
            (#"{"input_audio_transcription":{"model":"whisper-9"}}"#, "session.audio.input.transcription.model"),
        ] {
            let s = RealtimeServerSession(
                model: "gpt-4o-transcribe", frontEnd: EnergyFrontEnd(), kind: .transcription, dialect: .beta)
            let out = helper.events(s.receive(text: #"{"type":"transcription_session.update","session":\#(session)}"#))
            #expect(out.first?["error"]?["param"]?.string == param, "\(session): \(out)")
        }
    }

    @Test func aFailedDecodeSendsFailedAndStillAnswersTheResponse() throws {
        let s = RealtimeServerSession(model: "gpt-realtime", frontEnd: EnergyFrontEnd())
        _ = s.receive(
            text:
                #"{"type":"session.update","session":{"type":"realtime","audio":{"input":{"transcription":{"model":"whisper-1"},"turn_detection":{"type":"server_vad","create_response":false}}}}}"#
        )
        let actions = helper.append(s, turn)
        let item = try #require(
            helper.events(actions).first { $0["type"]?.string == "input_audio_buffer.committed" }?["item_id"]?.string)
        let asked = helper.events(
            s.receive(
                text:
                    #"{"type":"response.create","response":{"conversation":"none","input":[{"type":"item_reference","id":"\#(item)"}]}}"#
            ))
        #expect(types(asked) == ["response.created"])
        let job = try #require(actions.compactMap { if case .decode(let job, _) = $0 { job } else { nil } }.last)
        let out = helper.events(s.decodeFailed(job: job, reason: "out of memory"))
        let failed = try #require(
            out.first { $0["type"]?.string == "conversation.item.input_audio_transcription.failed" }, "\(types(out))")
        #expect(failed["item_id"]?.string == item)
        #expect(failed["error"]?["code"]?.string == "transcription_failed")
        #expect(!types(out).contains("conversation.item.input_audio_transcription.completed"))
        #expect(out.last?["type"]?.string == "response.done")
    }

    @Test func automaticResponsesQueueInsteadOfColliding() throws {
        let s = RealtimeServerSession(model: "gpt-realtime", frontEnd: EnergyFrontEnd())
        _ = s.receive(
            text:
                #"{"type":"session.update","session":{"type":"realtime","audio":{"input":{"turn_detection":{"type":"server_vad","create_response":true}}}}}"#
        )
        // Two turns end before the first one's decode is back.
        let first = helper.append(s, turn)
        let second = helper.append(s, turn)
        var out = helper.events(first + second)
        for case .decode(let job, _) in first + second where !s.isSpeculative(job: job) {
            out += helper.events(s.decoded(job: job, text: "turn \(job)"))
        }
        #expect(!types(out).contains("error"), "\(out.filter { $0["type"]?.string == "error" })")
        #expect(types(out).filter { $0 == "response.created" }.count == 2)
        #expect(types(out).filter { $0 == "response.done" }.count == 2)
        // One at a time: every response.created comes after the previous response.done.
        var open = 0
        for type in types(out) {
            if type == "response.created" {
                open += 1
                #expect(open == 1)
            }
            if type == "response.done" { open -= 1 }
        }
    }

    @Test func theIdleTimeoutCommitsASilentTurn() throws {
        let s = RealtimeServerSession(model: "gpt-realtime", frontEnd: EnergyFrontEnd())
        let set = helper.events(
            s.receive(
                text:
                    #"{"type":"session.update","session":{"type":"realtime","audio":{"input":{"transcription":{"model":"whisper-1"},"turn_detection":{"type":"server_vad","idle_timeout_ms":2000,"create_response":false}}}}}"#
            ))
        #expect(set.first?["type"]?.string == "session.updated", "\(set)")
        var out: [JSONValue] = []
        for _ in 0..<15 { out += helper.events(helper.append(s, [Float](repeating: 0, count: 2400))) }  // 1.5 s
        #expect(out.isEmpty)
        for _ in 0..<10 { out += helper.events(helper.append(s, [Float](repeating: 0, count: 2400))) }  // 2.5 s
        #expect(types(out).first == "input_audio_buffer.timeout_triggered", "\(types(out))")
        #expect(types(out).contains("input_audio_buffer.committed"))
        #expect(out.last?["transcript"]?.string == "")
        for value in ["0", "-5", "99999999", "\"soon\""] {
            let bad = helper.events(
                s.receive(
                    text:
                        #"{"type":"session.update","session":{"type":"realtime","audio":{"input":{"turn_detection":{"type":"server_vad","idle_timeout_ms":\#(value)}}}}}"#
                ))
            #expect(
                bad.first?["error"]?["param"]?.string == "session.audio.input.turn_detection.idle_timeout_ms",
                "\(value)")
        }
    }
}

extension TranscriptionSessionTests {
    @Test func transcriptsGoOutInCommitOrderWithoutInterleavedDeltas() throws {
        let s = RealtimeServerSession(model: "gpt-4o-mini-transcribe", frontEnd: EnergyFrontEnd(), kind: .transcription)
        let first = helper.append(s, turn)
        let second = helper.append(s, turn)
        let firstJobs = first.compactMap { if case .decode(let job, _) = $0 { job } else { nil } }
        let secondJobs = second.compactMap { if case .decode(let job, _) = $0 { job } else { nil } }
        // The second turn's decode finishes first: nothing about it may go out yet.
        let early = helper.events(secondJobs.flatMap { s.decoded(job: $0, text: "second turn") })
        #expect(early.isEmpty, "\(types(early))")
        let rest = helper.events(firstJobs.flatMap { s.decoded(job: $0, text: "first turn") })
        let items = rest.compactMap { $0["item_id"]?.string }
        #expect(Set(items).count == 2)
        // All of the first item's events, then all of the second's.
        let head = try #require(items.first)
        #expect(try #require(items.lastIndex(of: head)) < (try #require(items.firstIndex { $0 != head })), "\(items)")
        #expect(
            rest.filter { $0["type"]?.string == "conversation.item.input_audio_transcription.completed" }.compactMap {
                $0["transcript"]?.string
            } == ["first turn", "second turn"])
    }
}
