import ArgumentParser
import Foundation
import Logging

/// A failure the CLI reports as one stderr line and an exit code.
struct CLIError: Error {
    var message: String
    /// 2 for usage and configuration errors, 1 for everything else.
    var exitCode: Int32

    static func usage(_ message: String) -> CLIError { CLIError(message: message, exitCode: 2) }
    static func failure(_ message: String) -> CLIError { CLIError(message: message, exitCode: 1) }
}

/// Writes to stderr without going through the logger (for the final error line).
enum Diagnostics {
    static func error(_ message: String) {
        FileHandle.standardError.write(Data("captiontap: error: \(message)\n".utf8))
    }
}

/// Flags every subcommand shares.
struct GlobalOptions: ParsableArguments {
    @Flag(name: .shortAndLong, help: "Log debug detail to stderr.")
    var verbose = false

    @Flag(name: .shortAndLong, help: "Log only errors to stderr.")
    var quiet = false

    func validate() throws {
        if verbose && quiet { throw ValidationError("--verbose and --quiet cannot be combined") }
    }

    /// The one place logging is bootstrapped: everything goes to stderr, never stdout.
    func bootstrapLogging() -> Logger {
        let level: Logger.Level = verbose ? .debug : quiet ? .error : .info
        LoggingSystem.bootstrap { label in
            var handler = StderrLogHandler(label: label)
            handler.logLevel = level
            return handler
        }
        return Logger(label: "captiontap")
    }
}

/// `captiontap: warning: message key=value` lines on stderr; no timestamps (journald adds them).
struct StderrLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(
        level: Logger.Level, message: Logger.Message, metadata explicit: Logger.Metadata?,
        source: String, file: String, function: String, line: UInt
    ) {
        var line = "captiontap: \(level): \(message)"
        let merged = metadata.merging(explicit ?? [:]) { $1 }
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) {
            line += " \(key)=\(value)"
        }
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}
