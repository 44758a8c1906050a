import ArgumentParser
import CaptionTapCapture
import CaptionTapCore
import Foundation

/// `captiontap.conf`: `run`'s settings in PipeWire's config format, found and read by libpipewire.
///
/// Precedence: built-in defaults < `captiontap.conf` < `captiontap.conf.d/*.conf` drop-ins (in
/// the order libpipewire reads them) < command-line flags. Every file is checked first (syntax,
/// unknown keys, types, ranges) so a mistake is one `file:line: what` error; the values used are
/// the ones libpipewire merged.
struct CaptionTapConfig {
    static let name = "captiontap.conf"

    struct Setting {
        var value: ConfigSchema.Value
        /// `file:line` of the line that set it.
        var origin: String
    }

    /// The files read, in order; empty when there is no captiontap.conf on the search path.
    var files: [String] = []
    /// What the files set, after merging.
    var settings: [String: Setting] = [:]

    /// Loads `explicit` (`--config FILE`, plus `FILE.d/*.conf` drop-ins beside it, as libpipewire
    /// does for an absolute config name) or searches PipeWire's config path for captiontap.conf.
    static func load(explicit: String?) throws(CLIError) -> CaptionTapConfig {
        var name = name
        if let explicit {
            name = explicit.hasPrefix("/") ? explicit : FileManager.default.currentDirectoryPath + "/" + explicit
            guard FileManager.default.isReadableFile(atPath: name) else {
                throw .usage("cannot read --config file '\(explicit)'")
            }
        }
        let loaded: PipeWireConfig
        do {
            loaded = try PipeWireConfig.load(name: name, section: ConfigSchema.section)
        } catch {
            switch error {
            case .notFound:
                if let explicit { throw .usage("cannot read --config file '\(explicit)'") }
                return CaptionTapConfig()
            case .failed(let code):
                throw .usage("\(name): cannot load: \(String(cString: strerror(-code)))")
            }
        }

        // Check every file with line numbers; note which line last set each key.
        var origins: [String: (origin: String, line: Int, fileIndex: Int)] = [:]
        var lastSourceFile = -1
        for (index, path) in loaded.files.enumerated() {
            guard let data = FileManager.default.contents(atPath: path) else { throw .usage("\(path): cannot read") }
            let file: ConfigFile
            do {
                file = try ConfigFile(text: String(decoding: data, as: UTF8.self))
            } catch {
                throw .usage(error.line.map { "\(path):\($0): \(error.message)" } ?? "\(path): \(error.message)")
            }
            for entry in file.entries {
                origins[entry.key] = ("\(path):\(entry.line)", entry.line, index)
                if ConfigSchema.sourceKeys.contains(entry.key) && entry.value != .unset { lastSourceFile = index }
            }
        }

        var config = CaptionTapConfig(files: loaded.files)
        for (key, text) in loaded.merged {
            guard let schemaKey = ConfigSchema.key(named: key), let origin = origins[key] else { continue }
            // A later file's source replaces the source an earlier one picked.
            if ConfigSchema.sourceKeys.contains(key) && origin.fileIndex != lastSourceFile { continue }
            let raw: SPAJSON.Value =
                switch schemaKey.kind {
                case .string, .url: .string(text)
                default: .bare(text)
                }
            switch ConfigSchema.check(raw, for: schemaKey) {
            case .success(let value): config.settings[key] = Setting(value: value, origin: origin.origin)
            case .failure(let error): throw .usage("\(origin.origin): \(error.message)")
            }
        }
        return config
    }

    /// Long option names given on the command line (before any `--`).
    static func givenOnCommandLine(_ arguments: some Sequence<String>) -> Set<String> {
        var given: Set<String> = []
        for argument in arguments {
            if argument == "--" { break }
            guard argument.hasPrefix("--") else { continue }
            given.insert(String(argument.dropFirst(2).prefix { $0 != "=" }))
        }
        return given
    }

    /// Applies the file settings to `command` for every key not given on the command line; a
    /// command-line source or backend (`--target`, `--virtual-sink`, `--input`, `--backend`,
    /// `--jack-connect`) replaces the files' source and backend.
    func apply(to command: inout RunCommand, given: Set<String>) {
        let cliSource = Self.givesCapture(given)
        for binding in Self.bindings {
            guard let setting = settings[binding.key], !given.contains(binding.key) else { continue }
            if cliSource && ConfigSchema.captureKeys.contains(binding.key) { continue }
            binding.apply(&command, setting.value)
        }
    }

    static func givesCapture(_ given: Set<String>) -> Bool {
        !given.isDisjoint(with: ConfigSchema.captureKeys.union(["jack-connect"]))
    }

    /// The effective configuration in the file format, each key commented with where it came from.
    func render(_ command: RunCommand, given: Set<String>, apiKey: String) -> String {
        var lines = ["# captiontap run: effective configuration (defaults < captiontap.conf < drop-ins < flags)"]
        if files.isEmpty {
            lines.append("# no \(Self.name) found on PipeWire's config path: built-in defaults")
        } else {
            lines += files.map { "# read: \($0)" }
        }
        lines.append("\(ConfigSchema.section) = {")
        let width = Self.bindings.map { $0.key.count }.max()! + 3 + 40
        let cliSource = Self.givesCapture(given)
        for binding in Self.bindings {
            var origin = settings[binding.key]?.origin ?? "default"
            if given.contains(binding.key) {
                origin = "command line"
            } else if cliSource && ConfigSchema.captureKeys.contains(binding.key) {
                origin =
                    settings[binding.key] == nil ? "default" : "default (\(origin) replaced by the command-line source)"
            }
            let entry = "    \(binding.key) = \(binding.show(command))"
            let pad = String(repeating: " ", count: max(1, width - entry.count))
            lines.append(entry + pad + "# " + origin)
        }
        lines.append("    # api-key = \(apiKey)")
        lines.append("}")
        return lines.joined(separator: "\n")
    }

    // MARK: - Keys and the options they set

    struct Binding {
        var key: String
        var apply: (inout RunCommand, ConfigSchema.Value) -> Void
        var show: (RunCommand) -> String
    }

    static func string(_ key: String, _ path: WritableKeyPath<RunCommand, String?>) -> Binding {
        Binding(
            key: key, apply: { if case .string(let s) = $1 { $0[keyPath: path] = s } },
            show: { $0[keyPath: path].map(SPAJSON.quote) ?? "null" })
    }
    static func string(_ key: String, _ path: WritableKeyPath<RunCommand, String>) -> Binding {
        Binding(
            key: key, apply: { if case .string(let s) = $1 { $0[keyPath: path] = s } },
            show: { SPAJSON.quote($0[keyPath: path]) })
    }
    static func integer(_ key: String, _ path: WritableKeyPath<RunCommand, Int>) -> Binding {
        Binding(
            key: key, apply: { if case .integer(let n) = $1 { $0[keyPath: path] = n } },
            show: { String($0[keyPath: path]) })
    }
    static func number(_ key: String, _ path: WritableKeyPath<RunCommand, Double>) -> Binding {
        Binding(
            key: key, apply: { if case .number(let x) = $1 { $0[keyPath: path] = x } },
            show: { String($0[keyPath: path]) })
    }
    static func number(_ key: String, _ path: WritableKeyPath<RunCommand, Double?>) -> Binding {
        Binding(
            key: key, apply: { if case .number(let x) = $1 { $0[keyPath: path] = x } },
            show: { $0[keyPath: path].map { String($0) } ?? "null" })
    }
    static func boolean(_ key: String, _ path: WritableKeyPath<RunCommand, Bool>) -> Binding {
        Binding(
            key: key, apply: { if case .boolean(let b) = $1 { $0[keyPath: path] = b } },
            show: { String($0[keyPath: path]) })
    }
    /// A value argument-parser parses (`format`, `context`, ...), shown with `text`.
    static func argument<T: ExpressibleByArgument>(
        _ key: String, _ path: WritableKeyPath<RunCommand, T>,
        text: @escaping (T) -> String
    ) -> Binding {
        Binding(
            key: key, apply: { if case .string(let s) = $1, let v = T(argument: s) { $0[keyPath: path] = v } },
            show: { SPAJSON.quote(text($0[keyPath: path])) })
    }
    static func argument<T: ExpressibleByArgument>(
        _ key: String, _ path: WritableKeyPath<RunCommand, T?>,
        text: @escaping (T) -> String
    ) -> Binding {
        Binding(
            key: key, apply: { if case .string(let s) = $1, let v = T(argument: s) { $0[keyPath: path] = v } },
            show: { $0[keyPath: path].map { SPAJSON.quote(text($0)) } ?? "null" })
    }

    /// One binding per ``ConfigSchema/keys`` entry, in the same order (ConfigTests.everyKeyIsPrinted checks).
    static var bindings: [Binding] {
        [
            string("target", \.target),
            string("virtual-sink", \.virtualSink),
            string("input", \.input),
            argument("pace", \.pace) { $0.rawValue },
            string("record", \.record),
            integer("chunk-ms", \.chunkMs),
            number("duration", \.duration),
            string("events-out", \.eventsOut),
            boolean("no-captions", \.noCaptions),
            boolean("no-status", \.noStatus),
            argument("backend", \.backend) { $0.rawValue },
            string("url", \.session.url),
            string("model", \.session.model),
            string("api-key-file", \.session.apiKeyFile),
            number("vad-threshold", \.session.vadThreshold),
            integer("silence-ms", \.session.silenceMs),
            integer("prefix-ms", \.session.prefixMs),
            string("language", \.session.language),
            string("prompt", \.session.prompt),
            string("instructions-file", \.session.instructionsFile),
            argument("context", \.session.context) { $0.description },
            number("drain-timeout", \.session.drainTimeout),
            number("session-max-minutes", \.session.sessionMaxMinutes),
            number("idle-timeout", \.session.idleTimeout),
            number("failover-after", \.session.failoverAfter),
            string("fallback-url", \.session.fallbackURL),
            boolean("no-failover", \.session.noFailover),
            number("price-audio-in", \.session.priceAudioIn),
            number("price-text-in", \.session.priceTextIn),
            number("price-cached-in", \.session.priceCachedIn),
            number("price-text-out", \.session.priceTextOut),
            argument("format", \.output.format) { $0.rawValue },
            boolean("partials", \.output.partials),
            argument("live", \.output.live) { $0.rawValue },
            string("fifo", \.output.fifo),
            argument("fifo-format", \.output.fifoFormat) { $0.rawValue },
            string("srt", \.output.srt),
            string("vtt", \.output.vtt),
            string("obs-text", \.output.obsText),
            integer("obs-lines", \.output.obsLines),
            string("obs", \.obs.obs),
            string("obs-password-file", \.obs.obsPasswordFile),
            string("obs-text-source", \.obs.obsTextSource),
            string("overlay", \.output.overlay),
            boolean("overlay-allow-remote", \.output.overlayAllowRemote),
            string("recognizer-dir", \.recognizer.directory),
            argument("recognizer-precision", \.recognizer.precision) { $0.rawValue },
        ]
    }
}
