import CaptionTapCore
import CaptionTapSinks
import CaptionTapTransport
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Captions in a browser: serves ``OverlayPage`` over HTTP and pushes every caption to the pages
/// that have it open, over a WebSocket at ``captionsPath`` on the same port.
///
/// Each caption goes out as one JSON text message,
/// `{"final":…,"text":…,"item_id":…,"start_ms":…,"end_ms":…}` (text on one line). A page that
/// connects first gets the last ``backlogLimit`` non-empty finals and the current partial, so an
/// OBS Browser Source that is (re)loaded mid-stream shows the same lines as the others.
///
/// Captioning never waits for a browser: ``caption(_:)`` only queues messages for the server's
/// service thread, and a page with ``maxQueuedMessages`` messages still unsent (stuck, or far too
/// slow) is dropped; it reconnects and catches up from the backlog.
public final class OverlaySink: CaptionSink, @unchecked Sendable {
    /// The WebSocket path the page connects to.
    public static let captionsPath = "/captions"
    /// Finals kept for pages that connect later (the page's `lines` parameter is at most this).
    public static let backlogLimit = 20
    /// Messages a page may have waiting before it is dropped.
    public static let maxQueuedMessages = 256

    public let address: OverlayAddress
    /// The port bound (the asked one, or the one picked for port 0).
    public private(set) var port = 0
    /// The page's address, for the log line.
    public var url: String { "http://\(address.host):\(port)/" }
    /// Pages dropped for falling ``maxQueuedMessages`` behind.
    public var droppedPages: Int { server?.droppedConnections ?? 0 }

    private struct State {
        var pages: Set<WebSocketServer.ConnectionID> = []
        var shown = ShownCaptions<String>(keep: OverlaySink.backlogLimit)
    }
    // Taken by the caption thread and by the service thread; sends happen under it, so a page
    // that opens while a caption is broadcast gets every message exactly once, in order.
    private let state = Mutex(State())
    private var server: WebSocketServer?

    /// Binds and starts serving; throws if the address cannot be bound.
    public init(address: OverlayAddress) throws(WebSocketServer.StartError) {
        self.address = address
        let page = WebSocketServer.HTTPResponse(
            contentType: "text/html; charset=utf-8", body: Array(OverlayPage.html.utf8))
        let options = WebSocketServer.Options(
            host: address.host, port: address.port, path: Self.captionsPath,
            httpHandler: { path in path == "/" || path == "/index.html" ? page : nil },
            maxQueuedMessages: Self.maxQueuedMessages,
            // Pages only listen; and only the page served here may (an OBS Browser Source loads it).
            maxMessageBytes: 4096, origins: .sameOrigin)
        let server = WebSocketServer(options: options) { [weak self] event in self?.handle(event) }
        self.server = server
        port = try server.start()
    }

    public func caption(_ caption: Caption) {
        guard let server else { return }
        let text = CaptionFormat.singleLine(caption.text)
        let message = Self.message(caption, text: text)
        state.withLock { state in
            state.shown.apply(caption, line: text.isEmpty ? nil : message)
            for page in state.pages { server.send(page, message) }
        }
    }

    /// Says goodbye to every page (close code 1001; they keep retrying until captiontap is back),
    /// waits up to a second for them to go, and stops the server.
    public func close() {
        guard let server else { return }
        let pages = state.withLock { $0.pages }
        for page in pages { server.close(page, code: 1001, reason: "captiontap stopped") }
        for _ in 0..<100 where !state.withLock({ $0.pages.isEmpty }) {
            usleep(10_000)
        }
        server.stop()
        self.server = nil
    }

    deinit {
        server?.stop()
    }

    /// One caption as the page reads it.
    static func message(_ caption: Caption, text: String) -> String {
        var out = #"{"final":"# + (caption.isFinal ? "true" : "false")
        out += #","text":"# + CaptionFormat.jsonString(text)
        out += #","item_id":"# + CaptionFormat.jsonString(caption.itemID)
        out += #","start_ms":\#(caption.startMs),"end_ms":\#(caption.endMs)}"#
        return out
    }

    /// Server events, on its service thread.
    private func handle(_ event: WebSocketServer.Event) {
        guard let server else { return }
        switch event {
        case .opened(let page, _):
            state.withLock { state in
                state.pages.insert(page)
                for message in state.shown.finals { server.send(page, message) }
                if let partial = state.shown.partial { server.send(page, partial.line) }
            }
        case .closed(let page):
            _ = state.withLock { $0.pages.remove(page) }
        case .text, .binary:
            break  // pages only listen
        }
    }
}
