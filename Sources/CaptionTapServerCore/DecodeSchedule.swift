import CaptionTapCore

/// Which queued decode the one shared recognizer runs next.
///
/// Decodes a final caption waits for come before speculative ones (which may be thrown away).
/// Among equals, sessions take turns: the one served longest ago (never served first) goes
/// next, and within a session jobs run in the order queued. So a session that uploads minutes
/// of audio at once (cut into pieces) cannot hold the recognizer while others wait.
public enum DecodeSchedule {
    public struct Entry: Sendable, Equatable {
        public var connection: Int
        public var speculative: Bool
        public init(connection: Int, speculative: Bool) {
            self.connection = connection
            self.speculative = speculative
        }
    }

    /// The index in `queue` (non-empty, in arrival order) to run next; `served` maps a connection
    /// to the round it was last served in.
    public static func next(_ queue: [Entry], served: [Int: Int]) -> Int {
        var best = 0
        for i in queue.indices.dropFirst() {
            let a = queue[best]
            let b = queue[i]
            if a.speculative != b.speculative {
                if a.speculative { best = i }
                continue
            }
            if served[b.connection, default: -1] < served[a.connection, default: -1] { best = i }
        }
        return best
    }
}
