import CaptionTapCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The last few caption lines in a small text file for OBS's Text source ("Read from file"), which
/// re-reads the file whenever its modification time changes: a live caption overlay for streams.
///
/// The file shows at most `lines` lines, oldest first, joined by `\n` with no trailing newline (OBS
/// would render it as an empty extra line): the latest finals, and while a turn is being spoken
/// its partial as the last line, taking the place of the oldest final. So the overlay keeps a
/// fixed height and a final simply settles its partial's line in place.
///
/// Every change rewrites the file atomically: the text goes to a temporary file in the same
/// directory, which is then `rename(2)`d over the target. OBS can read at any moment and must
/// never see an empty or half-written file; rename replaces the directory entry in one step (a new
/// inode each time), whereas rewriting in place would expose a truncated file between the
/// truncation and the write. Unchanged content is not rewritten.
///
/// Partials are tracked per item: a final for one turn does not erase the partial of the next when
/// the two interleave. Failures are counted in `failedRewrites`, never thrown.
/// Used from one thread at a time, like every `CaptionSink`.
public final class OBSTextFileSink: CaptionSink {
    public let path: String
    /// The most lines the file holds (at least 1).
    public let lines: Int

    /// What the file currently holds (after the last successful rewrite).
    public private(set) var currentText = ""
    /// Successful atomic rewrites.
    public private(set) var rewrites = 0
    /// Rewrites that failed (temporary file or rename); the old file stays in place.
    public private(set) var failedRewrites = 0
    /// The errno of the most recent failed rewrite.
    public private(set) var lastErrno: Int32?

    private var shown: ShownCaptions<String>
    private let temporaryPath: String

    /// Replaces whatever `path` holds with an empty file, so a stale caption from an earlier run is
    /// not shown; throws `SinkError.fileFailed` if that is impossible (missing directory, no
    /// permission), which also proves later rewrites can work.
    public init(path: String, lines: Int = 2) throws(SinkError) {
        self.path = path
        self.lines = max(1, lines)
        shown = ShownCaptions(keep: self.lines)
        let (directory, name) = PosixIO.splitPath(path)
        temporaryPath = directory + "/." + name + ".captiontap-\(getpid()).tmp"
        if let code = replaceFile(with: "") {
            throw .fileFailed(path: path, reason: PosixIO.describe(code))
        }
        rewrites = 0
    }

    public func caption(_ caption: Caption) {
        let text = CaptionFormat.singleLine(caption.text)
        shown.apply(caption, line: text.isEmpty ? nil : text)
        let content = shown.lines(lines).joined(separator: "\n")
        guard content != currentText else { return }
        if let code = replaceFile(with: content) {
            failedRewrites += 1
            lastErrno = code
        } else {
            currentText = content
        }
    }

    /// Nothing to flush: every rewrite is complete on disk. The last text stays on screen.
    public func close() {}

    /// Writes `content` to the temporary file and renames it over `path`; the errno on failure.
    private func replaceFile(with content: String) -> Int32? {
        let fd = PosixIO.openFile(temporaryPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode: 0o644)
        guard fd >= 0 else { return errno }
        let outcome = PosixIO.writeAll(fd, Array(content.utf8))
        PosixIO.closeFile(fd)
        if let code = outcome.errorCode {
            unlink(temporaryPath)
            return code
        }
        guard rename(temporaryPath, path) == 0 else {
            let code = errno
            unlink(temporaryPath)
            return code
        }
        rewrites += 1
        return nil
    }
}
