import CaptionTapCapture
import Foundation

/// Reading and writing WAVs in tests, through the same libsndfile reader the product uses.
public enum WAV {
    /// Decodes any file to 24 kHz mono floats.
    public static func read24kMono(_ path: String) throws -> [Float] {
        let reader = try AudioFileReader(path: path)
        var out: [Float] = []
        var block = [Float](repeating: 0, count: 8192)
        while true {
            let n = block.withUnsafeMutableBufferPointer { reader.read(into: $0) }
            if n == 0 { break }
            out.append(contentsOf: block[0..<n])
        }
        return out
    }

    /// Writes a 24 kHz mono PCM16 WAV (the format pw-play and the fixtures use).
    public static func write24kMono(_ samples: [Float], to path: String) throws {
        let writer = try PCM16WavWriter(path: path)
        var bytes = [UInt8](repeating: 0, count: samples.count * 2)
        for (i, x) in samples.enumerated() {
            let v = UInt16(bitPattern: Int16(max(-32768, min(32767, (x * 32768).rounded()))))
            bytes[2 * i] = UInt8(v & 0xFF)
            bytes[2 * i + 1] = UInt8(v >> 8)
        }
        bytes.withUnsafeBytes { writer.write($0) }
        writer.close()
    }

    /// A sine tone with silence around it, at 24 kHz.
    public static func tone(hz: Double, seconds: Double, amplitude: Float = 0.5, padSeconds: Double = 0.3) -> [Float] {
        let pad = [Float](repeating: 0, count: Int(padSeconds * 24_000))
        let body = (0..<Int(seconds * 24_000)).map { amplitude * Float(sin(2 * Double.pi * hz * Double($0) / 24_000)) }
        return pad + body + pad
    }
}

/// Four tone "turns" in a fresh directory: the test Realtime server transcribes each as "tone N
/// hertz" (what the Realtime session and OBS suites caption).
public struct ToneTurnsFile {
    public static let frequencies: [Double] = [300, 500, 700, 900]
    public static let expected = frequencies.map { "tone \(Int($0)) hertz" }

    public let dir: URL
    public let input: String

    public init() throws {
        dir = try TemporaryDirectory.create()
        input = dir.appendingPathComponent("turns.wav").path
        try WAV.write24kMono(WAV.toneTurns(Self.frequencies), to: input)
    }
}
