import Testing

@testable import CaptionTapCore

/// Live captions: when the local recognizer decodes, what it decodes, and what is shown
/// (issue: live captions while people speak).
/// Audio as the tests describe it: speech from `onset` on, cuts where `cut` says, and silence
/// inside `pauses`.
struct TestAudio: LiveAudio {
    var onset: Int?
    var cut: (Range<Int>) -> Int = { $0.lowerBound }
    var pauses: [Range<Int>] = []
    /// Where a pause between words ends in a range (none by default: continuous speech).
    var pauseEnd: (Range<Int>) -> Int? = { _ in nil }
    func speechOnset(in range: Range<Int>) -> Int? { onset.map { max($0, range.lowerBound) } }
    func cutPoint(in range: Range<Int>) -> Int { cut(range) }
    func pauseEnd(in range: Range<Int>, comparedTo reference: Range<Int>) -> Int? { pauseEnd(range) }
    func hasSpeech(in range: Range<Int>, comparedTo reference: Range<Int>) -> Bool {
        !pauses.contains { $0.contains(range.lowerBound) && $0.contains(range.upperBound - 1) }
    }
}

@Suite struct LiveCaptionsTests {
    let ms = 24  // samples per millisecond

    func jobs(_ actions: [LiveCaptions.Action]) -> [LiveCaptions.Job] {
        actions.compactMap { if case .decode(let job) = $0 { job } else { nil } }
    }

    func partials(_ actions: [LiveCaptions.Action]) -> [(text: String, stable: String)] {
        actions.compactMap { if case .partial(_, let text, let stable, _) = $0 { (text, stable) } else { nil } }
    }

    @Test func partialsStartSoonAfterOnsetOneDecodeAtATimeAndGrow() throws {
        var live = LiveCaptions()
        let open = (itemID: "item_1", start: 1000 * ms)
        #expect(live.tick(open: open, audioEnd: 1500 * ms, audio: TestAudio()).isEmpty, "not before 600 ms of the turn")
        let first = try #require(jobs(live.tick(open: open, audioEnd: 1600 * ms, audio: TestAudio())).first)
        #expect(first.from == 1000 * ms && first.to == 1600 * ms)
        #expect(live.tick(open: open, audioEnd: 2400 * ms, audio: TestAudio()).isEmpty, "one decode at a time")
        let shown = partials(live.decoded(job: first, text: "And so"))
        #expect(shown.map(\.text) == ["And so"] && shown.first?.stable == "")
        let second = try #require(jobs(live.tick(open: open, audioEnd: 2400 * ms, audio: TestAudio())).first)
        #expect(second.to == 2400 * ms)
        let grown = partials(live.decoded(job: second, text: "And so, my fellow"))
        #expect(grown.first?.text == "And so, my fellow")
        #expect(grown.first?.stable == "And so,", "what two decodes agree on")
        // Not due again until another 700 ms of audio.
        #expect(live.tick(open: open, audioEnd: 3000 * ms, audio: TestAudio()).isEmpty)
        #expect(jobs(live.tick(open: open, audioEnd: 3100 * ms, audio: TestAudio())).count == 1)
    }

    @Test func aDecodeThatReturnsAfterTheTurnClosedStillNamesTheTurnsStart() throws {
        var live = LiveCaptions()
        let open = (itemID: "item_1", start: 1000 * ms)
        // Speech starts 400 ms into the turn: the tail (and the decode) start 150 ms before it.
        let audio = TestAudio(onset: 1400 * ms)
        let job = try #require(jobs(live.tick(open: open, audioEnd: 1900 * ms, audio: audio)).first)
        #expect(job.from == 1250 * ms)
        // The backend commits the turn while the decode runs; its final has not come yet.
        #expect(live.tick(open: nil, audioEnd: 2000 * ms, audio: audio).isEmpty)
        let actions = live.decoded(job: job, text: "Ask not")
        let starts = actions.compactMap { if case .partial(_, _, _, let start) = $0 { start } else { nil } }
        #expect(starts == [1000 * ms], "the turn's start, not the decode's: \(starts)")
    }

    @Test func longTurnsSettleTheTailSoEveryDecodeStaysShortAndNoWordRepeats() throws {
        var live = LiveCaptions()
        let open = (itemID: "item_1", start: 0)
        // A speaker saying "w0 w1 w2 …", one word per 400 ms; a decode hears the words it covers.
        func said(_ range: Range<Int>) -> String {
            (range.lowerBound / (400 * ms)..<range.upperBound / (400 * ms)).map { "w\($0)" }.joined(separator: " ")
        }
        var longest = 0
        var decodes = 0
        var text = ""
        for end in stride(from: 100 * ms, through: 25_000 * ms, by: 100 * ms) {
            // Pauses between words: the quietest moment is a word boundary.
            for job in jobs(
                live.tick(
                    open: open, audioEnd: end, audio: TestAudio(cut: { ($0.lowerBound / (400 * ms) + 1) * 400 * ms })))
            {
                longest = max(longest, job.to - job.from)
                decodes += 1
                if let p = partials(live.decoded(job: job, text: said(job.from..<job.to))).last { text = p.text }
            }
        }
        #expect(longest <= (3000 + 700 + 100) * ms, "decodes stay bounded: \(longest / ms) ms")
        // Audio decoded per second of speech stays small: the cost does not grow with the turn.
        #expect(decodes * longest / (25_000 * ms) < 6, "\(decodes) decodes")
        let words = text.split(separator: " ")
        #expect(words.count >= 60, "\(words.count) words")
        #expect(Set(words).count == words.count, "no word shown twice: \(text)")
        #expect(words.first == "w0")
    }

    @Test func aTailSettlesAtAPauseBetweenWordsSoonerThanInContinuousSpeech() throws {
        // Decodes every 700 ms from 0; returns where each decode started.
        func starts(_ audio: TestAudio) -> [Int] {
            var live = LiveCaptions()
            var froms: [Int] = []
            for end in stride(from: 100 * ms, through: 8000 * ms, by: 100 * ms) {
                for job in jobs(live.tick(open: ("item_1", 0), audioEnd: end, audio: audio)) {
                    froms.append(job.from / ms)
                    _ = live.decoded(job: job, text: "words \(job.to)")
                }
            }
            return froms
        }
        // A pause ends at 1200 ms: settled there once a decode covers more than 1.5 s.
        let paused = starts(TestAudio(pauseEnd: { $0.contains(1200 * ms) ? 1200 * ms : nil }))
        let beforePause = paused.prefix { $0 == 0 }.count
        #expect(beforePause <= 4 && paused.dropFirst(beforePause).first == 1200, "\(paused)")
        // No pause: the tail grows to 3 s before it is cut at its quietest moment.
        let continuous = starts(TestAudio(cut: { $0.lowerBound + 500 * ms }))
        let firstCut = try #require(continuous.first { $0 != 0 })
        #expect(firstCut == 1200, "the earliest cut (0.7 s) plus 500 ms: \(continuous)")
        #expect(continuous.prefix { $0 == 0 }.count >= 6, "0–3 s decoded whole before any cut: \(continuous)")
    }

    /// Decodes every due tick from 0 to `through` ms in a turn from 0 with silence in `pause`
    /// (speech resumes at its end); a decode from 0 hears "one two three", any later one "four
    /// five". Returns where each began and the last partial.
    func decodesAroundAPause(_ pause: Range<Int>, through: Int) -> (froms: [Int], shown: String) {
        var live = LiveCaptions()
        let audio = TestAudio(pauses: [pause], pauseEnd: { $0.contains(pause.upperBound) ? pause.upperBound : nil })
        var froms: [Int] = []
        var shown = ""
        for end in stride(from: 100 * ms, through: through * ms, by: 100 * ms) {
            for job in jobs(live.tick(open: ("item_1", 0), audioEnd: end, audio: audio)) {
                froms.append(job.from / ms)
                let words = job.from == 0 ? "one two three" : "four five"
                shown = partials(live.decoded(job: job, text: words)).last?.text ?? shown
            }
        }
        return (froms, shown)
    }

    @Test func aDecodeThatEndedInAPauseSettlesTheTailOnceSpeechResumes() throws {
        // Decodes at 0.6, 0.95, 1.3 and 1.65 s; the last ends inside the pause (1.5–2.1 s). Once
        // speech resumes the tail settles at 2.1 s, and the next decode hears only what follows.
        let ended = decodesAroundAPause(1500 * ms..<2100 * ms, through: 3000)
        #expect(ended.froms == [0, 0, 0, 0, 2100], "\(ended.froms)")
        #expect(ended.shown == "one two three four five")
        // A decode that ended in speech (the pause starts after it) settles nothing yet: the next
        // decode hears the phrase again, to finish its last word.
        let inSpeech = decodesAroundAPause(1700 * ms..<2100 * ms, through: 2400)
        #expect(inSpeech.froms.last == 0, "\(inSpeech.froms)")
    }

    @Test func aPhraseThatRepeatsTheOneBeforeAPauseIsNotTakenForIt() throws {
        var live = LiveCaptions()
        let open = (itemID: "item_1", start: 0)
        let audio = TestAudio(pauseEnd: { $0.contains(1500 * ms) ? 1500 * ms : nil })
        var shown: [String] = []
        for end in stride(from: 100 * ms, through: 3500 * ms, by: 100 * ms) {
            for job in jobs(live.tick(open: open, audioEnd: end, audio: audio)) {
                // Before the pause at 1.5 s: "It was the season of light."; after it, the next phrase.
                let text = job.from < 1500 * ms ? "It was the season of light." : "It was the season of"
                shown += partials(live.decoded(job: job, text: text)).map(\.text)
            }
        }
        #expect(shown.last == "It was the season of light. It was the season of", "\(shown)")
    }

    @Test func aTurnThatFollowsCloselyIsFirstDecodedAfterTheLastOnesWords() throws {
        var live = LiveCaptions()
        // Turn 1: "Ask not." from 3000 ms; its final comes at 5000.
        let one = try #require(
            jobs(live.tick(open: ("item_1", 3000 * ms), audioEnd: 3700 * ms, audio: TestAudio())).first)
        _ = live.decoded(job: one, text: "As not.")
        live.finalShown(itemID: "item_1", text: "Ask not.")
        // Turn 2 starts 2.2 s after turn 1's tail: decoded from there, its words dropped.
        let open = (itemID: "item_2", start: 5200 * ms)
        let two = try #require(jobs(live.tick(open: open, audioEnd: 5800 * ms, audio: TestAudio())).first)
        #expect(two.from == 3000 * ms && two.context == "Ask not.", "the final's words, not the last partial's")
        let shown = partials(live.decoded(job: two, text: "Ask not what your country"))
        #expect(shown.map(\.text) == ["What your country"], "the last turn's words dropped")
        // Once words show, the turn's own audio only.
        let three = try #require(jobs(live.tick(open: open, audioEnd: 6200 * ms, audio: TestAudio())).first)
        #expect(three.from == 5200 * ms && three.context == nil)
    }

    @Test func aTurnWhoseTailSettledLastGivesContextFromWhereItsWordsWereHeard() throws {
        var live = LiveCaptions()
        // Turn 1 from 0, heard as "And so my fellow Americans" by decodes from 0, the last ending
        // inside a pause (1.5–2.1 s); the tail settles at 2.1 s when the next decode is due
        // (2.5 s), too soon after it for a decode of its own before the final comes.
        let audio = TestAudio(pauses: [1500 * ms..<2100 * ms], pauseEnd: { $0.contains(2100 * ms) ? 2100 * ms : nil })
        for end in stride(from: 100 * ms, through: 2500 * ms, by: 100 * ms) {
            for job in jobs(live.tick(open: ("item_1", 0), audioEnd: end, audio: audio)) {
                #expect(job.from == 0)
                _ = live.decoded(job: job, text: "And so my fellow Americans")
            }
        }
        live.finalShown(itemID: "item_1", text: "And so my fellow Americans.")
        // Turn 2 from 2.5 s: its context is the audio those words were heard in, from 0; the
        // settled tail from 2.1 s holds none of them.
        let two = try #require(
            jobs(live.tick(open: ("item_2", 2500 * ms), audioEnd: 3100 * ms, audio: TestAudio())).first)
        #expect(two.from == 0 && two.context == "And so my fellow Americans.", "from \(two.from / ms) ms")
    }

    /// Live captions after a turn "item_1" from 0 whose one decode heard "And so my fellow
    /// Americans." and whose final has been shown.
    func afterATurn() throws -> LiveCaptions {
        var live = LiveCaptions()
        let one = try #require(jobs(live.tick(open: ("item_1", 0), audioEnd: 700 * ms, audio: TestAudio())).first)
        _ = live.decoded(job: one, text: "And so my fellow Americans.")
        live.finalShown(itemID: "item_1", text: "And so my fellow Americans.")
        return live
    }

    @Test func contextThatIsNotThereOrTooFarBackIsNotUsed() throws {
        var live = try afterATurn()
        let two = try #require(
            jobs(live.tick(open: ("item_2", 1500 * ms), audioEnd: 2100 * ms, audio: TestAudio())).first)
        #expect(two.context != nil)
        // The decode did not hear the last turn's words: it cannot be split, nothing is shown.
        #expect(partials(live.decoded(job: two, text: "Something else entirely here")).isEmpty)
        let retry = try #require(
            jobs(live.tick(open: ("item_2", 1500 * ms), audioEnd: 2500 * ms, audio: TestAudio())).first)
        #expect(retry.context == nil && retry.from == 1500 * ms, "not again: the turn's own audio")
        #expect(partials(live.decoded(job: retry, text: "Something else")).map(\.text) == ["Something else"])
        // 2.6 s after the last tail: too far back to be context.
        var later = try afterATurn()
        let far = try #require(
            jobs(later.tick(open: ("item_2", 2600 * ms), audioEnd: 3200 * ms, audio: TestAudio())).first)
        #expect(far.context == nil && far.from == 2600 * ms)
        #expect(LiveCaptions.after("", in: "words") == nil && LiveCaptions.after("a b c", in: "a") == nil)
        #expect(LiveCaptions.after("words", in: "") == nil)
        let huge = String(repeating: "la ", count: 100_000)
        #expect(LiveCaptions.after(huge, in: huge + "end")?.hasSuffix("la end") == true)
    }

    @Test func aDroppedDecodeDoesNotEndContext() throws {
        var live = try afterATurn()
        let open = (itemID: "item_2", start: 1500 * ms)
        let two = try #require(jobs(live.tick(open: open, audioEnd: 2100 * ms, audio: TestAudio())).first)
        #expect(two.context != nil)
        // Replaced by a newer decode before it ran: nothing was heard, nothing failed to split.
        #expect(live.decoded(job: two, text: nil).isEmpty)
        let again = try #require(jobs(live.tick(open: open, audioEnd: 2500 * ms, audio: TestAudio())).first)
        #expect(again.context == "And so my fellow Americans." && again.from == 0)
    }

    @Test func wordsTheLastTurnSaidAfterItsLastDecodeAreNotTakenForTheNextOnes() throws {
        /// Turn 1 from 1 s, decoded once to 2.5 s ("And so my fellow"); its final has not come
        /// when turn 2 opens at 3.2 s.
        func nextTurnsFirstJob(_ audio: TestAudio) throws -> LiveCaptions.Job {
            var live = LiveCaptions()
            let one = try #require(
                jobs(live.tick(open: ("item_1", 1000 * ms), audioEnd: 2500 * ms, audio: TestAudio())).first)
            _ = live.decoded(job: one, text: "And so my fellow")
            return try #require(jobs(live.tick(open: ("item_2", 3200 * ms), audioEnd: 3800 * ms, audio: audio)).first)
        }
        // "Americans" went on until 3 s: a decode from 1 s would hear it, and it is not in the
        // context's words, so it would be shown as turn 2's first word.
        let spokeOn = try nextTurnsFirstJob(TestAudio(pauses: [3000 * ms..<3200 * ms]))
        #expect(spokeOn.context == nil && spokeOn.from == 3200 * ms)
        // Quiet from where the last decode ended: its words are all the last turn said.
        let heardAll = try nextTurnsFirstJob(TestAudio(pauses: [2500 * ms..<3200 * ms]))
        #expect(heardAll.context == "And so my fellow" && heardAll.from == 1000 * ms)
    }

    @Test func audioTheRecognizerHearsNothingInIsSkippedSoDecodesStayShort() throws {
        // A minute the backend holds as one turn (a cloud turn may run that long) of noise the
        // recognizer returns nothing for; once with a cough heard as "Hmm." first.
        for first in ["", "Hmm."] {
            var live = LiveCaptions()
            let open = (itemID: "item_1", start: 0)
            let audio = TestAudio(onset: 0, cut: { ($0.lowerBound + $0.upperBound) / 2 })
            var lengths: [Int] = []
            var shown: [String] = []
            for end in stride(from: 100 * ms, through: 60_000 * ms, by: 50 * ms) {
                for job in jobs(live.tick(open: open, audioEnd: end, audio: audio)) {
                    shown += partials(live.decoded(job: job, text: lengths.isEmpty ? first : "")).map(\.text)
                    lengths.append(job.to - job.from)
                }
            }
            let longest = (lengths.max() ?? 0) / ms
            #expect(lengths.count > 60, "decodes go on: \(lengths.count)")
            #expect(longest <= 3800, "every decode as short as in speech: \(longest) ms")
            #expect(lengths.count <= 60_000 / 700 + 8, "one per 700 ms after the first 2 s: \(lengths.count)")
            #expect(shown == (first.isEmpty ? [] : [first]), "what was shown stays: \(shown)")
        }
    }

    @Test func aTurnThatReachesBackOverAPauseIsDecodedFromWhereSpeechStarts() throws {
        var live = LiveCaptions()
        let open = (itemID: "item_1", start: 0)
        let speech = 2000 * ms
        // The turn opened at 0, speech began at 2 s: nothing is decoded before 2.45 s of audio.
        #expect(live.tick(open: open, audioEnd: 2400 * ms, audio: TestAudio(onset: speech)).isEmpty)
        let job = try #require(jobs(live.tick(open: open, audioEnd: 2500 * ms, audio: TestAudio(onset: speech))).first)
        #expect(job.from == 1850 * ms, "150 ms before the speech, not the turn's start")
        // A turn that opens on its first word: the lead reaches back before the turn.
        var tight = LiveCaptions()
        let onWord = try #require(
            jobs(tight.tick(open: ("item_2", 5000 * ms), audioEnd: 5600 * ms, audio: TestAudio(onset: 5000 * ms))).first
        )
        #expect(onWord.from == 4850 * ms)
    }

    @Test func aPauseIsNotDecodedAgain() throws {
        var live = LiveCaptions()
        let open = (itemID: "item_1", start: 0)
        let audio = TestAudio(pauses: [1000 * ms..<3000 * ms])
        let a = try #require(jobs(live.tick(open: open, audioEnd: 700 * ms, audio: audio)).first)
        _ = live.decoded(job: a, text: "hello")
        let b = try #require(
            jobs(live.tick(open: open, audioEnd: 1400 * ms, audio: audio)).first, "700 ms to 1.4 s still has speech")
        _ = live.decoded(job: b, text: "hello there")
        #expect(
            live.tick(open: open, audioEnd: 2100 * ms, audio: audio).isEmpty, "only silence since: nothing new to read")
        #expect(live.tick(open: open, audioEnd: 2900 * ms, audio: audio).isEmpty)
        #expect(jobs(live.tick(open: open, audioEnd: 3300 * ms, audio: audio)).count == 1, "speech again")
    }

    @Test func staleResultsAreDroppedAndTheFinalEndsPartials() throws {
        var live = LiveCaptions()
        let first = try #require(jobs(live.tick(open: ("item_1", 0), audioEnd: 700 * ms, audio: TestAudio())).first)
        // The next turn opens before the decode is back: its result is stale.
        let next = jobs(live.tick(open: ("item_2", 800 * ms), audioEnd: 1500 * ms, audio: TestAudio()))
        #expect(partials(live.decoded(job: first, text: "old words")).isEmpty)
        let job = try #require(next.first)
        #expect(job.itemID == "item_2")
        // The final for item 2 is shown: a late result does not bring its partial back.
        live.finalShown(itemID: "item_2")
        #expect(partials(live.decoded(job: job, text: "late")).isEmpty)
        #expect(live.tick(open: ("item_2", 800 * ms), audioEnd: 3000 * ms, audio: TestAudio()).isEmpty)
        // A dropped decode (nil) frees the slot without showing anything.
        let third = try #require(
            jobs(live.tick(open: ("item_3", 3000 * ms), audioEnd: 3700 * ms, audio: TestAudio())).first)
        #expect(live.decoded(job: third, text: nil).isEmpty)
        #expect(!live.isDecoding)
    }

    @Test func unchangedOrEmptyTextShowsNothingNew() throws {
        var live = LiveCaptions()
        let open = (itemID: "item_1", start: 0)
        let a = try #require(jobs(live.tick(open: open, audioEnd: 700 * ms, audio: TestAudio())).first)
        #expect(partials(live.decoded(job: a, text: "")).isEmpty)
        // Nothing shown yet: the next decode comes sooner.
        let b = try #require(jobs(live.tick(open: open, audioEnd: 1050 * ms, audio: TestAudio())).first)
        #expect(partials(live.decoded(job: b, text: "hello")).count == 1)
        let c = try #require(jobs(live.tick(open: open, audioEnd: 1750 * ms, audio: TestAudio())).first)
        #expect(partials(live.decoded(job: c, text: "hello")).isEmpty)
    }

    @Test func aRecognizerLoopingOnAFragmentShowsNothing() throws {
        var live = LiveCaptions()
        let open = (itemID: "item_1", start: 0)
        let a = try #require(jobs(live.tick(open: open, audioEnd: 700 * ms, audio: TestAudio())).first)
        #expect(partials(live.decoded(job: a, text: "As as as as as as as as")).isEmpty, "a word three times in a row")
        let b = try #require(jobs(live.tick(open: open, audioEnd: 1050 * ms, audio: TestAudio())).first)
        let tooMany = Array(repeating: "one two three", count: 4).joined(separator: " ")
        #expect(partials(live.decoded(job: b, text: tooMany)).isEmpty, "12 words in 1.05 s: faster than speech")
        let c = try #require(jobs(live.tick(open: open, audioEnd: 1400 * ms, audio: TestAudio())).first)
        #expect(partials(live.decoded(job: c, text: "ask not")).map(\.text) == ["ask not"])
        // Huge and odd values do not trap.
        #expect(!LiveCaptions.plausible(String(repeating: "la ", count: 100_000), samples: Int.max / 8))
        #expect(!LiveCaptions.plausible("words", samples: -5) && !LiveCaptions.plausible("", samples: 24_000))
        #expect(LiveCaptions.plausible("it was, it was the best", samples: 2 * 24_000), "a repeat, not a loop")
        // A phrase looped: the second copy goes.
        #expect(
            LiveCaptions.unlooped("It was the age of wisdom. It was the age of wisdom. It was the age of")
                == "It was the age of wisdom. It was the age of")
        #expect(LiveCaptions.unlooped("it was, it was the best") == "it was, it was the best", "two words: speech")
        #expect(LiveCaptions.unlooped("") == "" && LiveCaptions.unlooped("a b c a b") == "a b c a b")
        // A comma looped: one stays; other punctuation (an ellipsis) is the recognizer's own.
        #expect(LiveCaptions.unlooped("In short,, the period") == "In short, the period")
        #expect(LiveCaptions.unlooped("so,,,,, it was the...") == "so, it was the...")
        #expect(LiveCaptions.unlooped(",, ,") == ", ,")
        let long = String(repeating: "la la la ", count: 100)
        #expect(LiveCaptions.unlooped(long) == long, "past 200 words: as it is")
    }
}

/// The live recognizer's scheduling: finals first, stale partials dropped.
@Suite struct LiveDecodeQueueTests {
    @Test func aNewerDecodeReplacesTheWaitingOneOfItsSource() {
        var queue = LiveDecodeQueue<String>()
        #expect(queue.submit("a1", source: 1) == nil)
        #expect(queue.submit("b1", source: 2) == nil)
        #expect(queue.submit("a2", source: 1) == "a1", "the stale one comes back to be answered as dropped")
        #expect(queue.count == 2)
        #expect(queue.next(finalsWaiting: false) == "b1", "oldest first across sources")
        #expect(queue.next(finalsWaiting: false) == "a2")
        #expect(queue.next(finalsWaiting: false) == nil)
    }

    @Test func nothingStartsWhileAFinalWaits() {
        var queue = LiveDecodeQueue<Int>()
        _ = queue.submit(7, source: 1)
        #expect(queue.next(finalsWaiting: true) == nil)
        #expect(queue.count == 1, "kept, not dropped, while finals go first")
        #expect(queue.next(finalsWaiting: false) == 7)
        _ = queue.submit(8, source: 3)
        #expect(queue.removeAll() == [8])
        #expect(queue.isEmpty)
    }
}
