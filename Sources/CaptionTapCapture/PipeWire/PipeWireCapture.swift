import CPipeWire
import CaptionTapCore
import Foundation
import Logging
import Synchronization

/// Captures one PipeWire target into an ``AudioRing`` at 24 kHz mono F32.
///
/// The graph does the conversion: the stream's only EnumFormat is F32/24000/mono, so
/// PipeWire's audioconvert resamples and downmixes. The RT callback is ``CaptureProcess``;
/// everything here is control path, on the caller's thread or the supervisor thread, always
/// under the loop lock. If the daemon restarts, the supervisor rebuilds the connection, the
/// virtual sink and the stream, and capture resumes into the same ring.
public final class PipeWireCapture: @unchecked Sendable {
    public let target: CaptureTarget
    private let ring: AudioRing
    private let logger: Logger
    private var connection: PipeWireConnection?
    private let rtState: UnsafeMutablePointer<CaptureRTState>
    // Two listeners on the stream: the RT one gets the plain RT state, the control one `self`.
    private let rtHook = UnsafeMutablePointer<spa_hook>.allocate(capacity: 1)
    private let rtEvents = UnsafeMutablePointer<pw_stream_events>.allocate(capacity: 1)
    private let controlHook = UnsafeMutablePointer<spa_hook>.allocate(capacity: 1)
    private let controlEvents = UnsafeMutablePointer<pw_stream_events>.allocate(capacity: 1)
    private var virtualSink: VirtualSink?
    private var targetIsSink = false
    private let streamFailed = Atomic<Bool>(false)
    private let stopping = Atomic<Bool>(false)
    private var supervisor: Thread?
    private let supervisorDone = DispatchSemaphore(value: 0)

    /// `process` is always ``CaptureProcess/onProcess`` in captiontap; it is a parameter only so
    /// `captiontap-rtprobe` can wrap it to count heap calls on the live data thread.
    /// Where libpipewire looks for the daemon (`PIPEWIRE_REMOTE`, `PIPEWIRE_RUNTIME_DIR`,
    /// `XDG_RUNTIME_DIR`), as `doctor` and error messages show it.
    public static var daemonSocketPath: String { PipeWireConnection.socketPath }

    public init(
        target: CaptureTarget, ring: AudioRing, logger: Logger,
        process: @escaping CaptureProcess.Callback = CaptureProcess.onProcess
    ) {
        self.target = target
        self.ring = ring
        self.logger = logger
        rtState = .allocate(capacity: 1)
        rtState.initialize(to: CaptureRTState(producer: ring.producer))
        rtHook.initialize(to: spa_hook())
        controlHook.initialize(to: spa_hook())
        var rt = pw_stream_events()
        rt.version = UInt32(PW_VERSION_STREAM_EVENTS)
        rt.process = process
        rtEvents.initialize(to: rt)
        var control = pw_stream_events()
        control.version = UInt32(PW_VERSION_STREAM_EVENTS)
        // A failed stream, or one the session manager took down (its target went away: with
        // node.dont-reconnect WirePlumber destroys the stream, which ends unconnected, not in
        // error). Our own teardown removes this listener before it disconnects.
        control.state_changed = { data, old, state, _ in
            let takenDown =
                state == PW_STREAM_STATE_UNCONNECTED
                && (old == PW_STREAM_STATE_PAUSED || old == PW_STREAM_STATE_STREAMING)
            guard let data, state == PW_STREAM_STATE_ERROR || takenDown else { return }
            Unmanaged<PipeWireCapture>.fromOpaque(data).takeUnretainedValue()
                .streamFailed.store(true, ordering: .releasing)
        }
        controlEvents.initialize(to: control)
    }

    deinit {
        stop()
        rtState.deinitialize(count: 1)
        rtState.deallocate()
        rtHook.deallocate()
        rtEvents.deallocate()
        controlHook.deallocate()
        controlEvents.deallocate()
    }

    /// Connects, checks the target, and starts capturing. Throws for an unknown target or no daemon.
    public func start() throws(CaptureError) {
        let connection = try PipeWireConnection(name: "captiontap")
        self.connection = connection
        try setUp(on: connection)
        logger.info("capturing \(target) at 24000 Hz mono", metadata: ["capture.target": "\(target)"])
        let thread = Thread { [weak self] in self?.supervise() }
        thread.name = "captiontap-pw-supervisor"
        supervisor = thread
        thread.start()
    }

    /// Stops capture and removes the stream (and virtual sink). Idempotent.
    public func stop() {
        guard !stopping.exchange(true, ordering: .acquiringAndReleasing) else { return }
        if supervisor != nil {
            supervisorDone.wait()
            supervisor = nil
        }
        if let connection {
            connection.locked { tearDownLocked() }
        }
        connection = nil
    }

    /// Lists the capturable nodes of the running graph (`captiontap devices`).
    public static func listNodes() throws(CaptureError) -> [NodeInfo] {
        try inspectGraph().nodes
    }

    /// The capturable nodes and the applications of the connected clients (`captiontap doctor`).
    public static func inspectGraph() throws(CaptureError) -> (nodes: [NodeInfo], clients: [String]) {
        let connection = try PipeWireConnection(name: "captiontap-devices")
        let snapshot = GraphSnapshot()
        guard snapshot.collect(on: connection) else {
            throw .daemonUnreachable(socket: PipeWireConnection.socketPath)
        }
        return (snapshot.nodeInfos, snapshot.clientApplications)
    }

    // MARK: - Control path

    /// Resolves the target, loads the virtual sink if asked, and connects the stream.
    private func setUp(on connection: PipeWireConnection) throws(CaptureError) {
        switch target {
        case .defaultOutput:
            targetIsSink = true
        case .virtualSink(let name):
            let sink = virtualSink ?? VirtualSink(name: name)
            virtualSink = sink
            try connection.locked { () throws(CaptureError) in
                try sink.loadLocked(context: connection.context)
                connection.roundtripLocked()
            }
            targetIsSink = true
        case .node(let wanted):
            let snapshot = GraphSnapshot()
            guard snapshot.collect(on: connection) else {
                throw .daemonUnreachable(socket: PipeWireConnection.socketPath)
            }
            guard let node = snapshot.nodeInfos.first(where: { $0.matches(target: wanted) }) else {
                throw .unknownTarget(wanted)
            }
            targetIsSink = node.kind == .sink
        }
        try connection.locked { () throws(CaptureError) in try connectStreamLocked(on: connection) }
    }

    private func connectStreamLocked(on connection: PipeWireConnection) throws(CaptureError) {
        guard let core = connection.core else { throw .daemonUnreachable(socket: PipeWireConnection.socketPath) }
        let props = ct_pw_properties_new()
        pw_properties_set(props, PW_KEY_MEDIA_TYPE, "Audio")
        pw_properties_set(props, PW_KEY_MEDIA_CATEGORY, "Capture")
        pw_properties_set(props, PW_KEY_NODE_NAME, "captiontap")
        pw_properties_set(props, PW_KEY_NODE_DESCRIPTION, "captiontap live captions")
        pw_properties_set(props, PW_KEY_APP_NAME, "captiontap")
        // Downmix by averaging, so a captured signal keeps the level it was played at.
        pw_properties_set(props, "channelmix.normalize", "true")
        // A sink is captured through its monitor ports.
        pw_properties_set(props, PW_KEY_STREAM_CAPTURE_SINK, targetIsSink ? "true" : "false")
        switch target {
        case .defaultOutput:
            break
        case .node(let name):
            pw_properties_set(props, "target.object", name)
            // Never fall back to another node: capturing the wrong audio is worse than none.
            pw_properties_set(props, PW_KEY_NODE_DONT_RECONNECT, "true")
        case .virtualSink(let name):
            pw_properties_set(props, "target.object", name)
            pw_properties_set(props, PW_KEY_NODE_DONT_RECONNECT, "true")
        }
        guard let stream = pw_stream_new(core, "captiontap capture", props) else {
            throw .pipewire(call: "pw_stream_new", code: -Int32(errno))
        }
        rtHook.update(repeating: spa_hook(), count: 1)
        controlHook.update(repeating: spa_hook(), count: 1)
        pw_stream_add_listener(stream, rtHook, rtEvents, UnsafeMutableRawPointer(rtState))
        pw_stream_add_listener(stream, controlHook, controlEvents, Unmanaged.passUnretained(self).toOpaque())
        rtState.pointee.stream = stream

        var podBuffer = [UInt8](repeating: 0, count: 1024)
        let result = podBuffer.withUnsafeMutableBufferPointer { buf -> Int32 in
            var param: UnsafePointer<spa_pod>? = ct_build_mono_format(
                buf.baseAddress, UInt32(buf.count), SPA_AUDIO_FORMAT_F32_LE.rawValue, UInt32(PCM16.sampleRate))
            // RT_PROCESS: `process` runs on the data thread; CaptureProcess keeps it real-time safe.
            let flags = pw_stream_flags(
                rawValue: PW_STREAM_FLAG_AUTOCONNECT.rawValue | PW_STREAM_FLAG_MAP_BUFFERS.rawValue
                    | PW_STREAM_FLAG_RT_PROCESS.rawValue)
            return pw_stream_connect(stream, SPA_DIRECTION_INPUT, ct_pw_id_any(), flags, &param, 1)
        }
        guard result >= 0 else {
            tearDownStreamLocked()
            throw .pipewire(call: "pw_stream_connect", code: result)
        }
    }

    private func tearDownStreamLocked() {
        guard let stream = rtState.pointee.stream else { return }
        // The control listener goes first (it runs on this loop, whose lock we hold): our own
        // disconnect is not a stream taken down. Disconnecting then takes the node off the data
        // loop (pw_stream_disconnect waits for the data thread): only then can the real-time
        // listener be removed without racing `process`.
        spa_hook_remove(controlHook)
        pw_stream_disconnect(stream)
        spa_hook_remove(rtHook)
        pw_stream_destroy(stream)
        rtState.pointee.stream = nil
    }

    private func tearDownLocked() {
        tearDownStreamLocked()
        virtualSink?.unloadLocked()
    }

    /// Watches for a lost daemon or a failed stream and rebuilds; runs until ``stop()``.
    private func supervise() {
        defer { supervisorDone.signal() }
        while !stopping.load(ordering: .acquiring) {
            Thread.sleep(forTimeInterval: 0.1)
            guard let connection else { continue }
            let failed = streamFailed.exchange(false, ordering: .acquiringAndReleasing)
            guard connection.isBroken || failed else { continue }
            let started = MonotonicClock.now
            logger.warning(
                connection.isBroken
                    ? "PipeWire connection lost (daemon restarted?); reconnecting"
                    : "capture stream failed (target gone?); reconnecting")
            connection.locked { tearDownLocked() }
            while !stopping.load(ordering: .acquiring) {
                do {
                    if connection.isBroken || connection.core == nil {
                        try connection.locked { () throws(CaptureError) in try connection.reconnectLocked() }
                    }
                    try setUp(on: connection)
                    logger.warning("capture resumed after \(String(format: "%.1f", MonotonicClock.now - started)) s")
                    break
                } catch {
                    logger.debug("reconnect attempt failed: \(error)")
                    Thread.sleep(forTimeInterval: 0.25)
                }
            }
        }
    }
}
