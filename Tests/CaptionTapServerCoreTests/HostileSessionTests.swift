import CaptionTapCore
import Foundation
import Testing

@testable import CaptionTapServerCore

/// Client events that once crashed `serve` or grew its memory without bound (found by review,
/// each reproduced against the release binary first).
@Suite struct HostileSessionTests {
    let helper = RealtimeServerSessionTests()

    func session() -> RealtimeServerSession {
        let session = RealtimeServerSession(model: "gpt-realtime", frontEnd: EnergyFrontEnd())
        _ = session.start()
        return session
    }

    func update(_ s: RealtimeServerSession, turnDetection: String) -> [JSONValue] {
        helper.events(
            s.receive(
                text:
                    #"{"type":"session.update","session":{"type":"realtime","audio":{"input":{"turn_detection":\#(turnDetection)}}}}"#
            ))
    }

    @Test func turnDetectionTakesOnlyItsOwnKeysOfTheRightTypes() {
        let s = session()
        // semantic_vad has no prefix padding: 2^53 of it trapped the process at the next append.
        let huge = update(s, turnDetection: #"{"type":"semantic_vad","prefix_padding_ms":9007199254740992}"#)
        #expect(huge.first?["error"]?["code"]?.string == "unknown_parameter", "\(huge)")
        _ = helper.append(s, helper.tone(0.5))
        #expect(s.session.prefixPaddingMs == 300, "the refused update changed nothing")
        for (td, code) in [
            (#"{"type":"server_vad","color":"blue"}"#, "unknown_parameter"),
            (#"{"type":"server_vad","create_response":"no"}"#, "invalid_type"),
            (#"{"type":"semantic_vad","interrupt_response":7}"#, "invalid_type"),
            (#"{"type":"server_vad","threshold":"high"}"#, "invalid_type"),
            (#"{"type":"server_vad","prefix_padding_ms":1e300}"#, "invalid_value"),
        ] {
            let refused = update(s, turnDetection: td)
            #expect(refused.first?["error"]?["code"]?.string == code, "\(td): \(refused)")
        }
        let fine = update(s, turnDetection: #"{"type":"semantic_vad","eagerness":"high","create_response":false}"#)
        #expect(fine.first?["type"]?.string == "session.updated", "\(fine)")
        _ = helper.append(s, helper.tone(0.5))
    }

    func audioItem(_ id: String, seconds: Int) -> String {
        let b64 = Data(count: seconds * 48_000).base64EncodedString()
        return
            #"{"type":"conversation.item.create","item":{"type":"message","role":"user","id":"\#(id)","content":[{"type":"input_audio","audio":"\#(b64)"}]}}"#
    }

    func ask(_ s: RealtimeServerSession, about id: String, metadata: String = "{}") -> [JSONValue] {
        helper.events(
            s.receive(
                text:
                    #"{"type":"response.create","response":{"conversation":"none","output_modalities":["text"],"metadata":\#(metadata),"input":[{"type":"item_reference","id":"\#(id)"}]}}"#
            ))
    }

    @Test func deletingTheItemAResponseWaitsForAnswersTheResponse() {
        let s = session()
        _ = s.receive(text: audioItem("a", seconds: 2))  // its decode is never answered here
        #expect(ask(s, about: "a").first?["type"]?.string == "response.created")
        let deleted = helper.events(s.receive(text: #"{"type":"conversation.item.delete","item_id":"a"}"#))
        #expect(deleted.contains { $0["type"]?.string == "response.done" }, "\(deleted.map { $0["type"] })")
        // And the next response is not refused as if one were still running.
        _ = s.receive(text: audioItem("b", seconds: 1))
        #expect(ask(s, about: "b").first?["type"]?.string == "response.created")
    }

    @Test func itemsResponsesAndDecodesAreBounded() {
        let s = session()
        // Text: at most 256 KiB an item; old items are pruned as new ones come.
        let big = String(repeating: "x", count: RealtimeServerSession.maxItemTextBytes + 1)
        let refused = helper.events(
            s.receive(
                text:
                    #"{"type":"conversation.item.create","item":{"type":"message","role":"user","content":[{"type":"input_text","text":"\#(big)"}]}}"#
            ))
        #expect(refused.first?["error"]?["param"]?.string == "item.content", "\(refused.first ?? .null)")
        for i in 0..<400 {
            _ = s.receive(
                text:
                    #"{"type":"conversation.item.create","item":{"type":"message","role":"user","id":"t\#(i)","content":[{"type":"input_text","text":"hello"}]}}"#
            )
        }
        #expect(s.itemCount <= RealtimeServerSession.keptItems, "\(s.itemCount) items held")
        // Audio waiting to be transcribed: refused past 40 decodes (20 s pieces), not queued on.
        var accepted = 0
        for i in 0..<30 {
            let answer = helper.events(s.receive(text: audioItem("u\(i)", seconds: 60)))
            if answer.first?["type"]?.string == "conversation.item.added" { accepted += 1 }
        }
        #expect(accepted >= 5 && accepted < 30, "\(accepted) minutes of audio queued")
        // The same bound for a manual commit and for audio inline in a response.
        _ = update(s, turnDetection: "null")
        _ = helper.append(s, helper.tone(1.0))
        let commit = helper.events(s.receive(text: #"{"type":"input_audio_buffer.commit"}"#))
        #expect(commit.first?["error"]?["code"]?.string == "input_audio_buffer_full", "\(commit.first ?? .null)")
        let b64 = Data(count: 48_000).base64EncodedString()
        let inline = helper.events(
            s.receive(
                text:
                    #"{"type":"response.create","response":{"conversation":"none","input":[{"type":"message","role":"user","content":[{"type":"input_audio","audio":"\#(b64)"}]}]}}"#
            ))
        #expect(inline.first?["error"]?["code"]?.string == "input_audio_buffer_full", "\(inline.first ?? .null)")
        // Responses: metadata within the cloud's limits, and at most 64 waiting.
        let longValue = String(repeating: "v", count: 513)
        let metadata = ask(s, about: "u0", metadata: #"{"k":"\#(longValue)"}"#)
        #expect(metadata.first?["error"]?["param"]?.string == "response.metadata", "\(metadata.first ?? .null)")
        var created = 0
        for _ in 0..<80 where ask(s, about: "u0").first?["type"]?.string == "response.created" { created += 1 }
        #expect(created == RealtimeServerSession.maxWaitingResponses)
    }
}
