import ArgumentParser
import CaptionTapServer
import Foundation
import Logging

#if canImport(CaptionTapRecognizer)
    import CaptionTapRecognizer
#endif

extension RecognizerFiles.Precision: ExpressibleByArgument {}

/// Where the embedded recognizer comes from; shared by `run`, `serve` and `doctor`.
struct RecognizerOptions: ParsableArguments {
    @Option(
        name: .customLong("recognizer-dir"),
        help: ArgumentHelp(
            "The embedded recognizer's install directory (default: CAPTIONTAP_RECOGNIZER_DIR, next to the binary, or the build tree's vendor/recognizer).",
            valueName: "dir"))
    var directory: String?

    @Option(
        name: .customLong("recognizer-precision"),
        help: "auto (compact, else fp32, when installed with --fold), compact, fp32 or int8.")
    var precision: RecognizerFiles.Precision = .auto

    /// Whether this binary was built with the embedded recognizer.
    static var isBuiltIn: Bool {
        #if canImport(CaptionTapRecognizer)
            true
        #else
            false
        #endif
    }

    /// The model files, or a usage error naming the setup command.
    func files() throws(CLIError) -> RecognizerFiles {
        guard Self.isBuiltIn else {
            throw CLIError.usage(
                "this captiontap was built without the embedded recognizer: run \(RecognizerFiles.setupCommand), then rebuild (swift build -c release --manifest-cache none)"
            )
        }
        do {
            return try RecognizerFiles.locate(explicit: directory, precision: precision)
        } catch {
            throw CLIError.usage(error.description)
        }
    }

    /// The recognizer, its models loading in the background (0.6–0.8 s): nothing waits for
    /// them but the first decode. Says when they are loaded, or why they could not be; then, if
    /// `essential` (nothing could be captioned without it), exits with status 1.
    func engine(logger: Logger, essential: Bool = false) throws(CLIError) -> SpeechEngine {
        let files = try files()
        #if canImport(CaptionTapRecognizer)
            do {
                return try SherpaEngine(files: files) { outcome in
                    switch outcome {
                    case .success(let seconds):
                        logger.debug(
                            "recognizer loaded from \(files.directory) (\(files.precision.rawValue)) in \(String(format: "%.2f", seconds)) s"
                        )
                    case .failure(let error):
                        logger.error("\(error)")
                        if essential { exitAtOnce(1) }
                    }
                }
            } catch {
                throw CLIError.failure(error.description)
            }
        #else
            fatalError("unreachable: files() throws when the recognizer is not built in")
        #endif
    }

    static var sampleRate: Int {
        #if canImport(CaptionTapRecognizer)
            SherpaEngine.sampleRate
        #else
            16000
        #endif
    }
}
