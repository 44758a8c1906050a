import Foundation
import Testing

@testable import CaptionTapCore
@testable import CaptionTapServerCore

/// What a session holds over a long life and across changes of mind: audio and items stay
/// bounded whatever the client does, a turn is never lost to a settings change, and the decode a
/// final waits for is queued as one.
@Suite struct SessionLifecycleTests {
    let helper = RealtimeServerSessionTests()
    var manual: String { helper.manual }

    func session(_ update: String? = nil) -> RealtimeServerSession {
        let session = RealtimeServerSession(model: "gpt-realtime", frontEnd: EnergyFrontEnd())
        _ = session.start()
        if let update { _ = session.receive(text: update) }
        return session
    }

    func types(_ actions: [RealtimeServerSession.Action]) -> [String] {
        helper.events(actions).compactMap { $0["type"]?.string }
    }

    func decodes(_ actions: [RealtimeServerSession.Action]) -> [(job: Int, seconds: Double)] {
        actions.compactMap { if case .decode(let job, let s) = $0 { (job, Double(s.count) / 8000) } else { nil } }
    }

    @Test func aClientThatCommitsItselfDoesNotMakeTheSessionHoldAllItsAudio() {
        let s = session(manual)
        for _ in 0..<100 {
            _ = helper.append(s, helper.tone(2))
            for d in decodes(s.receive(text: #"{"type":"input_audio_buffer.commit"}"#)) {
                _ = s.decoded(job: d.job, text: "words")
            }
        }
        // 200 s went through; what is held is the uncommitted buffer (none) plus a trim's slack.
        #expect(s.audio.count <= 3 * 8000, "\(Double(s.audio.count) / 8000) s held")
        _ = helper.append(s, helper.tone(1.5))
        let next = decodes(s.receive(text: #"{"type":"input_audio_buffer.commit"}"#))
        #expect(next.count == 1 && abs(next[0].seconds - 1.5) < 0.1, "the next commit still has its audio: \(next)")
    }

    @Test func aSpeculativeDecodeThatBecomesTheFinalOneIsPromoted() throws {
        let s = session(helper.vadOff)
        _ = helper.append(s, helper.tone(1))
        // 300 ms of pause: the open segment is decoded speculatively...
        let pause = decodes(helper.append(s, [Float](repeating: 0, count: 7200)))
        let job = try #require(pause.first?.job)
        #expect(s.isSpeculative(job: job))
        // ...and when the silence ends the turn, that decode is its final one.
        let end = helper.append(s, [Float](repeating: 0, count: 12000))
        #expect(types(end).contains("input_audio_buffer.committed"))
        #expect(end.contains(.promote(job: job)) && !s.isSpeculative(job: job))
    }

    @Test func turningTheVoiceDetectorOffMidTurnEndsTheTurnThere() {
        let s = session(helper.vadOff)
        _ = helper.append(s, helper.tone(1))
        let off = s.receive(text: manual)
        let sent = types(off)
        #expect(sent.first == "input_audio_buffer.speech_stopped" && sent.last == "session.updated", "\(sent)")
        #expect(sent.contains("input_audio_buffer.committed"), "\(sent)")
        #expect(decodes(off).reduce(0) { $0 + $1.seconds } >= 0.9, "the turn's speech is decoded: \(decodes(off))")
        // What follows is the client's to commit, decoded in pieces however long.
        for _ in 0..<3 { _ = helper.append(s, helper.tone(10)) }
        let commit = decodes(s.receive(text: #"{"type":"input_audio_buffer.commit"}"#))
        #expect(commit.count == 2 && commit.allSatisfy { $0.seconds <= Double(DecodePieces.maxSeconds) }, "\(commit)")
        #expect(abs(commit.reduce(0) { $0 + $1.seconds } - 30) < 0.5)
    }

    @Test func aSilenceOfZeroEndsTheTurnAtItsFirstPauseNotAtEveryWindow() {
        let s = session(
            #"{"type":"session.update","session":{"type":"realtime","output_modalities":["text"],"audio":{"input":{"turn_detection":{"type":"server_vad","silence_duration_ms":0,"create_response":false}}}}}"#
        )
        let speech = types(helper.append(s, helper.tone(2)))
        #expect(speech.filter { $0 == "input_audio_buffer.committed" }.isEmpty, "\(speech)")
        let pause = types(helper.append(s, [Float](repeating: 0, count: 2400)))
        #expect(pause.filter { $0 == "input_audio_buffer.committed" }.count == 1, "\(pause)")
    }

    @Test func theTurnBeingSpokenCannotBeDeletedAndHistoryStaysBounded() {
        let s = session(helper.vadOff)
        let open = helper.events(helper.append(s, helper.tone(0.5))).first {
            $0["type"]?.string == "input_audio_buffer.speech_started"
        }?["item_id"]?.string
        let delete = #"{"type":"conversation.item.delete","item_id":"\#(open ?? "")"}"#
        #expect(helper.events(s.receive(text: delete)).first?["error"]?["code"]?.string == "item_not_found")
        for _ in 0..<(RealtimeServerSession.keptItems + 40) {
            let actions = helper.append(s, helper.tone(0.3) + [Float](repeating: 0, count: 19200))
            for d in decodes(actions) { _ = s.decoded(job: d.job, text: "turn") }
        }
        #expect(s.itemCount <= RealtimeServerSession.keptItems, "\(s.itemCount) items")
    }

    @Test func appendsAreOneByteStreamThatMayBeCutMidSample() throws {
        var bytes = [UInt8](repeating: 0, count: 24000 * 2)
        helper.tone(1).withUnsafeBufferPointer { PCM16.encode($0.baseAddress!, count: 24000, into: &bytes) }
        func committed(_ chunk: Int) throws -> [Float] {
            let s = session(manual)
            for start in stride(from: 0, to: bytes.count, by: chunk) {
                let piece = Data(bytes[start..<min(start + chunk, bytes.count)]).base64EncodedString()
                let refused = helper.events(
                    s.receive(text: #"{"type":"input_audio_buffer.append","audio":"\#(piece)"}"#))
                #expect(refused.isEmpty, "\(refused)")
            }
            let actions = s.receive(text: #"{"type":"input_audio_buffer.commit"}"#)
            return try #require(
                actions.compactMap { if case .decode(_, let samples) = $0 { samples } else { nil } }.first)
        }
        // Cut into 4801-byte pieces (every other one ends halfway into a sample): the same audio.
        #expect(try committed(4801) == committed(bytes.count))
    }

    @Test func inlineAudioInResponsesLeavesNothingBehind() throws {
        let s = session(manual)
        var bytes = [UInt8](repeating: 0, count: 4800 * 2)
        helper.tone(0.2).withUnsafeBufferPointer { PCM16.encode($0.baseAddress!, count: 4800, into: &bytes) }
        let audio = Data(bytes).base64EncodedString()
        let request =
            #"{"type":"response.create","response":{"conversation":"none","output_modalities":["text"],"input":[{"type":"message","role":"user","content":[{"type":"input_audio","audio":"\#(audio)"}]}]}}"#
        for n in 0..<300 {
            let actions = s.receive(text: request)
            let job = try #require(decodes(actions).first?.job)
            let done = types(s.decoded(job: job, text: "turn \(n)"))
            #expect(done.contains("response.done"))
        }
        #expect(s.itemCount == 0 && s.transcribed.isEmpty, "\(s.itemCount) items held")
    }
}
