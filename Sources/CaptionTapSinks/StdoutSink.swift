import CaptionTapCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Captions on standard output (or any file descriptor), as text or JSON lines.
///
/// - Text on a terminal: the live partial is rewritten in place (`\r`, text, clear-to-end-of-line)
///   and a final replaces it and ends the line, so the screen reads like a transcript while still
///   showing words as they arrive. Partials are cut to their newest words when wider than the
///   terminal, because `\r` only returns to the start of the current row.
/// - Text elsewhere (a pipe, a file): one line per final, nothing else, so `grep`/`tee` see a clean
///   transcript without escape sequences. In both text modes an empty final prints no blank line.
/// - JSONL: finals always; partials only with `includePartials` (the CLI passes it on a terminal or
///   with `--partials`), since most consumers only want settled text.
///
/// Writes go straight to `write(2)` (no buffering: each line is visible as soon as it is final).
/// The descriptor is not made non-blocking (it is shared with the shell), so a reader that stops
/// reading a pipe can stall this sink; that is the usual behaviour of a Unix filter. Failed writes
/// (`EPIPE` once the reader exits, `EAGAIN` if someone made the descriptor non-blocking) are
/// counted in `droppedLines`, never fatal: the process ignores `SIGPIPE`, and this sink does not
/// change that disposition itself.
///
/// Used from one thread at a time (the session's caption thread), like every `CaptionSink`.
public final class StdoutSink: CaptionSink {
    /// The descriptor written to; not owned: `close()` leaves it open.
    public let fileDescriptor: Int32
    public let format: StdoutFormat
    /// Whether JSONL output includes partials (text output decides by `isTerminal` instead).
    public let includePartials: Bool
    /// Prefix for text lines (`[label] `) and the JSONL `source` key.
    public let sourceLabel: String?
    /// Whether text output rewrites partials in place.
    public let isTerminal: Bool

    /// Writes that went out whole: finals, JSONL partials and in-place partial rewrites.
    public private(set) var writtenLines = 0
    /// Writes that failed (`EPIPE`, `EAGAIN`, any other errno) or were torn.
    public private(set) var droppedLines = 0
    /// The errno of the most recent failed write, for the exit summary.
    public private(set) var lastErrno: Int32?
    /// True once a write failed with `EPIPE`: the reader has gone (`captiontap | head`), and the
    /// CLI may choose to stop. Later captions are still attempted and counted.
    public private(set) var readerGone = false

    /// True while a partial is on the terminal's current row without a newline after it.
    private var partialOnScreen = false
    /// The last partial written, so identical re-sends do not redraw, and its turn.
    private var lastPartialLine: String?
    private var partialItem: String?

    /// How long to wait for room to finish a line that is already half written (see `PosixIO`).
    private static let completionTimeoutMs: Int32 = 100

    /// - Parameters:
    ///   - fileDescriptor: where to write; standard output by default.
    ///   - format: text or JSONL.
    ///   - includePartials: JSONL only: also emit partials.
    ///   - sourceLabel: tags every line with where the audio came from (several captiontap runs
    ///     merged into one log).
    ///   - isTerminal: overrides the `isatty` check (tests drive the terminal mode through a pipe).
    public init(
        fileDescriptor: Int32 = 1,
        format: StdoutFormat = .text,
        includePartials: Bool = false,
        sourceLabel: String? = nil,
        isTerminal: Bool? = nil
    ) {
        self.fileDescriptor = fileDescriptor
        self.format = format
        self.includePartials = includePartials
        self.sourceLabel = sourceLabel
        self.isTerminal = isTerminal ?? (isatty(fileDescriptor) == 1)
    }

    public var showsPartials: Bool { format == .jsonl ? includePartials : isTerminal }

    public func lost(_ turn: LostTurn) {
        guard format == .jsonl else { return }
        emit(CaptionFormat.lostLine(turn, source: sourceLabel) + "\n")
    }

    public func caption(_ caption: Caption) {
        switch format {
        case .jsonl:
            guard caption.isFinal || includePartials else { return }
            emit(CaptionFormat.jsonLine(caption, source: sourceLabel) + "\n")
        case .text:
            if CaptionFormat.singleLine(caption.text).isEmpty {
                // A turn that transcribed to nothing (its empty final, or the empty partial that
                // takes its partial down): no blank line, just wipe its partial.
                if partialOnScreen && (caption.isFinal || caption.itemID == partialItem) {
                    emit("\r\u{1B}[K")
                    partialOnScreen = false
                    lastPartialLine = nil
                }
                return
            }
            let line = CaptionFormat.textLine(caption.text, source: sourceLabel)
            if !caption.isFinal { partialItem = caption.itemID }
            if isTerminal {
                terminal(line, isFinal: caption.isFinal)
            } else if caption.isFinal {
                emit(line + "\n")
            }
        }
    }

    /// Ends a partial left on the terminal's current row so the shell prompt starts on a fresh line.
    /// The descriptor itself stays open: it is not ours.
    public func close() {
        if partialOnScreen {
            emit("\n")
            partialOnScreen = false
        }
    }

    private func terminal(_ line: String, isFinal: Bool) {
        if isFinal {
            // Finals are written whole and may wrap: the newline after them makes wrapping harmless.
            emit("\r" + line + "\u{1B}[K\n")
            partialOnScreen = false
            lastPartialLine = nil
            return
        }
        let shown = terminalColumns().map { CaptionFormat.terminalTail(line, columns: $0 - 1) } ?? line
        if shown == lastPartialLine && partialOnScreen { return }
        emit("\r" + shown + "\u{1B}[K")
        partialOnScreen = true
        lastPartialLine = shown
    }

    /// The terminal's width, or nil when the descriptor is not a terminal (tests) or reports 0.
    private func terminalColumns() -> Int? {
        var size = winsize()
        #if canImport(Glibc)
            let request = UInt(TIOCGWINSZ)
        #else
            let request = TIOCGWINSZ
        #endif
        let result = withUnsafeMutablePointer(to: &size) { ioctl(fileDescriptor, request, $0) }
        guard result == 0, size.ws_col > 1 else { return nil }
        return Int(size.ws_col)
    }

    private func emit(_ text: String) {
        let outcome = PosixIO.writeAll(fileDescriptor, Array(text.utf8), completionTimeoutMs: Self.completionTimeoutMs)
        switch outcome {
        case .written:
            writtenLines += 1
        case .wouldBlock:
            droppedLines += 1
            lastErrno = EAGAIN
        case .brokenPipe:
            droppedLines += 1
            lastErrno = EPIPE
            readerGone = true
        case .failed(let code, _):
            droppedLines += 1
            lastErrno = code
        }
    }
}
