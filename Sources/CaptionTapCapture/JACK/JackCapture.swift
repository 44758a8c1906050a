import CJack
import CaptionTapCore
import Foundation
import Logging
import Synchronization

/// The real-time half of JACK capture: state reached through a raw pointer, as for PipeWire.
public struct JackRTState {
    public var port: OpaquePointer?
    public let producer: AudioRing.Producer
    public init(producer: AudioRing.Producer) {
        self.port = nil
        self.producer = producer
    }
}

public enum JackProcess {
    /// The type of JACK's process callback; `data` points at a ``JackRTState``.
    public typealias Callback = @convention(c) (jack_nframes_t, UnsafeMutableRawPointer?) -> Int32

    /// JACK's process callback: copy this period's samples into the ring and return. Same rules
    /// as PipeWire's `process`: no allocation, locks, syscalls, logging or retain/release.
    public static let onProcess: Callback = { frames, data in
        guard let data else { return 0 }
        let state = data.assumingMemoryBound(to: JackRTState.self)
        guard let port = state.pointee.port, let buffer = jack_port_get_buffer(port, frames) else { return 0 }
        state.pointee.producer.write(buffer.assumingMemoryBound(to: Float.self), count: Int(frames))
        return 0
    }
}

/// What JACK tells a client outside the process callback (from its notification thread).
final class JackNotices: Sendable {
    let serverGone = Atomic<Bool>(false)
    let rate = Atomic<Int>(0)

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

/// `--backend jack`: one input port, `captiontap:input`, optionally connected to `--jack-connect`.
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
        self.connectTo = connectTo
        self.logger = logger
        state = .allocate(capacity: 1)
        state.initialize(to: JackRTState(producer: ring.producer))
    }

    deinit {
        stop()
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
        guard
            let port = jack_port_register(
                client, "input", ct_jack_default_audio_type(), UInt(JackPortIsInput.rawValue), 0)
        else {
            throw .jack(call: "jack_port_register")
        }
        state.pointee.port = port
        guard jack_set_process_callback(client, process, UnsafeMutableRawPointer(state)) == 0 else {
            throw .jack(call: "jack_set_process_callback")
        }
        // `notices` lives as long as this object, which outlives the client (closed in stop()).
        let noticesPointer = Unmanaged.passUnretained(notices).toOpaque()
        jack_on_shutdown(client, JackNotices.onShutdown, noticesPointer)
        guard jack_set_sample_rate_callback(client, JackNotices.onSampleRate, noticesPointer) == 0 else {
            throw .jack(call: "jack_set_sample_rate_callback")
        }
        guard jack_activate(client) == 0 else { throw .jack(call: "jack_activate") }
        let name = String(cString: jack_port_name(port))
        for source in connectTo {
            guard jack_connect(client, source, name) == 0 else {
                throw .unknownJackPort(source, available: outputPorts(client))
            }
        }
        logger.info(
            "capturing JACK port \(name) at \(sampleRate) Hz\(connectTo.isEmpty ? " (connect it with jack_connect or a patchbay)" : " from \(connectTo.joined(separator: ", "))")"
        )
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
