/// The keys `captiontap.properties` accepts: the long names of `captiontap run`'s flags, each
/// with the type and range the flag accepts. Pure: checking a file's text needs no PipeWire.
public enum ConfigSchema {
    /// The section captiontap reads from `captiontap.conf` and its drop-ins.
    public static let section = "captiontap.properties"

    /// A checked value from a config file.
    public enum Value: Sendable, Equatable {
        case string(String)
        case integer(Int)
        case number(Double)
        case boolean(Bool)
        /// `null`: back to the built-in default (lets a drop-in undo a setting).
        case unset
    }

    public enum Kind: Sendable {
        case string
        case integer(ClosedRange<Int>)
        /// A number at least `minimum` (greater than it if `exclusive`), at most `maximum`.
        case number(minimum: Double, exclusive: Bool, maximum: Double?)
        case boolean
        case choice([String])
        /// `turn`, `session` or `recent:N`.
        case context
        /// A `ws://` or `wss://` URL.
        case url
    }

    public struct Key: Sendable {
        public var name: String
        public var kind: Kind
    }

    /// Every key, in the order `--print-config` and the shipped file list them. Upper bounds the
    /// file format does not state here are the command line's, checked after merging.
    public static let keys: [Key] = [
        // Source: at most one of target, virtual-sink, input.
        Key(name: "target", kind: .string),
        Key(name: "virtual-sink", kind: .string),
        Key(name: "input", kind: .string),
        Key(name: "pace", kind: .choice(["fast", "realtime"])),
        Key(name: "record", kind: .string),
        Key(name: "chunk-ms", kind: .integer(20...500)),
        Key(name: "duration", kind: .number(minimum: 0, exclusive: true, maximum: nil)),
        Key(name: "events-out", kind: .string),
        Key(name: "no-captions", kind: .boolean),
        Key(name: "no-status", kind: .boolean),
        Key(name: "backend", kind: .choice(["pipewire", "jack"])),
        // Transcription.
        Key(name: "url", kind: .url),
        Key(name: "model", kind: .string),
        Key(name: "api-key-file", kind: .string),
        Key(name: "vad-threshold", kind: .number(minimum: 0, exclusive: false, maximum: 1)),
        Key(name: "silence-ms", kind: .integer(100...10_000)),
        Key(name: "prefix-ms", kind: .integer(0...5_000)),
        Key(name: "language", kind: .string),
        Key(name: "prompt", kind: .string),
        Key(name: "instructions-file", kind: .string),
        Key(name: "context", kind: .context),
        Key(name: "drain-timeout", kind: .number(minimum: 0, exclusive: false, maximum: nil)),
        Key(name: "session-max-minutes", kind: .number(minimum: 0, exclusive: true, maximum: nil)),
        Key(name: "idle-timeout", kind: .number(minimum: 2, exclusive: false, maximum: 300)),
        Key(name: "failover-after", kind: .number(minimum: 1, exclusive: false, maximum: 3600)),
        Key(name: "fallback-url", kind: .url),
        Key(name: "no-failover", kind: .boolean),
        Key(name: "price-audio-in", kind: .number(minimum: 0, exclusive: false, maximum: nil)),
        Key(name: "price-text-in", kind: .number(minimum: 0, exclusive: false, maximum: nil)),
        Key(name: "price-cached-in", kind: .number(minimum: 0, exclusive: false, maximum: nil)),
        Key(name: "price-text-out", kind: .number(minimum: 0, exclusive: false, maximum: nil)),
        // Captions.
        Key(name: "format", kind: .choice(["text", "jsonl"])),
        Key(name: "partials", kind: .boolean),
        Key(name: "live", kind: .choice(["auto", "on", "off"])),
        Key(name: "fifo", kind: .string),
        Key(name: "fifo-format", kind: .choice(["text", "jsonl"])),
        Key(name: "srt", kind: .string),
        Key(name: "vtt", kind: .string),
        Key(name: "obs-text", kind: .string),
        Key(name: "obs-lines", kind: .integer(1...20)),
        Key(name: "obs", kind: .url),
        Key(name: "obs-password-file", kind: .string),
        Key(name: "obs-text-source", kind: .string),
        Key(name: "overlay", kind: .string),
        Key(name: "overlay-allow-remote", kind: .boolean),
        // Embedded backend.
        Key(name: "recognizer-dir", kind: .string),
        Key(name: "recognizer-precision", kind: .choice(["auto", "int8", "fp32"])),
    ]

    /// The keys that pick the audio source; a command-line source replaces all of them.
    public static let sourceKeys: Set<String> = ["target", "virtual-sink", "input"]
    /// The keys that pick how audio is captured: a source, or the capture backend (JACK has its
    /// own input port). Any of them on the command line replaces all of them from the files.
    public static let captureKeys: Set<String> = sourceKeys.union(["backend"])

    public static func key(named name: String) -> Key? { keys.first { $0.name == name } }

    /// Checks one value; the error reads as the rest of `file:line: ...`.
    public static func check(_ value: SPAJSON.Value, for key: Key) -> Result<Value, ConfigError> {
        let name = key.name
        func fail(_ message: String) -> Result<Value, ConfigError> {
            .failure(ConfigError(message: "'\(name)' must be \(message)"))
        }
        if case .bare("null") = value { return .success(.unset) }
        let text: String
        switch value {
        case .string(let s), .bare(let s): text = s
        case .object, .array: return fail(expected(key.kind) + ", not \(value.kind)")
        }
        switch key.kind {
        case .string:
            return .success(.string(text))
        case .url:
            guard text.hasPrefix("ws://") || text.hasPrefix("wss://"), text.count > 6 else {
                return fail("a ws:// or wss:// URL (quoted), not \(value.kind)")
            }
            return .success(.string(text))
        case .choice(let choices):
            guard choices.contains(text) else { return fail(expected(key.kind)) }
            return .success(.string(text))
        case .context:
            guard ContextMode(argument: text) != nil else { return fail(expected(key.kind)) }
            return .success(.string(text))
        case .boolean:
            switch text {
            case "true": return .success(.boolean(true))
            case "false": return .success(.boolean(false))
            default: return fail(expected(key.kind))
            }
        case .integer(let range):
            guard let n = Int(text), range.contains(n) else { return fail(expected(key.kind)) }
            return .success(.integer(n))
        case .number(let minimum, let exclusive, let maximum):
            guard let x = Double(text), x.isFinite, exclusive ? x > minimum : x >= minimum, x <= (maximum ?? .infinity)
            else { return fail(expected(key.kind)) }
            return .success(.number(x))
        }
    }

    static func expected(_ kind: Kind) -> String {
        func show(_ x: Double) -> String { x == x.rounded() ? String(Int(x)) : String(x) }
        switch kind {
        case .string: return "a string"
        case .url: return "a ws:// or wss:// URL"
        case .choice(let choices): return "one of " + choices.joined(separator: ", ")
        case .context: return "turn, session or recent:N (N 1–50)"
        case .boolean: return "true or false"
        case .integer(let range): return "an integer between \(range.lowerBound) and \(range.upperBound)"
        case .number(let minimum, let exclusive, let maximum):
            if let maximum { return "a number between \(show(minimum)) and \(show(maximum))" }
            return exclusive && minimum == 0 ? "a positive number" : "a number ≥ \(show(minimum))"
        }
    }

    /// The closest key to a misspelt one, if it is close enough to be a typo.
    public static func suggestion(for name: String) -> String? {
        let scored = keys.map { ($0.name, distance($0.name, name)) }.min { $0.1 < $1.1 }
        guard let (best, d) = scored, d <= max(2, name.count / 4) else { return nil }
        return best
    }

    private static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a)
        let b = Array(b)
        var previous = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...max(b.count, 1) where !b.isEmpty {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}

/// A problem with a config file; `line` is 1-based, nil when it concerns the whole file.
public struct ConfigError: Error, Sendable, Equatable {
    public var line: Int?
    public var message: String

    public init(line: Int? = nil, message: String) {
        self.line = line
        self.message = message
    }
}

/// One config file, checked: the `captiontap.properties` entries it sets, with their lines.
public struct ConfigFile: Sendable {
    public struct Entry: Sendable, Equatable {
        public var key: String
        public var value: ConfigSchema.Value
        public var line: Int

        public init(key: String, value: ConfigSchema.Value, line: Int) {
            self.key = key
            self.value = value
            self.line = line
        }
    }

    public var entries: [Entry]

    /// Checks a whole file: syntax, sections (only `captiontap.properties`), keys, types and
    /// ranges. The first problem is thrown with its line.
    public init(text: String) throws(ConfigError) {
        let members: [SPAJSON.Member]
        do {
            members = try SPAJSON.parseFile(text)
        } catch {
            throw ConfigError(line: error.line, message: error.message)
        }
        entries = []
        for member in members {
            guard member.key == ConfigSchema.section else {
                throw ConfigError(
                    line: member.line,
                    message: "unknown section '\(member.key)' (captiontap reads only \(ConfigSchema.section))")
            }
            guard case .object(let settings) = member.value else {
                throw ConfigError(
                    line: member.line, message: "'\(ConfigSchema.section)' must be an object { key = value ... }")
            }
            for setting in settings {
                guard let key = ConfigSchema.key(named: setting.key) else {
                    let hint =
                        setting.key == "api-key"
                        ? " (the key is never read from a config file: use api-key-file or OPENAI_API_KEY)"
                        : ConfigSchema.suggestion(for: setting.key).map { " (did you mean '\($0)'?)" } ?? ""
                    throw ConfigError(line: setting.line, message: "unknown key '\(setting.key)'\(hint)")
                }
                switch ConfigSchema.check(setting.value, for: key) {
                case .success(let value): entries.append(Entry(key: key.name, value: value, line: setting.line))
                case .failure(var error):
                    error.line = setting.line
                    throw error
                }
            }
        }
        // One source per file; across files a later source replaces an earlier one.
        let sources = entries.filter { ConfigSchema.sourceKeys.contains($0.key) && $0.value != .unset }
        if sources.count > 1, let second = sources.dropFirst().first(where: { $0.key != sources[0].key }) {
            throw ConfigError(
                line: second.line,
                message:
                    "'\(second.key)' conflicts with '\(sources[0].key)' on line \(sources[0].line): choose one source")
        }
    }
}
