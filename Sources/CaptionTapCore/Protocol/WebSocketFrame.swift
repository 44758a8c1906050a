/// Client-to-server WebSocket frames (RFC 6455 §5.2, §5.3): one FIN text frame, masked.
///
/// The transport frames and masks outgoing messages itself so that several frames go to the
/// socket in one write: libwebsockets frames one message per call and masks byte by byte, which
/// at 5000× real time cost more CPU than the audio encoding.
public enum WebSocketFrame {
    /// Whether an incoming message would outgrow `limit` bytes: `held` bytes of it gathered,
    /// `incoming` in this fragment and `remaining` still announced (the peer's number, up to
    /// 2^64, taken as the unsigned `size_t` it is). In unsigned arithmetic that cannot
    /// overflow: added up as Ints, a frame announcing 2^63 bytes trapped the process.
    public static func exceedsLimit(held: Int, incoming: Int, remaining: Int, limit: Int) -> Bool {
        let gathered = UInt(max(0, held)) + UInt(max(0, incoming))
        let bound = UInt(max(0, limit))
        return gathered > bound || UInt(bitPattern: remaining) > bound - gathered
    }

    /// Bytes of the header (opcode, length, masking key) of a masked frame with `payload` bytes.
    @inlinable
    public static func headerLength(payload: Int) -> Int {
        (payload < 126 ? 2 : payload < 65536 ? 4 : 10) + 4
    }

    /// Header plus payload.
    @inlinable
    public static func frameLength(payload: Int) -> Int { headerLength(payload: payload) + payload }

    /// Writes one masked, final text frame carrying `payload` to `out` (``frameLength(payload:)``
    /// bytes) and returns its length. `key` is the masking key in wire order (its low byte first).
    public static func writeMaskedText(
        _ payload: UnsafeRawBufferPointer, key: UInt32, into out: UnsafeMutableRawPointer
    ) -> Int {
        let n = payload.count
        var h = 0
        out.storeBytes(of: 0x81, toByteOffset: 0, as: UInt8.self)  // FIN | text
        if n < 126 {
            out.storeBytes(of: 0x80 | UInt8(n), toByteOffset: 1, as: UInt8.self)
            h = 2
        } else if n < 65536 {
            out.storeBytes(of: 0x80 | 126, toByteOffset: 1, as: UInt8.self)
            out.storeBytes(of: UInt16(n).bigEndian, toByteOffset: 2, as: UInt16.self)
            h = 4
        } else {
            out.storeBytes(of: 0x80 | 127, toByteOffset: 1, as: UInt8.self)
            out.storeBytes(of: UInt64(n).bigEndian, toByteOffset: 2, as: UInt64.self)
            h = 10
        }
        out.storeBytes(of: key.littleEndian, toByteOffset: h, as: UInt32.self)
        h += 4
        mask(payload, key: key, into: out + h)
        return h + n
    }

    /// `out[i] = payload[i] ^ key[i % 4]`, eight bytes at a time.
    @inlinable
    public static func mask(_ payload: UnsafeRawBufferPointer, key: UInt32, into out: UnsafeMutableRawPointer) {
        guard let src = payload.baseAddress else { return }
        let n = payload.count
        let key64 = UInt64(key) | UInt64(key) << 32
        var i = 0
        while i + 32 <= n {
            for k in stride(from: 0, to: 32, by: 8) {
                let v = UInt64(littleEndian: src.loadUnaligned(fromByteOffset: i + k, as: UInt64.self))
                out.storeBytes(of: (v ^ key64).littleEndian, toByteOffset: i + k, as: UInt64.self)
            }
            i += 32
        }
        while i + 8 <= n {
            let v = UInt64(littleEndian: src.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            out.storeBytes(of: (v ^ key64).littleEndian, toByteOffset: i, as: UInt64.self)
            i += 8
        }
        while i < n {
            let k = UInt8(truncatingIfNeeded: key >> (8 * UInt32(i & 3)))
            out.storeBytes(of: src.load(fromByteOffset: i, as: UInt8.self) ^ k, toByteOffset: i, as: UInt8.self)
            i += 1
        }
    }
}
