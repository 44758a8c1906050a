import CaptionTapCore
import Foundation
import Testing

@Suite struct AppendEncoderTests {
    @Test(arguments: 0..<40)
    func base64MatchesFoundation(length: Int) {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
        var out = [UInt8](repeating: 0, count: Base64.encodedLength(length))
        let n = bytes.withUnsafeBytes { input in
            out.withUnsafeMutableBufferPointer { Base64.encode(input, into: $0.baseAddress!) }
        }
        #expect(n == out.count)
        #expect(String(decoding: out, as: UTF8.self) == Data(bytes).base64EncodedString())
        #expect(Data(base64Encoded: Data(out)) == Data(bytes))
    }

    @Test func pcm16ScalesClampsAndRoundTrips() {
        let input: [Float] = [0, 0.5, -0.5, 1, -1, 2, -2, 1 / 32768, -1 / 32768]
        var bytes = [UInt8](repeating: 0, count: input.count * 2)
        input.withUnsafeBufferPointer { PCM16.encode($0.baseAddress!, count: input.count, into: &bytes) }
        let values = stride(from: 0, to: bytes.count, by: 2).map {
            Int16(bitPattern: UInt16(bytes[$0]) | UInt16(bytes[$0 + 1]) << 8)
        }
        #expect(values == [0, 16384, -16384, 32767, -32768, 32767, -32768, 1, -1])
        // Every PCM16 value survives decode → encode unchanged.
        let all = (Int(Int16.min)...Int(Int16.max)).flatMap { v -> [UInt8] in
            let u = UInt16(bitPattern: Int16(v))
            return [UInt8(u & 0xFF), UInt8(u >> 8)]
        }
        var floats = [Float](repeating: 0, count: 65536)
        _ = all.withUnsafeBytes { raw in
            floats.withUnsafeMutableBufferPointer { PCM16.decode(raw, into: $0.baseAddress!) }
        }
        var back = [UInt8](repeating: 0, count: all.count)
        floats.withUnsafeBufferPointer { PCM16.encode($0.baseAddress!, count: 65536, into: &back) }
        #expect(back == all)
    }

    @Test func eventIsTheProtocolsAppendShape() throws {
        let samples = (0..<2400).map { Float(sin(Double($0) * 0.1) * 0.8) }
        var encoder = AppendEventEncoder(maxSamples: 2400)
        let (event, pcm) = samples.withUnsafeBufferPointer { encoder.encode($0) }
        let pcmCopy = Data(pcm)
        #expect(pcmCopy.count == 4800)  // 100 ms = 4800 bytes (protocol §3)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(event.utf8)) as? [String: String])
        #expect(Set(object.keys) == ["type", "audio"])
        #expect(object["type"] == "input_audio_buffer.append")
        let decoded = try #require(Data(base64Encoded: object["audio"]!))
        #expect(decoded == pcmCopy)
        var expected = [UInt8](repeating: 0, count: 4800)
        samples.withUnsafeBufferPointer { PCM16.encode($0.baseAddress!, count: 2400, into: &expected) }
        #expect(decoded == Data(expected))
    }

    @Test func chunkPolicyBounds() throws {
        #expect(try ChunkPolicy(milliseconds: 100).samples == 2400)
        #expect(try ChunkPolicy(milliseconds: 20).samples == 480)
        #expect(try ChunkPolicy(milliseconds: 500).samples == 12000)
        #expect(throws: ChunkPolicyError.outOfRange(19)) { try ChunkPolicy(milliseconds: 19) }
        #expect(throws: ChunkPolicyError.outOfRange(501)) { try ChunkPolicy(milliseconds: 501) }
    }

    @Test(arguments: [1, 7, 480, 1023, 2400, 5000])
    func assemblerCutsExactChunksInOrder(block: Int) {
        let total = 24_000 + 123
        let input = (0..<total).map(Float.init)
        var assembler = ChunkAssembler(chunkSamples: 2400)
        var chunks: [[Float]] = []
        var offset = 0
        while offset < total {
            let n = min(block, total - offset)
            input[offset..<offset + n].withUnsafeBufferPointer { assembler.append($0) { chunks.append(Array($0)) } }
            offset += n
        }
        #expect(chunks.count == 10)
        #expect(chunks.allSatisfy { $0.count == 2400 })
        assembler.flush { chunks.append(Array($0)) }
        #expect(chunks.last?.count == 123)
        #expect(chunks.flatMap { $0 } == input)
    }
}
