import CaptionTapCore
import CaptionTapServer
import Logging

#if canImport(CaptionTapRecognizer)
    import CaptionTapRecognizer
#endif

extension RunCommand {
    /// The recognizer that shows live captions while people speak (`--live`), shared by every
    /// source: the in-process embedded backend's own when there is one (no second copy of the
    /// model), else one loaded for the purpose. Nil with `--live off`, or `auto` without it.
    func makeLiveRecognizer(_ backend: Backend, logger: Logger) throws(CLIError) -> PartialRecognizer? {
        // A file read faster than real time is transcribed before anyone could read partials.
        guard output.live == .on || output.live == .auto && (input == nil || pace == .realtime) else { return nil }
        #if canImport(CaptionTapRecognizer)
            let engine: SpeechEngine
            if let embedded = backend.embedded {
                engine = embedded.engine
            } else {
                do {
                    engine = try recognizer.engine(logger: logger)
                } catch {
                    if output.live == .on {
                        throw CLIError(message: "--live on: \(error.message)", exitCode: error.exitCode)
                    }
                    logger.info("live captions off: \(error.message)")
                    return nil
                }
            }
            let server = backend.embedded
            let live = LiveRecognizer(engine: engine) { server?.hasQueuedDecodes ?? false }
            logger.debug("live captions on (\(engine.name))")
            return live
        #else
            if output.live == .on {
                throw CLIError.usage(
                    "--live on needs the embedded recognizer: run \(RecognizerFiles.setupCommand), then rebuild")
            }
            return nil
        #endif
    }
}

extension RunCommand {
    /// "median X ms, p95 Y ms, max Z ms" (on the audio clock).
    static func percentiles(_ values: [Int]) -> String {
        let sorted = values.sorted()
        let p95 = sorted[min(sorted.count - 1, sorted.count * 95 / 100)]
        return "median \(sorted[sorted.count / 2]) ms, p95 \(p95) ms, max \(sorted.last!) ms"
    }

    /// What live captions cost: recognizer time per second of audio captured.
    func reportLive(_ live: PartialRecognizer, seconds: Double, logger: Logger) {
        let work = live.decoded
        guard seconds > 0 else { return }
        logger.info(
            "live captions: decoded \(String(format: "%.1f", work.audio)) s of audio in \(String(format: "%.1f", work.busy)) s (\(String(format: "%.0f", 100 * work.busy / seconds)) % of a core over the run)"
        )
    }
}
