/// Turns chunks of 24 kHz float audio into the text of `input_audio_buffer.append` events.
///
/// One encoder is reused for the whole session: its buffers are sized once for the largest
/// chunk, so steady-state encoding allocates only the resulting `String`.
public struct AppendEventEncoder: ~Copyable {
    private static let prefix = Array(#"{"type":"input_audio_buffer.append","audio":""#.utf8)
    private static let suffix = Array(#""}"#.utf8)

    public let maxSamples: Int
    private let pcm: UnsafeMutablePointer<UInt8>
    private let json: UnsafeMutablePointer<UInt8>
    private let jsonCapacity: Int

    public init(maxSamples: Int) {
        precondition(maxSamples > 0)
        self.maxSamples = maxSamples
        pcm = .allocate(capacity: maxSamples * 2)
        jsonCapacity = Self.prefix.count + Base64.encodedLength(maxSamples * 2) + Self.suffix.count
        json = .allocate(capacity: jsonCapacity)
        json.update(from: Self.prefix, count: Self.prefix.count)
    }

    deinit {
        pcm.deallocate()
        json.deallocate()
    }

    /// The encoded event for one chunk, plus the exact PCM16 bytes it carries (valid until the next call).
    public mutating func encode(_ samples: UnsafeBufferPointer<Float>) -> (event: String, pcm: UnsafeRawBufferPointer) {
        precondition(samples.count <= maxSamples, "chunk larger than the encoder was sized for")
        let count = samples.count
        if let base = samples.baseAddress { PCM16.encode(base, count: count, into: pcm) }
        let bytes = UnsafeRawBufferPointer(start: pcm, count: count * 2)
        var n = Self.prefix.count
        n += Base64.encode(bytes, into: json + n)
        (json + n).update(from: Self.suffix, count: Self.suffix.count)
        n += Self.suffix.count
        let event = String(unsafeUninitializedCapacity: n) { out in
            _ = out.initialize(fromContentsOf: UnsafeBufferPointer(start: json, count: n))
            return n
        }
        return (event, bytes)
    }
}
