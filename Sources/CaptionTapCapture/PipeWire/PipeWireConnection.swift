import CPipeWire
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The control side of a PipeWire client: a thread loop, a context and a core connection.
///
/// Every PipeWire call outside the RT callback happens with the loop lock held (``locked(_:)``),
/// as pw-cat and the examples do. The connection notices the daemon going away (a core error
/// with `-EPIPE`) and exposes it through ``isBroken`` so an owner can reconnect.
final class PipeWireConnection: @unchecked Sendable {
    private let loop: OpaquePointer
    let context: OpaquePointer
    private(set) var core: OpaquePointer?
    private let coreHook: UnsafeMutablePointer<spa_hook>
    private let coreEvents: UnsafeMutablePointer<pw_core_events>
    private let broken = Atomic<Bool>(false)
    private var pendingSeq: Int32 = -1
    private var doneSeq: Int32 = -1

    /// Where libpipewire looks for the daemon, for error messages.
    static var socketPath: String {
        let env = ProcessInfo.processInfo.environment
        let remote = env["PIPEWIRE_REMOTE"] ?? "pipewire-0"
        if remote.hasPrefix("/") { return remote }
        let dir = env["PIPEWIRE_RUNTIME_DIR"] ?? env["XDG_RUNTIME_DIR"] ?? env["USERPROFILE"] ?? "$XDG_RUNTIME_DIR"
        return "\(dir)/\(remote)"
    }

    /// Starts the loop and connects; throws ``CaptureError/daemonUnreachable(socket:)``.
    init(name: String) throws(CaptureError) {
        pw_init(nil, nil)
        guard let loop = pw_thread_loop_new("captiontap-pw", nil) else {
            throw .pipewire(call: "pw_thread_loop_new", code: -Int32(errno))
        }
        self.loop = loop
        let props = ct_pw_properties_new()
        pw_properties_set(props, PW_KEY_APP_NAME, "captiontap")
        pw_properties_set(props, PW_KEY_APP_ID, "captiontap")
        guard let context = pw_context_new(pw_thread_loop_get_loop(loop), props, 0) else {
            pw_thread_loop_destroy(loop)
            throw .pipewire(call: "pw_context_new", code: -Int32(errno))
        }
        self.context = context
        coreHook = .allocate(capacity: 1)
        coreHook.initialize(to: spa_hook())
        coreEvents = .allocate(capacity: 1)
        var events = pw_core_events()
        events.version = UInt32(PW_VERSION_CORE_EVENTS)
        events.done = { data, id, seq in
            guard let data else { return }
            let me = Unmanaged<PipeWireConnection>.fromOpaque(data).takeUnretainedValue()
            if id == ct_pw_id_core() { me.doneSeq = seq }
            pw_thread_loop_signal(me.loop, false)
        }
        events.error = { data, id, _, res, _ in
            guard let data else { return }
            let me = Unmanaged<PipeWireConnection>.fromOpaque(data).takeUnretainedValue()
            if id == ct_pw_id_core() && res == -EPIPE {
                me.broken.store(true, ordering: .releasing)
            }
            pw_thread_loop_signal(me.loop, false)
        }
        coreEvents.initialize(to: events)
        guard pw_thread_loop_start(loop) >= 0 else {
            throw .pipewire(call: "pw_thread_loop_start", code: -Int32(errno))
        }
        try locked { () throws(CaptureError) in try connectLocked() }
    }

    deinit {
        pw_thread_loop_stop(loop)
        if core != nil { disconnectLocked() }
        pw_context_destroy(context)
        pw_thread_loop_destroy(loop)
        coreHook.deallocate()
        coreEvents.deinitialize(count: 1)
        coreEvents.deallocate()
    }

    /// True once the daemon has gone away; ``reconnectLocked()`` connects again (the capture's
    /// supervisor does, then sets its stream up anew).
    var isBroken: Bool { broken.load(ordering: .acquiring) }

    /// Runs `body` with the thread-loop lock held.
    func locked<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        pw_thread_loop_lock(loop)
        defer { pw_thread_loop_unlock(loop) }
        return try body()
    }

    private func connectLocked() throws(CaptureError) {
        guard let core = pw_context_connect(context, nil, 0) else {
            throw .daemonUnreachable(socket: Self.socketPath)
        }
        self.core = core
        coreHook.update(repeating: spa_hook(), count: 1)
        _ = ct_pw_core_add_listener(core, coreHook, coreEvents, Unmanaged.passUnretained(self).toOpaque())
        broken.store(false, ordering: .releasing)
    }

    private func disconnectLocked() {
        guard let core else { return }
        spa_hook_remove(coreHook)
        pw_core_disconnect(core)
        self.core = nil
    }

    /// Drops the dead core and tries once to connect a new one. Call with the lock held.
    func reconnectLocked() throws(CaptureError) {
        disconnectLocked()
        try connectLocked()
    }

    /// Waits (lock held) until the daemon has processed everything sent so far.
    /// Returns false on timeout or a broken connection.
    @discardableResult
    func roundtripLocked(timeoutSeconds: Int32 = 3) -> Bool {
        guard let core else { return false }
        pendingSeq = ct_pw_core_sync(core, 0)
        let deadline = MonotonicClock.now + Double(timeoutSeconds)
        while doneSeq != pendingSeq {
            if isBroken || MonotonicClock.now > deadline { return false }
            _ = pw_thread_loop_timed_wait(loop, 1)
        }
        return true
    }

    /// Waits up to `seconds` for loop events (lock held); used to poll for graph changes.
    func waitLocked(seconds: Int32) {
        _ = pw_thread_loop_timed_wait(loop, seconds)
    }
}

/// Monotonic seconds, without Foundation.
enum MonotonicClock {
    static var now: Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
