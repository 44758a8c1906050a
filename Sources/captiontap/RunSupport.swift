import ArgumentParser
import CaptionTapCapture
import CaptionTapCore
import CaptionTapOverlay
import CaptionTapServer
import CaptionTapSinks
import CaptionTapTransport
import Foundation
import Logging
import Synchronization

/// Turns a capture error into the CLI's one-line error with the right exit code.
func cliCatching<T>(_ body: () throws(CaptureError) -> T) throws(CLIError) -> T {
    do {
        return try body()
    } catch {
        throw CLIError(message: error.description, exitCode: error.isUsageError ? 2 : 1)
    }
}

/// SIGINT/SIGTERM end the run cleanly; a second SIGINT exits at once.
enum SignalHandling {
    static func install(stop: StopSignal, logger: Logger) -> [DispatchSourceSignal] {
        [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                if stop.isStopped && number == SIGINT {
                    logger.warning("second interrupt: exiting now")
                    // _exit: exit's static destructors would tear down onnxruntime under a
                    // decode still running on another thread (see EmbeddedBackend.engine).
                    fflush(nil)
                    _exit(130)
                }
                stop.stop()
            }
            source.resume()
            return source
        }
    }
}

/// Where live audio comes from.
enum CaptureBackend: String, ExpressibleByArgument, CaseIterable {
    case pipewire, jack
}
