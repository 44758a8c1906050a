import CaptionTapCore
import Foundation
import Testing

/// Errors answering a transcription request: retries, backoff, rate limits, and turns held for a
/// failover.
extension OutOfBandTranscriberTests {
    @Test func errorsAreRetriedWithBackoffThenGivenUp() throws {
        let t = make()
        _ = t.startSession(epoch: 1)
        capture(t, seconds: 1)
        let first = try #require(sent(turn(t, epoch: 1, item: "a", start: 0, end: 800)).first?["event_id"]?.string)
        func fail(_ id: String, now: Double) -> [Action] {
            t.handle(
                event(
                    #"{"type":"error","event_id":"e","error":{"type":"server_error","code":"server_error","message":"boom","event_id":"\#(id)"}}"#
                ), epoch: 1, now: now)
        }
        #expect(fail(first, now: 10).isEmpty)
        #expect(sent(t.tick(now: 10.4)).isEmpty)
        let second = try #require(sent(t.tick(now: 10.6)).first)
        #expect(second["response"]?["metadata"]?["item_id"]?.string == "a")
        let secondID = try #require(second["event_id"]?.string)
        #expect(secondID != first)
        _ = fail(secondID, now: 11)
        #expect(sent(t.tick(now: 11.9)).isEmpty)
        let thirdID = try #require(sent(t.tick(now: 12.1)).first?["event_id"]?.string)
        let giveUp = fail(thirdID, now: 13)
        #expect(giveUp.contains { if case .warning(let m) = $0 { m.contains("after 3 tries") } else { false } })
        // The turn is settled without a caption (an empty one would blank every output); the
        // warning says what was lost.
        #expect(captions(giveUp).isEmpty)
        #expect(t.finalsEmitted == 1)
        finish(t)
        #expect(t.isDrained)
    }

    @Test func withAFailoverBehindItATurnFailedByAnOutageWaitsToBeTakenOver() throws {
        var config = OutOfBandTranscriber.Config(session: SessionConfig())
        config.outageGraceSeconds = 30
        let t = OutOfBandTranscriber(config: config)
        t.holdForFailover = true
        _ = t.startSession(epoch: 1)
        capture(t, seconds: 1)
        var id = try #require(sent(turn(t, epoch: 1, item: "a", start: 0, end: 800)).first?["event_id"]?.string)
        // Quota exhausted: every try fails, well past the usual 3, and is tried again at most 2 s later.
        var now = 10.0
        for attempt in 0..<6 {
            // As an `error`, or as a failed `response.done` saying why (how OpenAI reports quota).
            let failure =
                attempt % 2 == 0
                ? #"{"type":"error","event_id":"e","error":{"type":"insufficient_quota","code":"insufficient_quota","message":"quota","event_id":"\#(id)"}}"#
                : #"{"type":"response.done","event_id":"d","response":{"id":"resp_\#(attempt)","status":"failed","metadata":{"item_id":"a"},"status_details":{"type":"failed","error":{"type":"insufficient_quota","code":"insufficient_quota","message":"quota"}}}}"#
            let failed = t.handle(event(failure), epoch: 1, now: now)
            #expect(failed.isEmpty, "not given up inside the grace: \(failed)")
            now += 2.01
            id = try #require(sent(t.tick(now: now)).first?["event_id"]?.string)
        }
        // The failover takes the session down: the turn is replayed on the fallback and captioned.
        t.sessionLost(epoch: 1)
        _ = t.startSession(epoch: 2)
        _ = turn(t, epoch: 2, item: "b", start: 0, end: 800)
        let finals = captions(respond(t, epoch: 2, item: "b", response: "r", words: ["saved"])).filter(\.isFinal)
        #expect(finals.map(\.text) == ["saved"])
        // Past the grace it is given up like any other error.
        let u = OutOfBandTranscriber(config: config)
        u.holdForFailover = true
        _ = u.startSession(epoch: 1)
        capture(u, seconds: 1)
        id = try #require(sent(turn(u, epoch: 1, item: "a", start: 0, end: 800)).first?["event_id"]?.string)
        let graced = try failUntilGivenUp(u, request: id, from: 0)
        #expect(graced.now > 30 && graced.now < 35, "given up once the grace is over, at \(graced.now)")
        // With no failover on its way (the backend answers other turns), after the usual 3 tries.
        u.holdForFailover = false
        capture(u, seconds: 1)
        id = try #require(sent(turn(u, epoch: 1, item: "b", start: 1000, end: 1800)).first?["event_id"]?.string)
        let tries = try failUntilGivenUp(u, request: id, from: graced.now).tries
        #expect(tries == 3)
    }

    /// Answers every try of a turn's request (first `request`) with a server error, 2 s apart,
    /// until the turn is given up (at most 60 tries); how many tries that took, and when.
    func failUntilGivenUp(_ t: OutOfBandTranscriber, request: String, from start: Double) throws -> (
        tries: Int, now: Double
    ) {
        var id = request
        var now = start
        for tries in 1...60 {
            let failed = t.handle(
                event(
                    #"{"type":"error","event_id":"e","error":{"type":"server_error","code":"server_error","message":"down","event_id":"\#(id)"}}"#
                ), epoch: 1, now: now)
            if failed.contains(where: { if case .warning(let m) = $0 { m.contains("giving up") } else { false } }) {
                return (tries, now)
            }
            now += 2.01
            id = try #require(sent(t.tick(now: now)).first?["event_id"]?.string)
        }
        Issue.record("never given up")
        return (60, now)
    }

    @Test func rateLimitErrorsWaitForTheAdvertisedReset() throws {
        let t = make()
        _ = t.startSession(epoch: 1)
        capture(t, seconds: 1)
        let id = try #require(sent(turn(t, epoch: 1, item: "a", start: 0, end: 800)).first?["event_id"]?.string)
        _ = t.handle(
            event(
                #"{"type":"rate_limits.updated","event_id":"r","rate_limits":[{"name":"requests","limit":100,"remaining":0,"reset_seconds":2.5}]}"#
            ), epoch: 1, now: 0)
        _ = t.handle(
            event(
                #"{"type":"error","event_id":"e","error":{"type":"invalid_request_error","code":"rate_limit_exceeded","message":"slow down","event_id":"\#(id)"}}"#
            ), epoch: 1, now: 0)
        #expect(sent(t.tick(now: 2.4)).isEmpty)
        #expect(sent(t.tick(now: 2.6)).count == 1)
    }
}
