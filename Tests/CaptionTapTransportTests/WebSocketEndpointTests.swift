import CaptionTapTransport
import Testing

/// `--url`, `--fallback-url` and `--obs` addresses.
@Suite struct WebSocketEndpointTests {
    @Test func addressesAreParsedAndHostileOnesRefused() {
        let openai = WebSocketEndpoint("wss://api.openai.com/v1/realtime?model=gpt-realtime")
        #expect(openai?.host == "api.openai.com" && openai?.port == 443 && openai?.secure == true)
        #expect(openai?.path == "/v1/realtime?model=gpt-realtime")
        #expect(WebSocketEndpoint("ws://127.0.0.1:4455")?.port == 4455)
        #expect(WebSocketEndpoint("ws://[::1]:8765/v1/realtime")?.hostHeader == "[::1]:8765")
        for url in [
            "ws://user:secret@127.0.0.1:4455", "ws://:secret@host", "ws://ho st:1", "ws://host\r\nX: y:1",
            "ws://", "ws://:80", "ws://host:0", "ws://host:65536", "ws://host:-1", "http://host", "ws://hôst:1",
            "ws://host:99999999999999999999999",
        ] {
            #expect(WebSocketEndpoint(url) == nil, "\(url)")
        }
    }

    @Test func aURLShownInAMessageNeverShowsCredentials() {
        #expect(WebSocketEndpoint.shown("ws://user:secret@127.0.0.1:4455") == "ws://…@127.0.0.1:4455")
        #expect(!WebSocketEndpoint.shown("secret@host").contains("secret"))
        #expect(WebSocketEndpoint.shown("ws://me:p@ss@host:1/a@b") == "ws://…@host:1/a@b", "a password with @ in it")
        #expect(WebSocketEndpoint.shown(String(repeating: "x", count: 10_000)).count == 200)
        #expect(WebSocketEndpoint.shown("ws://host:1/") == "ws://host:1/")
    }
}
