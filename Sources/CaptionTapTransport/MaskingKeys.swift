import CWebSockets
import Foundation

/// Masking keys from the kernel's CSPRNG (RFC 6455 §5.3 asks for a strong source of entropy),
/// fetched 512 at a time instead of one read per frame.
struct MaskingKeys {
    private var keys = [UInt32](repeating: 0, count: 512)
    private var index = 512

    mutating func next() -> UInt32 {
        if index == keys.count {
            keys.withUnsafeMutableBytes { raw in
                var filled = 0
                while filled < raw.count {
                    let n = ct_getrandom(raw.baseAddress! + filled, raw.count - filled)
                    if n > 0 {
                        filled += n
                    } else if n < 0 && errno != EINTR {
                        // No getrandom (very old kernel): the stdlib's generator.
                        var generator = SystemRandomNumberGenerator()
                        for i in stride(from: filled, to: raw.count, by: 1) {
                            raw[i] = UInt8.random(in: 0...255, using: &generator)
                        }
                        filled = raw.count
                    }
                }
            }
            index = 0
        }
        defer { index += 1 }
        return keys[index]
    }
}
