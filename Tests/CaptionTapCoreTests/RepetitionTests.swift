import Testing

@testable import CaptionTapCore

/// Finding a recognizer's loops, and decoding again when one comes back (final transcripts).
@Suite struct RepetitionTests {
    @Test func aPhraseSaidTwiceInARowOrAShortOneThriceIsALoop() {
        #expect(Repetition.loops("It was a season of light it was a season of light it was a season of"))
        #expect(Repetition.loops("We were all going, we were all going, we were all going,"))
        #expect(Repetition.loops("The 1960s, the 1960s, the 1960s, the 1960s"))
        #expect(Repetition.loops("so so so"))
        #expect(Repetition.loops(String(repeating: "la ", count: 100_000)), "no segment says that much")
    }

    @Test func repeatsThatAreSpeechAreNotLoops() {
        #expect(!Repetition.loops("It was the best of times, it was the worst of times."))
        #expect(!Repetition.loops("We had everything before us, we had nothing before us."))
        #expect(!Repetition.loops("it was, it was the best"), "two words twice")
        #expect(!Repetition.loops("") && !Repetition.loops("a") && !Repetition.loops(",,, ..."))
    }

    @Test func theLongestDoubledPhraseIsFound() {
        let words = "a b c a b c a b c d".split(separator: " ").map(String.init)
        #expect(Repetition.doubled(words)! == (0, 3))
        let long = "x it was the age of wisdom it was the age of wisdom".split(separator: " ").map(String.init)
        #expect(Repetition.doubled(long)! == (1, 6))
        #expect(Repetition.doubled(["a", "b", "a", "b"]) == nil, "two words are not enough")
        #expect(Repetition.doubled(["a", "a"], minLength: 0) == nil && Repetition.doubled([]) == nil)
    }

    @Test func aLoopingDecodeIsTriedAgainWithOtherPaddingUntilOneDoesNot() {
        var tried: [Int] = []
        let text = Repetition.firstUnlooped(paddings: [8000, 1600, 24000]) { padding in
            tried.append(padding)
            return padding == 24000 ? "it was a season of light." : "it was a season of light it was a season of light"
        }
        #expect(text == "it was a season of light." && tried == [8000, 1600, 24000])
    }

    @Test func oneDecodeWhenItDoesNotLoopAndTheFirstTextWhenAllDo() {
        var calls = 0
        let text = Repetition.firstUnlooped(paddings: [8000, 1600]) { _ in
            calls += 1
            return "Ask not."
        }
        #expect(text == "Ask not.")
        #expect(calls == 1)
        var n = 0
        let all = Repetition.firstUnlooped(paddings: [1, 2, 3]) { _ in
            n += 1
            return "no no no \(n)"
        }
        #expect(all == "no no no 1" && n == 3, "the repeat may be speech: the first decode stands")
        #expect(Repetition.firstUnlooped(paddings: []) { _ in "never" } == "")
    }

    @Test func aFailingDecodeFailsTheWholeTry() {
        struct Broken: Error {}
        #expect(throws: Broken.self) {
            try Repetition.firstUnlooped(paddings: [1, 2]) { (_) throws(Broken) in throw Broken() }
        }
    }
}
