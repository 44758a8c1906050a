import CWebSockets
import Foundation
import Synchronization

/// What a server is told: where to listen, who may connect, and its limits.
extension WebSocketServer {
    public struct Options: Sendable {
        public var host: String
        /// 0 picks a free port; ``start()`` returns the one bound.
        public var port: Int
        /// The only path a handshake is accepted on (anything else gets 404).
        public var path: String
        /// When set, handshakes must carry `Authorization: Bearer <token>` (else 401).
        public var bearerToken: String?
        /// Answers plain HTTP GETs by path (query string removed; nil answer: 404). Runs on the
        /// service thread, so it must be quick. Other methods get 405.
        public var httpHandler: (@Sendable (_ path: String) -> HTTPResponse?)?
        /// A connection with this many messages still queued (a stuck or very slow reader) is
        /// dropped at the next ``send(_:_:)``, so a sender never accumulates without bound; nil:
        /// no limit.
        public var maxQueuedMessages: Int?
        /// The same, counted in bytes (a reader that stopped, asked for large answers).
        public var maxQueuedBytes: Int?
        /// Connections served at once (lws refuses more).
        public var maxConnections: Int
        /// The largest message a client may send (all its fragments together); a larger one
        /// closes the connection with 1009 before it is buffered further.
        public var maxMessageBytes: Int
        /// Which browser pages may open a WebSocket here (see ``OriginPolicy``).
        public var origins: OriginPolicy
        /// An idle connection is pinged after this many seconds and dropped when nothing valid
        /// (a pong, a message) arrives for twice as long: a vanished client frees its slot.
        public var idleSeconds: UInt16
        /// Request headers handed to the application with ``Event/opened(_:_:)`` (lower-case
        /// names, e.g. `openai-beta`); others are not read.
        public var forwardedHeaders: [String] = []
        public init(
            host: String, port: Int, path: String, bearerToken: String? = nil,
            httpHandler: (@Sendable (_ path: String) -> HTTPResponse?)? = nil, maxQueuedMessages: Int? = nil,
            maxQueuedBytes: Int? = nil, maxConnections: Int = 56, maxMessageBytes: Int = 1 << 20,
            origins: OriginPolicy = .listed([]),
            idleSeconds: UInt16 = 30,
            forwardedHeaders: [String] = []
        ) {
            self.host = host
            self.port = port
            self.path = path
            self.bearerToken = bearerToken
            self.httpHandler = httpHandler
            self.maxQueuedMessages = maxQueuedMessages
            self.maxQueuedBytes = maxQueuedBytes
            self.maxConnections = min(max(maxConnections, 1), 4096)
            self.maxMessageBytes = maxMessageBytes
            self.origins = origins
            self.idleSeconds = idleSeconds
            self.forwardedHeaders = forwardedHeaders
        }
    }

    /// Which web pages may connect. A browser always sends `Origin` with a WebSocket handshake,
    /// and any page the user has open can try `ws://127.0.0.1:PORT`; other clients send none.
    public enum OriginPolicy: Sendable, Equatable {
        /// Handshakes without `Origin` are accepted; with one, only these origins
        /// (`scheme://host[:port]`, compared exactly).
        case listed([String])
        /// Only pages this server served itself: `Origin` must be `http://` + the `Host` header,
        /// and on a loopback listener `Host` must name loopback (no DNS rebinding).
        case sameOrigin
    }

    /// Whether a handshake with these headers may proceed under `policy`.
    public static func originAllowed(_ origin: String?, host: String?, policy: OriginPolicy, loopbackListener: Bool)
        -> Bool
    {
        guard let origin, !origin.isEmpty else { return true }
        switch policy {
        case .listed(let allowed):
            return allowed.contains(origin)
        case .sameOrigin:
            guard let host, origin == "http://" + host else { return false }
            guard loopbackListener else { return true }
            let name =
                host.hasPrefix("[") ? String(host.prefix { $0 != "]" }.dropFirst()) : String(host.prefix { $0 != ":" })
            return isLoopback(name)
        }
    }

    /// Whether `given` is `expected`, compared byte for byte in time that depends only on their
    /// digests' length (a key must not be guessable from how long a refusal takes); no Unicode
    /// equivalence ("é" composed or not are different keys).
    public static func sameSecret(_ given: String, _ expected: String) -> Bool {
        let a = SHA256.digest(Array(given.utf8))
        let b = SHA256.digest(Array(expected.utf8))
        return zip(a, b).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0 && a.count == b.count
    }

    /// Whether `host` (a listening address, or the name a page was loaded from) is a loopback
    /// one: `localhost`, `::1`, or an IPv4 address in 127/8 written as one. A name that only
    /// starts with "127." (`127.evil.example`) is a name, which DNS can point anywhere: not one.
    public static func isLoopback(_ host: String) -> Bool {
        if host == "localhost" || host == "::1" { return true }
        var address = in_addr()
        guard inet_pton(AF_INET, host, &address) == 1 else { return false }
        return UInt32(bigEndian: address.s_addr) >> 24 == 127
    }
}
