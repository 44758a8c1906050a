import Foundation

/// Where the embedded recognizer's files are, as installed by scripts/setup-recognizer.sh:
///
///     DIR/wheels/moonshine_cpp/models/base-en/{encoder_model.ort,decoder_model_merged.ort}
///     DIR/wheels/silero_vad/data/silero_vad_16k_op15.onnx   (the 16 kHz-only export: the same
///                                                           decisions in 5 MB less per detector)
///     DIR/wheels/sherpa_onnx/lib/{libsherpa-onnx-c-api.so,libonnxruntime.so}
///     DIR/tokens.txt
///     DIR/fp32/{encoder_model.onnx,decoder_model_merged.onnx}   (optional, --fold: ~3× faster)
///     DIR/compact/{encoder_model,decoder_model_merged}.onnx{,.data}   (--fold: int8 weights,
///                                                                      as fast, ~⅓ the memory)
///     DIR/onnxruntime.cfg   onnxruntime session options sherpa-onnx reads (no memory arena)
public struct RecognizerFiles: Sendable, Equatable {
    public enum Precision: String, Sendable, CaseIterable {
        /// compact when installed, else fp32 when installed, else int8.
        case auto
        /// The shipped int8 models (slow: they rebuild their fp32 weights on every run).
        case int8
        /// The folded fp32 models.
        case fp32
        /// int8 weights run by onnxruntime's 8-bit kernels (scripts/recognizer/compact_moonshine.py).
        case compact
    }

    public var directory: String
    public var encoder: String
    public var decoder: String
    public var tokens: String
    public var vad: String
    /// The sherpa-onnx C API library (loaded with dlopen; onnxruntime sits next to it).
    public var library: String
    public var precision: Precision
    /// The onnxruntime session options file, when installed.
    public var sessionOptions: String?
    /// sherpa-onnx's provider string: "cpu", or "cpu:FILE", which makes it read onnxruntime
    /// session options from the file.
    public var provider: String { sessionOptions.map { "cpu:" + $0 } ?? "cpu" }

    /// The command that installs what is missing.
    public static let setupCommand = "scripts/setup-recognizer.sh"

    public struct Missing: Error, Equatable, CustomStringConvertible {
        public var path: String
        public var description: String {
            "embedded recognizer files missing (\(path)); install them with \(RecognizerFiles.setupCommand) [--fold]"
        }
    }

    /// Candidate directories, most specific first: `--recognizer-dir`, `CAPTIONTAP_RECOGNIZER_DIR`,
    /// next to an installed binary (PREFIX/lib/captiontap/recognizer), then the build tree's vendor/.
    public static func candidates(
        explicit: String?, environment: [String: String] = ProcessInfo.processInfo.environment,
        executable: String = CommandLine.arguments[0]
    ) -> [String] {
        if let explicit { return [explicit] }
        if let env = environment["CAPTIONTAP_RECOGNIZER_DIR"], !env.isEmpty { return [env] }
        var dirs: [String] = []
        var url = URL(fileURLWithPath: executable).resolvingSymlinksInPath().deletingLastPathComponent()
        dirs.append(url.deletingLastPathComponent().appendingPathComponent("lib/captiontap/recognizer").path)
        for _ in 0..<6 {
            dirs.append(url.appendingPathComponent("vendor/recognizer").path)
            url = url.deletingLastPathComponent()
        }
        return dirs
    }

    /// The first candidate holding a complete install, or `Missing` naming the first absent file.
    public static func locate(explicit: String?, precision: Precision = .auto) throws(Missing) -> RecognizerFiles {
        let fm = FileManager.default
        var firstMissing: String?
        for dir in candidates(explicit: explicit) {
            let models = dir + "/wheels/moonshine_cpp/models/base-en"
            var files = RecognizerFiles(
                directory: dir, encoder: models + "/encoder_model.ort",
                decoder: models + "/decoder_model_merged.ort", tokens: dir + "/tokens.txt",
                vad: dir + "/wheels/silero_vad/data/silero_vad_16k_op15.onnx",
                library: dir + "/wheels/sherpa_onnx/lib/libsherpa-onnx-c-api.so", precision: .int8)
            files.select(precision, in: dir)
            if fm.fileExists(atPath: dir + "/onnxruntime.cfg") { files.sessionOptions = dir + "/onnxruntime.cfg" }
            var required = [files.library, files.encoder, files.decoder, files.tokens, files.vad]
            if files.precision == .compact { required += [files.encoder + ".data", files.decoder + ".data"] }
            if let absent = required.first(where: { !fm.fileExists(atPath: $0) }) {
                // Name a file in a directory that exists: that install is the incomplete one.
                if firstMissing == nil || fm.fileExists(atPath: dir) { firstMissing = absent }
                continue
            }
            return files
        }
        throw Missing(path: firstMissing ?? "\(explicit ?? "vendor/recognizer")")
    }

    /// Points at the models of `precision` in `dir`; `auto` takes the best one installed.
    private mutating func select(_ precision: Precision, in dir: String) {
        func installed(_ sub: String) -> Bool {
            ["encoder_model.onnx", "decoder_model_merged.onnx"].allSatisfy {
                FileManager.default.fileExists(atPath: "\(dir)/\(sub)/\($0)")
            }
        }
        let chosen: Precision =
            switch precision {
            case .auto: installed("compact") ? .compact : installed("fp32") ? .fp32 : .int8
            default: precision
            }
        guard chosen != .int8 else { return }
        encoder = "\(dir)/\(chosen.rawValue)/encoder_model.onnx"
        decoder = "\(dir)/\(chosen.rawValue)/decoder_model_merged.onnx"
        self.precision = chosen
    }
}
