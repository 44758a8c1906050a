import CaptionTapCore
import CaptionTapSinks
import Foundation
import TestSupport
import Testing

@Suite struct SubtitleFileSinkTests {
    private func final(_ text: String, _ startMs: Int, _ endMs: Int) -> Caption {
        Caption(text: text, isFinal: true, itemID: "item", responseID: nil, startMs: startMs, endMs: endMs)
    }

    /// A run with everything awkward: partials, overlaps, an inverted cue, empty finals, markup, newlines.
    private var script: [Caption] {
        [
            Caption(text: "Hel", isFinal: false, itemID: "a", responseID: nil, startMs: 1000, endMs: 0),
            final("Hello there.", 1000, 3000),
            final("Overlapping start.", 2500, 4000),
            final("   ", 4000, 4500),
            final("Inverted <b>times</b> & more", 5000, 4000),
            final("Entirely inside the previous cue", 4500, 4600),
            Caption(text: "Two", isFinal: false, itemID: "b", responseID: nil, startMs: 6000, endMs: 0),
            final("Two\nlines", 6000, 7000),
            final("", 7000, 8000),
            final("An hour later", 3_600_000, 3_601_500),
        ]
    }

    private func parse(_ content: String, _ format: SubtitleFileSink.Format) throws -> [SubtitleParser.Cue] {
        switch format {
        case .srt: try SubtitleParser.parseSRT(content)
        case .vtt: try SubtitleParser.parseVTT(content)
        }
    }

    @Test(arguments: SubtitleFileSink.Format.allCases)
    func fileIsValidAfterEveryCaption(_ format: SubtitleFileSink.Format) throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("out.\(format.rawValue)")
        let sink = try SubtitleFileSink(path: path, format: format)
        #expect(try parse(try #require(Descriptors.fileString(path)), format).isEmpty)

        var expectedCount = 0
        for caption in script {
            sink.caption(caption)
            if caption.isFinal && !caption.text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                expectedCount += 1
            }
            let cues = try parse(try #require(Descriptors.fileString(path)), format)
            #expect(cues.count == expectedCount)
            #expect(sink.cueCount == expectedCount)
            #expect(cues.map(\.index) == (0..<cues.count).map { Optional($0 + 1) }, "numbered 1, 2, 3…")
            var previousEnd = 0
            for cue in cues {
                #expect(cue.startMs >= previousEnd, "cue \(cue) starts before the previous end")
                #expect(cue.endMs > cue.startMs, "cue \(cue) does not end after it starts")
                previousEnd = cue.endMs
            }
        }
        sink.close()
        #expect(sink.droppedCues == 0)
    }

    @Test(arguments: SubtitleFileSink.Format.allCases)
    func overlapsAndInversionsAreFixed(_ format: SubtitleFileSink.Format) throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("out.\(format.rawValue)")
        let sink = try SubtitleFileSink(path: path, format: format)
        script.forEach(sink.caption)
        sink.close()
        let cues = try parse(try #require(Descriptors.fileString(path)), format)
        #expect(
            cues.map { [$0.startMs, $0.endMs] } == [
                [1000, 3000],  // as given
                [3000, 4000],  // started at 2500, inside the previous cue: moved to its end
                [5000, 5001],  // ended before it started: 1 ms long
                [5001, 5002],  // wholly inside the previous: moved after it, 1 ms long
                [6000, 7000],
                [3_600_000, 3_601_500],
            ])
        let texts = cues.map(\.text)
        #expect(texts[4] == "Two lines")
        #expect(
            texts[2]
                == (format == .vtt
                    ? "Inverted &lt;b&gt;times&lt;/b&gt; &amp; more" : "Inverted <b>times</b> & more"))
    }

    @Test func srtFileIsExact() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("out.srt")
        let sink = try SubtitleFileSink(path: path, format: .srt)
        sink.caption(final("Hello there.", 1200, 3100))
        sink.caption(final("Second", 3000, 3_600_000))
        sink.close()
        #expect(
            Descriptors.fileString(path) == """
                1
                00:00:01,200 --> 00:00:03,100
                Hello there.

                2
                00:00:03,100 --> 01:00:00,000
                Second


                """)
    }

    @Test func cuesOfTwoSourcesMayOverlapEachSourcesStayInOrder() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("two.srt")
        let sink = try SubtitleFileSink(path: path, format: .srt)
        func from(_ source: String, _ text: String, _ start: Int, _ end: Int) -> Caption {
            var c = final(text, start, end)
            c.source = source
            return c
        }
        sink.caption(from("mic", "A long one.", 0, 5000))
        sink.caption(from("app", "Said meanwhile.", 2000, 4000))  // written later, spoken inside A
        sink.caption(from("mic", "Mic again.", 4500, 6000))  // its own source's last ended at 5000
        sink.close()
        let cues = try SubtitleParser.parseSRT(try #require(Descriptors.fileString(path)))
        #expect(cues.map(\.startMs) == [0, 2000, 5000])
        #expect(cues.map(\.endMs) == [5000, 4000, 6000], "a cue of the other source is not squeezed to 1 ms")
    }

    @Test func vttFileIsExactAndHasItsHeaderFromTheStart() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("out.vtt")
        let sink = try SubtitleFileSink(path: path, format: .vtt)
        #expect(Descriptors.fileString(path) == "WEBVTT\n\n")
        sink.caption(final("Hello", 0, 999))
        #expect(Descriptors.fileString(path) == "WEBVTT\n\n1\n00:00:00.000 --> 00:00:00.999\nHello\n\n")
        sink.close()
    }

    @Test func fixTimesRules() {
        #expect(SubtitleFileSink.fixTimes(startMs: 100, endMs: 200, previousEndMs: 50) == (100, 200))
        #expect(SubtitleFileSink.fixTimes(startMs: 100, endMs: 200, previousEndMs: 150) == (150, 200))
        #expect(SubtitleFileSink.fixTimes(startMs: 100, endMs: 100, previousEndMs: 0) == (100, 101))
        #expect(SubtitleFileSink.fixTimes(startMs: 100, endMs: 120, previousEndMs: 300) == (300, 301))
        #expect(SubtitleFileSink.fixTimes(startMs: -40, endMs: -10, previousEndMs: 0) == (0, 1))
    }

    @Test func initThrowsWhenTheFileCannotBeCreated() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("missing/dir/out.srt")
        let error = #expect(throws: SinkError.self) { try SubtitleFileSink(path: path, format: .srt) }
        #expect(error?.description.contains(path) == true)
        guard case .fileFailed = error else {
            Issue.record("expected .fileFailed, got \(String(describing: error))")
            return
        }
    }

    @Test func aPipeWithoutAReaderIsAnErrorNotAHangAndAFullOneDropsCues() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("pipe.srt")
        #expect(mkfifo(path, 0o600) == 0)
        // No reader: opening used to block for ever.
        let error = #expect(throws: SinkError.self) { try SubtitleFileSink(path: path, format: .srt) }
        #expect(error?.description.contains("nothing is reading it") == true, "\(String(describing: error))")
        // A reader that never reads: cues are dropped and counted, captioning goes on.
        let reader = open(path, O_RDONLY | O_NONBLOCK)
        defer { close(reader) }
        let sink = try SubtitleFileSink(path: path, format: .srt)
        let text = String(repeating: "word ", count: 2000)
        for i in 0..<40 { sink.caption(final(text, i * 1000, i * 1000 + 900)) }
        #expect(sink.droppedCues > 0 && sink.cueCount > 0, "\(sink.cueCount) written, \(sink.droppedCues) dropped")
        sink.close()
        // What reached the pipe is whole cues only: each kept to what a pipe writes at once.
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(reader, &buffer, buffer.count)
            guard n > 0 else { break }
            received += buffer[..<n]
        }
        let cues = try SubtitleParser.parseSRT(String(decoding: received, as: UTF8.self))
        #expect(cues.count == sink.cueCount && cues.allSatisfy { $0.text.hasSuffix("…") }, "\(cues.count) cues")
    }
}
