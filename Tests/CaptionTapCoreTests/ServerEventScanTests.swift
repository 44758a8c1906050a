import Foundation
import Testing

@testable import CaptionTapCore

/// The scanner that reads acted-on server events must agree with the `JSONDecoder` reading
/// whenever it answers; when it cannot (odd shapes), it must leave the decision to the decoder.
@Suite struct ServerEventScanTests {
    static let answered: [String] = [
        #"{"type":"session.created","event_id":"e","session":{"type":"realtime","tools":[],"x":null}}"#,
        #"{"type":"session.updated","session":{"audio":{"input":{"format":{"type":"audio/pcm","rate":24000}}}}}"#,
        #"{"type":"input_audio_buffer.speech_started","event_id":"e1","audio_start_ms":1200,"item_id":"item_1"}"#,
        #"{"type":"input_audio_buffer.speech_stopped","event_id":"e2","audio_end_ms":2300,"item_id":"item_1"}"#,
        #"{"type":"input_audio_buffer.speech_stopped","item_id":null}"#,
        #"{"event_id":"e","type":"input_audio_buffer.committed","previous_item_id":null,"item_id":"i"}"#,
        #"{ "type" : "input_audio_buffer.committed" , "item_id" : "i" }"#,
        #"{"type":"response.output_text.delta","event_id":"e","response_id":"resp_1","item_id":"it","output_index":0,"content_index":0,"delta":"tone 440"}"#,
        #"{"type":"response.output_text.delta","response_id":"r","delta":"caf\u00e9 \"q\" \\ \/ \n\t \ud83d\ude00 ü"}"#,
        #"{"type":"response.text.delta","response_id":"r","delta":"hi","new_field":[1,2.5e-3,{"a":[true,false,null]}]}"#,
        #"{"type":"response.output_text.done","response_id":"r","text":"tone 440 hertz","logprobs":[]}"#,
        #"{"type":"response.created","event_id":"e","response":{"object":"realtime.response","id":"resp_1","status":"in_progress","metadata":{"purpose":"caption","item_id":"item_9"},"output":[],"usage":null}}"#,
        #"{"type":"response.created","response":{"id":"resp_1","metadata":null}}"#,
        #"{"type":"response.done","response":{"id":"resp_1","status":"completed","metadata":{"item_id":"item_9"},"output":[{"type":"message","content":[{"type":"output_text","text":"tone "},{"type":"audio","transcript":"x"},{"type":"text","text":"440"}]},{"type":"function_call","arguments":"{}"}],"usage":{"total_tokens":12,"input_tokens":10,"output_tokens":2,"input_token_details":{"text_tokens":3,"audio_tokens":7,"cached_tokens":0,"cached_tokens_details":{"text_tokens":0}},"output_token_details":{"text_tokens":2}}}}"#,
        #"{"type":"response.done","response":{"id":"r","status":"completed","output":[{"content":null}],"usage":{"input_tokens":1,"input_token_details":null}}}"#,
        #"{"type":"rate_limits.updated","rate_limits":[{"name":"tokens","limit":100,"remaining":50,"reset_seconds":1.5},{"name":"requests","limit":10,"remaining":9,"reset_seconds":0.25}]}"#,
        #"{"type":"rate_limits.updated","rate_limits":[{"name":"requests","remaining":null,"reset_seconds":2}]}"#,
    ]

    static let leftToTheDecoder: [String] = [
        #"{"type":"error","error":{"type":"invalid_request_error","code":"x","message":"m","event_id":"ev"}}"#,
        #"{"type":"input_audio_buffer.speech_started","audio_start_ms":"12","item_id":"i"}"#,
        #"{"type":"input_audio_buffer.speech_started","audio_start_ms":12.0,"item_id":"i"}"#,
        #"{"type":"response.created","response":{"id":"r","metadata":{"item_id":"i","n":1}}}"#,
        #"{"type":"response.done","response":{"id":"r","output":[{"content":[{"type":"output_text","text":5}]}]}}"#,
        #"{"type":"response.output_text.delta","response_id":"r","delta":"x"} trailing"#,
        #"{"type":"response.output_text.delta","response_id":"r","delta":"\ud800"}"#,
        #"{"type":"response.output_text.delta","response_id":"r","d\u0065lta":"x"}"#,
        #"{"type":"response.output_text.delta","response_id":"r","delta":"x",}"#,
        #"{"type":"response.output_text.delta","response_id":"r","delta":"x","n":01}"#,
        #"{"response_id":"r","delta":"x"}"#,
        // A failed response: why is in status_details, which only the decoder reads.
        #"{"type":"response.done","response":{"id":"resp_2","status":"failed","output":null,"status_details":{"type":"failed","error":{"code":"x"}}}}"#,
    ]

    @Test(arguments: answered)
    func scannerAgreesWithTheDecoder(_ text: String) {
        let scanned = ServerEvent.scan(text)
        #expect(scanned != nil)
        #expect(scanned == ServerEvent.decode(text, leadingType: ServerEvent.leadingType(text)))
        #expect(ServerEvent.parse(text) == scanned)
    }

    @Test(arguments: leftToTheDecoder)
    func scannerDefersOnOddShapes(_ text: String) {
        #expect(ServerEvent.scan(text) == nil)
        #expect(ServerEvent.parse(text) == ServerEvent.decode(text, leadingType: ServerEvent.leadingType(text)))
    }

    @Test func aFailedResponseSaysWhy() {
        let quota = ServerEvent.parse(
            #"{"type":"response.done","response":{"id":"r","status":"failed","status_details":{"type":"failed","error":{"type":"insufficient_quota","code":"insufficient_quota","message":"m"}}}}"#
        )
        guard case .responseDone(let done) = quota else {
            Issue.record("\(String(describing: quota))")
            return
        }
        #expect(done.status == "failed" && done.failure?.code == "insufficient_quota" && done.failure?.isOutage == true)
        let hostile = ServerEvent.parse(
            #"{"type":"response.done","response":{"id":"r","status":"failed","status_details":{"error":{"code":7}}}}"#)
        guard case .responseDone(let odd) = hostile else { return }
        #expect(odd.failure == nil, "a code of the wrong type is no reason")
    }

    @Test func escapedTextIsUnescaped() {
        let event = ServerEvent.scan(
            #"{"type":"response.output_text.delta","response_id":"r","delta":"a\"b\\c\u00e9\ud83d\ude00\n"}"#)
        #expect(event == .textDelta(responseID: "r", delta: "a\"b\\cé😀\n"))
    }
}

extension ServerEventScanTests {
    @Test func actedOnListsAgree() {
        #expect(Set(ServerEvent.actedOnBytes.map { "\($0)" }) == ServerEvent.actedOn)
        #expect(ServerEvent.actedOnBytes.count == ServerEvent.actedOn.count)
    }
}
