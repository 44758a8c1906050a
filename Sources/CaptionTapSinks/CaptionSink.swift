import CaptionTapCore

/// Somewhere captions go: stdout, a FIFO, subtitle files, OBS.
///
/// Sinks are called from one thread (the session's caption thread), partials and finals in
/// order. A sink must never block for long and never throw past this boundary: a failing sink
/// counts and reports its own losses and the others keep going.
public protocol CaptionSink: AnyObject {
    /// A caption changed: a new partial (whole text so far) or a final.
    func caption(_ caption: Caption)
    /// A turn whose transcript can never come. Only machine-readable outputs record it (JSONL);
    /// the rest show nothing (the log has the warning). Defaults to nothing.
    func lost(_ turn: LostTurn)
    /// Flushes and releases resources; called once at exit.
    func close()
    /// Whether partials change what this sink shows. When no sink's do, the session handles
    /// deltas lazily (they don't wake its worker). Defaults to true.
    var showsPartials: Bool { get }
}

extension CaptionSink {
    public var showsPartials: Bool { true }
    public func lost(_ turn: LostTurn) {}
}
