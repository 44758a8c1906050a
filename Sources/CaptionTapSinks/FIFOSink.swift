import CaptionTapCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Final captions into a named pipe, one line each, for readers that come and go
/// (`cat ~/captions.fifo`, a status-bar script, a second terminal).
///
/// The captioning must never wait for, or die because of, a reader:
/// - The FIFO is opened `O_WRONLY | O_NONBLOCK`, which fails with `ENXIO` while nobody reads: the
///   line is dropped and counted, and the open is retried on the next final. So a reader that
///   attaches late gets every final from then on.
/// - Writes are non-blocking: a full pipe (`EAGAIN`, the reader is slow) drops the line and counts
///   it rather than stalling the caption thread.
/// - A reader that leaves makes the next write fail with `EPIPE` (`SIGPIPE` is ignored process-wide
///   by `init`): the descriptor is closed, the line counted, and the next final reopens.
///
/// Lines are written with one `write(2)` of at most `maxLineBytes` (`PIPE_BUF`, 4096 on Linux), which
/// POSIX makes atomic: a reader sees whole lines or nothing, never a torn one, even when the pipe is
/// nearly full. A longer caption has its text cut (at a character boundary, ending in `…`) until the
/// line fits; JSONL lines stay valid JSON. Partials are ignored: a pipe has no way to rewrite a line.
/// Empty finals are skipped in text format (a blank line says nothing) but kept in JSONL, where
/// they still mark the end of a turn.
///
/// The FIFO is created with mode 0600 if missing and left in place at exit, so readers can be
/// started before or between runs. Used from one thread at a time, like every `CaptionSink`.
public final class FIFOSink: CaptionSink {
    public let path: String
    public let format: StdoutFormat
    /// Adds `[label] ` to text lines and `"source"` to JSONL lines.
    public let sourceLabel: String?

    /// Finals written whole to a reader.
    public private(set) var writtenLines = 0
    /// Finals lost: no reader (`ENXIO`), pipe full (`EAGAIN`), reader gone (`EPIPE`), other errors,
    /// or a line that could not be cut to fit.
    public private(set) var droppedLines = 0
    /// The errno of the most recent loss, for the exit summary.
    public private(set) var lastErrno: Int32?
    /// Whether a write end is currently open (a reader was present at the last attempt).
    public var isConnected: Bool { fd >= 0 }

    /// Writes up to this size are atomic on a pipe (`PIPE_BUF` on Linux).
    public static let maxLineBytes = 4096

    private var fd: Int32 = -1

    /// Creates the FIFO (mode 0600) when `path` does not exist; uses it when it is a FIFO.
    /// Throws `SinkError.notAFIFO` when something else is there, `.fifoFailed` when it cannot be
    /// created or inspected. Does not wait for a reader.
    public init(path: String, format: StdoutFormat = .text, sourceLabel: String? = nil) throws(SinkError) {
        self.path = path
        self.format = format
        self.sourceLabel = sourceLabel
        PosixIO.ignoreSIGPIPE()
        try Self.ensureFIFO(at: path)
    }

    deinit {
        if fd >= 0 { PosixIO.closeFile(fd) }
    }

    public var showsPartials: Bool { false }

    public func caption(_ caption: Caption) {
        guard caption.isFinal else { return }
        if format == .text && CaptionFormat.singleLine(caption.text).isEmpty { return }  // no blank lines
        guard let line = fittedLine(caption) else {
            drop(EMSGSIZE)
            return
        }
        if fd < 0, !open() { return }
        switch PosixIO.writeAll(fd, line) {
        case .written:
            writtenLines += 1
        case .wouldBlock:
            drop(EAGAIN)
        case .brokenPipe:
            disconnect()
            drop(EPIPE)
        case .failed(let code, _):
            disconnect()
            drop(code)
        }
    }

    /// Closes the write end (readers see end-of-file). The FIFO stays on disk.
    public func close() {
        disconnect()
    }

    /// Opens the write end if a reader is there; counts the line as dropped if not.
    private func open() -> Bool {
        var attempt = 0
        while true {
            let opened = PosixIO.openFile(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW)
            if opened >= 0 {
                // What was opened, not what the path held at start: it may have been replaced.
                guard Self.isPrivateFIFO(opened) else {
                    PosixIO.closeFile(opened)
                    drop(EPERM)
                    return false
                }
                fd = opened
                return true
            }
            let code = errno
            // Someone removed the FIFO while we run: make it again, once, so readers can find it.
            if code == ENOENT, attempt == 0, (try? Self.ensureFIFO(at: path)) != nil {
                attempt += 1
                continue
            }
            drop(code)  // ENXIO: no reader right now
            return false
        }
    }

    private func disconnect() {
        if fd >= 0 {
            PosixIO.closeFile(fd)
            fd = -1
        }
    }

    private func drop(_ code: Int32) {
        droppedLines += 1
        lastErrno = code
    }

    private func render(_ caption: Caption) -> [UInt8] {
        switch format {
        case .text: Array((CaptionFormat.textLine(caption.text, source: sourceLabel) + "\n").utf8)
        case .jsonl: Array((CaptionFormat.jsonLine(caption, source: sourceLabel) + "\n").utf8)
        }
    }

    /// The line for `caption`, its text cut (at a UTF-8 character boundary, ending in `…`) to the
    /// longest prefix whose whole line, newline included, fits in `maxLineBytes`; nil if even an empty
    /// text does not fit (absurd IDs or label). Escaping can grow a byte to six (`\u001f`), so the cut
    /// is found by bisection on the rendered length rather than computed from the excess.
    private func fittedLine(_ caption: Caption) -> [UInt8]? {
        let line = render(caption)
        if line.count <= Self.maxLineBytes { return line }
        let text = Array(caption.text.utf8)
        func cutLine(_ length: Int) -> [UInt8] {
            var boundary = length
            while boundary > 0 && boundary < text.count && (text[boundary] & 0xC0) == 0x80 { boundary -= 1 }
            var shortened = caption
            shortened.text = String(decoding: text[..<boundary], as: UTF8.self) + "…"
            return render(shortened)
        }
        guard cutLine(0).count <= Self.maxLineBytes else { return nil }
        var low = 0  // fits
        var high = text.count - 1  // the longest cut worth trying
        while low < high {
            let middle = (low + high + 1) / 2
            if cutLine(middle).count <= Self.maxLineBytes { low = middle } else { high = middle - 1 }
        }
        return cutLine(low)
    }

    /// Makes sure a private FIFO exists at `path`: never through a symbolic link, owned by this
    /// user, mode 0600 (a wider mode on our own FIFO is narrowed; another owner's is refused, as
    /// another user could read every caption). A path that keeps changing under us is an error,
    /// never a spin.
    static func ensureFIFO(at path: String) throws(SinkError) {
        var info = stat()
        for _ in 0..<3 {
            if lstat(path, &info) == 0 {
                try checkExisting(path, info)
                return
            }
            let statErrno = errno
            guard statErrno == ENOENT else { throw .fifoFailed(path: path, reason: PosixIO.describe(statErrno)) }
            if mkfifo(path, 0o600) == 0 { return }
            let mkfifoErrno = errno
            // EEXIST: made concurrently, or a dangling symbolic link; look again.
            guard mkfifoErrno == EEXIST else { throw .fifoFailed(path: path, reason: PosixIO.describe(mkfifoErrno)) }
        }
        throw .fifoFailed(path: path, reason: "the path keeps changing; choose another path")
    }

    private static func checkExisting(_ path: String, _ info: stat) throws(SinkError) {
        if info.st_mode & S_IFMT == S_IFLNK {
            throw .unsafeFIFO(path: path, reason: "it is a symbolic link (links are not followed)")
        }
        guard info.st_mode & S_IFMT == S_IFIFO else { throw .notAFIFO(path: path) }
        guard info.st_uid == geteuid() else {
            throw .unsafeFIFO(path: path, reason: "it belongs to another user (uid \(info.st_uid))")
        }
        if info.st_mode & 0o077 != 0, !narrow(path) {
            throw .unsafeFIFO(
                path: path,
                reason:
                    "its mode \(String(info.st_mode & 0o777, radix: 8)) lets others read it and cannot be set to 600")
        }
    }

    /// Narrows the FIFO at `path` to 0600 through a descriptor: a path swapped for a link or
    /// another file between the check and the change is not followed or changed.
    private static func narrow(_ path: String) -> Bool {
        let fd = PosixIO.openFile(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { return false }
        defer { PosixIO.closeFile(fd) }
        return isPrivateFIFO(fd)
    }

    /// Whether `fd` is a FIFO of this user's that only it can open (a wider mode is narrowed to
    /// 0600 on the spot): a FIFO replaced while we run, by another user's or by a plain file, gets
    /// no caption.
    static func isPrivateFIFO(_ fd: Int32) -> Bool {
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFIFO, info.st_uid == geteuid() else { return false }
        return info.st_mode & 0o077 == 0 || fchmod(fd, 0o600) == 0
    }
}
