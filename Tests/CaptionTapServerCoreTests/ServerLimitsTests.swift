import Foundation
import Testing

@testable import CaptionTapCore
@testable import CaptionTapServerCore

/// serve's limits: long audio cut into pieces, sessions taking turns on the recognizer, the
/// uncommitted buffer bounded, history bounded, and the turn a request names is the one decoded.
@Suite struct ServerLimitsTests {
    let helper = RealtimeServerSessionTests()
    var manual: String { helper.manual }

    @Test func longAudioIsCutIntoPiecesAtQuietWindows() {
        let rate = 1000
        // 50 s of "speech" with a quiet window at 18.5 s and 37 s.
        var samples = [Float](repeating: 0.5, count: 50 * rate)
        for i in 18_480..<18_520 { samples[i] = 0 }
        for i in 36_980..<37_020 { samples[i] = 0 }
        let pieces = DecodePieces.cut(samples[...], rate: rate)
        #expect(pieces.count == 3, "\(pieces)")
        #expect(pieces.first?.lowerBound == 0 && pieces.last?.upperBound == samples.count)
        #expect(zip(pieces, pieces.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound }, "no gap, no overlap")
        #expect(pieces.allSatisfy { $0.count <= DecodePieces.maxSeconds * rate })
        #expect(abs(pieces[0].upperBound - 18_500) <= 32, "cut in the quiet window: \(pieces)")
        #expect(DecodePieces.cut([Float](repeating: 0, count: 10)[...], rate: rate) == [0..<10])
        #expect(DecodePieces.cut([][...], rate: rate).isEmpty)
    }

    @Test func sessionsTakeTurnsOnTheRecognizerAndFinalsComeFirst() {
        typealias E = DecodeSchedule.Entry
        // Session 1 queued three pieces, then session 2 one: 2 goes next once 1 was served.
        let queue = [
            E(connection: 1, speculative: false), E(connection: 1, speculative: false),
            E(connection: 1, speculative: false), E(connection: 2, speculative: false),
        ]
        #expect(DecodeSchedule.next(queue, served: [:]) == 0)
        #expect(DecodeSchedule.next(queue, served: [1: 0]) == 3)
        #expect(DecodeSchedule.next(queue, served: [1: 0, 2: 1]) == 0)
        // A speculative decode waits for any final one, whoever it belongs to.
        let mixed = [E(connection: 3, speculative: true), E(connection: 1, speculative: false)]
        #expect(DecodeSchedule.next(mixed, served: [1: 5]) == 1)
        #expect(DecodeSchedule.next([E(connection: 3, speculative: true)], served: [:]) == 0)
    }

    @Test func aLongManualCommitIsDecodedInPieces() throws {
        let session = RealtimeServerSession(model: "gpt-realtime", frontEnd: EnergyFrontEnd())
        _ = session.start()
        #expect(helper.events(session.receive(text: manual)).first?["type"]?.string == "session.updated")
        for _ in 0..<5 { _ = helper.append(session, helper.tone(10)) }
        let actions = session.receive(text: #"{"type":"input_audio_buffer.commit"}"#)
        let decodes = actions.compactMap { if case .decode(_, let samples) = $0 { samples.count } else { nil } }
        #expect(decodes.count == 3, "\(decodes)")
        #expect(decodes.allSatisfy { $0 <= DecodePieces.maxSeconds * 8000 })
        #expect(decodes.reduce(0, +) == 50 * 8000)
    }

    @Test func theUncommittedBufferIsBoundedWithAnErrorNotMemory() throws {
        let session = RealtimeServerSession(model: "gpt-realtime", frontEnd: EnergyFrontEnd())
        _ = session.start()
        _ = session.receive(text: manual)
        let minute = helper.tone(60)
        for _ in 0..<(RealtimeServerSession.maxBufferSeconds / 60) {
            #expect(helper.events(helper.append(session, minute)).isEmpty)
        }
        let refused = helper.events(helper.append(session, minute))
        #expect(refused.first?["error"]?["code"]?.string == "input_audio_buffer_full", "\(refused)")
        // Commit and carry on: the buffer takes audio again.
        _ = session.receive(text: #"{"type":"input_audio_buffer.commit"}"#)
        #expect(helper.events(helper.append(session, minute)).isEmpty)
    }

    @Test func aRequestWithoutInputTranscribesTheTurnItsMetadataNames() throws {
        let session = RealtimeServerSession(model: "gpt-realtime", frontEnd: EnergyFrontEnd())
        _ = session.start()
        _ = session.receive(text: helper.vadOff)
        var jobs: [Int] = []
        var items: [String] = []
        for _ in 0..<2 {
            let actions = helper.append(session, helper.tone(1.0) + [Float](repeating: 0, count: 24000))
            jobs += actions.compactMap { if case .decode(let job, _) = $0 { job } else { nil } }
            items += helper.events(actions).filter { $0["type"]?.string == "input_audio_buffer.committed" }.compactMap {
                $0["item_id"]?.string
            }
        }
        try #require(items.count == 2 && jobs.count == 2)
        _ = session.decoded(job: jobs[0], text: "first turn")
        _ = session.decoded(job: jobs[1], text: "second turn")
        // --context session: no input, the whole conversation as context, the first turn named.
        let request =
            #"{"type":"response.create","response":{"conversation":"none","output_modalities":["text"],"metadata":{"purpose":"caption","item_id":"\#(items[0])"}}}"#
        let done = helper.events(session.receive(text: request)).first { $0["type"]?.string == "response.done" }
        #expect(done?["response"]?["output"]?.array?.first?["content"]?.array?.first?["text"]?.string == "first turn")
    }

    @Test func aSessionOfThousandsOfTurnsKeepsABoundedHistory() throws {
        let session = RealtimeServerSession(model: "gpt-realtime", frontEnd: EnergyFrontEnd())
        _ = session.start()
        _ = session.receive(text: manual)
        var first: String?
        var last = ""
        for n in 0..<(RealtimeServerSession.keptItems + 100) {
            _ = helper.append(session, helper.tone(0.2))
            let actions = session.receive(text: #"{"type":"input_audio_buffer.commit"}"#)
            for case .decode(let job, _) in actions { _ = session.decoded(job: job, text: "turn \(n)") }
            last =
                helper.events(actions).first { $0["type"]?.string == "input_audio_buffer.committed" }?["item_id"]?
                .string ?? last
            if first == nil { first = last }
        }
        let oldest = #"{"type":"conversation.item.delete","item_id":"\#(first ?? "")"}"#
        #expect(helper.events(session.receive(text: oldest)).first?["error"]?["code"]?.string == "item_not_found")
        #expect(session.itemCount <= RealtimeServerSession.keptItems)
        #expect(
            helper.events(session.receive(text: #"{"type":"conversation.item.delete","item_id":"\#(last)"}"#)).first?[
                "type"]?.string == "conversation.item.deleted")
    }
}
