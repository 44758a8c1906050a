import CaptionTapCore
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
}
