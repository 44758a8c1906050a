import CaptionTapCore
import Testing

/// The SPA-JSON reader and the `captiontap.properties` schema, without PipeWire.
@Suite struct ConfigFileTests {
    @Test func readsPipeWireSyntax() throws {
        let members = try SPAJSON.parseFile(
            """
            # a comment
            context.properties = { log.level = 2 }
            captiontap.properties = {
                url = "ws://127.0.0.1:8765/v1/realtime"   # quoted: ':' separates
                vad-threshold: 0.5, silence-ms = 900
                prompt = "say \\"hi\\"\\n\\u00e9"
                list = [ 1 2 { a = b } ]
            }
            """)
        #expect(members.map(\.key) == ["context.properties", "captiontap.properties"])
        #expect(members.map(\.line) == [2, 3])
        guard case .object(let settings) = members[1].value else {
            Issue.record("not an object")
            return
        }
        #expect(settings.map(\.key) == ["url", "vad-threshold", "silence-ms", "prompt", "list"])
        #expect(settings.map(\.line) == [4, 5, 5, 6, 7])
        #expect(settings[0].value == .string("ws://127.0.0.1:8765/v1/realtime"))
        #expect(settings[1].value == .bare("0.5"))
        #expect(settings[3].value == .string("say \"hi\"\né"))
        #expect(
            settings[4].value
                == .array([.bare("1"), .bare("2"), .object([SPAJSON.Member(key: "a", value: .bare("b"), line: 7)])]))
    }

    @Test(arguments: [
        ("captiontap.properties = {\n  a = 1\n", 1, "'{' opened here is never closed"),
        ("a = {\n  b = [ 1\n  2\n}", 4, "unexpected '}' in the array opened on line 2"),
        ("a = [ 1\n  2\n", 1, "'[' opened here is never closed"),
        ("captiontap.properties = {\n  a = \"x\n}\n", 2, "string is not closed on its line (missing '\"')"),
        ("captiontap.properties = {\n  a = 1 }\n}\n", 3, "unexpected '}'"),
        ("captiontap.properties = {\n  a = [ 1 2 }\n", 2, "unexpected '}' in the array opened on line 2"),
        ("captiontap.properties = {\n\n  a\n}\n", 3, "'a' has no value"),
        ("x = {}\n{ a = 1 }", 2, "expected a key, found '{'"),
        ("a = \"\\q\"", 1, "unknown escape '\\q' in a string"),
    ])
    func syntaxErrorsNameTheirLine(text: String, line: Int, message: String) {
        #expect(throws: SPAJSON.SyntaxError(line: line, message: message)) { try SPAJSON.parseFile(text) }
    }

    @Test func deepNestingIsASyntaxErrorNotAStackOverflow() throws {
        let deep = "k = " + String(repeating: "[", count: 200_000) + String(repeating: "]", count: 200_000)
        #expect(throws: SPAJSON.SyntaxError.self) { try SPAJSON.parseFile(deep) }
        let objects = "k = " + String(repeating: "{ a = ", count: 65) + "1" + String(repeating: " }", count: 65)
        #expect(throws: SPAJSON.SyntaxError.self) { try SPAJSON.parseFile(objects) }
        // 64 levels are fine.
        let fine = "k = " + String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        #expect(try SPAJSON.parseFile(fine).count == 1)
    }

    @Test func quotedStringsReadBack() throws {
        for s in ["", "plain", "a \"b\" \\ c", "tab\there\nnewline", "ünïcode", "\u{1}"] {
            let members = try SPAJSON.parseFile("k = " + SPAJSON.quote(s))
            #expect(members.first?.value == .string(s))
        }
    }

    @Test func checksKeysTypesAndRanges() throws {
        let file = try ConfigFile(
            text: """
                captiontap.properties = {
                    vad-threshold = 0.5
                    silence-ms = 900
                    partials = true
                    context = "recent:3"
                    language = null
                    format = jsonl
                    url = "ws://localhost:1/x"
                }
                """)
        #expect(
            file.entries == [
                .init(key: "vad-threshold", value: .number(0.5), line: 2),
                .init(key: "silence-ms", value: .integer(900), line: 3),
                .init(key: "partials", value: .boolean(true), line: 4),
                .init(key: "context", value: .string("recent:3"), line: 5),
                .init(key: "language", value: .unset, line: 6),
                .init(key: "format", value: .string("jsonl"), line: 7),
                .init(key: "url", value: .string("ws://localhost:1/x"), line: 8),
            ])
    }

    @Test(arguments: [
        ("vad-threshold = 2", "'vad-threshold' must be a number between 0 and 1"),
        ("vad-threshold = \"abc\"", "'vad-threshold' must be a number between 0 and 1"),
        ("silence-ms = 80", "'silence-ms' must be an integer between 100 and 10000"),
        ("silence-ms = 800.5", "'silence-ms' must be an integer between 100 and 10000"),
        ("chunk-ms = [ 100 ]", "'chunk-ms' must be an integer between 20 and 500, not an array"),
        ("partials = yes", "'partials' must be true or false"),
        ("format = xml", "'format' must be one of text, jsonl"),
        ("context = \"recent:0\"", "'context' must be turn, session or recent:N (N 1–50)"),
        ("duration = 0", "'duration' must be a positive number"),
        ("drain-timeout = -1", "'drain-timeout' must be a number ≥ 0"),
        ("url = http", "'url' must be a ws:// or wss:// URL (quoted), not 'http'"),
        ("vad-treshold = 0.5", "unknown key 'vad-treshold' (did you mean 'vad-threshold'?)"),
        (
            "api-key = \"sk-x\"",
            "unknown key 'api-key' (the key is never read from a config file: use api-key-file or OPENAI_API_KEY)"
        ),
        ("bogus = 1", "unknown key 'bogus'"),
        ("target = a\n    input = b", "'input' conflicts with 'target' on line 3: choose one source"),
    ])
    func valueErrorsNameTheKeyAndLine(setting: String, message: String) {
        let text = "# header\ncaptiontap.properties = {\n    \(setting)\n}\n"
        let expectedLine = setting.contains("\n") ? 4 : 3
        #expect(throws: ConfigError(line: expectedLine, message: message)) { try ConfigFile(text: text) }
    }

    @Test func onlyItsOwnSectionIsAccepted() {
        #expect(
            throws: ConfigError(
                line: 2, message: "unknown section 'captiontap.propertes' (captiontap reads only captiontap.properties)"
            )
        ) {
            try ConfigFile(text: "\ncaptiontap.propertes = { }")
        }
        #expect(throws: ConfigError(line: 1, message: "'captiontap.properties' must be an object { key = value ... }"))
        {
            try ConfigFile(text: "captiontap.properties = 3")
        }
    }
}
