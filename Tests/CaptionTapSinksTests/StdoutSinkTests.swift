// swift-format-ignore-file: OnlyOneTrailingClosureArgument

// (each test passes the sink to build, then what to write to it, as `capture(make) { sink in … }`)
import CaptionTapCore
import CaptionTapSinks
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite struct StdoutSinkTests {
    private func partial(_ text: String, item: String = "i1") -> Caption {
        Caption(text: text, isFinal: false, itemID: item, responseID: nil, startMs: 0, endMs: 0)
    }

    private func final(_ text: String, item: String = "i1") -> Caption {
        Caption(text: text, isFinal: true, itemID: item, responseID: "r", startMs: 100, endMs: 900)
    }

    /// Runs `body` with a sink writing into a pipe and returns everything written.
    private func capture(_ makeSink: (Int32) -> StdoutSink, _ body: (StdoutSink) -> Void) -> (String, StdoutSink) {
        let pipe = Descriptors.pipe()
        defer { close(pipe.read) }
        let sink = makeSink(pipe.write)
        body(sink)
        sink.close()
        close(pipe.write)
        return (Descriptors.readAvailableString(pipe.read), sink)
    }

    @Test func textNotOnATerminalPrintsOnlyFinals() {
        let (out, sink) = capture({ StdoutSink(fileDescriptor: $0, format: .text, isTerminal: false) }) { sink in
            sink.caption(partial("hel"))
            sink.caption(partial("hello wor"))
            sink.caption(final("hello world"))
            sink.caption(partial("sec", item: "i2"))
            sink.caption(final("second\nline", item: "i2"))
        }
        #expect(out == "hello world\nsecond line\n")
        #expect(!out.contains("\u{1B}") && !out.contains("\r"))
        #expect(sink.writtenLines == 2 && sink.droppedLines == 0)
    }

    @Test func textOnATerminalRewritesThePartialInPlace() {
        let (out, sink) = capture({ StdoutSink(fileDescriptor: $0, format: .text, isTerminal: true) }) { sink in
            sink.caption(partial("hel"))
            sink.caption(partial("hello"))
            sink.caption(partial("hello"))  // unchanged: not redrawn
            sink.caption(final("hello world"))
            sink.caption(partial("n", item: "i2"))
            sink.caption(final("next", item: "i2"))
        }
        #expect(out == "\rhel\u{1B}[K\rhello\u{1B}[K\rhello world\u{1B}[K\n\rn\u{1B}[K\rnext\u{1B}[K\n")
        #expect(sink.writtenLines == 5)
    }

    @Test func closeEndsALeftoverPartialLineOnATerminal() {
        let (out, _) = capture({ StdoutSink(fileDescriptor: $0, isTerminal: true) }) { sink in
            sink.caption(partial("unfinished"))
        }
        #expect(out == "\runfinished\u{1B}[K\n")
    }

    @Test func emptyFinalsPrintNoBlankLines() {
        let (piped, _) = capture({ StdoutSink(fileDescriptor: $0, isTerminal: false) }) { sink in
            sink.caption(final(" \n"))
            sink.caption(final("words"))
        }
        #expect(piped == "words\n")
        let (onTerminal, _) = capture({ StdoutSink(fileDescriptor: $0, isTerminal: true) }) { sink in
            sink.caption(partial("uh"))
            sink.caption(final(""))
            sink.caption(final(""))
        }
        #expect(onTerminal == "\ruh\u{1B}[K\r\u{1B}[K", "the partial is wiped, no newline added")
    }

    @Test func anEmptyPartialTakesDownOnlyItsOwnTurnsPartial() {
        // A turn without words (a cough heard as "Hmm." live) settles with an empty partial.
        let (out, _) = capture({ StdoutSink(fileDescriptor: $0, isTerminal: true) }) { sink in
            sink.caption(partial("Hmm.", item: "i1"))
            sink.caption(partial("", item: "i1"))
            sink.caption(partial("Ask not", item: "i2"))
            sink.caption(partial("", item: "i1"))  // the next turn's partial stays
        }
        #expect(out == "\rHmm.\u{1B}[K\r\u{1B}[K\rAsk not\u{1B}[K\n")
    }

    @Test func sourceLabelPrefixesTextLines() {
        let (out, _) = capture({ StdoutSink(fileDescriptor: $0, sourceLabel: "mic", isTerminal: false) }) { sink in
            sink.caption(final("hi"))
        }
        #expect(out == "[mic] hi\n")
    }

    @Test func jsonlWithoutPartialsWritesFinalsOnly() throws {
        let (out, _) = capture({ StdoutSink(fileDescriptor: $0, format: .jsonl, isTerminal: true) }) { sink in
            sink.caption(partial("hel"))
            sink.caption(final("hello"))
        }
        let lines = out.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 2 && lines[1].isEmpty)
        #expect(String(lines[0]) == CaptionFormat.jsonLine(final("hello")))
        #expect(!out.contains("\r"))
    }

    @Test func jsonlWithPartialsWritesEverythingWithTheSource() throws {
        let (out, _) = capture({
            StdoutSink(
                fileDescriptor: $0, format: .jsonl, includePartials: true, sourceLabel: "desk",
                isTerminal: false)
        }) { sink in
            sink.caption(partial("hel"))
            sink.caption(final("hello"))
        }
        #expect(
            out == CaptionFormat.jsonLine(partial("hel"), source: "desk") + "\n"
                + CaptionFormat.jsonLine(final("hello"), source: "desk") + "\n")
        for line in out.split(separator: "\n") {
            let json = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(json?["source"] as? String == "desk")
        }
    }

    @Test func aVanishedReaderIsCountedNotFatal() {
        signal(SIGPIPE, SIG_IGN)  // as the CLI does; without it EPIPE would be a SIGPIPE death
        let pipe = Descriptors.pipe()
        close(pipe.read)
        defer { close(pipe.write) }
        let sink = StdoutSink(fileDescriptor: pipe.write, format: .jsonl, isTerminal: false)
        sink.caption(final("one"))
        sink.caption(final("two"))
        #expect(sink.droppedLines == 2)
        #expect(sink.writtenLines == 0)
        #expect(sink.readerGone)
        #expect(sink.lastErrno == EPIPE)
    }

    @Test func aFullNonBlockingPipeDropsInsteadOfBlocking() {
        let pipe = Descriptors.pipe()
        defer {
            close(pipe.read)
            close(pipe.write)
        }
        Descriptors.setNonBlocking(pipe.write)
        let chunk = [UInt8](repeating: 0x61, count: 4096)
        while chunk.withUnsafeBytes({ write(pipe.write, $0.baseAddress!, $0.count) }) > 0 {}
        #expect(errno == EAGAIN)
        let sink = StdoutSink(fileDescriptor: pipe.write, format: .text, isTerminal: false)
        sink.caption(final("lost"))
        #expect(sink.droppedLines == 1)
        #expect(sink.lastErrno == EAGAIN)
        #expect(!sink.readerGone)
    }

    @Test func isTerminalFollowsIsattyWhenNotOverridden() {
        let pipe = Descriptors.pipe()
        defer {
            close(pipe.read)
            close(pipe.write)
        }
        #expect(StdoutSink(fileDescriptor: pipe.write).isTerminal == false)
    }
}
