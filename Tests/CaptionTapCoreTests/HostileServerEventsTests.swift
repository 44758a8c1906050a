import CaptionTapCore
import Foundation
import Testing

/// Numbers and texts no real server sends, fed to the out-of-band state machine: nothing traps,
/// nothing stalls the captions for good, nothing grows without bound (docs/HARDENING.md).
@Suite struct HostileServerEventsTests {
    let helper = OutOfBandTranscriberTests()

    func done(_ response: String, item: String, usage: String) -> ServerEvent {
        helper.event(
            #"{"type":"response.done","event_id":"d","response":{"id":"\#(response)","status":"completed","conversation_id":null,"metadata":{"purpose":"caption","item_id":"\#(item)"},"output":[],"usage":\#(usage)}}"#
        )
    }

    func created(_ response: String, item: String) -> ServerEvent {
        helper.event(
            #"{"type":"response.created","event_id":"c","response":{"id":"\#(response)","object":"realtime.response","status":"in_progress","conversation_id":null,"output":[],"metadata":{"purpose":"caption","item_id":"\#(item)"}}}"#
        )
    }

    @Test func hugeTokenCountsAddUpWithoutOverflow() {
        let t = helper.make()
        _ = t.startSession(epoch: 1)
        helper.capture(t, seconds: 2)
        let huge = #"{"input_tokens":9223372036854775807,"output_tokens":-9223372036854775808}"#
        for (n, item) in ["a", "b", "c"].enumerated() {
            _ = helper.turn(t, epoch: 1, item: item, start: n * 500, end: n * 500 + 400)
            _ = t.handle(created("r\(n)", item: item), epoch: 1, now: 0)
            _ = t.handle(done("r\(n)", item: item, usage: huge), epoch: 1, now: 0)
        }
        #expect(t.totalUsage.inputTokens == Usage.maxTokens && t.totalUsage.outputTokens == 0, "held at the bound")
    }

    @Test func anAbsurdRateLimitResetDelaysARetryAMinuteAtMost() throws {
        for reset in ["1e9", "1e400", "-5"] {
            let t = helper.make()
            _ = t.startSession(epoch: 1)
            helper.capture(t, seconds: 1)
            let id = try #require(
                helper.sent(helper.turn(t, epoch: 1, item: "a", start: 0, end: 800)).first?["event_id"]?.string)
            _ = t.handle(
                helper.event(
                    #"{"type":"rate_limits.updated","event_id":"r","rate_limits":[{"name":"requests","remaining":0,"reset_seconds":\#(reset)}]}"#
                ), epoch: 1, now: 0)
            _ = t.handle(
                helper.event(
                    #"{"type":"error","event_id":"e","error":{"type":"invalid_request_error","code":"rate_limit_exceeded","message":"slow down","event_id":"\#(id)"}}"#
                ), epoch: 1, now: 0)
            #expect(helper.sent(t.tick(now: 61)).count == 1, "reset_seconds \(reset): the retry goes out")
        }
    }

    @Test func aGiantTranscriptIsHeldToABound() {
        let t = helper.make()
        _ = t.startSession(epoch: 1)
        helper.capture(t, seconds: 1)
        _ = helper.turn(t, epoch: 1, item: "a", start: 0, end: 800)
        _ = t.handle(created("r", item: "a"), epoch: 1, now: 0)
        let chunk = String(repeating: "é", count: 20_000)  // 40 000 bytes a delta
        var longest = 0
        for _ in 0..<10 {
            let delta = ServerEvent.textDelta(responseID: "r", delta: chunk)
            for case .caption(let c) in t.handle(delta, epoch: 1, now: 0) { longest = max(longest, c.text.utf8.count) }
        }
        #expect(longest <= 65_536, "\(longest) bytes")
        let whole = ServerEvent.textDone(responseID: "r", text: String(repeating: "é", count: 100_000))
        _ = t.handle(whole, epoch: 1, now: 0)
        let finals = helper.captions(
            t.handle(done("r", item: "a", usage: #"{"input_tokens":1,"output_tokens":1}"#), epoch: 1, now: 0))
        #expect(finals.count == 1 && finals[0].text.utf8.count <= 65_536 && finals[0].text.hasPrefix("éé"))
    }
}
