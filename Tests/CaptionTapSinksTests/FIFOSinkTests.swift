import CaptionTapCore
import CaptionTapSinks
import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite struct FIFOSinkTests {
    private func final(_ text: String) -> Caption {
        Caption(text: text, isFinal: true, itemID: "item", responseID: nil, startMs: 0, endMs: 10)
    }

    @Test func createsAPrivateFIFO() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("captions.fifo")
        let sink = try FIFOSink(path: path)
        defer { sink.close() }
        var info = stat()
        #expect(stat(path, &info) == 0)
        #expect(info.st_mode & S_IFMT == S_IFIFO)
        #expect(info.st_mode & 0o777 == 0o600)
        // An existing FIFO is reused, not an error.
        let again = try FIFOSink(path: path)
        again.close()
    }

    @Test func refusesAPathThatIsNotAFIFO() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("regular.txt")
        #expect(FileManager.default.createFile(atPath: path, contents: Data("keep me".utf8)))
        let error = #expect(throws: SinkError.self) { try FIFOSink(path: path) }
        #expect(error == .notAFIFO(path: path))
        #expect(error?.description.contains(path) == true)
        #expect(Descriptors.fileString(path) == "keep me", "the file must be left alone")

        let missingDirectory = dir.file("nope/captions.fifo")
        let other = #expect(throws: SinkError.self) { try FIFOSink(path: missingDirectory) }
        #expect(other?.description.contains(missingDirectory) == true)
    }

    @Test func linksAreNeverFollowedAndAWideModeIsNarrowed() throws {
        let dir = try TemporaryDirectory()
        // A dangling link used to make start-up spin (stat ENOENT, mkfifo EEXIST) forever.
        let dangling = dir.file("dangling.fifo")
        #expect(symlink(dir.file("nowhere"), dangling) == 0)
        let loop = #expect(throws: SinkError.self) { try FIFOSink(path: dangling) }
        #expect(loop?.description.contains("symbolic link") == true, "\(String(describing: loop))")
        #expect(!FileManager.default.fileExists(atPath: dir.file("nowhere")), "nothing created through the link")
        // A link to a real FIFO is refused too: the reader of the target might not be the user.
        let target = dir.file("target.fifo")
        #expect(mkfifo(target, 0o600) == 0)
        let linked = dir.file("linked.fifo")
        #expect(symlink(target, linked) == 0)
        #expect(throws: SinkError.self) { try FIFOSink(path: linked) }
        // Our own FIFO left world-readable is made private before any caption goes in.
        let wide = dir.file("wide.fifo")
        #expect(mkfifo(wide, 0o600) == 0)
        #expect(chmod(wide, 0o666) == 0)
        let sink = try FIFOSink(path: wide)
        sink.close()
        var info = stat()
        #expect(lstat(wide, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o600)
    }

    @Test func anotherUsersFIFOIsRefused() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("theirs.fifo")
        #expect(mkfifo(path, 0o600) == 0)
        // As root (tests run as root in CI) hand it to nobody; otherwise chown fails and the check
        // cannot be made here, which the expectation below would then show.
        try #require(chown(path, 65534, 65534) == 0, "needs root to make a FIFO owned by another user")
        let error = #expect(throws: SinkError.self) { try FIFOSink(path: path) }
        #expect(error?.description.contains("another user") == true, "\(String(describing: error))")
    }

    @Test func aFIFOReplacedWhileRunningIsCheckedAgainBeforeAnyCaption() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("f")
        let sink = try FIFOSink(path: path)
        defer { sink.close() }
        // Replaced by another user's FIFO, with a reader waiting on it: nothing is written to it.
        #expect(unlink(path) == 0 && mkfifo(path, 0o666) == 0)
        try #require(chown(path, 65534, 65534) == 0, "needs root to make a FIFO owned by another user")
        let theirs = Descriptors.openFIFOReader(path)
        sink.caption(final("secret"))
        #expect(Descriptors.readAvailableString(theirs).isEmpty)
        #expect(sink.droppedLines == 1 && sink.lastErrno == EPERM)
        close(theirs)
        // Replaced by our own FIFO made world-readable: narrowed to 0600, then written.
        #expect(unlink(path) == 0 && mkfifo(path, 0o600) == 0 && chmod(path, 0o666) == 0)
        let ours = Descriptors.openFIFOReader(path)
        defer { close(ours) }
        sink.caption(final("line"))
        var info = stat()
        #expect(lstat(path, &info) == 0 && info.st_mode & 0o777 == 0o600)
        #expect(Descriptors.readAvailableString(ours) == "line\n" && sink.writtenLines == 1)
    }

    @Test func withoutAReaderLinesAreDroppedAndCounted() throws {
        let dir = try TemporaryDirectory()
        let sink = try FIFOSink(path: dir.file("f"))
        defer { sink.close() }
        let started = ContinuousClock.now
        for i in 0..<50 { sink.caption(final("line \(i)")) }
        sink.caption(Caption(text: "partial", isFinal: false, itemID: "x", responseID: nil, startMs: 0, endMs: 0))
        #expect(sink.droppedLines == 50, "partials are not lines, so not losses either")
        #expect(sink.writtenLines == 0)
        #expect(sink.lastErrno == ENXIO)
        #expect(!sink.isConnected)
        #expect(ContinuousClock.now - started < .seconds(5))
    }

    @Test func aLateReaderGetsTheFollowingLines() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("f")
        let sink = try FIFOSink(path: path, format: .jsonl, sourceLabel: "desk")
        defer { sink.close() }
        sink.caption(final("before"))
        let reader = Descriptors.openFIFOReader(path)
        defer { close(reader) }
        sink.caption(final("after one"))
        sink.caption(Caption(text: "partial", isFinal: false, itemID: "x", responseID: nil, startMs: 0, endMs: 0))
        sink.caption(final("after two"))
        let received = Descriptors.readAvailableString(reader)
        #expect(
            received == CaptionFormat.jsonLine(final("after one"), source: "desk") + "\n"
                + CaptionFormat.jsonLine(final("after two"), source: "desk") + "\n")
        #expect(sink.droppedLines == 1 && sink.writtenLines == 2)
    }

    @Test func aReaderLeavingIsCountedAndAReattachedReaderGetsLaterLines() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("f")
        let sink = try FIFOSink(path: path, format: .text)
        defer { sink.close() }

        let first = Descriptors.openFIFOReader(path)
        sink.caption(final("one"))
        #expect(Descriptors.readAvailableString(first) == "one\n")
        close(first)

        sink.caption(final("two"))  // EPIPE: must not raise SIGPIPE
        #expect(sink.droppedLines == 1)
        #expect(sink.lastErrno == EPIPE)
        #expect(!sink.isConnected)
        sink.caption(final("three"))  // no reader at all now: ENXIO
        #expect(sink.droppedLines == 2)

        let second = Descriptors.openFIFOReader(path)
        defer { close(second) }
        sink.caption(final("four"))
        sink.caption(final("  "))  // empty finals are no line in text format, and no loss
        #expect(Descriptors.readAvailableString(second) == "four\n")
        #expect(sink.writtenLines == 2)
        #expect(sink.droppedLines == 2)
    }

    @Test func aReaderThatNeverReadsMakesWritesDropNotBlock() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("f")
        let sink = try FIFOSink(path: path, format: .text)
        defer { sink.close() }
        let reader = Descriptors.openFIFOReader(path)
        defer { close(reader) }

        let text = String(repeating: "x", count: 4000)
        let started = ContinuousClock.now
        let total = 200  // 800 KB into a 64 KB pipe
        for _ in 0..<total { sink.caption(final(text)) }
        #expect(ContinuousClock.now - started < .seconds(5))
        #expect(sink.writtenLines > 0)
        #expect(sink.droppedLines > total / 2)
        #expect(sink.writtenLines + sink.droppedLines == total)
        #expect(sink.lastErrno == EAGAIN)
        #expect(sink.isConnected, "a full pipe is not a departed reader")

        // What did get through is whole lines only.
        let received = Descriptors.readAvailableString(reader)
        let lines = received.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == sink.writtenLines + 1 && lines.last == "")
        #expect(lines.dropLast().allSatisfy { $0 == text })

        // Once the reader catches up, lines flow again.
        sink.caption(final("again"))
        #expect(Descriptors.readAvailableString(reader) == "again\n")
    }

    @Test func overlongLinesAreCutToOneAtomicWriteAndStayValidJSON() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("f")
        let sink = try FIFOSink(path: path, format: .jsonl)
        defer { sink.close() }
        let reader = Descriptors.openFIFOReader(path)
        defer { close(reader) }

        let long = String(repeating: "é", count: 5000)  // 10 000 bytes of UTF-8
        let escaped = String(repeating: "\u{1}", count: 3000)  // 18 000 bytes once escaped
        sink.caption(final(long))
        sink.caption(final(escaped))
        sink.caption(final("short"))
        let lines = Descriptors.readAvailableString(reader).split(separator: "\n")
        try #require(lines.count == 3)
        for (line, original) in zip(lines, [long, escaped]) {
            #expect(line.utf8.count + 1 <= FIFOSink.maxLineBytes)
            let json = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let text = try #require(json["text"] as? String)
            #expect(text.hasSuffix("…"))
            #expect(original.hasPrefix(text.dropLast()))
            #expect(text.count > 100)
        }
        #expect(String(lines[2]) == CaptionFormat.jsonLine(final("short")))
        #expect(sink.writtenLines == 3)
    }
}
