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

/// Ends the process at once with `status`, output flushed. `_exit`, not `exit`: exit's static
/// destructors tear down onnxruntime while another thread may still be running in it (a decode,
/// or the session thread's Silero), which aborted ("GetElementType is not implemented") in about
/// 1 run in 20.
func exitAtOnce(_ status: Int32) -> Never {
    fflush(nil)
    _exit(status)
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
                    exitAtOnce(130)
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
