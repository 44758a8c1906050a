import CaptionTapCore
import Testing

@testable import CaptionTapSinks

/// Long finals as CEA-608 stream captions OBS carries whole (it keeps 128 bytes of each).
@Suite struct StreamCaptionTests {
    static let sentence =
        "It was the best of times, it was the worst of times, it was the age of wisdom, it was the age of foolishness, it was the epoch of belief, it was the epoch of incredulity."

    @Test func aLongFinalIsCutBetweenWordsIntoCaptionsOBSKeepsWhole() {
        let pieces = StreamCaption.pieces(Self.sentence)
        #expect(pieces.count == 2)
        for piece in pieces {
            #expect(piece.utf8.count <= StreamCaption.maxBytes, "\(piece)")
            let rows = StreamCaption.wrap(piece)
            #expect(rows.count <= StreamCaption.rows && rows.allSatisfy { $0.count <= 32 }, "\(rows)")
        }
        #expect(pieces.joined(separator: " ") == Self.sentence, "no word lost or changed")
        // A short one goes as it is.
        #expect(StreamCaption.pieces("tone 440 hertz") == ["tone 440 hertz"])
        #expect(StreamCaption.pieces("").isEmpty)
    }

    @Test func hostileTextStillFits() {
        // A word longer than a row, and characters of several bytes: cut by characters and bytes.
        let long = String(repeating: "x", count: 100)
        #expect(StreamCaption.pieces(long).joined().replacingOccurrences(of: " ", with: "") == long)
        #expect(StreamCaption.pieces(long).allSatisfy { $0.count <= 32 * 4 })
        let wide = String(repeating: "é😀", count: 300)
        let pieces = StreamCaption.pieces(wide)
        #expect(pieces.allSatisfy { $0.utf8.count <= StreamCaption.maxBytes })
        #expect(pieces.joined().replacingOccurrences(of: " ", with: "") == wide)
        // One character of 141 bytes (a letter under 70 combining accents) stays one letter.
        let stacked = "e" + String(repeating: "\u{301}", count: 70)
        #expect(StreamCaption.pieces("x " + stacked + " y").allSatisfy { $0.utf8.count <= StreamCaption.maxBytes })
        #expect(StreamCaption.pieces(stacked) == ["e"])
        #expect(StreamCaption.readingSeconds("a") == 1.5 && StreamCaption.readingSeconds(long + " y z" + long) == 1.5)
        #expect(StreamCaption.readingSeconds(Array(repeating: "w", count: 40).joined(separator: " ")) == 4)
    }

    @Test func theSinkSendsThePiecesInOrderEachButTheLastHeldToBeRead() {
        var sent: [OBSRequest] = []
        let sink = OBSWebSocketSink(textSource: nil) { sent.append($0) }
        sink.caption(Caption(text: Self.sentence, isFinal: true, itemID: "a", responseID: nil, startMs: 0, endMs: 0))
        #expect(sent.map { $0.data["captionText"]?.string ?? "" } == StreamCaption.pieces(Self.sentence))
        #expect(sent.first!.holdSeconds >= 1.5 && sent.last!.holdSeconds == 0)
    }
}
