/// A validating, allocation-light reader over the UTF-8 bytes of one JSON document: reads the
/// few fields captiontap acts on and skips everything else without building a tree.
///
/// Every method returns nil / false on anything it does not accept (malformed JSON, an
/// unexpected value type, an escaped object key, a non-integral number read as `Int`); the
/// caller then falls back to `JSONDecoder`, so the scanner only has to be right, not complete.
struct JSONScanner {
    private let bytes: UnsafeBufferPointer<UInt8>
    private var index = 0

    init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    private var current: UInt8? { index < bytes.count ? bytes[index] : nil }

    mutating func skipSpace() {
        while index < bytes.count {
            let c = bytes[index]
            guard c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 else { return }
            index += 1
        }
    }

    /// True once only whitespace is left.
    mutating func atEnd() -> Bool {
        skipSpace()
        return index == bytes.count
    }

    private mutating func consume(_ c: UInt8) -> Bool {
        skipSpace()
        guard current == c else { return false }
        index += 1
        return true
    }

    /// Consumes `null` if it is next.
    mutating func consumeNull() -> Bool {
        skipSpace()
        guard index + 4 <= bytes.count, bytes[index] == 0x6E, bytes[index + 1] == 0x75,
            bytes[index + 2] == 0x6C, bytes[index + 3] == 0x6C
        else { return false }
        index += 4
        return true
    }

    /// Calls `field` with each key of the object that starts here; `field` must consume the
    /// value (read or ``skipValue()``) and return false to abort. Keys with escapes are refused.
    mutating func object(_ field: (inout JSONScanner, UnsafeBufferPointer<UInt8>) -> Bool) -> Bool {
        guard consume(0x7B) else { return false }
        if consume(0x7D) { return true }
        while true {
            guard consume(0x22) else { return false }
            let start = index
            while index < bytes.count, bytes[index] != 0x22 {
                if bytes[index] == 0x5C || bytes[index] < 0x20 { return false }
                index += 1
            }
            guard index < bytes.count else { return false }
            let key = UnsafeBufferPointer(rebasing: bytes[start..<index])
            index += 1
            guard consume(0x3A), field(&self, key) else { return false }
            if consume(0x2C) { continue }
            return consume(0x7D)
        }
    }

    /// Calls `element` for each element of the array that starts here (it must consume it).
    mutating func array(_ element: (inout JSONScanner) -> Bool) -> Bool {
        guard consume(0x5B) else { return false }
        if consume(0x5D) { return true }
        while true {
            guard element(&self) else { return false }
            if consume(0x2C) { continue }
            return consume(0x5D)
        }
    }

    /// A string value (nil for a string-typed field set to `null` is the caller's business:
    /// check ``consumeNull()`` first).
    mutating func string() -> String? {
        guard consume(0x22) else { return nil }
        let start = index
        // Fast path: no escapes.
        while index < bytes.count {
            let c = bytes[index]
            if c == 0x22 {
                let s = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
                index += 1
                return s
            }
            if c == 0x5C { break }
            if c < 0x20 { return nil }
            index += 1
        }
        guard index < bytes.count else { return nil }
        var out: [UInt8] = Array(bytes[start..<index])
        while index < bytes.count {
            let c = bytes[index]
            index += 1
            switch c {
            case 0x22:
                return String(decoding: out, as: UTF8.self)
            case 0x5C:
                guard let e = current else { return nil }
                index += 1
                switch e {
                case 0x22, 0x5C, 0x2F: out.append(e)
                case 0x62: out.append(0x08)
                case 0x66: out.append(0x0C)
                case 0x6E: out.append(0x0A)
                case 0x72: out.append(0x0D)
                case 0x74: out.append(0x09)
                case 0x75:
                    guard var scalar = hex4() else { return nil }
                    if (0xD800..<0xDC00).contains(scalar) {
                        guard current == 0x5C, index + 1 < bytes.count, bytes[index + 1] == 0x75 else { return nil }
                        index += 2
                        guard let low = hex4(), (0xDC00..<0xE000).contains(low) else { return nil }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00..<0xE000).contains(scalar) {
                        return nil
                    }
                    guard let u = Unicode.Scalar(scalar) else { return nil }
                    out.append(contentsOf: UTF8.encode(u)!)
                default: return nil
                }
            default:
                if c < 0x20 { return nil }
                out.append(c)
            }
        }
        return nil
    }

    private mutating func hex4() -> UInt32? {
        guard index + 4 <= bytes.count else { return nil }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[index]
            index += 1
            let d: UInt8
            switch c {
            case 0x30...0x39: d = c - 0x30
            case 0x41...0x46: d = c - 0x41 + 10
            case 0x61...0x66: d = c - 0x61 + 10
            default: return nil
            }
            v = v << 4 | UInt32(d)
        }
        return v
    }

    /// The span of a JSON number, validated; nil if no number starts here.
    private mutating func numberSpan() -> (start: Int, end: Int, integral: Bool)? {
        skipSpace()
        let start = index
        var integral = true
        if current == 0x2D { index += 1 }
        guard let first = current, (0x30...0x39).contains(first) else { return nil }
        index += 1
        if first != 0x30 { while let c = current, (0x30...0x39).contains(c) { index += 1 } }
        if current == 0x2E {
            integral = false
            index += 1
            guard let c = current, (0x30...0x39).contains(c) else { return nil }
            while let c = current, (0x30...0x39).contains(c) { index += 1 }
        }
        if current == 0x65 || current == 0x45 {
            integral = false
            index += 1
            if current == 0x2B || current == 0x2D { index += 1 }
            guard let c = current, (0x30...0x39).contains(c) else { return nil }
            while let c = current, (0x30...0x39).contains(c) { index += 1 }
        }
        return (start, index, integral)
    }

    /// An integer written without fraction or exponent, in range.
    mutating func int() -> Int? {
        guard let span = numberSpan(), span.integral, span.end - span.start <= 18 else { return nil }
        var i = span.start
        let negative = bytes[i] == 0x2D
        if negative { i += 1 }
        var v = 0
        while i < span.end {
            v = v * 10 + Int(bytes[i] - 0x30)
            i += 1
        }
        return negative ? -v : v
    }

    mutating func double() -> Double? {
        guard let span = numberSpan() else { return nil }
        return Double(String(decoding: UnsafeBufferPointer(rebasing: bytes[span.start..<span.end]), as: UTF8.self))
    }

    /// Skips one value of any type, validating it.
    mutating func skipValue(depth: Int = 0) -> Bool {
        guard depth < 64 else { return false }
        skipSpace()
        guard let c = current else { return false }
        switch c {
        case 0x22: return skipString()
        case 0x7B: return object { s, _ in s.skipValue(depth: depth + 1) }
        case 0x5B: return array { s in s.skipValue(depth: depth + 1) }
        case 0x74: return literal("true")
        case 0x66: return literal("false")
        case 0x6E: return literal("null")
        default: return numberSpan() != nil
        }
    }

    private mutating func skipString() -> Bool {
        index += 1
        while index < bytes.count {
            let c = bytes[index]
            index += 1
            if c == 0x22 { return true }
            if c < 0x20 { return false }
            if c == 0x5C {
                guard let e = current else { return false }
                index += 1
                switch e {
                case 0x22, 0x5C, 0x2F, 0x62, 0x66, 0x6E, 0x72, 0x74: break
                case 0x75: guard hex4() != nil else { return false }
                default: return false
                }
            }
        }
        return false
    }

    private mutating func literal(_ word: StaticString) -> Bool {
        let n = word.utf8CodeUnitCount
        guard index + n <= bytes.count else { return false }
        let w = word.utf8Start
        for k in 0..<n where bytes[index + k] != w[k] { return false }
        index += n
        return true
    }
}

extension UnsafeBufferPointer<UInt8> {
    /// Whether these bytes spell `key` exactly.
    @inline(__always)
    func equals(_ key: StaticString) -> Bool {
        let n = key.utf8CodeUnitCount
        guard count == n else { return false }
        let k = key.utf8Start
        for i in 0..<n where self[i] != k[i] { return false }
        return true
    }
}
