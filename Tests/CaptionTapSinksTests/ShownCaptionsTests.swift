import CaptionTapCore
import CaptionTapSinks
import Testing

/// The rule every caption display follows (OBS text file, OBS Text source, browser overlay).
@Suite struct ShownCaptionsTests {
    private func caption(_ text: String, _ item: String, final: Bool) -> Caption {
        Caption(text: text, isFinal: final, itemID: item, responseID: nil, startMs: 0, endMs: 0)
    }

    private func apply(_ shown: inout ShownCaptions<String>, _ text: String, _ item: String, final: Bool) {
        shown.apply(caption(text, item, final: final), line: text.isEmpty ? nil : text)
    }

    @Test func finalsSettleTheirOwnPartialAndOnlyTheNewestAreKept() {
        var shown = ShownCaptions<String>(keep: 2)
        apply(&shown, "one", "a", final: false)
        #expect(shown.lines(2) == ["one"])
        apply(&shown, "two", "b", final: false)  // latest wins
        apply(&shown, "one.", "a", final: true)  // a's final does not end b's partial
        #expect(shown.lines(2) == ["one.", "two"])
        apply(&shown, "", "c", final: true)  // no words: no line
        apply(&shown, "two.", "b", final: true)
        apply(&shown, "three.", "d", final: true)
        #expect(shown.finals == ["two.", "three."] && shown.partial == nil)
        #expect(shown.lines(1) == ["three."] && shown.lines(5) == ["two.", "three."])
    }

    @Test func anEmptyPartialTakesDownOnlyItsOwnTurnsPartial() {
        var shown = ShownCaptions<String>(keep: 3)
        apply(&shown, "first", "a", final: true)
        apply(&shown, "Hmm.", "b", final: false)
        apply(&shown, "", "b", final: false)  // turn b had no words
        #expect(shown.lines(3) == ["first"])
        apply(&shown, "Ask not", "c", final: false)
        apply(&shown, "", "b", final: false)
        #expect(shown.lines(3) == ["first", "Ask not"], "another turn's partial stays")
        #expect(ShownCaptions<String>(keep: 0).keep == 1)
    }
}
