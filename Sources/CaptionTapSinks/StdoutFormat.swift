/// How line sinks (stdout, the FIFO) spell a caption.
public enum StdoutFormat: String, Sendable, CaseIterable {
    /// Human-readable: the caption text, prefixed `[label] ` when a source label is set.
    case text
    /// One JSON object per line (see `CaptionFormat.jsonLine`), for scripts and `jq`.
    case jsonl
}
