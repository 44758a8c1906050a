import CaptionTapTransport
import Testing

/// Which web pages may open a WebSocket on a listener (the overlay's same-origin policy, serve's
/// allow-list), DNS rebinding included.
@Suite struct OriginPolicyTests {
    @Test func onALoopbackListenerOnlyALoopbackPageOfItsOwnHostMayListen() {
        func allowed(_ origin: String?, _ host: String) -> Bool {
            WebSocketServer.originAllowed(origin, host: host, policy: .sameOrigin, loopbackListener: true)
        }
        #expect(allowed("http://127.0.0.1:8766", "127.0.0.1:8766"))
        #expect(allowed("http://localhost:8766", "localhost:8766"))
        #expect(allowed("http://[::1]:8766", "[::1]:8766"))
        #expect(allowed("http://127.1.2.3:8766", "127.1.2.3:8766"))
        #expect(allowed(nil, "anything"), "not a browser")
        // A page of another origin, and names DNS can point at 127.0.0.1 (rebinding).
        #expect(!allowed("http://evil.example", "127.0.0.1:8766"))
        #expect(!allowed("http://evil.example:8766", "evil.example:8766"))
        #expect(!allowed("http://127.evil.example:8766", "127.evil.example:8766"))
        #expect(!allowed("http://127.0.0.1.evil.example:8766", "127.0.0.1.evil.example:8766"))
        #expect(!allowed("http://128.0.0.1:8766", "128.0.0.1:8766"))
    }

    @Test func loopbackAddressesAreAddressesNotNames() {
        for host in ["127.0.0.1", "127.255.255.254", "localhost", "::1"] { #expect(WebSocketServer.isLoopback(host)) }
        for host in [
            "127.evil.example", "127.", "127", "0.0.0.0", "10.0.0.1", "", "127.0.0.1 ", "::", "localhost.example",
        ] {
            #expect(!WebSocketServer.isLoopback(host), "\(host)")
        }
    }

    @Test func keysAreComparedByteForByte() {
        #expect(WebSocketServer.sameSecret("Bearer sk-1", "Bearer sk-1"))
        #expect(!WebSocketServer.sameSecret("Bearer sk-2", "Bearer sk-1"))
        #expect(!WebSocketServer.sameSecret("", "Bearer sk-1"))
        #expect(!WebSocketServer.sameSecret("Bearer sk-1 ", "Bearer sk-1"))
        // Canonically equivalent strings are equal to Swift's ==, but not the same key.
        #expect("caf\u{e9}" == "cafe\u{301}")
        #expect(!WebSocketServer.sameSecret("Bearer caf\u{e9}", "Bearer cafe\u{301}"))
    }
}
