import CaptionTapCore
import Foundation
import Testing

/// Finals always flow: no turn that cannot be replayed or answered holds later finals back
/// (issue: captions stopped for good after some reconnects).
@Suite struct NeverStallTests {
    typealias Action = OutOfBandTranscriber.Action
    let helper = OutOfBandTranscriberTests()

    func make(replaySeconds: Int = 120) -> OutOfBandTranscriber {
        var config = OutOfBandTranscriber.Config(session: SessionConfig())
        config.replayLimitSeconds = replaySeconds
        return OutOfBandTranscriber(config: config)
    }

    /// Turn `a` (200–900 ms) committed in session 1, which is then lost before answering.
    func oneTurnLostWithItsSession() -> OutOfBandTranscriber {
        let t = make()
        _ = t.startSession(epoch: 1)
        helper.capture(t, seconds: 2)
        _ = helper.turn(t, epoch: 1, item: "a", start: 200, end: 900)
        t.sessionLost(epoch: 1)
        return t
    }

    func finals(_ actions: [Action]) -> [String] {
        helper.captions(actions).filter(\.isFinal).map(\.text)
    }

    func lost(_ actions: [Action]) -> [LostTurn] {
        actions.compactMap { if case .lost(let l) = $0 { l } else { nil } }
    }

    @Test func replayedTurnsHeardAsOneGiveOneCaptionAndLaterTurnsFlow() throws {
        let t = make()
        _ = t.startSession(epoch: 1)
        helper.capture(t, seconds: 4)
        _ = helper.turn(t, epoch: 1, item: "a", start: 200, end: 900)
        _ = helper.turn(t, epoch: 1, item: "b", start: 1200, end: 1900)
        t.sessionLost(epoch: 1)
        _ = t.startSession(epoch: 2)
        // The new session's VAD hears both as one turn, then four more turns follow.
        _ = helper.turn(t, epoch: 2, item: "ab", start: 200, end: 1900)
        var shown = finals(helper.respond(t, epoch: 2, item: "ab", response: "r0", words: ["one", " two"]))
        helper.capture(t, seconds: 4)
        for n in 3...6 {
            _ = helper.turn(t, epoch: 2, item: "t\(n)", start: 4000 + n * 500, end: 4000 + n * 500 + 300)
            shown += finals(helper.respond(t, epoch: 2, item: "t\(n)", response: "r\(n)", words: ["w\(n)"]))
        }
        #expect(shown == ["one two", "w3", "w4", "w5", "w6"])
        helper.finish(t, epoch: 2)
        #expect(t.isDrained)
    }

    @Test func anOutageLongerThanTheReplayBufferLosesTheOldTurnOnlyAndSaysSo() throws {
        let t = make(replaySeconds: 2)
        _ = t.startSession(epoch: 1)
        helper.capture(t, seconds: 1.5)
        _ = helper.turn(t, epoch: 1, item: "a", start: 200, end: 900)
        t.sessionLost(epoch: 1)
        helper.capture(t, seconds: 5)  // held while disconnected: more than the buffer
        let restart = t.startSession(epoch: 2)
        let gone = lost(restart)
        #expect(gone.map(\.itemID) == ["a"])
        #expect(gone.first?.reason.contains("replay buffer") == true)
        #expect(restart.contains { if case .warning(let m) = $0 { m.contains("is lost") } else { false } })
        _ = helper.turn(t, epoch: 2, item: "b", start: 5000, end: 6000)
        #expect(finals(helper.respond(t, epoch: 2, item: "b", response: "r1", words: ["later"])) == ["later"])
        #expect(t.lostTurns == 1)
    }

    @Test func aLateResponseFromALostSessionDoesNotStrandTheTurn() throws {
        let t = oneTurnLostWithItsSession()
        // The dead session's response.created arrives after the loss was noticed.
        _ = t.handle(
            helper.event(
                #"{"type":"response.created","event_id":"x","response":{"id":"late","object":"realtime.response","status":"in_progress","output":[],"metadata":{"purpose":"caption","item_id":"a"}}}"#
            ), epoch: 1, now: 1)
        #expect(t.needsReplay)
        _ = t.startSession(epoch: 2)
        _ = helper.turn(t, epoch: 2, item: "a2", start: 200, end: 900)
        #expect(finals(helper.respond(t, epoch: 2, item: "a2", response: "r", words: ["replayed"])) == ["replayed"])
    }

    @Test func replayedAudioNotHeardAgainIsLostOnceLaterSpeechIsCommitted() throws {
        let t = oneTurnLostWithItsSession()
        _ = t.startSession(epoch: 2)
        helper.capture(t, seconds: 2)
        // The new session's VAD did not hear turn a again; its next turn starts after it.
        let next = helper.turn(t, epoch: 2, item: "b", start: 2500, end: 3200)
        #expect(lost(next).map(\.itemID) == ["a"])
        #expect(finals(helper.respond(t, epoch: 2, item: "b", response: "r", words: ["next"])) == ["next"])
    }

    @Test func replayedAudioNotHeardAgainAtTheEndIsLostAtTheBarrier() throws {
        let t = oneTurnLostWithItsSession()
        _ = t.startSession(epoch: 2)
        let end = helper.finish(t, epoch: 2)
        #expect(lost(end).map(\.itemID) == ["a"])
        #expect(t.isDrained)
    }

    @Test func aRunOfThousandsOfTurnsHoldsOnlyTheRecentOnes() throws {
        let t = make(replaySeconds: 10)
        _ = t.startSession(epoch: 1)
        var shown = 0
        for n in 0..<3000 {
            helper.capture(t, seconds: 1)
            _ = helper.turn(t, epoch: 1, item: "t\(n)", start: n * 1000 + 100, end: n * 1000 + 800)
            shown += finals(helper.respond(t, epoch: 1, item: "t\(n)", response: "r\(n)", words: ["w"])).count
        }
        #expect(shown == 3000)
        #expect(t.turnCount == 3000 && t.finalsEmitted == 3000)
        #expect(t.heldTurns < 1200, "turns held: \(t.heldTurns)")
        helper.finish(t)
        #expect(t.isDrained)
    }

    @Test func aRequestNeverAnsweredIsRetriedThenGivenUpAndLaterFinalsFlow() throws {
        let t = make()
        _ = t.startSession(epoch: 1)
        helper.capture(t, seconds: 3)
        _ = helper.turn(t, epoch: 1, item: "a", start: 200, end: 900)
        _ = helper.turn(t, epoch: 1, item: "b", start: 1200, end: 1900)
        // b is answered, a never is: b waits behind it in commit order...
        #expect(finals(helper.respond(t, epoch: 1, item: "b", response: "rb", words: ["second"])).isEmpty)
        let timeout = t.config.responseTimeoutSeconds
        // ...a is asked again after the timeout (twice), then given up, and b is shown.
        let retry1 = t.tick(now: timeout + 1)
        #expect(helper.sent(retry1).isEmpty)  // waiting out the backoff first
        var resent = 0
        var shown: [String] = []
        var now = timeout + 1
        while now < 10 * timeout && shown.isEmpty {
            now += 0.25
            let actions = t.tick(now: now)
            resent += helper.sent(actions).filter { $0["type"]?.string == "response.create" }.count
            shown += finals(actions)
        }
        #expect(resent == 2, "tries: 1 sent, \(resent) re-sent")
        #expect(shown == ["second"])
    }
}
