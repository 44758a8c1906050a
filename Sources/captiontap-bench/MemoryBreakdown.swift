// Where the embedded backend's memory goes, part by part, each precision in a fresh process
// (`captiontap-bench --memory-breakdown`): the process before the recognizer, the libraries, the
// loaded models (mapped from disk and on the heap), one decode's activations, and what one more
// session's front end (two Silero detectors, the resampler, level normalization) adds.
import CaptionTapServer
import CaptionTapServerCore
import Foundation
import TestSupport

#if canImport(CaptionTapRecognizer)
    import CaptionTapRecognizer
#endif

enum MemoryBreakdown {
    /// Runs the breakdown of each installed precision in a child process of this binary.
    static func run() throws {
        for precision in ["compact", "fp32", "int8"] {
            let child = try RunningProcess(CommandLine.arguments[0], ["--memory-breakdown-child", precision])
            let result = child.wait(timeout: 300)
            print(result.stdout, terminator: "")
        }
    }

    /// Resident memory, from /proc/self/status: total, anonymous, file-backed, and the peak (MiB).
    struct Resident {
        var total = 0.0
        var anonymous = 0.0
        var file = 0.0
        var peak = 0.0

        static func now() -> Resident {
            let status = ProcStatus()
            func field(_ name: String) -> Double { status.mebibytes(name) ?? 0 }
            return Resident(
                total: field("VmRSS"), anonymous: field("RssAnon"), file: field("RssFile"), peak: field("VmHWM"))
        }
    }

    /// Resident MiB of the mappings whose path contains any of `names` (/proc/self/smaps, read
    /// line by line: procfs files report no size, so whole-file reads can come back empty).
    static func mapped(_ names: [String]) -> Double {
        guard let file = fopen("/proc/self/smaps", "r") else { return 0 }
        defer { fclose(file) }
        var total = 0.0
        var counting = false
        var buffer: UnsafeMutablePointer<CChar>?
        var capacity = 0
        defer { free(buffer) }
        while getline(&buffer, &capacity, file) > 0, let buffer {
            let line = String(cString: buffer)
            if let first = line.first, first.isHexDigit, line.contains("-") {
                counting = names.contains { line.contains($0) }
            } else if counting && line.hasPrefix("Rss:") {
                total += Double(line.split(separator: " ").dropFirst().first ?? "") ?? 0
            }
        }
        return total / 1024
    }

    #if canImport(CaptionTapRecognizer)
        static func child(precision: String) throws {
            guard let chosen = RecognizerFiles.Precision(rawValue: precision),
                let files = try? RecognizerFiles.locate(explicit: nil, precision: chosen)
            else {
                print("memory, \(precision): not installed")
                return
            }
            func mib(_ value: Double) -> String { String(format: "%.0f", value) }
            let start = Resident.now()
            let engine = try SherpaEngine(files: files)
            engine.settle()
            let loaded = Resident.now()
            let libraries = mapped(["libonnxruntime", "libsherpa-onnx"])
            let weights = mapped([".onnx"])
            let speech = try WAV.read24kMono(EmbeddedBackendBench.fixture("two_cities.wav"))
            let frontEnd = try engine.makeFrontEnd()
            var samples16k: [Float] = []
            speech.prefix(24_000 * 8).withUnsafeBufferPointer { buf in
                frontEnd.process(buf) { window, _ in samples16k.append(contentsOf: window) }
            }
            let beforeDecode = Resident.now()
            _ = try engine.transcribe(samples16k)
            let decoded = Resident.now()
            var frontEnds: [SpeechFrontEnd] = []
            for _ in 0..<8 { frontEnds.append(try engine.makeFrontEnd()) }
            for frontEnd in frontEnds {
                speech.prefix(24_000).withUnsafeBufferPointer { buf in frontEnd.process(buf) { _, _ in } }
            }
            let sessions = Resident.now()
            print(
                "memory, \(precision) models (MiB resident): process and libraries before the models \(mib(start.total)); "
                    + "sherpa-onnx and onnxruntime libraries \(mib(libraries)); models loaded: weights mapped from disk "
                    + "\(mib(weights)), heap +\(mib(loaded.anonymous - start.anonymous)) (pre-packed weights, sessions), "
                    + "load peak \(mib(loaded.peak)); "
                    + "one 8 s decode: peak \(mib(decoded.peak)), kept +\(mib(decoded.total - beforeDecode.total)); "
                    + "each further session's front end +\(String(format: "%.1f", (sessions.total - decoded.total) / 8))"
            )
            withExtendedLifetime((engine, frontEnd, frontEnds)) {}
        }
    #endif
}
