import CaptionTapCore
import CaptionTapSinks
import Testing

@Suite struct OBSWebSocketSinkTests {
    private func partial(_ text: String, _ item: String) -> Caption {
        Caption(text: text, isFinal: false, itemID: item, responseID: nil, startMs: 0, endMs: 0)
    }

    private func final(_ text: String, _ item: String) -> Caption {
        Caption(text: text, isFinal: true, itemID: item, responseID: nil, startMs: 0, endMs: 0)
    }

    @Test func finalsBecomeStreamCaptionsAndTheTextSourceShowsTheLastLines() {
        var sent: [OBSRequest] = []
        let sink = OBSWebSocketSink(textSource: "Captions", lines: 2) { sent.append($0) }
        sink.caption(partial("hel", "a"))
        sink.caption(partial("hel", "a"))  // unchanged: not re-sent
        sink.caption(final("hello\nthere", "a"))
        sink.caption(partial("how", "b"))
        sink.caption(final("how are you", "b"))
        sink.caption(final("", "c"))  // empty: nothing to caption, nothing changes
        sink.caption(final("fine", "d"))
        #expect(
            sent == [
                .setText(input: "Captions", text: "hel"),
                .sendStreamCaption("hello there"),
                .setText(input: "Captions", text: "hello there"),
                .setText(input: "Captions", text: "hello there\nhow"),
                .sendStreamCaption("how are you"),
                .setText(input: "Captions", text: "hello there\nhow are you"),
                .sendStreamCaption("fine"),
                .setText(input: "Captions", text: "how are you\nfine"),
            ])
    }

    @Test func anEmptyPartialTakesDownOnlyItsOwnTurnsPartialAndIsNoStreamCaption() {
        var sent: [OBSRequest] = []
        let sink = OBSWebSocketSink(textSource: "Captions", lines: 2) { sent.append($0) }
        sink.caption(final("first", "a"))
        sink.caption(partial("Hmm.", "b"))
        sink.caption(partial("", "b"))  // turn b had no words
        sink.caption(partial("Ask", "c"))
        sink.caption(partial("", "b"))  // the next turn's partial stays
        #expect(
            sent == [
                .sendStreamCaption("first"),
                .setText(input: "Captions", text: "first"),
                .setText(input: "Captions", text: "first\nHmm."),
                .setText(input: "Captions", text: "first"),
                .setText(input: "Captions", text: "first\nAsk"),
            ])
    }

    @Test func withoutATextSourceOnlyFinalsAreSent() {
        var sent: [OBSRequest] = []
        let sink = OBSWebSocketSink(textSource: nil) { sent.append($0) }
        sink.caption(partial("one", "a"))
        sink.caption(final("one two", "a"))
        #expect(sent == [.sendStreamCaption("one two")])
    }
}
