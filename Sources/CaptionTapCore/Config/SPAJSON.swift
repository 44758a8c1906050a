/// A line-aware reader for PipeWire's config syntax (SPA-JSON), used to check a config file
/// before its values are used, so a mistake can be reported as `file:line: what is wrong`.
///
/// It tokenizes like `spa_json_next` (spa/utils/json.h): whitespace, `:`, `=` and `,` separate;
/// `#` starts a comment; strings are double-quoted with JSON escapes and no control characters;
/// anything else up to a separator or a closing bracket is a bare word. It is stricter than
/// spa_json about structure, which silently stops at the first stray bracket: brackets must
/// balance, and every key in an object needs a value. A file is an object without braces.
public enum SPAJSON {
    public indirect enum Value: Sendable, Equatable {
        /// A double-quoted string, unescaped.
        case string(String)
        /// A bare word: a number, `true`, `false`, `null` or an unquoted string.
        case bare(String)
        case object([Member])
        case array([Value])

        /// What the value is, for error messages.
        public var kind: String {
            switch self {
            case .string: "a string"
            case .bare(let word): word == "null" ? "null" : "'\(word)'"
            case .object: "an object"
            case .array: "an array"
            }
        }
    }

    public struct Member: Sendable, Equatable {
        public var key: String
        public var value: Value
        /// 1-based line of the key.
        public var line: Int

        public init(key: String, value: Value, line: Int) {
            self.key = key
            self.value = value
            self.line = line
        }
    }

    public struct SyntaxError: Error, Sendable, Equatable {
        /// 1-based line where the problem was found.
        public var line: Int
        public var message: String

        public init(line: Int, message: String) {
            self.line = line
            self.message = message
        }
    }

    /// Parses a whole config file: `key = value` pairs at the top level, braces optional.
    public static func parseFile(_ text: String) throws(SyntaxError) -> [Member] {
        var reader = Reader(Array(text.utf8))
        let members = try reader.members(closing: nil)
        return members
    }

    /// Formats a string so that `parseFile` reads it back unchanged: always double-quoted.
    public static func quote(_ string: String) -> String {
        // SPA-JSON strings take JSON's escapes, which the reader above undoes.
        var out = ""
        JSONValue.writeString(string, into: &out)
        return out
    }

    private struct Reader {
        let bytes: [UInt8]
        var index = 0
        var line = 1
        /// Objects and arrays open around the current value: bounded, so a hostile file nested
        /// 200 000 deep is a syntax error rather than a stack overflow.
        var depth = 0
        static let maxDepth = 64

        init(_ bytes: [UInt8]) { self.bytes = bytes }

        /// Skips separators and comments; returns the next significant byte without taking it.
        mutating func peek() -> UInt8? {
            while index < bytes.count {
                switch bytes[index] {
                case UInt8(ascii: "\n"):
                    line += 1
                    index += 1
                case 0, UInt8(ascii: "\t"), UInt8(ascii: " "), UInt8(ascii: "\r"), UInt8(ascii: ":"),
                    UInt8(ascii: "="), UInt8(ascii: ","):
                    index += 1
                case UInt8(ascii: "#"):
                    while index < bytes.count && bytes[index] != UInt8(ascii: "\n")
                        && bytes[index] != UInt8(ascii: "\r")
                    {
                        index += 1
                    }
                default:
                    return bytes[index]
                }
            }
            return nil
        }

        func error(_ message: String, line: Int? = nil) -> SyntaxError {
            SyntaxError(line: line ?? self.line, message: message)
        }

        /// Members up to `closing` (`}`), or to the end of the text for the top level.
        mutating func members(closing: UInt8?) throws(SyntaxError) -> [Member] {
            let openLine = line
            var members: [Member] = []
            while true {
                guard let next = peek() else {
                    if closing != nil { throw error("'{' opened here is never closed", line: openLine) }
                    return members
                }
                if next == closing {
                    index += 1
                    return members
                }
                let keyLine = line
                let key: String
                switch next {
                case UInt8(ascii: "{"), UInt8(ascii: "["):
                    throw error("expected a key, found '\(Character(UnicodeScalar(next)))'")
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    throw error("unexpected '\(Character(UnicodeScalar(next)))'")
                case UInt8(ascii: "\""):
                    key = try string()
                default:
                    key = bare()
                }
                guard let after = peek(), after != closing else {
                    throw error("'\(key)' has no value", line: keyLine)
                }
                if after == UInt8(ascii: "}") || after == UInt8(ascii: "]") {
                    throw error("'\(key)' has no value", line: keyLine)
                }
                members.append(Member(key: key, value: try value(), line: keyLine))
            }
        }

        mutating func value() throws(SyntaxError) -> Value {
            guard let next = peek() else { throw error("a value is missing at the end of the file") }
            if next == UInt8(ascii: "{") || next == UInt8(ascii: "[") {
                guard depth < Self.maxDepth else { throw error("values are nested more than \(Self.maxDepth) deep") }
                depth += 1
            }
            defer { if next == UInt8(ascii: "{") || next == UInt8(ascii: "[") { depth -= 1 } }
            switch next {
            case UInt8(ascii: "{"):
                index += 1
                return .object(try members(closing: UInt8(ascii: "}")))
            case UInt8(ascii: "["):
                let openLine = line
                index += 1
                var elements: [Value] = []
                while true {
                    guard let c = peek() else { throw error("'[' opened here is never closed", line: openLine) }
                    if c == UInt8(ascii: "]") {
                        index += 1
                        return .array(elements)
                    }
                    if c == UInt8(ascii: "}") { throw error("unexpected '}' in the array opened on line \(openLine)") }
                    elements.append(try value())
                }
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                throw error("unexpected '\(Character(UnicodeScalar(next)))'")
            case UInt8(ascii: "\""):
                return .string(try string())
            default:
                return .bare(bare())
            }
        }

        mutating func bare() -> String {
            let start = index
            loop: while index < bytes.count {
                switch bytes[index] {
                case UInt8(ascii: "\t"), UInt8(ascii: " "), UInt8(ascii: "\r"), UInt8(ascii: "\n"), UInt8(ascii: ":"),
                    UInt8(ascii: ","), UInt8(ascii: "="), UInt8(ascii: "]"), UInt8(ascii: "}"):
                    break loop
                default:
                    index += 1
                }
            }
            return String(decoding: bytes[start..<index], as: UTF8.self)
        }

        /// A double-quoted string starting at `index`; newlines and other control characters
        /// inside are errors (spa_json rejects them too), so an unclosed quote names its line.
        mutating func string() throws(SyntaxError) -> String {
            let startLine = line
            index += 1
            var out: [UInt8] = []
            while index < bytes.count {
                let c = bytes[index]
                index += 1
                switch c {
                case UInt8(ascii: "\""):
                    return String(decoding: out, as: UTF8.self)
                case UInt8(ascii: "\\"):
                    guard index < bytes.count else { break }
                    let e = bytes[index]
                    index += 1
                    switch e {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                    case UInt8(ascii: "b"): out.append(8)
                    case UInt8(ascii: "f"): out.append(12)
                    case UInt8(ascii: "n"): out.append(10)
                    case UInt8(ascii: "r"): out.append(13)
                    case UInt8(ascii: "t"): out.append(9)
                    case UInt8(ascii: "u"):
                        guard index + 4 <= bytes.count,
                            let code = UInt32(String(decoding: bytes[index..<index + 4], as: UTF8.self), radix: 16),
                            let scalar = UnicodeScalar(code)
                        else { throw error("bad \\u escape in a string", line: startLine) }
                        index += 4
                        out.append(contentsOf: Array(String(Character(scalar)).utf8))
                    default:
                        throw error("unknown escape '\\\(Character(UnicodeScalar(e)))' in a string", line: startLine)
                    }
                default:
                    if c < 0x20 { throw error("string is not closed on its line (missing '\"')", line: startLine) }
                    out.append(c)
                }
            }
            throw error("string is not closed (missing '\"')", line: startLine)
        }
    }
}
