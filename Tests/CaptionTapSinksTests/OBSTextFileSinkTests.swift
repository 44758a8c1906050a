import CaptionTapCore
import CaptionTapSinks
import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite struct OBSTextFileSinkTests {
    private func partial(_ text: String, _ item: String) -> Caption {
        Caption(text: text, isFinal: false, itemID: item, responseID: nil, startMs: 0, endMs: 0)
    }

    private func final(_ text: String, _ item: String) -> Caption {
        Caption(text: text, isFinal: true, itemID: item, responseID: nil, startMs: 0, endMs: 0)
    }

    @Test func showsTheLastLinesWithThePartialLastAndReplacesFilesAtomically() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("captions.txt")
        #expect(FileManager.default.createFile(atPath: path, contents: Data("stale from last run".utf8)))
        let sink = try OBSTextFileSink(path: path, lines: 2)
        #expect(Descriptors.fileString(path) == "", "stale text is cleared at start")

        let steps: [(Caption, String)] = [
            (partial("hel", "a"), "hel"),
            (partial("hello", "a"), "hello"),
            (final("hello there", "a"), "hello there"),
            (partial("how", "b"), "hello there\nhow"),
            (final("how are\nyou", "b"), "hello there\nhow are you"),
            (partial("fine", "c"), "how are you\nfine"),
            (final("fine thanks", "c"), "how are you\nfine thanks"),
            (final("and you?", "d"), "fine thanks\nand you?"),
        ]
        var previousInode = try #require(Descriptors.inode(path))
        for (caption, expected) in steps {
            sink.caption(caption)
            #expect(Descriptors.fileString(path) == expected)
            #expect(sink.currentText == expected)
            let inode = try #require(Descriptors.inode(path))
            #expect(inode != previousInode, "each rewrite must be a new file renamed over the old one")
            previousInode = inode
        }
        #expect(sink.rewrites == steps.count)
        #expect(sink.failedRewrites == 0)
        #expect(dir.contents() == ["captions.txt"], "no temporary files left behind")
        sink.close()
    }

    @Test func unchangedContentIsNotRewritten() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("c.txt")
        let sink = try OBSTextFileSink(path: path)
        sink.caption(partial("same", "a"))
        let inode = Descriptors.inode(path)
        sink.caption(partial("same", "a"))
        sink.caption(partial("", "b"))  // another turn's empty partial shows nothing new...
        sink.caption(final("", "b"))  // ...and neither does an empty final
        #expect(sink.rewrites == 1)
        #expect(Descriptors.inode(path) == inode && Descriptors.fileString(path) == "same")
        sink.caption(partial("", "a"))  // turn a had no words: its partial goes
        #expect(sink.rewrites == 2)
        #expect(Descriptors.inode(path) != inode)
        #expect(Descriptors.fileString(path) == "")
    }

    /// A sink of `lines` lines writing `c.txt` in a directory of its own (kept while `dir` lives).
    private func fileSink(lines: Int) throws -> (dir: TemporaryDirectory, path: String, sink: OBSTextFileSink) {
        let dir = try TemporaryDirectory()
        let path = dir.file("c.txt")
        return (dir, path, try OBSTextFileSink(path: path, lines: lines))
    }

    @Test func aFinalForAnotherItemKeepsTheCurrentPartial() throws {
        let (dir, path, sink) = try fileSink(lines: 3)
        defer { withExtendedLifetime(dir) {} }
        sink.caption(partial("second turn", "b"))
        sink.caption(final("first turn", "a"))
        #expect(Descriptors.fileString(path) == "first turn\nsecond turn")
        sink.caption(final("second turn done", "b"))
        #expect(Descriptors.fileString(path) == "first turn\nsecond turn done")
    }

    @Test func anEmptyPartialTakesDownOnlyItsOwnTurnsPartial() throws {
        let (dir, path, sink) = try fileSink(lines: 2)
        defer { withExtendedLifetime(dir) {} }
        sink.caption(final("first turn", "a"))
        sink.caption(partial("Hmm.", "b"))
        #expect(Descriptors.fileString(path) == "first turn\nHmm.")
        sink.caption(partial("", "b"))  // turn b had no words
        #expect(Descriptors.fileString(path) == "first turn")
        sink.caption(partial("Ask not", "c"))
        sink.caption(partial("", "b"))
        #expect(Descriptors.fileString(path) == "first turn\nAsk not", "another turn's partial stays")
    }

    @Test func oneLineShowsOnlyTheNewest() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("c.txt")
        let sink = try OBSTextFileSink(path: path, lines: 1)
        sink.caption(final("one", "a"))
        sink.caption(partial("tw", "b"))
        #expect(Descriptors.fileString(path) == "tw")
        sink.caption(final("two", "b"))
        #expect(Descriptors.fileString(path) == "two")
    }

    @Test func initThrowsWhenTheDirectoryIsMissing() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("missing/c.txt")
        let error = #expect(throws: SinkError.self) { try OBSTextFileSink(path: path) }
        #expect(error?.description.contains(path) == true)
    }

    /// A reader polling the file while it is rewritten hundreds of times must only ever see a
    /// complete state: every line whole (its length encoded in it), never an empty or cut file.
    @Test func aConcurrentReaderNeverSeesAPartialFile() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("c.txt")
        let sink = try OBSTextFileSink(path: path, lines: 3)
        sink.caption(final(Self.line(0), "0"))

        let state = ReaderState()
        let reader = Thread {
            while true {
                let done = state.isDone
                if let content = Descriptors.fileString(path) {
                    state.check(content)
                }
                if done { break }
            }
            state.finish()
        }
        reader.start()
        for i in 1...300 {
            sink.caption(i % 3 == 0 ? final(Self.line(i), "\(i)") : partial(Self.line(i), "\(i)"))
        }
        state.markDone()
        state.waitFinished()
        #expect(state.reads > 0)
        #expect(state.violations.isEmpty, "\(state.violations.prefix(3))")
        #expect(sink.failedRewrites == 0)
    }

    /// `"<n>:"` followed by a filler whose length depends on n, so a cut line is detectable.
    fileprivate static func line(_ n: Int) -> String {
        "\(n):" + String(repeating: "x", count: 500 + (n * 37) % 1500)
    }
}

/// Shared between the writing test and its reader thread, guarded by a lock.
private final class ReaderState: @unchecked Sendable {
    private let lock = NSCondition()
    private var done = false
    private var finished = false
    private var _reads = 0
    private var _violations: [String] = []

    var isDone: Bool { lock.withLock { done } }
    var reads: Int { lock.withLock { _reads } }
    var violations: [String] { lock.withLock { _violations } }

    func markDone() { lock.withLock { done = true } }

    func finish() {
        lock.withLock {
            finished = true
            lock.broadcast()
        }
    }

    func waitFinished() {
        lock.withLock {
            while !finished { lock.wait() }
        }
    }

    func check(_ content: String) {
        let lines = content.split(separator: "\n", omittingEmptySubsequences: false)
        var problem: String?
        if content.isEmpty {
            problem = "empty file"
        } else if lines.count > 3 {
            problem = "\(lines.count) lines"
        } else {
            for line in lines {
                guard let colon = line.firstIndex(of: ":"), let n = Int(line[..<colon]),
                    String(line) == OBSTextFileSinkTests.line(n)
                else {
                    problem = "cut line of \(line.count) characters"
                    break
                }
            }
        }
        lock.withLock {
            _reads += 1
            if let problem { _violations.append(problem) }
        }
    }
}
