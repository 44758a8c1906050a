import CJack
import CaptionTapCore
import Foundation
import Logging
import Synchronization

/// The real-time half of JACK capture: state reached through a raw pointer, as for PipeWire.
///
/// One input port per `--jack-connect` source (JACK sums every link into an input port, so a
/// stereo pair into one port came out 6 dB hot and clipped where the music was loud). Several
/// ports are averaged into `mix`, preallocated, one block at a time: a downmix, like PipeWire's.
public struct JackRTState {
    public static let maxPorts = 8
    static let mixFrames = 4096
    /// `portCount` ports, set before activation and never changed while it runs.
    public let ports: UnsafeMutablePointer<OpaquePointer?>
    public var portCount = 0
    /// This block's input of each port, filled in the callback.
    let inputs: UnsafeMutablePointer<UnsafePointer<Float>?>
    let mix: UnsafeMutablePointer<Float>
    public let producer: AudioRing.Producer

    public init(producer: AudioRing.Producer) {
        self.producer = producer
        ports = .allocate(capacity: Self.maxPorts)
        ports.initialize(repeating: nil, count: Self.maxPorts)
        inputs = .allocate(capacity: Self.maxPorts)
        inputs.initialize(repeating: nil, count: Self.maxPorts)
        mix = .allocate(capacity: Self.mixFrames)
        mix.initialize(repeating: 0, count: Self.mixFrames)
    }

    /// Frees the buffers (after the client is closed).
    func release() {
        ports.deallocate()
        inputs.deallocate()
        mix.deallocate()
    }
}

/// The downmix of several ports: their average, so a stereo pair keeps its level and nothing
/// can clip that did not clip on its own port.
public enum JackMix {
    /// Writes the average of `count` inputs (nil: a port without a buffer, counted as silence)
    /// over `frames` samples into `out`. Real-time safe: loops over raw pointers only.
    public static func average(
        _ inputs: UnsafePointer<UnsafePointer<Float>?>, count: Int, frames: Int, into out: UnsafeMutablePointer<Float>
    ) {
        out.update(repeating: 0, count: frames)
        guard count > 0 else { return }
        let scale = 1 / Float(count)
        for k in 0..<count {
            guard let input = inputs[k] else { continue }
            for i in 0..<frames { out[i] += input[i] * scale }
        }
    }
}

public enum JackProcess {
    /// The type of JACK's process callback; `data` points at a ``JackRTState``.
    public typealias Callback = @convention(c) (jack_nframes_t, UnsafeMutableRawPointer?) -> Int32

    /// JACK's process callback: copy this period's samples (one port's, or the ports' average)
    /// into the ring and return. Same rules as PipeWire's `process`: no allocation, locks,
    /// syscalls, logging or retain/release.
    public static let onProcess: Callback = { frames, data in
        guard let data else { return 0 }
        let state = data.assumingMemoryBound(to: JackRTState.self)
        let count = state.pointee.portCount
        if count == 1 {
            guard let port = state.pointee.ports[0], let buffer = jack_port_get_buffer(port, frames) else { return 0 }
            state.pointee.producer.write(buffer.assumingMemoryBound(to: Float.self), count: Int(frames))
            return 0
        }
        var done = 0
        while count > 1 && done < Int(frames) {
            let n = min(Int(frames) - done, JackRTState.mixFrames)
            for k in 0..<count {
                state.pointee.inputs[k] = nil
                if let port = state.pointee.ports[k], let buffer = jack_port_get_buffer(port, frames) {
                    state.pointee.inputs[k] = UnsafePointer(buffer.assumingMemoryBound(to: Float.self) + done)
                }
            }
            JackMix.average(state.pointee.inputs, count: count, frames: n, into: state.pointee.mix)
            state.pointee.producer.write(state.pointee.mix, count: n)
            done += n
        }
        return 0
    }
}

/// What JACK tells a client outside the process callback (from its notification thread).
final class JackNotices: Sendable {
    let serverGone = Atomic<Bool>(false)
    let rate = Atomic<Int>(0)
    /// A port appeared since ``JackCapture/tend()`` last looked (a source may be back).
    let portsChanged = Atomic<Bool>(false)
    /// The `--jack-connect` sources' own port names (not aliases), by index, once linked; and a
    /// bit per source whose port went away since ``JackCapture/tend()`` last looked.
    let sources = Mutex<[String]>([])
    let goneMask = Atomic<Int>(0)
    /// The client, for looking up the port a notice names (its bit pattern; 0 before it opens).
    let client = Atomic<UInt>(0)

    static let onPortRegistration: @convention(c) (jack_port_id_t, Int32, UnsafeMutableRawPointer?) -> Void = {
        id, registered, arg in
        guard let arg else { return }
        let notices = Unmanaged<JackNotices>.fromOpaque(arg).takeUnretainedValue()
        guard registered == 0 else {
            notices.portsChanged.store(true, ordering: .releasing)
            return
        }
        // A port going away: if it is a source's, note it (a client-side lookup, no server call).
        guard let client = OpaquePointer(bitPattern: notices.client.load(ordering: .acquiring)),
            let port = jack_port_by_id(client, id), let name = jack_port_name(port)
        else { return }
        let gone = String(cString: name)
        let bits = notices.sources.withLock { sources in
            sources.indices.filter { sources[$0] == gone }.reduce(0) { $0 | 1 << $1 }
        }
        if bits != 0 { notices.goneMask.bitwiseOr(bits, ordering: .acquiringAndReleasing) }
    }

    static let onShutdown: @convention(c) (UnsafeMutableRawPointer?) -> Void = { arg in
        guard let arg else { return }
        Unmanaged<JackNotices>.fromOpaque(arg).takeUnretainedValue().serverGone.store(true, ordering: .releasing)
    }

    static let onSampleRate: @convention(c) (jack_nframes_t, UnsafeMutableRawPointer?) -> Int32 = { rate, arg in
        guard let arg else { return 0 }
        Unmanaged<JackNotices>.fromOpaque(arg).takeUnretainedValue().rate.store(Int(rate), ordering: .releasing)
        return 0
    }
}

/// `--backend jack`: one input port, `captiontap:input`, optionally connected to a
/// `--jack-connect` source; with several sources, one port each (`captiontap:input_1`, …),
/// averaged. A source that goes away and comes back (a player restarted) is linked again: JACK
/// drops the link with the port, and ``tend()`` remakes it once the port is registered again.
///
/// Works on JACK2 and on PipeWire's JACK layer (`pw-jack`). The ring holds samples at the JACK
/// server's rate; the worker converts them to 24 kHz (JACK has no per-port resampling).
public final class JackCapture: @unchecked Sendable {
    public let ring: AudioRing
    public let connectTo: [String]
    public private(set) var sampleRate = 0
    private let logger: Logger
    private var client: OpaquePointer?
    private let state: UnsafeMutablePointer<JackRTState>
    private let process: JackProcess.Callback
    private let notices = JackNotices()
    /// Sources whose port went away: linked again once it is back (a link the user removed from
    /// a source that stayed is left removed).
    private var gone: Set<Int> = []
    private var retryAt = ContinuousClock.now

    /// Why capture cannot go on, once JACK says so: the server shut down (jackd stopped or
    /// crashed), or it changed its sample rate under the running resampler. The run ends with
    /// this line instead of going silent.
    public var failure: String? {
        if notices.serverGone.load(ordering: .acquiring) {
            return "the JACK server shut down; captions stopped (restart jackd, then captiontap)"
        }
        let rate = notices.rate.load(ordering: .acquiring)
        if rate != 0 && sampleRate != 0 && rate != sampleRate {
            return "the JACK server changed its sample rate from \(sampleRate) to \(rate) Hz; restart captiontap"
        }
        return nil
    }

    /// `process` is always ``JackProcess/onProcess`` in captiontap; it is a parameter only so
    /// `captiontap-rtprobe` can wrap it to count heap calls on the live JACK thread.
    public init(
        ring: AudioRing, connectTo: [String], logger: Logger,
        process: @escaping JackProcess.Callback = JackProcess.onProcess
    ) {
        self.ring = ring
        self.process = process
        self.connectTo = Array(connectTo.prefix(JackRTState.maxPorts))  // the CLI refuses more
        self.logger = logger
        state = .allocate(capacity: 1)
        state.initialize(to: JackRTState(producer: ring.producer))
    }

    deinit {
        stop()
        state.pointee.release()
        state.deinitialize(count: 1)
        state.deallocate()
    }

    public func start() throws(CaptureError) {
        // libjack prints its own multi-line diagnostics; the one error line below says it all.
        jack_set_error_function { _ in }
        jack_set_info_function { _ in }
        var status = jack_status_t(0)
        guard let client = ct_jack_client_open("captiontap", JackNoStartServer, &status) else {
            throw .jackUnavailable(status: Int(status.rawValue))
        }
        self.client = client
        sampleRate = Int(jack_get_sample_rate(client))
        try registerPorts(client)
        guard jack_set_process_callback(client, process, UnsafeMutableRawPointer(state)) == 0 else {
            throw .jack(call: "jack_set_process_callback")
        }
        notices.client.store(UInt(bitPattern: client), ordering: .releasing)
        // `notices` lives as long as this object, which outlives the client (closed in stop()).
        let noticesPointer = Unmanaged.passUnretained(notices).toOpaque()
        jack_on_shutdown(client, JackNotices.onShutdown, noticesPointer)
        guard jack_set_sample_rate_callback(client, JackNotices.onSampleRate, noticesPointer) == 0 else {
            throw .jack(call: "jack_set_sample_rate_callback")
        }
        guard jack_set_port_registration_callback(client, JackNotices.onPortRegistration, noticesPointer) == 0 else {
            throw .jack(call: "jack_set_port_registration_callback")
        }
        guard jack_activate(client) == 0 else { throw .jack(call: "jack_activate") }
        for (k, source) in connectTo.enumerated() {
            guard jack_connect(client, source, portName(k)) == 0 else {
                throw .unknownJackPort(source, available: outputPorts(client))
            }
        }
        let own = connectTo.map { jack_port_by_name(client, $0).flatMap(jack_port_name).map { String(cString: $0) } }
        notices.sources.withLock { $0 = zip(connectTo, own).map { $1 ?? $0 } }
        let names = (0..<state.pointee.portCount).map(portName).joined(separator: ", ")
        logger.info(
            "capturing JACK port\(connectTo.count > 1 ? "s" : "") \(names) at \(sampleRate) Hz\(connectTo.isEmpty ? " (connect it with jack_connect or a patchbay)" : " from \(connectTo.joined(separator: ", "))\(connectTo.count > 1 ? ", averaged" : "")")"
        )
    }

    /// `input`, or `input_1` … `input_N` for several sources, before activation.
    private func registerPorts(_ client: OpaquePointer) throws(CaptureError) {
        let count = max(1, min(connectTo.count, JackRTState.maxPorts))
        for k in 0..<count {
            let short = count == 1 ? "input" : "input_\(k + 1)"
            guard
                let port = jack_port_register(
                    client, short, ct_jack_default_audio_type(), UInt(JackPortIsInput.rawValue), 0)
            else {
                throw .jack(call: "jack_port_register")
            }
            state.pointee.ports[k] = port
            state.pointee.portCount = k + 1
        }
    }

    /// The full name of input port `k` (`captiontap:input`).
    private func portName(_ k: Int) -> String {
        guard let port = state.pointee.ports[k] else { return "" }
        return String(cString: jack_port_name(port))
    }

    /// Links a `--jack-connect` source that came back to its input port. Called often from the
    /// worker, never from a JACK thread (JACK forbids server calls in its callbacks): two atomic
    /// loads, unless a source is gone (then a look when a port appears, and every 0.5 s: a port
    /// registered a moment before its client activates cannot be linked yet).
    public func tend() {
        guard let client else { return }
        let changed = notices.portsChanged.exchange(false, ordering: .acquiringAndReleasing)
        let bits = notices.goneMask.exchange(0, ordering: .acquiringAndReleasing)
        for k in connectTo.indices where bits & (1 << k) != 0 { gone.insert(k) }
        guard !gone.isEmpty, changed || ContinuousClock.now >= retryAt else { return }
        retryAt = ContinuousClock.now + .milliseconds(500)
        for k in gone.sorted() {
            let source = connectTo[k]
            guard let port = state.pointee.ports[k], jack_port_by_name(client, source) != nil else { continue }
            if jack_port_connected_to(port, source) != 0 || jack_connect(client, source, portName(k)) == 0 {
                gone.remove(k)
                logger.info("JACK port \(source) is back: linked to \(portName(k)) again")
            } else {
                logger.debug("JACK port \(source) is back but cannot be linked yet; trying again")
            }
        }
    }

    /// Output ports a user could have meant, for the error line.
    private func outputPorts(_ client: OpaquePointer) -> [String] {
        guard let list = jack_get_ports(client, nil, ct_jack_default_audio_type(), UInt(JackPortIsOutput.rawValue))
        else { return [] }
        defer { jack_free(UnsafeMutableRawPointer(mutating: list)) }
        var names: [String] = []
        var i = 0
        while let name = list[i] {
            names.append(String(cString: name))
            i += 1
        }
        return names
    }

    public func stop() {
        guard let client else { return }
        // After a server shutdown the client is a zombie: closing it only frees it.
        if !notices.serverGone.load(ordering: .acquiring) { jack_deactivate(client) }
        jack_client_close(client)
        self.client = nil
    }
}
