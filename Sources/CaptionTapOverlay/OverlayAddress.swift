#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Where the overlay listens: `HOST:PORT` (or just `PORT`, on 127.0.0.1).
///
/// HOST is an IPv4 address or `localhost`. Anything but a loopback address (127.0.0.0/8) makes the
/// captions readable by anyone who can reach the machine, so the CLI asks for an explicit
/// `--overlay-allow-remote` before binding one (``isLoopback``).
public struct OverlayAddress: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    /// 0 picks a free port.
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `HOST:PORT`, `localhost:PORT` or `PORT`; nil if malformed.
    public init?(parsing text: String) {
        let host: Substring
        let portText: Substring
        if let colon = text.lastIndex(of: ":") {
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        } else {
            host = "127.0.0.1"
            portText = Substring(text)
        }
        guard let port = Int(portText), (0...65535).contains(port) else { return nil }
        let name = host == "localhost" ? "127.0.0.1" : String(host)
        var address = in_addr()
        guard inet_pton(AF_INET, name, &address) == 1 else { return nil }
        self.init(host: name, port: port)
    }

    /// 127.0.0.0/8: only this machine can connect.
    public var isLoopback: Bool { host.split(separator: ".").first == "127" }

    public var description: String { "\(host):\(port)" }
}
