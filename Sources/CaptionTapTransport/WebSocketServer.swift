import CWebSockets
import CaptionTapCore
import Foundation
import Synchronization

/// A WebSocket server on libwebsockets: one text message per event, one service thread.
///
/// Like ``WebSocketClient``, every lws call happens on the service thread. Events are delivered
/// on it, in order per connection; other threads only queue sends or work (``post(_:)``) and wake
/// the loop with `lws_cancel_service`, the one lws call documented as safe from any thread.
///
/// With ``Options/httpHandler`` set, the same listener also answers plain HTTP GETs (a page and
/// the WebSocket it opens on one port); without it, plain HTTP is left to lws as before.
public final class WebSocketServer: @unchecked Sendable {
    public typealias ConnectionID = Int

    public enum Event: Sendable {
        /// A client completed the handshake (its path with the query string, and the headers
        /// named in ``Options/forwardedHeaders``).
        case opened(ConnectionID, Handshake)
        case text(ConnectionID, String)
        case binary(ConnectionID)
        /// The connection is gone; no more events for it.
        case closed(ConnectionID)
    }

    /// What a connection asked for in its handshake.
    public struct Handshake: Sendable, Equatable {
        /// The request path with its query string.
        public var path: String
        /// The ``Options/forwardedHeaders`` it sent, by lower-case name (values ≤ 256 bytes).
        public var headers: [String: String]
        public init(path: String, headers: [String: String] = [:]) {
            self.path = path
            self.headers = headers
        }
    }

    /// The answer to a plain HTTP GET.
    public struct HTTPResponse: Sendable {
        public var status: UInt32
        public var contentType: String
        public var body: [UInt8]
        public init(status: UInt32 = 200, contentType: String, body: [UInt8]) {
            self.status = status
            self.contentType = contentType
            self.body = body
        }
    }

    public enum StartError: Error, Equatable, CustomStringConvertible {
        case cannotListen(host: String, port: Int)
        public var description: String {
            switch self {
            case .cannotListen(let host, let port):
                "cannot listen on \(host):\(port) (address in use, or not an address of this machine)"
            }
        }
    }

    public let options: Options
    private let onEvent: (Event) -> Void
    /// Messages queued per connection, not yet taken by the service thread, and their bytes.
    private struct Queue {
        var texts: [String] = []
        var bytes = 0
        mutating func append(_ text: String) {
            texts.append(text)
            bytes += text.utf8.count
        }
    }
    private let outgoing = Mutex<[ConnectionID: Queue]>([:])
    private let closing = Mutex<[ConnectionID: (Int, String)]>([:])
    private let dropping = Mutex<Set<ConnectionID>>([])
    private let droppedCount = Atomic<Int>(0)
    private let tooLarge = Atomic<Int>(0)
    private let inbox = Mutex<[@Sendable () -> Void]>([])
    private let stopRequested = Atomic<Bool>(false)
    private let slot = LWSContextSlot()
    private let started = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private var boundPort = 0
    private var thread: Thread?

    // Service-thread state.
    private final class Connection {
        let id: ConnectionID
        let wsi: OpaquePointer
        var receiving: [UInt8] = []
        var binary = false
        var sending: [String] = []
        var index = 0
        init(id: ConnectionID, wsi: OpaquePointer) {
            self.id = id
            self.wsi = wsi
        }
    }
    private var connections: [UInt: Connection] = [:]
    private var byID: [ConnectionID: Connection] = [:]
    private var nextID = 1
    private var pendingHandshakes: [UInt: Handshake] = [:]
    /// HTTP bodies waiting for their socket to become writable (``respond(_:key:)``).
    var httpBodies: [UInt: [UInt8]] = [:]
    /// The outgoing frame, reused: lws needs LWS_PRE bytes of room before every payload.
    var frame: [UInt8] = []

    /// `onEvent` runs on the service thread.
    public init(options: Options, onEvent: @escaping (Event) -> Void) {
        self.options = options
        self.onEvent = onEvent
    }

    /// Binds and starts serving; returns the port.
    public func start() throws(StartError) -> Int {
        let t = Thread { [self] in serviceLoop() }
        t.name = "captiontap-serve"
        t.stackSize = 1 << 20
        thread = t
        t.start()
        started.wait()
        guard boundPort > 0 else { throw .cannotListen(host: options.host, port: options.port) }
        return boundPort
    }

    /// Connections closed for sending a message over ``Options/maxMessageBytes``.
    public var oversizedMessages: Int { tooLarge.load(ordering: .relaxed) }

    /// Connections dropped because ``Options/maxQueuedMessages`` messages were waiting.
    public var droppedConnections: Int { droppedCount.load(ordering: .relaxed) }

    /// Queues a text message for a connection (any thread). Dropped if it has closed; with
    /// ``Options/maxQueuedMessages``, a connection that far behind is dropped instead (its
    /// queue discarded, the socket closed without a close handshake, then `.closed`).
    public func send(_ id: ConnectionID, _ text: String) {
        let (limit, byteLimit) = (options.maxQueuedMessages, options.maxQueuedBytes)
        let overflowed = outgoing.withLock { queues -> Bool in
            if let queue = queues[id],
                limit.map({ queue.texts.count >= $0 }) == true || byteLimit.map({ queue.bytes >= $0 }) == true
            {
                queues[id] = nil
                return true
            }
            queues[id, default: Queue()].append(text)
            return false
        }
        if overflowed {
            let first = dropping.withLock { $0.insert(id).inserted }
            if first { droppedCount.add(1, ordering: .relaxed) }
        }
        wake()
    }

    /// Closes a connection after its queued messages, with this close code (any thread).
    public func close(_ id: ConnectionID, code: Int = 1000, reason: String = "") {
        closing.withLock { $0[id] = (code, reason) }
        wake()
    }

    /// Runs `work` on the service thread soon (any thread).
    public func post(_ work: @escaping @Sendable () -> Void) {
        inbox.withLock { $0.append(work) }
        wake()
    }

    /// Stops serving and closes every connection; returns when the thread has ended.
    public func stop() {
        stopRequested.store(true, ordering: .releasing)
        wake()
        finished.wait()
    }

    private func wake() { slot.wake() }

    // MARK: - Service thread

    private func serviceLoop() {
        defer { finished.signal() }
        // Ping idle connections, drop those that stay silent. lws keeps the policy by pointer for
        // the context's life: it is freed after the context (this function's end).
        let idle = UnsafeMutablePointer<lws_retry_bo_t>.allocate(capacity: 1)
        idle.initialize(to: lws_retry_bo_t())
        idle.pointee.secs_since_valid_ping = options.idleSeconds
        idle.pointee.secs_since_valid_hangup = options.idleSeconds &* 2
        defer { idle.deallocate() }
        let context = slot.create(protocolName: "realtime", callback: webSocketServerCallback) { info in
            options.host.withCString { host in
                info.retry_and_idle_policy = UnsafePointer(idle)
                info.port = Int32(options.port)
                info.iface = host
                info.user = Unmanaged.passUnretained(self).toOpaque()
                // Connections, the listening socket and lws' own descriptors.
                info.fd_limit_per_thread = UInt32(options.maxConnections + 8)
                return lws_create_context(&info)
            }
        }
        guard let context, let vhost = lws_get_vhost_by_name(context, "default") else {
            if let context { slot.destroy(context) }
            started.signal()
            return
        }
        boundPort = Int(lws_get_vhost_listen_port(vhost))
        slot.publish(context)
        started.signal()
        while !stopRequested.load(ordering: .acquiring) {
            if lws_service(context, 0) < 0 { break }
        }
        slot.destroy(context)
        for connection in byID.values { onEvent(.closed(connection.id)) }
        byID.removeAll()
        connections.removeAll()
    }

    /// lws's protocol callback, on the service thread: one method per reason it acts on.
    fileprivate func handle(
        _ wsi: OpaquePointer?, _ reason: lws_callback_reasons, _ input: UnsafeMutableRawPointer?, _ length: Int
    ) -> Int32 {
        let key = UInt(bitPattern: Int(bitPattern: wsi.map { UnsafeRawPointer($0) }))
        switch reason {
        case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
            return admit(wsi, key: key)
        case LWS_CALLBACK_ESTABLISHED:
            guard let wsi else { return -1 }
            let connection = Connection(id: nextID, wsi: wsi)
            nextID += 1
            connections[key] = connection
            byID[connection.id] = connection
            onEvent(.opened(connection.id, pendingHandshakes.removeValue(forKey: key) ?? Handshake(path: options.path)))
        case LWS_CALLBACK_RECEIVE:
            guard let connection = connections[key] else { return -1 }
            return receive(wsi, connection, input, length)
        case LWS_CALLBACK_SERVER_WRITEABLE:
            guard let connection = connections[key] else { return -1 }
            return write(connection)
        case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
            serviceInbox()
        case LWS_CALLBACK_HTTP:
            guard options.httpHandler != nil else { break }
            return respond(wsi, key: key)
        case LWS_CALLBACK_HTTP_WRITEABLE:
            guard let body = httpBodies.removeValue(forKey: key) else { break }
            return writeHTTPBody(wsi, body)
        case LWS_CALLBACK_CLOSED_HTTP:
            httpBodies[key] = nil
        case LWS_CALLBACK_CLOSED:
            closed(key)
        default:
            break
        }
        return 0
    }

    /// The handshake: right path, an allowed origin, and the bearer token when one is required.
    private func admit(_ wsi: OpaquePointer?, key: UInt) -> Int32 {
        let uri = header(wsi, WSI_TOKEN_GET_URI) ?? ""
        if uri != options.path {
            _ = lws_return_http_status(wsi, 404, "Invalid URL (GET \(uri))")
            return -1
        }
        let origin = header(wsi, WSI_TOKEN_ORIGIN)
        if !Self.originAllowed(
            origin, host: header(wsi, WSI_TOKEN_HOST), policy: options.origins,
            loopbackListener: Self.isLoopback(options.host))
        {
            _ = lws_return_http_status(wsi, 403, "Origin not allowed")
            return -1
        }
        if let token = options.bearerToken,
            !Self.sameSecret(header(wsi, WSI_TOKEN_HTTP_AUTHORIZATION) ?? "", "Bearer \(token)")
        {
            _ = lws_return_http_status(wsi, 401, "Incorrect API key provided.")
            return -1
        }
        let q = query(wsi)
        var headers: [String: String] = [:]
        for name in options.forwardedHeaders { headers[name] = customHeader(wsi, name) }
        pendingHandshakes[key] = Handshake(path: q.isEmpty ? uri : uri + "?" + q, headers: headers)
        return 0
    }

    /// One fragment of a message: gathered up to ``Options/maxMessageBytes`` (beyond it the
    /// connection is closed with 1009), handed on when the message is complete.
    private func receive(
        _ wsi: OpaquePointer?, _ connection: Connection, _ input: UnsafeMutableRawPointer?, _ length: Int
    ) -> Int32 {
        if connection.receiving.isEmpty { connection.binary = lws_frame_is_binary(wsi) != 0 }
        if WebSocketFrame.exceedsLimit(
            held: connection.receiving.count, incoming: length, remaining: lws_remaining_packet_payload(wsi),
            limit: options.maxMessageBytes)
        {
            connection.receiving = []
            var reason = Array("message too large".utf8)
            lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, &reason, reason.count)
            tooLarge.add(1, ordering: .relaxed)
            return -1
        }
        if let input, length > 0 {
            connection.receiving.append(contentsOf: UnsafeRawBufferPointer(start: input, count: length))
        }
        if lws_is_final_fragment(wsi) != 0 && lws_remaining_packet_payload(wsi) == 0 {
            let message = connection.receiving
            connection.receiving.removeAll(keepingCapacity: true)
            onEvent(
                connection.binary
                    ? .binary(connection.id) : .text(connection.id, String(decoding: message, as: UTF8.self)))
        }
        return 0
    }

    /// Woken from another thread: runs posted work, kills dropped connections and asks for a
    /// writable callback wherever something is queued.
    private func serviceInbox() {
        let work = inbox.withLock { queue -> [@Sendable () -> Void] in
            defer { queue.removeAll() }
            return queue
        }
        for item in work { item() }
        for id in dropping.withLock({ set -> Set<ConnectionID> in
            defer { set.removeAll() }
            return set
        }) {
            // Its socket may never become writable again: kill it without waiting for that.
            if let connection = byID[id] {
                lws_set_timeout(connection.wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC)
            }
        }
        let ready = outgoing.withLock { Array($0.keys) } + closing.withLock { Array($0.keys) }
        for id in ready {
            if let connection = byID[id] {
                lws_callback_on_writable(connection.wsi)
            } else {
                outgoing.withLock { _ = $0.removeValue(forKey: id) }
                closing.withLock { _ = $0.removeValue(forKey: id) }
            }
        }
    }

    private func closed(_ key: UInt) {
        pendingHandshakes[key] = nil
        guard let connection = connections.removeValue(forKey: key) else { return }
        byID[connection.id] = nil
        outgoing.withLock { _ = $0.removeValue(forKey: connection.id) }
        closing.withLock { _ = $0.removeValue(forKey: connection.id) }
        onEvent(.closed(connection.id))
    }

    /// Writes queued messages until the socket would block; closes when asked and drained.
    private func write(_ connection: Connection) -> Int32 {
        while true {
            if connection.index == connection.sending.count {
                connection.sending.removeAll(keepingCapacity: true)
                connection.index = 0
                outgoing.withLock { queues in
                    if var queue = queues.removeValue(forKey: connection.id) {
                        swap(&queue.texts, &connection.sending)
                    }
                }
            }
            guard connection.index < connection.sending.count else {
                if let (code, reason) = closing.withLock({ $0.removeValue(forKey: connection.id) }) {
                    var bytes = Array(reason.utf8.prefix(120))
                    lws_close_reason(connection.wsi, lws_close_status(rawValue: UInt32(code)), &bytes, bytes.count)
                    return -1
                }
                return 0
            }
            let text = connection.sending[connection.index]
            connection.sending[connection.index] = ""
            connection.index += 1
            frame.removeAll(keepingCapacity: true)
            frame.append(contentsOf: repeatElement(0, count: ct_lws_pre()))
            frame.append(contentsOf: text.utf8)
            let count = frame.count - ct_lws_pre()
            let written = frame.withUnsafeMutableBufferPointer { buf in
                lws_write(connection.wsi, buf.baseAddress! + ct_lws_pre(), count, LWS_WRITE_TEXT)
            }
            if written < count { return -1 }
            if lws_send_pipe_choked(connection.wsi) != 0 {
                lws_callback_on_writable(connection.wsi)
                return 0
            }
        }
    }
}

private func webSocketServerCallback(
    wsi: OpaquePointer?, reason: lws_callback_reasons, user: UnsafeMutableRawPointer?,
    input: UnsafeMutableRawPointer?, length: Int
) -> Int32 {
    guard let context = lws_get_context(wsi), let owner = lws_context_user(context) else { return 0 }
    let server = Unmanaged<WebSocketServer>.fromOpaque(owner).takeUnretainedValue()
    return server.handle(wsi, reason, input, length)
}
