import CWebSockets
import CaptionTapCore
import Foundation
import Synchronization

/// A WebSocket client connection on libwebsockets, one text message per event.
///
/// Each client owns an lws context and a service thread; every lws call happens on that
/// thread. Other threads only enqueue (``send(_:)``, ``close()``) and wake the loop with
/// `lws_cancel_service`, the one lws call documented as safe from any thread. Events are
/// delivered on the service thread, in order; handlers must not block it for long.
public final class WebSocketClient: @unchecked Sendable {
    public enum Event: Sendable {
        case open
        case text(String)
        /// The connection ended, or never opened. Always the last event.
        case closed(CloseInfo)
    }

    public struct CloseInfo: Sendable, Equatable {
        /// Whether the WebSocket handshake had completed.
        public var wasOpen: Bool
        /// The close code the peer sent, if it sent one.
        public var code: Int?
        /// lws's reason for a failed connection, or the peer's close reason.
        public var message: String
        /// The HTTP status of a refused handshake (e.g. 401), when known.
        public var httpStatus: Int?
    }

    public let endpoint: WebSocketEndpoint
    private let headers: [(String, String)]
    private let onEvent: @Sendable (Event) -> Void
    private let outgoing = Mutex<[String]>([])
    private let closeRequested = Atomic<Bool>(false)
    private let abortRequested = Atomic<Bool>(false)
    /// Messages the service thread has taken from `outgoing` but not yet written.
    private let pendingInSwap = Atomic<Int>(0)
    private let slot = LWSContextSlot()
    private var thread: Thread?
    private let finished = DispatchSemaphore(value: 0)

    // Service-thread state.
    private var wsi: OpaquePointer?
    /// Messages taken from `outgoing` in one swap, sent from `sendIndex` on.
    private var sending: [String] = []
    private var sendIndex = 0
    /// Frames waiting for one `lws_write`, behind lws's LWS_PRE bytes.
    private var batch = UnsafeMutableRawPointer.allocate(byteCount: WebSocketClient.batchBytes + 4096, alignment: 16)
    private var batchCapacity = WebSocketClient.batchBytes + 4096
    private var maskingKeys = MaskingKeys()
    private var receiving: [UInt8] = []
    private var receivingBinary = false
    private var peerCloseCode: Int?
    private var peerCloseReason = ""
    private var opened = false
    private var done = false
    private var closeInfo: CloseInfo?

    /// Messages queued but not yet handed to lws (for back-pressure decisions by the caller).
    public var queuedMessages: Int { outgoing.withLock { $0.count } + pendingInSwap.load(ordering: .relaxed) }

    deinit { batch.deallocate() }

    public init(endpoint: WebSocketEndpoint, headers: [(String, String)], onEvent: @escaping @Sendable (Event) -> Void)
    {
        self.endpoint = endpoint
        self.headers = headers
        self.onEvent = onEvent
    }

    /// Starts connecting on a new service thread; events follow through `onEvent`.
    public func connect() {
        let t = Thread { [self] in serviceLoop() }
        t.name = "captiontap-ws"
        t.stackSize = 1 << 20
        thread = t
        t.start()
    }

    /// Queues a text message; sent in order once the connection is open.
    public func send(_ text: String) {
        // A non-empty queue means the service thread is already writing and will keep asking
        // for WRITEABLE until it is empty: only the first message needs a wake-up.
        let wasEmpty = outgoing.withLock { queue -> Bool in
            queue.append(text)
            return queue.count == 1
        }
        if wasEmpty { wake() }
    }

    /// Queues several text messages, in order, with at most one wake-up.
    public func send(contentsOf texts: [String]) {
        guard !texts.isEmpty else { return }
        let wasEmpty = outgoing.withLock { queue -> Bool in
            let empty = queue.isEmpty
            queue.append(contentsOf: texts)
            return empty
        }
        if wasEmpty { wake() }
    }

    /// Closes with 1000 after the queued messages; `closed` follows.
    public func close() {
        closeRequested.store(true, ordering: .releasing)
        wake()
    }

    /// Drops the connection at once, without a close handshake (a peer that stopped answering
    /// would never complete one); `closed` follows. Any thread.
    public func abort() {
        abortRequested.store(true, ordering: .releasing)
        wake()
    }

    /// Seconds of quiet before lws pings the server, and without a valid frame before it hangs up.
    static let pingAfterSeconds: UInt16 = 10
    static let hangUpAfterSeconds: UInt16 = 25
    /// The largest server message accepted (all fragments together); a larger one ends the
    /// connection (a reconnect replays what it owed) instead of growing memory.
    public static let maxMessageBytes = 16 << 20

    /// Blocks until the service thread has ended (after `closed` was delivered).
    public func waitUntilFinished(timeout: Double) -> Bool {
        finished.wait(timeout: .now() + timeout) == .success
    }

    private func wake() { slot.wake() }

    // MARK: - Service thread

    private func serviceLoop() {
        defer { finished.signal() }
        // The system CA bundle, or OpenSSL's usual SSL_CERT_FILE override (private CAs, tests).
        let caFile = ProcessInfo.processInfo.environment["SSL_CERT_FILE"] ?? "/etc/ssl/certs/ca-certificates.crt"
        let context = slot.create(protocolName: "captiontap-client", callback: webSocketClientCallback) { info in
            info.port = CONTEXT_PORT_NO_LISTEN
            // TLS setup (and parsing the system CA bundle) only for wss://: it costs ~0.1 s of CPU.
            info.options = endpoint.secure ? UInt64(LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT) : 0
            info.user = Unmanaged.passUnretained(self).toOpaque()
            info.fd_limit_per_thread = 16
            return caFile.withCString { ca in
                if endpoint.secure && FileManager.default.fileExists(atPath: caFile) {
                    info.client_ssl_ca_filepath = ca
                }
                return lws_create_context(&info)
            }
        }
        guard let context else {
            deliverClose(
                CloseInfo(
                    wasOpen: false, code: nil, message: "could not create a libwebsockets context", httpStatus: nil))
            return
        }
        // Ping when the connection has been quiet, hang up when nothing valid comes back: a
        // half-open connection (suspend/resume, NAT timeout) is found in seconds, not when TCP
        // gives up. lws keeps the policy by pointer until the context is gone
        // (freed after it: defers run in reverse).
        let idle = UnsafeMutablePointer<lws_retry_bo_t>.allocate(capacity: 1)
        idle.initialize(to: lws_retry_bo_t())
        idle.pointee.secs_since_valid_ping = Self.pingAfterSeconds
        idle.pointee.secs_since_valid_hangup = Self.hangUpAfterSeconds
        defer { idle.deallocate() }
        slot.publish(context)
        defer { slot.destroy(context) }

        let connected: Bool = endpoint.host.withCString { host in
            endpoint.path.withCString { path in
                endpoint.hostHeader.withCString { hostHeader in
                    var info = lws_client_connect_info()
                    info.context = context
                    info.address = host
                    info.port = Int32(endpoint.port)
                    info.path = path
                    info.host = hostHeader
                    // No Origin: captiontap is not a web page (servers may refuse browser origins).
                    info.retry_and_idle_policy = UnsafePointer(idle)
                    // A redirect is a failed handshake, never followed: the headers (the API key)
                    // would go to wherever it points.
                    let tls = endpoint.secure ? LCCSCF_USE_SSL.rawValue : 0
                    info.ssl_connection = Int32(tls | LCCSCF_HTTP_NO_FOLLOW_REDIRECT.rawValue)
                    info.ietf_version_or_minus_one = -1
                    info.userdata = Unmanaged.passUnretained(self).toOpaque()
                    return withUnsafeMutablePointer(to: &wsi) { pwsi in
                        info.pwsi = pwsi
                        return lws_client_connect_via_info(&info) != nil
                    }
                }
            }
        }
        if !connected {
            deliverClose(
                CloseInfo(
                    wasOpen: false, code: nil, message: "cannot connect to \(endpoint.hostHeader)", httpStatus: nil))
            return
        }
        while !done {
            if lws_service(context, 0) < 0 { break }
        }
        if !done {
            deliverClose(CloseInfo(wasOpen: opened, code: nil, message: "connection lost", httpStatus: nil))
        }
    }

    private func deliverClose(_ info: CloseInfo) {
        guard !done else { return }
        done = true
        onEvent(.closed(info))
    }

    fileprivate func handle(
        _ wsi: OpaquePointer?, _ reason: lws_callback_reasons, _ input: UnsafeMutableRawPointer?, _ length: Int
    ) -> Int32 {
        switch reason {
        case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
            guard let input else { return 0 }
            let cursor = input.assumingMemoryBound(to: UnsafeMutablePointer<UInt8>?.self)
            guard let start = cursor.pointee else { return 0 }
            let end = start + length
            for (name, value) in headers {
                let ok = (name.lowercased() + ":").withCString { n in
                    value.withCString { v in
                        lws_add_http_header_by_name(
                            wsi, UnsafeRawPointer(n).assumingMemoryBound(to: UInt8.self),
                            UnsafeRawPointer(v).assumingMemoryBound(to: UInt8.self),
                            Int32(strlen(v)), cursor, end)
                    }
                }
                if ok != 0 { return -1 }
            }
        case LWS_CALLBACK_CLIENT_ESTABLISHED:
            opened = true
            onEvent(.open)
            lws_callback_on_writable(wsi)
        case LWS_CALLBACK_CLIENT_RECEIVE:
            let complete = lws_is_final_fragment(wsi) != 0 && lws_remaining_packet_payload(wsi) == 0
            if receiving.isEmpty && complete {
                // The usual case: the whole message in one callback, straight into its String.
                if lws_frame_is_binary(wsi) == 0 {
                    let bytes = UnsafeRawBufferPointer(start: input, count: input == nil ? 0 : length)
                    onEvent(.text(String(decoding: bytes, as: UTF8.self)))
                }
                return 0
            }
            if receiving.isEmpty { receivingBinary = lws_frame_is_binary(wsi) != 0 }
            if WebSocketFrame.exceedsLimit(
                held: receiving.count, incoming: length, remaining: lws_remaining_packet_payload(wsi),
                limit: Self.maxMessageBytes)
            {
                receiving = []
                peerCloseReason = "the server sent a message over \(Self.maxMessageBytes >> 20) MiB"
                return -1
            }
            if let input, length > 0 {
                receiving.append(contentsOf: UnsafeRawBufferPointer(start: input, count: length))
            }
            if complete {
                if !receivingBinary { onEvent(.text(String(decoding: receiving, as: UTF8.self))) }
                receiving.removeAll(keepingCapacity: true)
            }
        case LWS_CALLBACK_CLIENT_WRITEABLE:
            return writeQueued(wsi)
        case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
            if abortRequested.load(ordering: .acquiring), let connection = self.wsi {
                peerCloseReason = "no answer from the server"
                lws_set_timeout(connection, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC)
                return 0
            }
            if let connection = self.wsi, opened { lws_callback_on_writable(connection) }
            if closeRequested.load(ordering: .acquiring) && !opened && !done {
                deliverClose(CloseInfo(wasOpen: false, code: nil, message: "closed before connecting", httpStatus: nil))
            }
        case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
            if let input, length >= 2 {
                let bytes = input.assumingMemoryBound(to: UInt8.self)
                peerCloseCode = Int(bytes[0]) << 8 | Int(bytes[1])
                if length > 2 {
                    peerCloseReason = String(
                        decoding: UnsafeRawBufferPointer(start: bytes + 2, count: length - 2), as: UTF8.self)
                }
            }
        case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
            let text = input.map { String(cString: $0.assumingMemoryBound(to: CChar.self)) } ?? "connection failed"
            self.wsi = nil
            deliverClose(
                CloseInfo(wasOpen: false, code: nil, message: text, httpStatus: Self.httpStatus(in: text, wsi: wsi)))
        case LWS_CALLBACK_CLIENT_CLOSED:
            self.wsi = nil
            deliverClose(CloseInfo(wasOpen: true, code: peerCloseCode, message: peerCloseReason, httpStatus: nil))
        default:
            break
        }
        return 0
    }

    /// Bytes of frames handed to lws in one write, and per WRITEABLE callback (then lws gets to
    /// read the socket before the next callback).
    private static let batchBytes = 64 << 10
    private static let callbackBytes = 1 << 20

    /// Frames and masks queued messages and writes them, many frames per `lws_write`. lws
    /// takes each write whole: what the socket does not accept it keeps and sends first, and it
    /// calls WRITEABLE again only once that is out, so frames never interleave.
    private func writeQueued(_ wsi: OpaquePointer?) -> Int32 {
        let pre = ct_lws_pre()
        var budget = Self.callbackBytes
        while budget > 0 && lws_partial_buffered(wsi) == 0 {
            var used = 0
            while used < Self.batchBytes, let message = nextMessage() {
                var text = message
                text.withUTF8 { payload in
                    reserveBatch(pre + used + WebSocketFrame.frameLength(payload: payload.count))
                    used += WebSocketFrame.writeMaskedText(
                        UnsafeRawBufferPointer(payload), key: maskingKeys.next(),
                        into: batch + pre + used)
                }
            }
            if used == 0 { break }
            // LWS_WRITE_RAW: the bytes are complete frames; lws only sends (or buffers) them.
            let written = lws_write(wsi, batch.assumingMemoryBound(to: UInt8.self) + pre, used, LWS_WRITE_HTTP)
            if written < used { return -1 }
            budget -= used
        }
        let more = sendIndex < sending.count || !outgoing.withLock { $0.isEmpty }
        if !more && lws_partial_buffered(wsi) == 0 && closeRequested.load(ordering: .acquiring) {
            lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, nil, 0)
            return -1
        }
        if more || closeRequested.load(ordering: .acquiring) { lws_callback_on_writable(wsi) }
        return 0
    }

    /// The next queued message, taking the whole queue in one swap when the taken batch is used up.
    private func nextMessage() -> String? {
        if sendIndex == sending.count {
            // O(1) under the lock, however long the queue.
            sending.removeAll(keepingCapacity: true)
            sendIndex = 0
            outgoing.withLock { swap(&$0, &sending) }
        }
        guard sendIndex < sending.count else {
            pendingInSwap.store(0, ordering: .relaxed)
            return nil
        }
        let next = sending[sendIndex]
        sending[sendIndex] = ""
        sendIndex += 1
        pendingInSwap.store(sending.count - sendIndex, ordering: .relaxed)
        return next
    }

    private func reserveBatch(_ bytes: Int) {
        guard bytes > batchCapacity else { return }
        let capacity = max(bytes, 2 * batchCapacity)
        let grown = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
        grown.copyMemory(from: batch, byteCount: batchCapacity)
        batch.deallocate()
        batch = grown
        batchCapacity = capacity
    }

    /// lws reports a refused upgrade as text; pull the HTTP status out of it.
    static func httpStatus(in text: String, wsi: OpaquePointer?) -> Int? {
        if let wsi {
            let status = Int(lws_http_client_http_response(wsi))
            if status >= 200 { return status }
        }
        let digits = text.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
        return digits.first { (300...599).contains($0) }
    }
}

/// The lws protocol callback: routes to the client that owns the context.
private func webSocketClientCallback(
    wsi: OpaquePointer?, reason: lws_callback_reasons, user: UnsafeMutableRawPointer?,
    input: UnsafeMutableRawPointer?, length: Int
) -> Int32 {
    guard let context = lws_get_context(wsi), let owner = lws_context_user(context) else { return 0 }
    let client = Unmanaged<WebSocketClient>.fromOpaque(owner).takeUnretainedValue()
    return client.handle(wsi, reason, input, length)
}
