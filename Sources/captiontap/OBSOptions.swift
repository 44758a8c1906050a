import ArgumentParser
import CaptionTapCore
import CaptionTapSinks
import CaptionTapTransport
import Foundation
import Logging

/// Captions into OBS Studio over obs-websocket 5 (OBS 28 or later).
struct OBSOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Send final captions to OBS as stream captions (CEA-608) over obs-websocket 5.", valueName: "ws://host:4455"
        ))
    var obs: String?

    @Option(
        name: .customLong("obs-password-file"),
        help: ArgumentHelp(
            "The obs-websocket password (Tools > WebSocket Server Settings); never printed.", valueName: "file"))
    var obsPasswordFile: String?

    @Option(
        name: .customLong("obs-text-source"),
        help: ArgumentHelp(
            "Also show the last --obs-lines lines in this OBS Text source (set over the WebSocket).", valueName: "name")
    )
    var obsTextSource: String?

    /// How long startup waits for OBS to answer before carrying on without it (it keeps retrying).
    static let connectTimeout = 5.0

    func validate() throws {
        if let obs, WebSocketEndpoint(obs) == nil {
            throw ValidationError(
                "--obs must be ws://HOST:PORT (obs-websocket's address; the password goes in --obs-password-file), got '\(WebSocketEndpoint.shown(obs))'"
            )
        }
        if obs == nil && (obsPasswordFile != nil || obsTextSource != nil) {
            throw ValidationError("--obs-password-file and --obs-text-source need --obs ws://HOST:PORT")
        }
        if obsTextSource?.isEmpty == true { throw ValidationError("--obs-text-source must not be empty") }
    }

    /// The password from `--obs-password-file` (one trailing newline removed; other whitespace is
    /// part of the password), nil without the option. Warns about a group/world-readable file.
    func password(warn: (String) -> Void) throws(CLIError) -> String? {
        guard let obsPasswordFile else { return nil }
        guard let data = FileManager.default.contents(atPath: obsPasswordFile) else {
            throw .usage("cannot read --obs-password-file '\(obsPasswordFile)'")
        }
        var info = stat()
        if stat(obsPasswordFile, &info) == 0, info.st_mode & 0o077 != 0 {
            warn(
                "OBS password file '\(obsPasswordFile)' is readable by group or others; run: chmod 600 '\(obsPasswordFile)'"
            )
        }
        var password = String(decoding: data, as: UTF8.self)
        if password.hasSuffix("\n") { password.removeLast() }  // "\r\n" is one Character
        guard !password.isEmpty else { throw .usage("--obs-password-file '\(obsPasswordFile)' is empty") }
        return password
    }

    /// Connects to OBS (waiting up to `connectTimeout` for the first answer) and returns the client
    /// and a sink feeding it; nil without `--obs`. A refused password is a configuration error.
    func connect(lines: Int, logger: Logger) throws(CLIError) -> (OBSClient, OBSWebSocketSink)? {
        guard let obs, let endpoint = WebSocketEndpoint(obs) else { return nil }
        let password = try password { logger.warning("\($0)") }
        let client = OBSClient(endpoint: endpoint, password: password, logger: logger)
        switch client.start(timeout: Self.connectTimeout) {
        case .identified(let version, let authenticated):
            logger.info(
                "connected to OBS at \(endpoint) (obs-websocket \(version ?? "unknown version")\(authenticated ? ", authenticated" : ""))"
            )
        case .authenticationFailed(let passwordGiven):
            throw .usage(
                passwordGiven
                    ? "OBS refused the password (close 4009): check --obs-password-file"
                    : "OBS requires a password (close 4009): pass --obs-password-file FILE")
        case .unsupportedVersion:
            throw .usage(
                "OBS at \(endpoint) does not speak obs-websocket RPC version 1 (close 4010): captiontap needs obs-websocket 5 (OBS 28 or later)"
            )
        case .unreachable(let reason):
            logger.warning(
                "OBS not reachable at \(endpoint) (\(reason)); retrying in the background, captions for OBS are dropped until it answers"
            )
        }
        let sink = OBSWebSocketSink(textSource: obsTextSource, lines: lines) { client.send($0) }
        return (client, sink)
    }

    /// The exit summary: what reached OBS and what did not.
    static func summary(_ s: OBSClient.Statistics, textSource: String?) -> String {
        var line = "OBS: \(s.streamCaptionsSent) stream captions sent, \(s.notStreaming) not streaming"
        if textSource != nil {
            line += "; \(s.otherSucceeded) text source updates"
            if s.superseded > 0 { line += " (\(s.superseded) skipped for newer text)" }
        }
        if s.failed > 0 { line += "; \(s.failed) requests refused" }
        line += "; \(s.dropped) requests dropped while OBS was away"
        if s.connections == 2 {
            line += "; reconnected once"
        } else if s.connections > 2 {
            line += "; reconnected \(s.connections - 1) times"
        }
        return line
    }
}
