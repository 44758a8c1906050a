import CaptionTapCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Final captions as an SRT or WebVTT subtitle file, timed on the audio timeline, so a recording
/// (`--record`, or the screen capture it accompanied) can be played back with captions.
///
/// The file is valid after every cue, so it can be loaded while captioning runs and survives a
/// crash: each cue goes out in one `write(2)` (no user-space buffer, no `fsync`: a crash of this
/// process loses nothing the kernel has, and waiting for the disk would stall the caption thread).
/// If a write fails part-way (disk full), the file is truncated back to the end of the previous cue
/// and the cue is counted in `droppedCues`; numbering stays consecutive.
///
/// Times are made monotonic, because players misbehave on overlapping or inverted cues and the
/// server's turn boundaries can overlap slightly across reconnects:
/// - a cue starting before the previous cue's end starts at that end instead;
/// - a cue whose end is not after its (possibly shifted) start ends 1 ms after it. No display time
///   is invented: lengthening it would push every following overlapping cue later, drifting the
///   subtitles from the audio. Such cues are rare (an empty-duration turn) and stay valid.
/// Negative times clamp to 0. Empty (or whitespace-only) finals are skipped; partials are ignored.
///
/// Used from one thread at a time, like every `CaptionSink`.
public final class SubtitleFileSink: CaptionSink {
    /// Which subtitle dialect to write.
    public enum Format: String, Sendable, CaseIterable {
        /// SubRip: numbered cues, `HH:MM:SS,mmm`.
        case srt
        /// WebVTT: `WEBVTT` header, `HH:MM:SS.mmm`; cues also carry their number as identifier.
        case vtt
    }

    public let path: String
    public let format: Format

    /// Cues in the file (the number of the last one).
    public private(set) var cueCount = 0
    /// Finals that could not be written (the file stays valid without them).
    public private(set) var droppedCues = 0
    /// The errno of the most recent failed write.
    public private(set) var lastErrno: Int32?

    private var fd: Int32
    /// A pipe cannot be cut back after a torn write: there, cues are kept to ``pipeCueBytes``,
    /// which POSIX writes whole or not at all.
    private var isRegularFile = true
    static let pipeCueBytes = Int(PIPE_BUF)
    /// Bytes of complete cues (and header) in the file: where to cut back to after a torn write.
    private var validLength = 0
    /// End of each source's last written cue, the earliest its next may start (a file shared by
    /// several sources has their cues overlap, as SRT and WebVTT allow: each source's finals
    /// come in order, but not in order with another's).
    private var previousEndMs: [String: Int] = [:]

    /// Creates (or truncates) the file; a VTT file gets its header at once, so even a run with no
    /// captions leaves a valid file. Throws `SinkError.fileFailed` when it cannot be created.
    public init(path: String, format: Format) throws(SinkError) {
        self.path = path
        self.format = format
        // Non-blocking: a pipe or FIFO given as the file (`--srt /dev/stdout | tool`) must never
        // hold captioning up, at open (no reader yet) or later (a reader that stopped).
        fd = PosixIO.openFile(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NONBLOCK, mode: 0o644)
        guard fd >= 0 else {
            let code = errno
            throw .fileFailed(
                path: path,
                reason: code == ENXIO
                    ? "nothing is reading it (a pipe or socket: start the reader first, or use --fifo)"
                    : PosixIO.describe(code))
        }
        var info = stat()
        isRegularFile = fstat(fd, &info) == 0 && info.st_mode & S_IFMT == S_IFREG
        if format == .vtt {
            let header = Array(CaptionFormat.vttHeader.utf8)
            let outcome = PosixIO.writeAll(fd, header)
            guard outcome == .written else {
                let code = outcome.errorCode ?? EIO
                PosixIO.closeFile(fd)
                throw .fileFailed(path: path, reason: PosixIO.describe(code))
            }
            validLength = header.count
        }
    }

    deinit {
        if fd >= 0 { PosixIO.closeFile(fd) }
    }

    public var showsPartials: Bool { false }

    public func caption(_ caption: Caption) {
        guard caption.isFinal, fd >= 0 else { return }
        var text = CaptionFormat.singleLine(caption.text)
        guard !text.isEmpty else { return }
        let source = caption.source ?? ""
        let (start, end) = Self.fixTimes(
            startMs: caption.startMs, endMs: caption.endMs, previousEndMs: previousEndMs[source, default: 0])
        let index = cueCount + 1
        func cue() -> [UInt8] {
            switch format {
            case .srt: Array(CaptionFormat.srtCue(index: index, startMs: start, endMs: end, text: text).utf8)
            case .vtt: Array(CaptionFormat.vttCue(index: index, startMs: start, endMs: end, text: text).utf8)
            }
        }
        var bytes = cue()
        while !isRegularFile && bytes.count > Self.pipeCueBytes && text.utf8.count > 1 {
            text = Self.cut(text, to: text.utf8.count - (bytes.count - Self.pipeCueBytes) - 8)
            bytes = cue()
        }
        let outcome = PosixIO.writeAll(fd, bytes, completionTimeoutMs: 100)
        guard outcome == .written else {
            droppedCues += 1
            lastErrno = outcome.errorCode
            if let written = outcome.bytesWritten, written > 0 {
                // Cut the torn cue off so the file ends with a whole cue again.
                _ = ftruncate(fd, off_t(validLength))
                _ = lseek(fd, off_t(validLength), SEEK_SET)
            }
            return
        }
        validLength += bytes.count
        cueCount = index
        previousEndMs[source] = end
    }

    /// Closes the file (every cue is already written).
    public func close() {
        if fd >= 0 {
            PosixIO.closeFile(fd)
            fd = -1
        }
    }

    /// `text` cut at a word boundary to at most `bytes` UTF-8 bytes, with "…" to say so.
    static func cut(_ text: String, to bytes: Int) -> String {
        var out = ""
        for word in text.split(separator: " ") {
            let next = out.isEmpty ? String(word) : out + " " + word
            guard next.utf8.count + 4 <= bytes else { break }
            out = next
        }
        return out + "…"
    }

    /// The cue times actually written: start no earlier than 0 or the previous end, end at least 1 ms
    /// after start.
    public static func fixTimes(startMs: Int, endMs: Int, previousEndMs: Int) -> (startMs: Int, endMs: Int) {
        let start = max(startMs, previousEndMs, 0)
        let end = endMs > start ? endMs : start + 1
        return (start, end)
    }
}
