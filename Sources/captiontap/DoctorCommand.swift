import ArgumentParser
import CaptionTapCapture
import CaptionTapCore
import CaptionTapServer
import CaptionTapTransport
import Foundation
import Logging

/// `captiontap doctor`: checks what a run needs, one line each with ✓ or ✗ and a fix.
struct DoctorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check PipeWire, WirePlumber, the target, the key, the backend, the outputs and OBS.",
        discussion: "Exits non-zero if any check fails. The API key and the OBS password are never shown."
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup(title: "Transcription") var session: SessionOptions
    @OptionGroup(title: "Embedded backend") var recognizer: RecognizerOptions

    @Option(help: "Check live captions as run would use them: auto, on or off.")
    var live: LiveMode = .auto
    @OptionGroup(title: "OBS (obs-websocket 5)") var obs: OBSOptions

    @Option(help: ArgumentHelp("Also check that this node exists (as for run --target).", valueName: "node"))
    var target: String?

    @Option(help: ArgumentHelp("Also check that this FIFO path is usable.", valueName: "path"))
    var fifo: String?

    @Option(name: .customLong("timeout"), help: "Seconds to wait for the backend's WebSocket handshake.")
    var timeout = 5.0

    /// The checks so far: each printed as it is made, so a slow handshake shows where it is.
    final class Checklist {
        private(set) var failed = 0
        func report(_ ok: Bool, _ text: String) {
            if !ok { failed += 1 }
            print("\(ok ? "✓" : "✗") \(text)")
        }
    }

    func run() throws {
        let logger = global.bootstrapLogging()
        let checks = Checklist()
        checkPipeWire(checks)
        let needsRecognizer = checkBackend(checks, logger: logger)
        checkRecognizer(checks, needed: needsRecognizer)
        checkOutputs(checks, logger: logger)
        if checks.failed > 0 { throw ExitCode(1) }
    }

    /// PipeWire, the default sink, WirePlumber, the target.
    private func checkPipeWire(_ checks: Checklist) {
        do {
            let graph = try PipeWireCapture.inspectGraph()
            checks.report(true, "PipeWire reachable at \(PipeWireCapture.daemonSocketPath)")
            if let sink = graph.nodes.first(where: { $0.kind == .sink && $0.isDefault }) {
                checks.report(true, "default sink: \(sink.name) (\(sink.description))")
            } else {
                checks.report(
                    false, "no default sink: connect an output device or select one with 'wpctl set-default ID'")
            }
            if graph.clients.contains("WirePlumber") {
                checks.report(true, "WirePlumber running")
            } else {
                checks.report(
                    false, "WirePlumber is not running, so streams are never linked: systemctl --user start wireplumber"
                )
            }
            guard let target else { return }
            if let node = graph.nodes.first(where: { $0.matches(target: target) }) {
                checks.report(true, "target '\(target)' exists: \(node.kind.rawValue) \(node.name)")
            } else {
                checks.report(false, "target '\(target)' not found: run 'captiontap devices' for names and serials")
            }
        } catch {
            checks.report(false, error.description)
        }
    }

    /// The key and the backend. Returns whether run would use the embedded recognizer (no key,
    /// no --url).
    private func checkBackend(_ checks: Checklist, logger: Logger) -> Bool {
        let endpoint = session.endpoint()
        let key = try? session.apiKey { logger.warning("\($0)") }
        let cloud = session.url == SessionOptions.defaultURL
        if session.withholdsEnvironmentKey() {
            checks.report(
                true,
                "OPENAI_API_KEY is set but not sent to \(endpoint.hostHeader) (only to api.openai.com over TLS): give that backend a key with --api-key-file"
            )
        }
        switch (key, cloud) {
        case (.some(let k), _):
            checks.report(
                true,
                "API key present (\(session.apiKeyFile.map { "from \($0)" } ?? "from OPENAI_API_KEY"), \(k.count) characters)"
            )
        case (nil, true):
            checks.report(
                true,
                "no API key: run captions offline with the embedded backend (set OPENAI_API_KEY or --api-key-file for OpenAI)"
            )
        case (nil, false):
            checks.report(true, "no API key needed for \(endpoint.hostHeader) (none set)")
        }
        if key != nil || !cloud {
            let (ok, text) = Self.handshake(endpoint: endpoint, key: key ?? nil, timeout: timeout)
            checks.report(ok, text)
        }
        return key == nil && cloud
    }

    /// The embedded recognizer (required when run would use it) and live captions.
    private func checkRecognizer(_ checks: Checklist, needed: Bool) {
        var installed = false
        do {
            let files = try recognizer.files()
            installed = true
            checks.report(
                true,
                "embedded recognizer installed: Moonshine base-en \(files.precision.rawValue) + Silero VAD in \(files.directory)"
            )
        } catch {
            if needed {
                checks.report(false, error.message)
            } else {
                checks.report(
                    true,
                    "embedded recognizer not installed (not needed with a key or --url; \(RecognizerFiles.setupCommand) adds it)"
                )
            }
        }
        switch (live, installed) {
        case (.off, _):
            checks.report(true, "live captions: off (--live off): captions appear when each turn ends")
        case (_, true):
            checks.report(
                true,
                "live captions: on: the embedded recognizer shows words while people speak\(needed ? "" : " (it loads beside the cloud session: see the README for the memory it takes)")"
            )
        case (.auto, false):
            checks.report(
                true,
                "live captions: off: the embedded recognizer is not installed (\(RecognizerFiles.setupCommand) adds them)"
            )
        case (.on, false):
            checks.report(
                false, "live captions: --live on needs the embedded recognizer: run \(RecognizerFiles.setupCommand)")
        }
    }

    /// The FIFO and OBS.
    private func checkOutputs(_ checks: Checklist, logger: Logger) {
        if let fifo {
            let usable = Self.fifoUsable(fifo)
            checks.report(
                usable,
                usable
                    ? "FIFO path \(fifo) is usable"
                    : "FIFO path \(fifo) is not usable: it must be a FIFO, or not exist in a writable directory")
        }
        if let url = obs.obs, let endpoint = WebSocketEndpoint(url) {
            for (ok, text) in Self.obsChecks(endpoint: endpoint, options: obs, timeout: timeout, logger: logger) {
                checks.report(ok, text)
            }
        }
    }

    /// Opens a WebSocket to the backend and closes it again.
    static func handshake(endpoint: WebSocketEndpoint, key: String?, timeout: Double) -> (Bool, String) {
        let done = DispatchSemaphore(value: 0)
        let outcome = OutcomeBox()
        var headers: [(String, String)] = []
        if let key { headers.append(("Authorization", "Bearer \(key)")) }
        let client = WebSocketClient(endpoint: endpoint, headers: headers) { event in
            switch event {
            case .open: outcome.set(.opened)
            case .closed(let info): outcome.set(.closed(info))
            case .text: return
            }
            done.signal()
        }
        client.connect()
        _ = done.wait(timeout: .now() + timeout)
        client.close()
        _ = client.waitUntilFinished(timeout: 2)
        switch outcome.value {
        case .opened:
            return (true, "backend \(endpoint) accepts the WebSocket handshake")
        case .closed(let info) where info.httpStatus == 401 || info.httpStatus == 403:
            return (
                false,
                "backend \(endpoint) refused the API key (HTTP \(info.httpStatus!)): check OPENAI_API_KEY or --api-key-file"
            )
        case .closed(let info):
            return (false, "backend \(endpoint) unreachable (\(info.message)): is it running, and is the URL right?")
        case nil:
            return (false, "backend \(endpoint) did not answer within \(timeout) s")
        }
    }

    /// Connects to obs-websocket, identifies (with the password), checks the text source if one is
    /// named, and disconnects.
    static func obsChecks(endpoint: WebSocketEndpoint, options: OBSOptions, timeout: Double, logger: Logger) -> [(
        Bool, String
    )] {
        let password: String?
        do {
            password = try options.password { logger.warning("\($0)") }
        } catch {
            return [(false, "OBS password: \(error.message)")]
        }
        var quiet = logger
        quiet.logLevel = .critical  // the check lines say it all
        let client = OBSClient(endpoint: endpoint, password: password, logger: quiet)
        let outcome = client.start(timeout: timeout)
        var checks = [obsConnectionCheck(endpoint: endpoint, outcome: outcome)]
        if case .identified = outcome, let name = options.obsTextSource {
            let response = client.request(
                OBSRequest(type: "GetInputSettings", data: ["inputName": .string(name)]), timeout: timeout)
            let kind = response?.data?["inputKind"]?.string ?? ""
            switch response?.code {
            case OBSWebSocketSession.StatusCode.success? where kind.hasPrefix("text_"):
                checks.append((true, "OBS text source '\(name)' exists (\(kind))"))
            case OBSWebSocketSession.StatusCode.success?:
                checks.append(
                    (
                        false,
                        "OBS input '\(name)' is a \(kind), not a Text source: name a Text (FreeType 2) source in --obs-text-source"
                    ))
            case OBSWebSocketSession.StatusCode.resourceNotFound?:
                checks.append(
                    (
                        false,
                        "OBS has no input named '\(name)': add a Text source called that to your scene, or fix --obs-text-source"
                    ))
            case let code?:
                checks.append((false, "OBS could not look up input '\(name)' (code \(code))"))
            case nil:
                checks.append((false, "OBS did not answer about input '\(name)' within \(timeout) s"))
            }
        }
        client.finish(timeout: 0)
        return checks
    }

    static func obsConnectionCheck(endpoint: WebSocketEndpoint, outcome: OBSClient.StartOutcome) -> (Bool, String) {
        switch outcome {
        case .identified(let version, let authenticated):
            return (
                true,
                "OBS reachable at \(endpoint) (obs-websocket \(version ?? "unknown version"), \(authenticated ? "authenticated" : "no password required"))"
            )
        case .authenticationFailed(true):
            return (
                false,
                "OBS at \(endpoint) refused the password (close 4009): put the password from OBS's Tools > WebSocket Server Settings in --obs-password-file"
            )
        case .authenticationFailed(false):
            return (
                false,
                "OBS at \(endpoint) requires a password (close 4009): pass --obs-password-file FILE (Tools > WebSocket Server Settings > Show Connect Info)"
            )
        case .unsupportedVersion:
            return (
                false, "OBS at \(endpoint) does not speak obs-websocket RPC version 1 (close 4010): use OBS 28 or later"
            )
        case .unreachable(let reason):
            return (
                false,
                "OBS not reachable at \(endpoint) (\(reason)): start OBS and tick Tools > WebSocket Server Settings > Enable WebSocket server; check the port"
            )
        }
    }

    static func fifoUsable(_ path: String) -> Bool {
        var info = stat()
        // The same rules as the FIFO sink: no links, the user's own FIFO.
        if lstat(path, &info) == 0 { return info.st_mode & S_IFMT == S_IFIFO && info.st_uid == geteuid() }
        guard errno == ENOENT else { return false }
        let parent = (path as NSString).deletingLastPathComponent
        return access(parent.isEmpty ? "." : parent, W_OK) == 0
    }

    /// The handshake result, set from the WebSocket thread.
    final class OutcomeBox: @unchecked Sendable {
        enum Outcome {
            case opened
            case closed(WebSocketClient.CloseInfo)
        }
        private let lock = NSLock()
        private var stored: Outcome?
        func set(_ outcome: Outcome) { lock.withLock { if stored == nil { stored = outcome } } }
        var value: Outcome? { lock.withLock { stored } }
    }
}
