import CSherpaLoader
import CaptionTapCore
import CaptionTapServer
import CaptionTapServerCore
import Foundation
import Synchronization

/// Moonshine base-en through sherpa-onnx's offline recognizer, and Silero VAD through its voice
/// activity detector.
///
/// One recognizer (~0.7 GB) serves every session; it is only called from the decode thread.
/// `num_threads = 1` is faster than 2 on 2-core machines, where the other core runs capture,
/// VAD and the client.
public final class SherpaEngine: SpeechEngine, @unchecked Sendable {
    public static let sampleRate = 16000
    public let files: RecognizerFiles
    public let name: String
    private let recognizer: BackgroundLoad<Recognizer, LoadError>
    /// Whether front ends bring quiet speech up before detection and recognition (on by default;
    /// off only to measure what it changes).
    public let normalizeLevel: Bool

    public enum LoadError: Error, CustomStringConvertible {
        case recognizer(String)
        case library(String)
        public var description: String {
            switch self {
            case .recognizer(let dir):
                "sherpa-onnx could not load the Moonshine models in \(dir); reinstall them with \(RecognizerFiles.setupCommand) --fold"
            case .library(let message):
                "cannot load the sherpa-onnx library (\(message)); reinstall it with \(RecognizerFiles.setupCommand)"
            }
        }
    }

    /// The library is loaded once per process, the first time an engine is made.
    private static let loaded = Mutex<String?>(nil)

    private static func load(_ library: String) throws(LoadError) {
        let failure: String? = loaded.withLock { path in
            if let path { return path == library ? nil : "already loaded from \(path)" }
            var message = [CChar](repeating: 0, count: 512)
            guard ct_sherpa_load(library, &message, message.count) == 0 else {
                return String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            }
            path = library
            return nil
        }
        if let failure { throw .library(failure) }
    }

    /// Loads the library now and the models in the background: the front ends work at once,
    /// the first decode waits for the models. `loaded` is told how many seconds the models took,
    /// or why they could not be loaded, before any decode goes on.
    public init(
        files: RecognizerFiles, normalizeLevel: Bool = true,
        loaded: @escaping @Sendable (Result<Double, LoadError>) -> Void = { _ in }
    ) throws(LoadError) {
        try Self.load(files.library)
        self.files = files
        self.normalizeLevel = normalizeLevel
        name = "moonshine-base-en \(files.precision.rawValue) (sherpa-onnx)"
        recognizer = BackgroundLoad(name: "captiontap-load") { () throws(LoadError) in
            try Recognizer(files)
        } made: { outcome, seconds in
            loaded(outcome.map { _ in seconds })
        }
    }

    /// Blocks until the models are loaded (or could not be).
    public func settle() { _ = recognizer.wait() }

    public var isReady: Bool { recognizer.isFinished }

    public func makeFrontEnd() throws -> SpeechFrontEnd {
        try SileroFrontEnd(model: files.vad, provider: files.provider, normalizeLevel: normalizeLevel)
    }

    /// A final transcript. Moonshine garbles the last word of short clips that end soon after
    /// speech ("ask not" → "As not." on jfk.wav) and loops on the last phrase of longer ones
    /// ("…a season of light it was a season of light it was…"); half a second of trailing silence
    /// fixes the first and makes the second rarer (windows of the speech fixtures ending at
    /// pauses: 0.9 % loop, against 2.7 % with none). A result that still loops is decoded again
    /// with a tenth of a second, then a second and a half (on windows whose decode looped with
    /// half a second, 20 of 38 came back whole with the first, 28 with either).
    public func transcribe(_ samples: [Float]) throws(TranscriptionFailure) -> String {
        try Repetition.firstUnlooped(paddings: Self.finalPaddings) { (padding) throws(TranscriptionFailure) in
            try decode(samples, padding: padding)
        }
    }

    static let finalPaddings = [sampleRate / 2, sampleRate / 10, sampleRate * 3 / 2]

    /// With a tenth of a second of padding, not half: on audio that ends mid-phrase half a second
    /// makes Moonshine return nothing until well after the words and costs a third of a short
    /// decode, while none at all makes it loop ("It was the worst of times. It was the worst of
    /// times." for audio ending in "it was the a-"; measured on the speech fixtures).
    public func transcribeOpen(_ samples: [Float]) throws(TranscriptionFailure) -> String {
        try decode(samples, padding: Self.sampleRate / 10)
    }

    /// One decode of `samples` followed by `padding` samples of silence.
    func decode(_ samples: [Float], padding: Int) throws(TranscriptionFailure) -> String {
        let r: OpaquePointer
        switch recognizer.wait() {
        case .success(let loaded): r = loaded.pointer
        case .failure(let error): throw TranscriptionFailure(error.description)
        }
        guard let stream = ct_SherpaOnnxCreateOfflineStream(r) else {
            throw TranscriptionFailure("sherpa-onnx could not create a stream")
        }
        defer { ct_SherpaOnnxDestroyOfflineStream(stream) }
        samples.withUnsafeBufferPointer { buf in
            ct_SherpaOnnxAcceptWaveformOffline(stream, Int32(Self.sampleRate), buf.baseAddress, Int32(buf.count))
        }
        if padding > 0 {
            let silence = [Float](repeating: 0, count: padding)
            ct_SherpaOnnxAcceptWaveformOffline(stream, Int32(Self.sampleRate), silence, Int32(silence.count))
        }
        ct_SherpaOnnxDecodeOfflineStream(r, stream)
        guard let result = ct_SherpaOnnxGetOfflineStreamResult(stream) else {
            throw TranscriptionFailure("sherpa-onnx returned no result")
        }
        defer { ct_SherpaOnnxDestroyOfflineRecognizerResult(result) }
        guard let text = result.pointee.text else { return "" }
        return String(cString: text).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// sherpa-onnx's offline recognizer over the Moonshine files, freed with the value.
private final class Recognizer: @unchecked Sendable {
    let pointer: OpaquePointer

    init(_ files: RecognizerFiles) throws(SherpaEngine.LoadError) {
        var config = SherpaOnnxOfflineRecognizerConfig()
        let provider = files.provider  // with the install's session options: no memory arena
        let made: OpaquePointer? = files.encoder.withCString { enc in
            files.decoder.withCString { dec in
                files.tokens.withCString { tokens in
                    provider.withCString { cpu in
                        "greedy_search".withCString { greedy in
                            config.feat_config.sample_rate = Int32(SherpaEngine.sampleRate)
                            config.feat_config.feature_dim = 80
                            config.model_config.moonshine.encoder = enc
                            config.model_config.moonshine.merged_decoder = dec
                            config.model_config.tokens = tokens
                            config.model_config.num_threads = 1
                            config.model_config.provider = cpu
                            config.decoding_method = greedy
                            return ct_SherpaOnnxCreateOfflineRecognizer(&config)
                        }
                    }
                }
            }
        }
        guard let made else { throw .recognizer(files.directory) }
        pointer = made
    }

    deinit { ct_SherpaOnnxDestroyOfflineRecognizer(pointer) }
}
