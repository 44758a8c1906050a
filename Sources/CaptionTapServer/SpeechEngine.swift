import CaptionTapCore
import CaptionTapServerCore

/// What the embedded backend needs from a recognizer: a voice-activity front end per session,
/// and transcription of finished segments.
///
/// `makeFrontEnd()` is called on the server's service thread; `transcribe(_:)` on the decode
/// threads and the live-caption thread, possibly at once: an engine must be safe to call from
/// several threads (sherpa-onnx's offline recognizer is, with a stream of its own per call).
public protocol SpeechEngine: AnyObject, Sendable {
    /// A short name for logs and `doctor` ("moonshine-base-en int8", …).
    var name: String { get }
    func makeFrontEnd() throws -> SpeechFrontEnd
    /// Whether the recognizer is loaded (decodes run at once, none waits for a model).
    var isReady: Bool { get }
    /// Recognizes mono samples at the front end's rate.
    func transcribe(_ samples: [Float]) throws(TranscriptionFailure) -> String
    /// Recognizes audio cut off while someone is still speaking (a live partial caption): what
    /// helps a finished segment's last word may hide the words of an open one.
    func transcribeOpen(_ samples: [Float]) throws(TranscriptionFailure) -> String
    /// Returns once no work of the engine's own runs in the background (a model still loading):
    /// called before the process may exit, which must not tear the runtime down under it.
    func settle()
}

/// The recognizer could not produce a result for a decode (the client gets
/// `conversation.item.input_audio_transcription.failed`).
public struct TranscriptionFailure: Error, Sendable, Equatable {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
}

extension SpeechEngine {
    public var isReady: Bool { true }

    public func transcribeOpen(_ samples: [Float]) throws(TranscriptionFailure) -> String {
        try transcribe(samples)
    }
}
