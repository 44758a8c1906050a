import CaptionTapCore
import Testing

/// Client frames as RFC 6455 §5.2 lays them out: FIN text, masked, 7/16/64-bit lengths.
@Suite struct WebSocketFrameTests {
    @Test(arguments: [0, 1, 7, 31, 33, 125, 126, 127, 6469, 65535, 65536, 70001])
    func framesUnmaskToThePayload(length: Int) {
        let payload = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let key: UInt32 = 0xA1B2_C3D4
        var frame = [UInt8](repeating: 0, count: WebSocketFrame.frameLength(payload: length))
        let n = payload.withUnsafeBytes { p in
            frame.withUnsafeMutableBytes { WebSocketFrame.writeMaskedText(p, key: key, into: $0.baseAddress!) }
        }
        #expect(n == frame.count)
        #expect(frame[0] == 0x81)
        #expect(frame[1] & 0x80 == 0x80)
        var offset = 2
        var declared = Int(frame[1] & 0x7F)
        if declared == 126 {
            declared = Int(frame[2]) << 8 | Int(frame[3])
            offset = 4
        } else if declared == 127 {
            declared = (2..<10).reduce(0) { $0 << 8 | Int(frame[$1]) }
            offset = 10
        }
        #expect(declared == length)
        let maskKey = Array(frame[offset..<(offset + 4)])
        #expect(maskKey == [0xD4, 0xC3, 0xB2, 0xA1])
        let unmasked = frame[(offset + 4)...].enumerated().map { $0.element ^ maskKey[$0.offset % 4] }
        #expect(unmasked == payload)
    }

    @Test func anIncomingMessageIsMeasuredWithoutOverflow() {
        #expect(!WebSocketFrame.exceedsLimit(held: 10, incoming: 10, remaining: 80, limit: 100))
        #expect(WebSocketFrame.exceedsLimit(held: 10, incoming: 10, remaining: 81, limit: 100))
        #expect(WebSocketFrame.exceedsLimit(held: 90, incoming: 11, remaining: 0, limit: 100))
        // The peer's announced length: 2^63 - 1, and a size_t beyond Int (negative as an Int).
        #expect(WebSocketFrame.exceedsLimit(held: 10, incoming: 8192, remaining: Int.max, limit: 16 << 20))
        #expect(WebSocketFrame.exceedsLimit(held: 0, incoming: 0, remaining: -1, limit: 16 << 20))
    }
}
