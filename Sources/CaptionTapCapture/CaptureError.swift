#if canImport(Glibc)
    import Glibc
#endif

/// Everything that can go wrong getting audio in, phrased for the one stderr line the user sees.
public enum CaptureError: Error, Equatable, CustomStringConvertible {
    /// No PipeWire daemon answered on the socket we tried.
    case daemonUnreachable(socket: String)
    /// `--target` named nothing in the graph.
    case unknownTarget(String)
    case fileNotFound(path: String)
    case fileUnreadable(path: String, reason: String)
    case pipewire(call: String, code: Int32)
    case recordFailed(path: String, reason: String)
    /// No JACK server answered (`jack_status_t` bits).
    case jackUnavailable(status: Int)
    /// `--jack-connect` named no port.
    case unknownJackPort(String, available: [String])
    case jack(call: String)

    /// Usage/config errors map to exit code 2; the rest are runtime failures.
    public var isUsageError: Bool {
        switch self {
        case .unknownTarget, .fileNotFound, .fileUnreadable, .recordFailed, .unknownJackPort: true
        case .daemonUnreachable, .pipewire, .jackUnavailable, .jack: false
        }
    }

    public var description: String {
        switch self {
        case .daemonUnreachable(let socket):
            "cannot connect to PipeWire at \(socket): is the daemon running for this user (XDG_RUNTIME_DIR, PIPEWIRE_REMOTE)? Use --input FILE to caption a file without PipeWire"
        case .unknownTarget(let name):
            "no PipeWire node named '\(name)' (by node.name or object.serial): run 'captiontap devices' to list sinks, sources and app streams"
        case .fileNotFound(let path):
            "input file '\(path)' does not exist"
        case .fileUnreadable(let path, let reason):
            "cannot read input file '\(path)': \(reason)"
        case .pipewire(let call, let code):
            "PipeWire \(call) failed: \(String(cString: strerror(-code)))"
        case .recordFailed(let path, let reason):
            "cannot write recording '\(path)': \(reason)"
        case .jackUnavailable(let status):
            "cannot connect to a JACK server (status 0x\(String(status, radix: 16))): start JACK, or use PipeWire's JACK layer: pw-jack captiontap run --backend jack"
        case .unknownJackPort(let port, let available):
            "cannot connect JACK port '\(port)' to captiontap:input: no such output port; "
                + (available.isEmpty
                    ? "the server has none"
                    : "available: " + available.prefix(8).map { "'\($0)'" }.joined(separator: ", "))
        case .jack(let call):
            "JACK \(call) failed"
        }
    }
}
