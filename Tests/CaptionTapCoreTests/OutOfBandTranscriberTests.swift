import CaptionTapCore
import Foundation
import Testing

/// The out-of-band state machine driven by scripted server events (protocol §3, §5, §8 shapes).
@Suite struct OutOfBandTranscriberTests {
    typealias Action = OutOfBandTranscriber.Action

    func make(_ context: ContextMode = .turn) -> OutOfBandTranscriber {
        var session = SessionConfig()
        session.context = context
        return OutOfBandTranscriber(config: .init(session: session))
    }

    /// Feeds `seconds` of silence in 100 ms chunks; returns the epochs the chunks were sent to.
    @discardableResult
    func capture(_ t: OutOfBandTranscriber, seconds: Double) -> [Int?] {
        let chunk = [UInt8](repeating: 0, count: 4800)
        return (0..<Int(seconds * 10)).map { _ in chunk.withUnsafeBytes { t.audioCaptured($0) } }
    }

    func event(_ json: String) -> ServerEvent { ServerEvent.parse(json)! }

    func sent(_ actions: [Action]) -> [JSONValue] {
        actions.compactMap { if case .send(_, let text) = $0 { JSONValue.parse(text) } else { nil } }
    }

    func captions(_ actions: [Action]) -> [Caption] {
        actions.compactMap { if case .caption(let c) = $0 { c } else { nil } }
    }

    /// speech_started → speech_stopped → committed for one turn; returns the actions of the commit.
    func turn(_ t: OutOfBandTranscriber, epoch: Int, item: String, start: Int, end: Int) -> [Action] {
        _ = t.handle(
            event(
                #"{"type":"input_audio_buffer.speech_started","event_id":"e1","audio_start_ms":\#(start),"item_id":"\#(item)"}"#
            ), epoch: epoch, now: 0)
        _ = t.handle(
            event(
                #"{"type":"input_audio_buffer.speech_stopped","event_id":"e2","audio_end_ms":\#(end),"item_id":"\#(item)"}"#
            ), epoch: epoch, now: 0)
        return t.handle(
            event(
                #"{"type":"input_audio_buffer.committed","event_id":"e3","item_id":"\#(item)","previous_item_id":null}"#
            ), epoch: epoch, now: 0)
    }

    /// Ends the input and answers both `session.update`s (the session's own and the barrier).
    @discardableResult
    func finish(_ t: OutOfBandTranscriber, epoch: Int = 1) -> [Action] {
        var actions = t.finishInput()
        for _ in 0..<2 { actions += t.handle(.sessionUpdated, epoch: epoch, now: 0) }
        return actions
    }

    func respond(
        _ t: OutOfBandTranscriber, epoch: Int, item: String, response: String, words: [String], now: Double = 0
    ) -> [Action] {
        var actions = t.handle(
            event(
                #"{"type":"response.created","event_id":"e4","response":{"id":"\#(response)","object":"realtime.response","status":"in_progress","conversation_id":null,"output":[],"metadata":{"purpose":"caption","item_id":"\#(item)"}}}"#
            ), epoch: epoch, now: now)
        for w in words {
            actions += t.handle(
                event(
                    #"{"type":"response.output_text.delta","event_id":"e5","response_id":"\#(response)","item_id":"x","output_index":0,"content_index":0,"delta":"\#(w)"}"#
                ), epoch: epoch, now: now)
        }
        actions += t.handle(
            event(
                #"{"type":"response.done","event_id":"e6","response":{"id":"\#(response)","status":"completed","conversation_id":null,"metadata":{"purpose":"caption","item_id":"\#(item)"},"output":[],"usage":{"total_tokens":61,"input_tokens":50,"output_tokens":11,"input_token_details":{"text_tokens":20,"audio_tokens":30,"cached_tokens":0},"output_token_details":{"text_tokens":11,"audio_tokens":0}}}}"#
            ), epoch: epoch, now: now)
        return actions
    }

    @Test func aTurnWithoutWordsGetsNoCaptionAndLaterFinalsStillFlow() throws {
        let t = make()
        _ = t.startSession(epoch: 1)
        capture(t, seconds: 1)
        _ = turn(t, epoch: 1, item: "item_001", start: 100, end: 500)
        _ = turn(t, epoch: 1, item: "item_002", start: 600, end: 900)
        // A blank transcript (whitespace deltas included) shows nothing: no partial, no final.
        let blank = respond(t, epoch: 1, item: "item_001", response: "resp_1", words: [" ", "  "])
        #expect(captions(blank).isEmpty, "\(captions(blank))")
        // ...but it is named, so a live partial shown for it can go.
        let gone = blank.compactMap { if case .uncaptioned(let c) = $0 { c } else { nil } }
        #expect(gone.map(\.itemID) == ["item_001"] && gone.allSatisfy { $0.text.isEmpty && !$0.isFinal })
        let words = captions(respond(t, epoch: 1, item: "item_002", response: "resp_2", words: ["Go", " forward"]))
        #expect(words.filter(\.isFinal).map(\.text) == ["Go forward"])
        #expect(words.allSatisfy { !$0.text.trimmingCharacters(in: .whitespaces).isEmpty })
        #expect(t.wordlessTurns == 1)
        #expect(t.finalsEmitted == 2)
        finish(t)
        #expect(t.isDrained)
    }

    @Test func hostileServerTimesAreHeldToTheAudioSentAndSurviveAReconnect() throws {
        let t = make()
        _ = t.startSession(epoch: 1)
        capture(t, seconds: 2)
        _ = t.handle(
            event(
                #"{"type":"input_audio_buffer.speech_started","event_id":"e1","audio_start_ms":-999999999999999,"item_id":"a"}"#
            ), epoch: 1, now: 0)
        _ = t.handle(
            event(
                #"{"type":"input_audio_buffer.speech_stopped","event_id":"e2","audio_end_ms":999999999999999,"item_id":"a"}"#
            ), epoch: 1, now: 0)
        _ = t.handle(
            event(#"{"type":"input_audio_buffer.committed","event_id":"e3","item_id":"a","previous_item_id":null}"#),
            epoch: 1, now: 0)
        // The connection drops before the answer: the turn is replayed from its (clamped) start.
        t.sessionLost(epoch: 1)
        let replay = t.startSession(epoch: 2)
        #expect(!sent(replay).isEmpty)
        _ = turn(t, epoch: 2, item: "b", start: 0, end: 1900)
        let final = try #require(captions(respond(t, epoch: 2, item: "b", response: "r", words: ["Hello"])).last)
        #expect(final.isFinal && final.text == "Hello")
        #expect(final.startMs >= 0 && final.endMs <= 2000, "\(final.startMs)–\(final.endMs)")
    }

    @Test func oneTurnBecomesPartialsThenOneFinal() throws {
        let t = make()
        let start = sent(t.startSession(epoch: 1))
        #expect(start.count == 1)
        let update = try #require(start.first)
        #expect(update["type"]?.string == "session.update")
        let vad = update["session"]?["audio"]?["input"]?["turn_detection"]
        #expect(vad?["type"]?.string == "server_vad")
        #expect(vad?["create_response"] == .bool(false))
        #expect(vad?["interrupt_response"] == .bool(false))
        #expect(vad?["threshold"]?.double == 0.6)
        #expect(vad?["silence_duration_ms"]?.int == 800)
        #expect(update["session"]?["audio"]?["input"]?["format"]?["rate"]?.int == 24000)
        #expect(update["session"]?["output_modalities"] == ["text"])

        #expect(capture(t, seconds: 1).allSatisfy { $0 == 1 })
        let requests = sent(turn(t, epoch: 1, item: "item_001", start: 100, end: 900))
        let request = try #require(requests.first)
        #expect(request["type"]?.string == "response.create")
        #expect(request["response"]?["conversation"]?.string == "none")
        #expect(request["response"]?["output_modalities"] == ["text"])
        #expect(request["response"]?["metadata"]?["item_id"]?.string == "item_001")
        #expect(request["response"]?["input"] == [["type": "item_reference", "id": "item_001"]])
        #expect(request["response"]?["instructions"]?.string?.contains("verbatim") == true)

        let out = captions(respond(t, epoch: 1, item: "item_001", response: "resp_1", words: ["Hello", " world"]))
        #expect(out.map(\.text) == ["Hello", "Hello world", "Hello world"])
        #expect(out.map(\.isFinal) == [false, false, true])
        let final = try #require(out.last)
        #expect(final.itemID == "item_001")
        #expect(final.responseID == "resp_1")
        #expect(final.startMs == 100 && final.endMs == 900)
        #expect(final.usage?.inputAudioTokens == 30)
        #expect(t.totalUsage.outputTokens == 11)
        #expect(!t.isDrained, "input not finished yet")
        #expect(sent(finish(t)).map { $0["type"]?.string } == ["session.update"], "only the barrier: no turn is open")
        #expect(t.isDrained)
    }

    @Test func finalsLeaveInCommitOrder() {
        let t = make()
        _ = t.startSession(epoch: 1)
        capture(t, seconds: 3)
        _ = turn(t, epoch: 1, item: "a", start: 0, end: 800)
        _ = turn(t, epoch: 1, item: "b", start: 1500, end: 2500)
        let early = captions(respond(t, epoch: 1, item: "b", response: "rb", words: ["second"]))
        #expect(early.allSatisfy { !$0.isFinal }, "b is done first but must wait for a")
        let rest = captions(respond(t, epoch: 1, item: "a", response: "ra", words: ["first"]))
        #expect(rest.filter(\.isFinal).map(\.text) == ["first", "second"])
        #expect(t.finalsEmitted == 2)
    }

    @Test func aLostSessionReplaysUntranscribedAudioAndKeepsItsPlace() throws {
        let t = make()
        _ = t.startSession(epoch: 1)
        capture(t, seconds: 2)
        _ = turn(t, epoch: 1, item: "old", start: 300, end: 1200)
        t.sessionLost(epoch: 1)
        #expect(t.needsReplay)
        #expect(capture(t, seconds: 0.5).allSatisfy { $0 == nil }, "audio is held while disconnected")

        let actions = t.startSession(epoch: 2)
        let events = sent(actions)
        #expect(events.first?["type"]?.string == "session.update")
        let appends = events.dropFirst()
        #expect(appends.allSatisfy { $0["type"]?.string == "input_audio_buffer.append" })
        // From the lost turn's start (0.3 s) to the end of what was captured (2.5 s).
        let bytes = appends.reduce(0) { $0 + (Data(base64Encoded: $1["audio"]!.string!)?.count ?? 0) }
        #expect(bytes == (60_000 - 7_200) * 2)

        // The new session sees the same speech at its own offsets (it starts at 0.3 s).
        let request = sent(turn(t, epoch: 2, item: "new", start: 0, end: 900))
        #expect(request.first?["response"]?["input"] == [["type": "item_reference", "id": "new"]])
        let finals = captions(respond(t, epoch: 2, item: "new", response: "r", words: ["again"])).filter(\.isFinal)
        #expect(finals.count == 1)
        #expect(finals.first?.startMs == 300)
        #expect(finals.first?.endMs == 1200)
        #expect(t.turnCount == 1)
        finish(t, epoch: 2)
        #expect(t.isDrained)
    }

    @Test func replayedSpeechAlreadyCaptionedIsNotCaptionedTwice() {
        let t = make()
        _ = t.startSession(epoch: 1)
        capture(t, seconds: 4)
        _ = turn(t, epoch: 1, item: "a", start: 0, end: 1000)
        _ = turn(t, epoch: 1, item: "b", start: 2000, end: 3000)
        var finals = captions(respond(t, epoch: 1, item: "b", response: "rb", words: ["bee"])).filter(\.isFinal)
        #expect(finals.isEmpty)
        t.sessionLost(epoch: 1)
        _ = t.startSession(epoch: 2)
        _ = turn(t, epoch: 2, item: "a2", start: 0, end: 1000)
        #expect(
            sent(turn(t, epoch: 2, item: "b2", start: 2000, end: 3000)).isEmpty, "b is final already: no second request"
        )
        finals = captions(respond(t, epoch: 2, item: "a2", response: "ra", words: ["ay"])).filter(\.isFinal)
        #expect(finals.map(\.text) == ["ay", "bee"])
        #expect(t.turnCount == 2)
    }

    @Test func rotationDrainsTheOldSessionWithoutReplayingFinishedTurns() {
        let t = make()
        _ = t.startSession(epoch: 1)
        capture(t, seconds: 2)
        _ = turn(t, epoch: 1, item: "a", start: 0, end: 1000)
        #expect(t.isBetweenTurns)
        let actions = t.startSession(epoch: 2, rotation: true)
        let toOld = actions.compactMap {
            if case .send(1, let text) = $0 { JSONValue.parse(text)?["type"]?.string } else { nil }
        }
        let toNew = actions.compactMap {
            if case .send(2, let text) = $0 { JSONValue.parse(text)?["type"]?.string } else { nil }
        }
        #expect(toOld == ["input_audio_buffer.clear"])
        // The old session finishes its own turn; the new one gets only the uncommitted second
        // after it (1000–2000 ms), where speech may have begun that the old VAD had not reported.
        #expect(toNew.first == "session.update")
        #expect(
            toNew.dropFirst().count == 10 && toNew.dropFirst().allSatisfy { $0 == "input_audio_buffer.append" },
            "\(toNew)")
        #expect(capture(t, seconds: 0.2).allSatisfy { $0 == 2 })
        #expect(!t.canClose(epoch: 1))
        let finals = captions(respond(t, epoch: 1, item: "a", response: "ra", words: ["done"])).filter(\.isFinal)
        #expect(finals.map(\.text) == ["done"])
        #expect(t.canClose(epoch: 1))
    }

    @Test func endOfInputCommitsTheOpenTurnAfterABarrier() throws {
        let t = make()
        _ = t.startSession(epoch: 1)
        capture(t, seconds: 1)
        _ = t.handle(
            event(#"{"type":"input_audio_buffer.speech_started","event_id":"e","audio_start_ms":200,"item_id":"x"}"#),
            epoch: 1, now: 0)
        let barrier = sent(t.finishInput())
        #expect(barrier.map { $0["type"]?.string } == ["session.update"])
        #expect(sent(t.handle(.sessionUpdated, epoch: 1, now: 0)).isEmpty, "the session's own update, not the barrier")
        #expect(!t.isDrained)
        let commit = try #require(sent(t.handle(.sessionUpdated, epoch: 1, now: 0)).first)
        #expect(commit["type"]?.string == "input_audio_buffer.commit")
        #expect(!t.isDrained)
        let request = sent(
            t.handle(
                event(#"{"type":"input_audio_buffer.committed","event_id":"e","item_id":"x","previous_item_id":null}"#),
                epoch: 1, now: 0))
        #expect(request.count == 1)
        _ = respond(t, epoch: 1, item: "x", response: "r", words: ["tail"])
        #expect(t.isDrained)
    }

    @Test func aBarrierLostWithItsSessionIsSentAgain() {
        let t = make()
        _ = t.startSession(epoch: 1)
        capture(t, seconds: 1)
        _ = t.finishInput()
        t.sessionLost(epoch: 1)
        let types = sent(t.startSession(epoch: 2)).compactMap { $0["type"]?.string }
        #expect(types.first == "session.update")
        #expect(types.last == "session.update", "the barrier follows the replayed audio")
        #expect(types.filter { $0 == "input_audio_buffer.append" }.count == 10)
        _ = t.handle(.sessionUpdated, epoch: 2, now: 0)
        #expect(!t.isDrained)
        _ = t.handle(.sessionUpdated, epoch: 2, now: 0)
        #expect(t.isDrained)
    }

    @Test func recentContextSendsEarlierTranscriptsFirst() throws {
        let t = make(.recent(2))
        _ = t.startSession(epoch: 1)
        capture(t, seconds: 8)
        for (i, word) in ["one", "two", "three"].enumerated() {
            _ = turn(t, epoch: 1, item: "i\(i)", start: i * 2000, end: i * 2000 + 1000)
            _ = respond(t, epoch: 1, item: "i\(i)", response: "r\(i)", words: [word])
        }
        let request = try #require(sent(turn(t, epoch: 1, item: "i3", start: 6000, end: 7000)).first)
        let input = try #require(request["response"]?["input"]?.array)
        #expect(input.count == 3)
        #expect(input[0]["content"]?.array?.first?["text"]?.string?.hasSuffix("two") == true)
        #expect(input[1]["content"]?.array?.first?["text"]?.string?.hasSuffix("three") == true)
        #expect(input[2] == ["type": "item_reference", "id": "i3"])

        let whole = make(.session)
        _ = whole.startSession(epoch: 1)
        capture(whole, seconds: 2)
        let req = try #require(sent(turn(whole, epoch: 1, item: "z", start: 0, end: 1000)).first)
        #expect(req["response"]?["input"] == nil, "session context: no input, the whole conversation")
    }

    @Test func unknownAndMalformedEventsAreIgnored() {
        #expect(ServerEvent.parse("not json") == nil)
        #expect(ServerEvent.parse(#"{"no":"type"}"#) == nil)
        #expect(ServerEvent.parse(#"{"type":"x.future","event_id":"e","extra":1}"#) == .ignored(type: "x.future"))
        #expect(
            ServerEvent.parse(#"{"type":"response.text.delta","response_id":"r","delta":"hi","new_field":[1]}"#)
                == .textDelta(responseID: "r", delta: "hi"))
        // The fast path (type first, any spacing) and the decoder agree.
        #expect(
            ServerEvent.parse(#"{ "type" : "conversation.item.added", "item": {"type": "message"}}"#)
                == .ignored(type: "conversation.item.added"))
        #expect(
            ServerEvent.parse(#"{"event_id":"e","type":"input_audio_buffer.committed","item_id":"i"}"#)
                == .committed(itemID: "i"))
        #expect(
            ServerEvent.parse(#"{"type": "input_audio_buffer.committed", "item_id": "i"}"#) == .committed(itemID: "i"))
        let t = make()
        _ = t.startSession(epoch: 1)
        #expect(t.handle(.ignored(type: "x.future"), epoch: 1, now: 0).isEmpty)
    }
}
