import Testing

@testable import CaptionTapCore

/// Joining recognizer segments of one turn without invented sentence breaks (issue: live captions).
@Suite struct SegmentJoinTests {
    @Test func theContextDecodeReplacesTheInventedFullStopAndCapital() {
        // Segment 1 decoded alone; segment 2 decoded with the last 1.5 s of segment 1 before it.
        let joined = SegmentJoin.join(
            "it was the best of times, and how much there might.",
            "how much there might be prudently in his power to do for them.")
        #expect(
            joined == "it was the best of times, and how much there might be prudently in his power to do for them.")
    }

    @Test func wordsSpeltWithAndWithoutAccentsAreTheSameWord() {
        #expect(SegmentJoin.join("we sat in the café", "cafe and ordered tea") == "we sat in the café and ordered tea")
        #expect(SegmentJoin.normalized("Naïve,") == "naive" && SegmentJoin.normalized("l'été") == "lete")
        #expect(SegmentJoin.normalized("Привет!") == "привет" && SegmentJoin.normalized("🙂") == "")
    }

    @Test func aCompoundWrittenWithAndWithoutAHyphenIsTheSameWords() {
        // Two decodes of the same audio spell the compound differently: joined, not repeated.
        #expect(
            SegmentJoin.join("the river is well-known.", "Well known, and it floods")
                == "the river is well-known, and it floods")
        #expect(
            SegmentJoin.join("the river is well known.", "Well-known, and it floods")
                == "the river is well known, and it floods")
        #expect(SegmentJoin.join("my mother-in-law", "Mother in law said hello") == "my mother-in-law said hello")
        // The overlap's last word is followed by `next`'s words, and by its hyphen or space.
        #expect(SegmentJoin.join("this is a well.", "a well-known fact") == "this is a well-known fact")
        #expect(
            SegmentJoin.join("the river is well-known", "river is well, and it floods")
                == "the river is well, and it floods")
        // A hyphenated repeat is one word said once, not a loop.
        #expect(!Repetition.loops("ha-ha-ha, that is funny"))
        #expect(Repetition.loops("ha, ha, ha, ha"))
        // Only a hyphen between letters or digits joins parts; dashes and a hanging hyphen stay.
        for text in ["pre- and post-war", "yes - no", "a -b", "well-", "1990-2000 ok"] {
            #expect(SegmentJoin.text(SegmentJoin.words(text)) == text)
        }
        #expect(SegmentJoin.words("mother-in-law").map(\.text) == ["mother", "in", "law"])
        // What a later join cannot change is still a prefix of the text, hyphen and all.
        let text = "one two three four five six seven eight nine ten eleven twelve-thirteen fourteen fifteen"
        #expect(text.hasPrefix(SegmentJoin.settledPrefix(text)))
    }

    @Test func aGarbledFirstWordOfTheContextIsSkipped() {
        // The context starts inside a word ("fellow" heard as "low").
        let joined = SegmentJoin.join(
            "And so my fellow Americans.", "low Americans, ask not what your country can do for you.")
        #expect(joined == "And so my fellow Americans, ask not what your country can do for you.")
        let overlapping = SegmentJoin.join(
            "we shall fight on the beaches.", "the the beaches, we shall fight on the landing grounds.")
        #expect(overlapping == "we shall fight on the beaches, we shall fight on the landing grounds.")
    }

    @Test func theOverlapKeepsThePreviousSpellingAndDropsAWordInventedAtTheCut() {
        // Moonshine capitalizes the start of every decode, and added "and" where a segment ended.
        #expect(
            SegmentJoin.join(
                "its being received for good or for evil, and", "Good or for evil in the superlative degree")
                == "its being received for good or for evil in the superlative degree")
        #expect(
            SegmentJoin.join("it was the age of foolishness.", "Foolishness, it was the epoch of belief")
                == "it was the age of foolishness, it was the epoch of belief")
        #expect(
            SegmentJoin.join("so far like the present period.", "Like the present period, that some")
                == "so far like the present period, that some")
    }

    @Test func aGarbledContextStartAndAWordInventedAtTheCutTogetherStillOverlap() {
        // two_cities through PipeWire: the cut fell inside "insisted" (the first segment heard
        // "insist this.") and the context began inside "noisiest" ("Oise est"). Joined as they
        // were, the final read "…authorities insist this. Oise est authorities insisted on…".
        #expect(
            SegmentJoin.join(
                "that some of its noisiest authorities insist this.",
                "Oise est authorities insisted on its being received")
                == "that some of its noisiest authorities insisted on its being received")
        // Short common words alone are not enough that far into the next text.
        #expect(
            SegmentJoin.join("we sat at the back of the hall.", "A lot of the people left")
                == "we sat at the back of the hall. A lot of the people left")
    }

    @Test func aWordTheCutSplitIsTakenWholeFromTheNextSegment() {
        // Segment 1 ended inside "darkness"; segment 2, decoded with context, heard it whole.
        #expect(
            SegmentJoin.join(
                "it was a season of light, it was a season of dark", "It was the season of darkness, it was")
                == "it was a season of light, it was a season of darkness, it was")
        // Only the last word, only as a start, and only with another word matched before it.
        #expect(SegmentJoin.join("go to the dark", "Darkness falls") == "go to the dark Darkness falls")
        #expect(SegmentJoin.join("we saw the darkness", "the dark side") == "we saw the darkness the dark side")
        #expect(SegmentJoin.join("season of dark", "season off darkness") == "season of dark season off darkness")
        #expect(
            SegmentJoin.join("what your country can do for you,", "What you can do for your.")
                == "what your country can do for you, What you can do for your.", "'you' is not 'your' cut short")
    }

    @Test func withoutAnOverlapTheTextsAreJoinedAsTheyAre() {
        #expect(SegmentJoin.join("first part", "second part") == "first part second part")
        #expect(SegmentJoin.join("", "only") == "only")
        #expect(SegmentJoin.join("only", "  ") == "only")
        // A lone common word deep inside is not taken for an overlap.
        #expect(SegmentJoin.join("I said the", "well then the end") == "I said the well then the end")
    }

    @Test func textBeforeTheLastWordsIsSettled() {
        let text = "one two three four five six seven eight nine ten eleven twelve"
        #expect(SegmentJoin.settledPrefix(text) == "one two")
        // Whatever the next segment brings, the settled prefix stays a prefix.
        for next in ["nine ten eleven", "completely different", "Ten.", ""] {
            #expect(SegmentJoin.join(text, next).hasPrefix(SegmentJoin.settledPrefix(text)), "\(next)")
        }
    }

    @Test func afterAPauseTheFragmentOfAWordHeardAgainIsReplaced() {
        // Live captions settle at a pause but their text reaches past it: the words there start
        // the next decode again, and the first of them may have been heard cut short.
        #expect(
            SegmentJoin.joinAfterPause(
                "It was the epoch of belief. It was the e.", "It was the epoch of incredulity.")
                == "It was the epoch of belief. It was the epoch of incredulity.")
        #expect(
            SegmentJoin.joinAfterPause("What your country can do for you, ass.", "Ask what you.")
                == "What your country can do for you, ask what you.")
        // Words heard whole still overlap as in any join.
        #expect(SegmentJoin.joinAfterPause("for you, ask", "Ask what you") == "for you, ask what you")
    }

    @Test func afterAPauseNoRealWordIsReplaced() {
        // A phrase that repeats one before the pause is new.
        #expect(
            SegmentJoin.joinAfterPause("It was the season of light.", "It was the season of darkness,")
                == "It was the season of light. It was the season of darkness,")
        // A short word on its own may be a word, not a fragment; "you" is not "your" cut short
        // when other words differ; two letters off is another word.
        #expect(SegmentJoin.joinAfterPause("it was a", "And then") == "it was a And then")
        #expect(
            SegmentJoin.joinAfterPause("what your country can do for you,", "What you can do for your.")
                == "what your country can do for you, What you can do for your.")
        #expect(SegmentJoin.joinAfterPause("we went west", "East we went") == "we went west East we went")
        #expect(SegmentJoin.joinAfterPause("a cat", "Dog days") == "a cat Dog days")
    }

    @Test func hostileTextNeverBreaksTheJoinAfterAPause() {
        let long = String(repeating: "word ", count: 10_000)
        #expect(SegmentJoin.joinAfterPause(long, long).split(separator: " ").count >= 10_000)
        #expect(SegmentJoin.joinAfterPause("... !!! ???", "... !!! ???") == "... !!! ??? ... !!! ???")
        #expect(SegmentJoin.joinAfterPause("", "only") == "only")
        #expect(SegmentJoin.joinAfterPause("only", "") == "only")
        #expect(SegmentJoin.joinAfterPause("ß ǅ 𝔘", "𝔘𝔘 ǅ") == "ß ǅ 𝔘 𝔘𝔘 ǅ", "one letter alone is no fragment")
        #expect(SegmentJoin.joinAfterPause("ß ǅ 𝔘", "ß ǅ 𝔘𝔘") == "ß ǅ 𝔘𝔘", "after matched words it is")
    }

    @Test func hostileTextNeverBreaksTheJoin() {
        let long = String(repeating: "word ", count: 10_000)
        #expect(SegmentJoin.join(long, long).split(separator: " ").count >= 10_000)
        #expect(SegmentJoin.join("... !!! ???", "... !!! ???") == "... !!! ??? ... !!! ???")
    }
}
