/// The waiting room of the live-caption recognizer: at most one decode per source (a newer one
/// replaces it, and the replaced one is handed back to be answered "dropped"), taken oldest
/// first, and none while a final caption's decode waits (finals first).
///
/// Pure; the recognizer's thread holds it under a lock.
public struct LiveDecodeQueue<Job> {
    private var waiting: [(source: Int, job: Job)] = []

    public init() {}

    /// Queues `job` for `source`; returns the job it replaced, if any.
    public mutating func submit(_ job: Job, source: Int) -> Job? {
        let replaced = waiting.firstIndex { $0.source == source }.map { waiting.remove(at: $0).job }
        waiting.append((source, job))
        return replaced
    }

    /// The next job to decode, unless a final's decode is waiting or nothing is.
    public mutating func next(finalsWaiting: Bool) -> Job? {
        guard !finalsWaiting, !waiting.isEmpty else { return nil }
        return waiting.removeFirst().job
    }

    /// Empties the queue (on stop); returns what was waiting.
    public mutating func removeAll() -> [Job] {
        defer { waiting.removeAll() }
        return waiting.map(\.job)
    }

    public var isEmpty: Bool { waiting.isEmpty }
    public var count: Int { waiting.count }
}
