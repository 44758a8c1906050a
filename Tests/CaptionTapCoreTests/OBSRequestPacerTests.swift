import CaptionTapCore
import Testing

/// The pacer that keeps captions in order although obs-websocket runs requests in any order.
@Suite struct OBSRequestPacerTests {
    /// Plays the connection: sends what the pacer releases with increasing IDs.
    struct Wire {
        var pacer: OBSRequestPacer
        var nextID = 1
        var inFlight: [(id: String, request: OBSRequest)] = []

        init(maxWaiting: Int = 256) { pacer = OBSRequestPacer(maxWaiting: maxWaiting) }

        mutating func send(_ request: OBSRequest) {
            if let now = pacer.submit(request) { transmit(now) }
        }

        mutating func transmit(_ request: OBSRequest) {
            let id = String(nextID)
            nextID += 1
            pacer.sent(request, id: id)
            inFlight.append((id, request))
        }

        /// OBS answers the request with `id` (in whatever order it ran them).
        mutating func answer(_ id: String) {
            inFlight.removeAll { $0.id == id }
            if let next = pacer.answered(id: id) { transmit(next) }
        }

        var texts: [String] { inFlight.compactMap { $0.request.data["inputSettings"]?["text"]?.string } }
        var captions: [String] { inFlight.compactMap { $0.request.data["captionText"]?.string } }
    }

    @Test func oneTextUpdatePerSourceInFlightAndTheNewestWins() {
        var wire = Wire()
        wire.send(.setText(input: "Captions", text: "a"))
        wire.send(.setText(input: "Captions", text: "a b"))
        wire.send(.setText(input: "Captions", text: "a b c"))
        wire.send(.setText(input: "Other", text: "x"))
        #expect(wire.texts == ["a", "x"], "one per source in flight; sources are independent")
        #expect(wire.pacer.waitingCount == 1)
        #expect(wire.pacer.superseded == 1, "'a b' was replaced before it was sent")
        wire.answer("1")
        #expect(wire.texts == ["x", "a b c"], "the newest text follows the answer")
        wire.answer("3")
        wire.answer("2")
        #expect(wire.inFlight.isEmpty)
        #expect(wire.pacer.waitingCount == 0)
    }

    @Test func streamCaptionsGoOneAtATimeInOrder() {
        var wire = Wire()
        for caption in ["one", "two", "three"] { wire.send(.sendStreamCaption(caption)) }
        var aired: [String] = []
        while let (id, request) = wire.inFlight.first {
            #expect(wire.inFlight.count == 1)
            aired.append(request.data["captionText"]?.string ?? "")
            wire.answer(id)
        }
        #expect(aired == ["one", "two", "three"])
        #expect(wire.pacer.superseded == 0)
    }

    @Test func captionsAndTextDoNotWaitForEachOther() {
        var wire = Wire()
        wire.send(.sendStreamCaption("one"))
        wire.send(.setText(input: "Captions", text: "one"))
        #expect(wire.captions == ["one"])
        #expect(wire.texts == ["one"])
    }

    @Test func aStalledOBSDropsTheOldestWaitingStreamCaptions() {
        var wire = Wire(maxWaiting: 2)
        for caption in ["1", "2", "3", "4", "5"] { wire.send(.sendStreamCaption(caption)) }
        #expect(wire.captions == ["1"])
        #expect(wire.pacer.overflowed == 2, "'2' and '3' dropped, '4' and '5' wait")
        wire.answer("1")
        #expect(wire.captions == ["4"])
    }

    @Test func otherRequestsAreNotPaced() {
        var pacer = OBSRequestPacer()
        let query = OBSRequest(type: "GetVersion", data: [:])
        #expect(pacer.submit(query) == query)
        pacer.sent(query, id: "1")
        #expect(pacer.submit(query) == query)
        #expect(pacer.answered(id: "1") == nil)
    }

    @Test func aLostConnectionDropsWhatWaitedAndTheNewestTextIsSentAgain() {
        var wire = Wire()
        wire.send(.setText(input: "Captions", text: "old"))
        wire.send(.setText(input: "Captions", text: "newer"))
        wire.send(.sendStreamCaption("c1"))
        wire.send(.sendStreamCaption("c2"))
        #expect(wire.pacer.reset() == 2, "'newer' and 'c2' were waiting")
        wire.inFlight.removeAll()
        // While away, the caption moved on; it is remembered, not queued.
        wire.pacer.remember(.setText(input: "Captions", text: "newest"))
        wire.pacer.remember(.sendStreamCaption("c3"))
        #expect(wire.pacer.waitingCount == 0)
        for request in wire.pacer.resubmitLatest() { wire.transmit(request) }
        #expect(wire.texts == ["newest"])
        #expect(wire.captions.isEmpty, "stream captions are live only: none are replayed")
        // An answer from the old connection's ID space must not release anything twice.
        #expect(wire.pacer.answered(id: "99") == nil)
    }

    @Test func aPieceThatAsksToBeReadHoldsItsLaneUntilItsTimeIsUp() {
        var pacer = OBSRequestPacer()
        var first = OBSRequest.sendStreamCaption("It was the best of times,")
        first.holdSeconds = 3
        let second = OBSRequest.sendStreamCaption("it was the worst of times.")
        #expect(pacer.submit(first, now: 10) == first)
        pacer.sent(first, id: "1", now: 10)
        #expect(pacer.submit(second, now: 10.1) == nil)
        #expect(pacer.answered(id: "1", now: 10.2) == nil, "answered, but still being read")
        #expect(pacer.wakeAt(now: 10.2) == 13)
        #expect(pacer.holdsAhead(now: 10.2) > 2.7)
        #expect(pacer.due(now: 12.9).isEmpty)
        #expect(pacer.due(now: 13) == [second])
        pacer.sent(second, id: "2", now: 13)
        #expect(pacer.wakeAt(now: 13) == nil)
        // Text sources are not held by a stream caption's rest.
        var text = OBSRequestPacer()
        text.sent(first, id: "1", now: 0)
        #expect(text.submit(.setText(input: "Captions", text: "x"), now: 0.1) == .setText(input: "Captions", text: "x"))
    }
}
