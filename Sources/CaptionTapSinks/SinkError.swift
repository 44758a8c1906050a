/// Why a sink could not be set up, phrased for the one stderr line the user sees.
///
/// Only initialisers throw: once a sink exists, failures are counted, never thrown, so one broken
/// output cannot stop captions reaching the others.
public enum SinkError: Error, Equatable, CustomStringConvertible {
    /// `--fifo PATH` names something that exists and is not a FIFO; we refuse to write into (or
    /// replace) a regular file or device the user may care about.
    case notAFIFO(path: String)
    /// The FIFO exists but is not safe to write captions into (a link, another user's, readable by
    /// others with a mode we cannot narrow).
    case unsafeFIFO(path: String, reason: String)
    /// The FIFO could not be created, or its path could not be inspected.
    case fifoFailed(path: String, reason: String)
    /// An output file (subtitles, OBS text) could not be created or written.
    case fileFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case .notAFIFO(let path):
            "'\(path)' exists and is not a FIFO: remove it or choose another path for the caption FIFO"
        case .unsafeFIFO(let path, let reason):
            "refusing caption FIFO '\(path)': \(reason); remove it or choose another path"
        case .fifoFailed(let path, let reason):
            "cannot create caption FIFO '\(path)': \(reason)"
        case .fileFailed(let path, let reason):
            "cannot write caption file '\(path)': \(reason)"
        }
    }
}
