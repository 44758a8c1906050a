/// Standard base64 (RFC 4648, with padding) written straight into a caller's byte buffer.
///
/// The append path encodes every 100 ms of audio; writing into the JSON buffer in place avoids
/// the intermediate `Data` and `String` Foundation would build, which dominates at 5000× real time.
public enum Base64 {
    @usableFromInline
    static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// Length of the encoding of `count` bytes.
    @inlinable
    public static func encodedLength(_ count: Int) -> Int { (count + 2) / 3 * 4 }

    /// Encodes `input` into `output`, which must hold ``encodedLength(_:)`` bytes. Returns that length.
    @inlinable
    public static func encode(_ input: UnsafeRawBufferPointer, into output: UnsafeMutablePointer<UInt8>) -> Int {
        alphabet.withUnsafeBufferPointer { table in
            let n = input.count
            var i = 0
            var o = 0
            while i + 3 <= n {
                let v = UInt32(input[i]) << 16 | UInt32(input[i + 1]) << 8 | UInt32(input[i + 2])
                output[o] = table[Int(v >> 18)]
                output[o + 1] = table[Int(v >> 12 & 63)]
                output[o + 2] = table[Int(v >> 6 & 63)]
                output[o + 3] = table[Int(v & 63)]
                i += 3
                o += 4
            }
            let rest = n - i
            if rest > 0 {
                let v = UInt32(input[i]) << 16 | (rest == 2 ? UInt32(input[i + 1]) << 8 : 0)
                output[o] = table[Int(v >> 18)]
                output[o + 1] = table[Int(v >> 12 & 63)]
                output[o + 2] = rest == 2 ? table[Int(v >> 6 & 63)] : UInt8(ascii: "=")
                output[o + 3] = UInt8(ascii: "=")
                o += 4
            }
            return o
        }
    }
}
