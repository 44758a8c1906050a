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
    /// One write(2), errors ignored: a reader that went away (`captiontap … 2>&1 | grep -q`) must
    /// not kill the process. (FileHandle.write traps on EPIPE; SIGPIPE itself is ignored.)
    static func write(to fd: Int32, _ text: String) {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n > 0 { bytes = bytes.dropFirst(n) } else if n < 0 && errno == EINTR { continue } else { return }
        }
    }

    static func error(_ message: String) {
        write(to: 2, "captiontap: error: \(message)\n")
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
        Diagnostics.write(to: 2, line + "\n")
    }
}
