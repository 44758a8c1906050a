import CWebSockets
import Foundation
import Synchronization

/// lws's protocol callback as a C function pointer.
typealias LWSCallback =
    @convention(c) (OpaquePointer?, lws_callback_reasons, UnsafeMutableRawPointer?, UnsafeMutableRawPointer?, Int) ->
    Int32

/// What the client and the server share about an lws context: its one protocol, created with the
/// context, and the cross-thread wake-up.
///
/// `lws_cancel_service` is the one lws call documented as safe from any thread; everything else
/// happens on the service thread that owns the context.
final class LWSContextSlot: Sendable {
    /// The published context, as an address. Held while waking it, so `destroy` cannot free the
    /// context between another thread's load and its `lws_cancel_service` (a use after free).
    private let pointer = Mutex<UInt>(0)

    /// Creates the context with a single protocol named `name` (lws keeps the table until the
    /// context is destroyed; the name is ours to free afterwards, see ``destroy(_:)``).
    func create(
        protocolName name: String, callback: LWSCallback,
        configure: (inout lws_context_creation_info) -> OpaquePointer?
    ) -> OpaquePointer? {
        lws_set_log_level(0, nil)  // lws would log to stderr in its own format; we report ourselves
        protocols[0] = lws_protocols(
            name: strdup(name), callback: callback, per_session_data_size: 0,
            rx_buffer_size: 65536, id: 0, user: nil, tx_packet_size: 0)
        return protocols.withUnsafeMutableBufferPointer { table in
            var info = lws_context_creation_info()
            info.protocols = UnsafePointer(table.baseAddress)
            return configure(&info)
        }
    }

    /// Publishes the context so other threads can wake it.
    func publish(_ context: OpaquePointer) {
        pointer.withLock { $0 = UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(context))) }
    }

    /// Unpublishes and destroys the context, then frees the protocol name. Once unpublished no
    /// wake can reach it: a wake in progress finishes first (it holds the lock).
    func destroy(_ context: OpaquePointer) {
        pointer.withLock { $0 = 0 }
        lws_context_destroy(context)
        free(UnsafeMutableRawPointer(mutating: protocols[0].name))
        protocols[0] = lws_protocols()
    }

    /// Wakes the service loop (any thread); a no-op before `publish` or after `destroy`.
    /// `lws_cancel_service` only writes to the context's event pipe: quick under the lock.
    func wake() {
        pointer.withLock { raw in
            if raw != 0, let context = OpaquePointer(bitPattern: raw) { lws_cancel_service(context) }
        }
    }

    // Touched only by the service thread (create and destroy), never concurrently.
    nonisolated(unsafe) private var protocols = [lws_protocols(), lws_protocols()]
}
