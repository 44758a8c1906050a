import CaptionTapCore
import Foundation

/// What a run of ``RealtimeTranscription`` is told: the backend, the key, the transcriber's
/// configuration, the timing policies, and where to fail over to.
extension RealtimeTranscription {
    public struct Options: Sendable {
        public var endpoint: WebSocketEndpoint
        /// Sent in the handshake; the key lives only here and in the handshake.
        public var apiKey: String?
        public var transcriber: OutOfBandTranscriber.Config
        /// Rotate to a fresh session after this long (the API's limit is 60 min).
        public var rotateAfterSeconds: Double = 55 * 60
        /// Cap of the reconnect backoff.
        public var backoffCapSeconds: Double = 10
        /// Give up if no session has opened this long after start (unreachable server, wrong URL).
        public var connectTimeoutSeconds: Double = 30
        /// Whether anything shows partial captions: if not, deltas don't wake the worker (they
        /// are still handled, in order, before the final).
        public var promptPartials = true
        /// The live session is probed (``OutOfBandTranscriber/probe()``) after this long without a
        /// server event, and replaced when the probe is not answered within as long again: a
        /// server that stops answering without closing is found in seconds.
        public var idleTimeoutSeconds: Double = 10
        /// A live session with this many messages still unsent (the replay buffer plus a minute,
        /// in 100 ms appends; set from the chunk size) is not keeping up: it is replaced and its audio replayed from the fixed history, so the
        /// queue never grows without bound.
        public var maxQueuedMessages = 1800
        /// Where captioning continues while the primary backend is down; nil: nowhere (see
        /// ``Failover``).
        public var fallback: Fallback?
        /// Live captions while a turn is spoken, decoded by this local recognizer (see
        /// ``LiveCaptions``); nil: partials only from the backend's response deltas.
        public var live: PartialRecognizer?

        public init(endpoint: WebSocketEndpoint, apiKey: String?, transcriber: OutOfBandTranscriber.Config) {
            self.endpoint = endpoint
            self.apiKey = apiKey
            self.transcriber = transcriber
        }
    }

    /// A backend to fail over to: started on first use (the embedded one loads its models then).
    public struct Fallback: Sendable {
        /// Failing this long before switching; also how often the primary is tried again.
        public var afterSeconds: Double
        /// For messages: "the embedded backend".
        public var name: String
        /// Starts the fallback (on the worker thread, once) and returns its endpoint, or why not.
        public var start: @Sendable () -> Result<WebSocketEndpoint, FallbackUnavailable>

        public init(
            afterSeconds: Double, name: String,
            start: @escaping @Sendable () -> Result<WebSocketEndpoint, FallbackUnavailable>
        ) {
            self.afterSeconds = afterSeconds
            self.name = name
            self.start = start
        }
    }

    public struct FallbackUnavailable: Error, Sendable {
        public var reason: String
        public init(_ reason: String) { self.reason = reason }
    }
}
