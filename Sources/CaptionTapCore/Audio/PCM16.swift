import Foundation

/// Conversion between the float samples captiontap moves internally and the little-endian
/// PCM16 the Realtime API takes (`audio/pcm`, 24 kHz mono).
public enum PCM16 {
    /// The Realtime API's only PCM rate; PipeWire and the file resampler deliver this.
    public static let sampleRate = 24_000

    /// Writes `count` samples as PCM16 little-endian into `bytes` (2 × `count` bytes).
    ///
    /// Scaled by 32768 and clamped, the inverse of libsndfile's and PipeWire's S16→F32,
    /// so PCM16 input round-trips bit-exactly.
    @inlinable
    public static func encode(_ samples: UnsafePointer<Float>, count: Int, into bytes: UnsafeMutablePointer<UInt8>) {
        for i in 0..<count {
            let scaled = (samples[i] * 32768).rounded(.toNearestOrEven)
            let clamped = Int16(max(-32768, min(32767, scaled)))
            let bits = UInt16(bitPattern: clamped)
            bytes[2 * i] = UInt8(truncatingIfNeeded: bits)
            bytes[2 * i + 1] = UInt8(truncatingIfNeeded: bits >> 8)
        }
    }

    /// Reads little-endian PCM16 back into floats (tests, the local backend).
    @inlinable
    public static func decode(_ bytes: UnsafeRawBufferPointer, into samples: UnsafeMutablePointer<Float>) -> Int {
        let count = bytes.count / 2
        for i in 0..<count {
            let bits = UInt16(bytes[2 * i]) | UInt16(bytes[2 * i + 1]) << 8
            samples[i] = Float(Int16(bitPattern: bits)) / 32768
        }
        return count
    }

    /// Little-endian PCM16 bytes as floats (an odd last byte is ignored).
    public static func floats<Bytes: ContiguousBytes>(_ bytes: Bytes) -> [Float] {
        bytes.withUnsafeBytes { raw in
            [Float](unsafeUninitializedCapacity: raw.count / 2) { buffer, count in
                count = raw.count / 2 == 0 ? 0 : decode(raw, into: buffer.baseAddress!)
            }
        }
    }

    /// Bytes per millisecond of 24 kHz mono PCM16: the protocol's `ms = bytes / 48`.
    public static let bytesPerMillisecond = 48
}
