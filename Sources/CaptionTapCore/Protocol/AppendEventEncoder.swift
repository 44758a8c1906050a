/// Turns chunks of 24 kHz float audio into the text of `input_audio_buffer.append` events.
///
/// One encoder is reused for the whole session: its buffers are sized once for the largest
/// chunk, so steady-state encoding allocates only the resulting `String`.
public struct AppendEventEncoder: ~Copyable {
    private static let prefix = Array(#"{"type":"input_audio_buffer.append","audio":""#.utf8)
    private static let suffix = Array(#""}"#.utf8)

    public let maxSamples: Int
    private let pcm: UnsafeMutablePointer<UInt8>
    /// The event's prefix, copied into each event's storage.
    private let json: UnsafeMutablePointer<UInt8>

    public init(maxSamples: Int) {
        precondition(maxSamples > 0)
        self.maxSamples = maxSamples
        pcm = .allocate(capacity: maxSamples * 2)
        json = .allocate(capacity: Self.prefix.count)
        json.update(from: Self.prefix, count: Self.prefix.count)
    }

    deinit {
        pcm.deallocate()
        json.deallocate()
    }

    /// The encoded event for one chunk, plus the exact PCM16 bytes it carries (valid until the next call).
    public mutating func encode(_ samples: UnsafeBufferPointer<Float>) -> (event: String, pcm: UnsafeRawBufferPointer) {
        precondition(samples.count <= maxSamples, "chunk larger than the encoder was sized for")
        if let base = samples.baseAddress { PCM16.encode(base, count: samples.count, into: pcm) }
        let bytes = UnsafeRawBufferPointer(start: pcm, count: samples.count * 2)
        return (encode(pcm16: bytes), bytes)
    }

    /// The event carrying `pcm16`, little-endian PCM16 that is already what goes on the wire
    /// (a 24 kHz mono 16-bit file): no float round trip.
    public mutating func encode(pcm16 bytes: UnsafeRawBufferPointer) -> String {
        precondition(bytes.count <= maxSamples * 2, "chunk larger than the encoder was sized for")
        // Straight into the String's own storage: no scratch buffer to copy from.
        let length = Self.prefix.count + Base64.encodedLength(bytes.count) + Self.suffix.count
        return String(unsafeUninitializedCapacity: length) { out in
            let base = out.baseAddress!
            base.initialize(from: json, count: Self.prefix.count)
            var n = Self.prefix.count
            n += Base64.encode(bytes, into: base + n)
            (base + n).initialize(from: Self.suffix, count: Self.suffix.count)
            return n + Self.suffix.count
        }
    }
}
