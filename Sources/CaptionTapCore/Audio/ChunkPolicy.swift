/// How much audio goes into one `input_audio_buffer.append`.
///
/// 100 ms is what the cookbook sends; below 20 ms the per-event JSON overhead dominates,
/// above 500 ms server VAD reacts noticeably late.
public struct ChunkPolicy: Sendable, Equatable {
    public static let allowedMilliseconds = 20...500
    public let milliseconds: Int

    public init(milliseconds: Int) throws(ChunkPolicyError) {
        guard Self.allowedMilliseconds.contains(milliseconds) else {
            throw ChunkPolicyError.outOfRange(milliseconds)
        }
        self.milliseconds = milliseconds
    }

    /// Samples per chunk at 24 kHz.
    public var samples: Int { milliseconds * PCM16.sampleRate / 1000 }
}

public enum ChunkPolicyError: Error, Equatable, CustomStringConvertible {
    case outOfRange(Int)
    public var description: String {
        switch self {
        case .outOfRange(let ms):
            "--chunk-ms \(ms) is out of range: use \(ChunkPolicy.allowedMilliseconds.lowerBound)–\(ChunkPolicy.allowedMilliseconds.upperBound)"
        }
    }
}
