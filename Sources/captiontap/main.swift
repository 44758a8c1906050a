import ArgumentParser
import CMalloc
import Foundation

// A reader that goes away (`captiontap | head`, a FIFO reader) is an EPIPE on that write, never
// the death of the process.
signal(SIGPIPE, SIG_IGN)

// Every recognizer run allocates and frees its working buffers (onnxruntime's arena is off, see
// RecognizerFiles), some of several MB. glibc raises its mmap threshold to the largest block ever
// freed, so after the first decodes those blocks come from the heap and stay resident: a fixed
// 1 MiB threshold gives them back at once (two_cities.wav with live captions: peak RSS 344 →
// 262 MiB, for about 2 % of a core in page faults; see the README's footprint section).
mallopt(M_MMAP_THRESHOLD, 1 << 20)

// Usage errors exit with 2 (argument-parser's own default is 64), every failure prints one line.
let arguments = CaptionTapCommand.normalise(Array(CommandLine.arguments.dropFirst()))
do {
    var command = try CaptionTapCommand.parseAsRoot(arguments)
    try command.run()
} catch let error as ExitCode {
    // A command that already explained itself (doctor's ✗ lines) only sets the status.
    exit(error.rawValue)
} catch let error as CLIError {
    Diagnostics.error(error.message)
    exit(error.exitCode)
} catch {
    let code = CaptionTapCommand.exitCode(for: error)
    if code == .success {
        CaptionTapCommand.exit(withError: error)
    }
    Diagnostics.error(CaptionTapCommand.message(for: error) + " (see 'captiontap --help')")
    exit(code == .validationFailure ? 2 : code.rawValue)
}
