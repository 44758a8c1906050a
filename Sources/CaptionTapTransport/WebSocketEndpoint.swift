/// A parsed `ws://` or `wss://` URL.
public struct WebSocketEndpoint: Sendable, Equatable, CustomStringConvertible {
    public var secure: Bool
    public var host: String
    public var port: Int
    /// Path and query, e.g. `/v1/realtime?model=gpt-realtime`.
    public var path: String

    /// Parses the URL; nil unless it is ws:// or wss:// with a host. Credentials in the URL
    /// (`ws://user:password@host`) are refused: the URL is logged, and a password belongs in a
    /// file (`--obs-password-file`, `--api-key-file`).
    public init?(_ url: String) {
        let scheme: Substring
        let rest: Substring
        if url.hasPrefix("wss://") {
            scheme = "wss"
            rest = url.dropFirst(6)
        } else if url.hasPrefix("ws://") {
            scheme = "ws"
            rest = url.dropFirst(5)
        } else {
            return nil
        }
        secure = scheme == "wss"
        let slash = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        let authority = rest[..<slash]
        var tail = String(rest[slash...])
        if tail.isEmpty { tail = "/" } else if tail.hasPrefix("?") { tail = "/" + tail }
        path = tail
        var hostPart = authority
        var portNumber = secure ? 443 : 80
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            hostPart = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") {
                guard let p = Int(after.dropFirst()) else { return nil }
                portNumber = p
            }
        } else if let colon = authority.lastIndex(of: ":") {
            hostPart = authority[..<colon]
            guard let p = Int(authority[authority.index(after: colon)...]) else { return nil }
            portNumber = p
        }
        guard !hostPart.isEmpty, (1...65535).contains(portNumber),
            hostPart.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || ".-_:%".contains($0)) })
        else { return nil }
        host = String(hostPart)
        port = portNumber
    }

    /// `host[:port]` as the Host header wants it.
    public var hostHeader: String {
        let defaultPort = secure ? 443 : 80
        let h = host.contains(":") ? "[\(host)]" : host
        return port == defaultPort ? h : "\(h):\(port)"
    }

    /// `url` as it may be shown in a message: cut short, and nothing of it that could be
    /// credentials (`user:password@`).
    public static func shown(_ url: String) -> String {
        let head = url.prefix(200)
        let scheme = head.range(of: "://").map { head[..<$0.upperBound] } ?? ""
        let rest = head[scheme.endIndex...]
        let authority = rest[..<(rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex)]
        // The last "@" of the authority: a password may hold "@" itself.
        guard let at = authority.lastIndex(of: "@") else { return String(head) }
        return scheme + "…@" + head[head.index(after: at)...]
    }

    public var description: String { "\(secure ? "wss" : "ws")://\(hostHeader)\(path)" }
}
