import ArgumentParser
import CaptionTapCore
import CaptionTapTransport
import Foundation

extension ContextMode: ExpressibleByArgument {}

/// Where transcription happens and how the session is set up.
struct SessionOptions: ParsableArguments {
    static let defaultURL = "wss://api.openai.com/v1/realtime?model=gpt-realtime"

    @Option(help: "Realtime endpoint (ws:// for local backends).")
    var url: String = defaultURL

    @Option(help: "Model, set as the URL's ?model= parameter.")
    var model: String?

    @Option(
        name: .customLong("api-key-file"),
        help: ArgumentHelp("Read the API key from this file instead of OPENAI_API_KEY.", valueName: "file"))
    var apiKeyFile: String?

    @Option(name: .customLong("vad-threshold"), help: "Server VAD threshold, 0–1.")
    var vadThreshold = 0.6

    @Option(name: .customLong("silence-ms"), help: "Silence that ends a turn, in ms.")
    var silenceMs = 800

    @Option(name: .customLong("prefix-ms"), help: "Audio kept before detected speech, in ms.")
    var prefixMs = 300

    @Option(help: "Language of the speech (e.g. en, de), to keep transcripts from being translated.")
    var language: String?

    @Option(help: ArgumentHelp("Names and vocabulary to favour.", valueName: "text"))
    var prompt: String?

    @Option(
        name: .customLong("instructions-file"),
        help: ArgumentHelp("Replace the transcription instructions with this file's text.", valueName: "file"))
    var instructionsFile: String?

    @Option(
        help:
            "Context for each transcript: turn (cheapest), recent:N (last N transcripts), or session (whole conversation)."
    )
    var context: ContextMode = .turn

    @Option(
        name: .customLong("drain-timeout"),
        help: ArgumentHelp("At the end, wait this long for outstanding transcripts.", valueName: "seconds"))
    var drainTimeout = 30.0

    @Option(
        name: .customLong("session-max-minutes"),
        help: "Rotate to a new session after this many minutes (at a turn boundary).")
    var sessionMaxMinutes = 55.0

    @Option(
        name: .customLong("idle-timeout"),
        help: ArgumentHelp(
            "A session silent this long while audio flows is asked for a sign of life (a session.update); no answer within as long again and it is replaced (its audio replayed).",
            valueName: "seconds"))
    var idleTimeout = 10.0

    @Option(
        name: .customLong("failover-after"),
        help: ArgumentHelp(
            "When the backend cannot be reached or keeps failing this long, continue on the embedded backend (from the replayed audio) and go back when it answers.",
            valueName: "seconds"))
    var failoverAfter = 20.0

    @Option(
        name: .customLong("fallback-url"),
        help: ArgumentHelp(
            "Fail over to this Realtime backend instead of the embedded one (no key is sent to it).", valueName: "url"))
    var fallbackURL: String?

    @Flag(name: .customLong("no-failover"), help: "Never fail over: keep retrying the backend.")
    var noFailover = false

    @Option(name: .customLong("price-audio-in"), help: "USD per 1M audio input tokens (cost estimate).")
    var priceAudioIn = 32.0
    @Option(name: .customLong("price-text-in"), help: "USD per 1M text input tokens.")
    var priceTextIn = 4.0
    @Option(name: .customLong("price-cached-in"), help: "USD per 1M cached input tokens.")
    var priceCachedIn = 0.4
    @Option(name: .customLong("price-text-out"), help: "USD per 1M text output tokens.")
    var priceTextOut = 16.0

    func validate() throws {
        guard WebSocketEndpoint(url) != nil else {
            throw ValidationError(
                "--url must be ws://HOST[:PORT]/PATH or wss://… (no credentials in it), got '\(WebSocketEndpoint.shown(url))'"
            )
        }
        guard (0...1).contains(vadThreshold) else { throw ValidationError("--vad-threshold must be between 0 and 1") }
        guard (100...10_000).contains(silenceMs) else { throw ValidationError("--silence-ms must be 100–10000") }
        guard (0...5_000).contains(prefixMs) else { throw ValidationError("--prefix-ms must be 0–5000") }
        guard (0...3600).contains(drainTimeout) else { throw ValidationError("--drain-timeout must be 0–3600 seconds") }
        guard sessionMaxMinutes > 0 && sessionMaxMinutes <= 600 else {
            throw ValidationError("--session-max-minutes must be above 0 and at most 600")
        }
        guard (1...3600).contains(failoverAfter) else {
            throw ValidationError("--failover-after must be 1–3600 seconds")
        }
        if let fallbackURL, WebSocketEndpoint(fallbackURL) == nil {
            throw ValidationError(
                "--fallback-url must be ws://HOST[:PORT]/PATH or wss://…, got '\(WebSocketEndpoint.shown(fallbackURL))'"
            )
        }
        guard (2...300).contains(idleTimeout) else { throw ValidationError("--idle-timeout must be 2–300 seconds") }
        for (name, price) in [
            ("audio-in", priceAudioIn), ("text-in", priceTextIn), ("cached-in", priceCachedIn),
            ("text-out", priceTextOut),
        ]
        where !(0...100_000).contains(price) {
            throw ValidationError("--price-\(name) must be 0–100000 USD per 1M tokens")
        }
    }

    /// The endpoint, with `--model` applied to the query.
    func endpoint() -> WebSocketEndpoint {
        var endpoint = WebSocketEndpoint(url)!
        if let model {
            var parts = endpoint.path.split(separator: "?", maxSplits: 1).map(String.init)
            var query =
                parts.count > 1
                ? parts[1].split(separator: "&").map(String.init).filter { !$0.hasPrefix("model=") } : []
            query.insert(
                "model=\(model.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed) ?? model)", at: 0)
            parts = [parts[0], query.joined(separator: "&")]
            endpoint.path = parts.joined(separator: "?")
        }
        return endpoint
    }

    /// Whether `OPENAI_API_KEY` may go to `endpoint`: only to OpenAI's own API host, over TLS. A
    /// key for any other backend must be given explicitly with `--api-key-file`, so a `--url` to
    /// a local or third-party server never receives the user's OpenAI key by accident.
    static func mayReceiveEnvironmentKey(_ endpoint: WebSocketEndpoint) -> Bool {
        endpoint.secure && endpoint.host.lowercased() == "api.openai.com"
    }

    /// `OPENAI_API_KEY` is set but will not be sent to this endpoint (see above).
    func withholdsEnvironmentKey() -> Bool {
        guard apiKeyFile == nil, !Self.mayReceiveEnvironmentKey(endpoint()) else { return false }
        return Self.environmentKey != nil
    }

    private static var environmentKey: String? {
        let env = ProcessInfo.processInfo.environment["OPENAI_API_KEY"]?.trimmingCharacters(in: .whitespacesAndNewlines)
        return env?.isEmpty == false ? env : nil
    }

    /// The key to send to the endpoint: `--api-key-file`'s, or `OPENAI_API_KEY` when the endpoint
    /// is OpenAI's (nil otherwise). Warns about a readable key file.
    func apiKey(warn: (String) -> Void) throws(CLIError) -> String? {
        if let apiKeyFile {
            guard let data = FileManager.default.contents(atPath: apiKeyFile) else {
                throw .usage("cannot read --api-key-file '\(apiKeyFile)'")
            }
            var info = stat()
            if stat(apiKeyFile, &info) == 0, info.st_mode & 0o077 != 0 {
                warn("API key file '\(apiKeyFile)' is readable by group or others; run: chmod 600 '\(apiKeyFile)'")
            }
            let key = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard !key.isEmpty else { throw .usage("--api-key-file '\(apiKeyFile)' is empty") }
            return key
        }
        return Self.mayReceiveEnvironmentKey(endpoint()) ? Self.environmentKey : nil
    }

    func sessionConfig() throws(CLIError) -> SessionConfig {
        var config = SessionConfig()
        config.vadThreshold = vadThreshold
        config.silenceMs = silenceMs
        config.prefixMs = prefixMs
        config.language = language
        config.prompt = prompt
        config.context = context
        if let instructionsFile {
            guard let data = FileManager.default.contents(atPath: instructionsFile) else {
                throw .usage("cannot read --instructions-file '\(instructionsFile)'")
            }
            config.customInstructions = String(decoding: data, as: UTF8.self)
        }
        return config
    }

    /// Estimated USD cost of `usage` at the configured prices.
    func cost(_ usage: Usage) -> Double {
        let uncachedText = max(0, usage.inputTextTokens - usage.cachedTokens)
        let otherIn = max(0, usage.inputTokens - usage.inputTextTokens - usage.inputAudioTokens)
        return
            (Double(usage.inputAudioTokens) * priceAudioIn + Double(uncachedText + otherIn) * priceTextIn
            + Double(usage.cachedTokens) * priceCachedIn + Double(usage.outputTokens) * priceTextOut) / 1_000_000
    }
}
