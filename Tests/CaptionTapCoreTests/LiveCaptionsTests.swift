@testable import CaptionTapCore
import Testing

/// Live captions: when the local recognizer decodes, what it decodes, and what is shown
/// (issue: live captions while people speak).
@Suite struct LiveCaptionsTests {
    let ms = 24  // samples per millisecond

    func jobs(_ actions: [LiveCaptions.Action]) -> [LiveCaptions.Job] {
        actions.compactMap { if case .decode(let job) = $0 { job } else { nil } }
    }

    func partials(_ actions: [LiveCaptions.Action]) -> [(text: String, stable: String)] {
        actions.compactMap { if case .partial(_, let text, let stable) = $0 { (text, stable) } else { nil } }
    }

    @Test func partialsStartSoonAfterOnsetOneDecodeAtATimeAndGrow() throws {
        var live = LiveCaptions()
        let open = (itemID: "item_1", start: 1000 * ms)
        #expect(live.tick(open: open, audioEnd: 1500 * ms, quietest: { $0.lowerBound }).isEmpty, "not before 600 ms of the turn")
        let first = try #require(jobs(live.tick(open: open, audioEnd: 1600 * ms, quietest: { $0.lowerBound })).first)
        #expect(first.from == 1000 * ms && first.to == 1600 * ms && first.kind == .tail)
        #expect(live.tick(open: open, audioEnd: 2400 * ms, quietest: { $0.lowerBound }).isEmpty, "one decode at a time")
        let shown = partials(live.decoded(job: first, text: "And so"))
        #expect(shown.map(\.text) == ["And so"] && shown.first?.stable == "")
        let second = try #require(jobs(live.tick(open: open, audioEnd: 2400 * ms, quietest: { $0.lowerBound })).first)
        #expect(second.to == 2400 * ms)
        let grown = partials(live.decoded(job: second, text: "And so, my fellow"))
        #expect(grown.first?.text == "And so, my fellow")
        #expect(grown.first?.stable == "And so,", "what two decodes agree on")
        // Not due again until another 500 ms of audio.
        #expect(live.tick(open: open, audioEnd: 2800 * ms, quietest: { $0.lowerBound }).isEmpty)
        #expect(jobs(live.tick(open: open, audioEnd: 2900 * ms, quietest: { $0.lowerBound })).count == 1)
    }

    @Test func longTurnsSettleSegmentsSoEveryDecodeStaysShort() throws {
        var live = LiveCaptions()
        let open = (itemID: "item_1", start: 0)
        var longest = 0, segments = 0
        var text = ""
        var step = 0
        for end in stride(from: 100 * ms, through: 25_000 * ms, by: 100 * ms) {
            for job in jobs(live.tick(open: open, audioEnd: end, quietest: { $0.lowerBound + ($0.count / 2) })) {
                longest = max(longest, job.to - job.from)
                if case .segment(let cut) = job.kind {
                    segments += 1
                    #expect(cut > job.from && cut <= end - 400 * ms)
                }
                step += 1
                if let p = partials(live.decoded(job: job, text: "word\(step) word\(step + 1)")).last { text = p.text }
            }
        }
        #expect(segments >= 4, "a 25 s turn is settled in pieces")
        #expect(longest <= (5000 + 100 + SegmentJoin.contextMs) * ms, "decodes stay bounded: \(longest / ms) ms")
        #expect(text.split(separator: " ").count > 4, "settled text stays in the partial: \(text)")
    }

    @Test func staleResultsAreDroppedAndTheFinalEndsPartials() throws {
        var live = LiveCaptions()
        let first = try #require(jobs(live.tick(open: ("item_1", 0), audioEnd: 700 * ms, quietest: { $0.lowerBound })).first)
        // The next turn opens before the decode is back: its result is stale.
        let next = jobs(live.tick(open: ("item_2", 800 * ms), audioEnd: 1500 * ms, quietest: { $0.lowerBound }))
        #expect(partials(live.decoded(job: first, text: "old words")).isEmpty)
        let job = try #require(next.first)
        #expect(job.itemID == "item_2")
        // The final for item 2 is shown: a late result does not bring its partial back.
        live.finalShown(itemID: "item_2")
        #expect(partials(live.decoded(job: job, text: "late")).isEmpty)
        #expect(live.tick(open: ("item_2", 800 * ms), audioEnd: 3000 * ms, quietest: { $0.lowerBound }).isEmpty)
        // A dropped decode (nil) frees the slot without showing anything.
        let third = try #require(jobs(live.tick(open: ("item_3", 3000 * ms), audioEnd: 3700 * ms, quietest: { $0.lowerBound })).first)
        #expect(live.decoded(job: third, text: nil).isEmpty)
        #expect(!live.isDecoding)
    }

    @Test func unchangedOrEmptyTextShowsNothingNew() throws {
        var live = LiveCaptions()
        let open = (itemID: "item_1", start: 0)
        let a = try #require(jobs(live.tick(open: open, audioEnd: 700 * ms, quietest: { $0.lowerBound })).first)
        #expect(partials(live.decoded(job: a, text: "")).isEmpty)
        let b = try #require(jobs(live.tick(open: open, audioEnd: 1300 * ms, quietest: { $0.lowerBound })).first)
        #expect(partials(live.decoded(job: b, text: "hello")).count == 1)
        let c = try #require(jobs(live.tick(open: open, audioEnd: 1900 * ms, quietest: { $0.lowerBound })).first)
        #expect(partials(live.decoded(job: c, text: "hello")).isEmpty)
    }
}
