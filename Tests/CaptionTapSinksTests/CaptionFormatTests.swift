import CaptionTapCore
import CaptionTapSinks
import Foundation
import Testing

@Suite struct CaptionFormatTests {
    private func object(_ line: String) throws -> [String: Any] {
        let parsed = try JSONSerialization.jsonObject(with: Data(line.utf8))
        return try #require(parsed as? [String: Any])
    }

    private static let awkwardTexts: [String] = [
        "plain",
        "quote \" and backslash \\ and slash /",
        "new\nline, carriage\rreturn, tab\t, backspace\u{08}, form feed\u{0C}",
        "nul \u{0} unit separator \u{1F} escape \u{1B}[K delete \u{7F}",
        "line separator \u{2028} paragraph separator \u{2029}",
        "naïve café, 日本語, emoji 👩‍👩‍👧 🎉, combining e\u{301}, rtl שלום",
        "\\\"\\n not an escape",
        "",
    ]

    @Test(arguments: awkwardTexts)
    func jsonEscapingRoundTrips(_ text: String) throws {
        let caption = Caption(
            text: text, isFinal: true, itemID: "item \"1\"", responseID: "resp\\1",
            startMs: 1, endMs: 2)
        let line = CaptionFormat.jsonLine(caption, source: "mic\n1")
        #expect(!line.unicodeScalars.contains { $0.value < 0x20 }, "raw control character in \(line)")
        #expect(!line.contains("\u{2028}") && !line.contains("\u{2029}"))
        let json = try object(line)
        #expect(json["text"] as? String == text)
        #expect(json["item_id"] as? String == "item \"1\"")
        #expect(json["response_id"] as? String == "resp\\1")
        #expect(json["source"] as? String == "mic\n1")
        // Unicode passes through unescaped (only control and separator characters are escaped).
        if text.contains("日本語") { #expect(line.contains("日本語") && line.contains("🎉")) }
    }

    @Test func jsonStringEscapesExactly() {
        #expect(CaptionFormat.jsonString("a\"b\\c\nd\u{1}e\u{1F}é") == #""a\"b\\c\nd\u0001e\u001fé""#)
        #expect(CaptionFormat.jsonString("\r\t\u{08}\u{0C}") == #""\r\t\b\f""#)
        #expect(CaptionFormat.jsonString("/") == #""/""#)
    }

    @Test func jsonLineMatchesTheDocumentedShapeExactly() {
        let caption = Caption(
            text: "Hello there.", isFinal: true, itemID: "item_1", responseID: "resp_1",
            startMs: 1200, endMs: 3100)
        #expect(
            CaptionFormat.jsonLine(caption) == """
                {"type":"caption","final":true,"text":"Hello there.","item_id":"item_1","response_id":"resp_1",\
                "start_ms":1200,"end_ms":3100}
                """)
        let partial = Caption(text: "Hel", isFinal: false, itemID: "item_1", responseID: nil, startMs: 0, endMs: 5)
        #expect(
            CaptionFormat.jsonLine(partial, source: "desk") == """
                {"type":"caption","final":false,"text":"Hel","item_id":"item_1","response_id":null,\
                "start_ms":0,"end_ms":5,"source":"desk"}
                """)
    }

    @Test func jsonLineKeySetIsExact() throws {
        let base = ["type", "final", "text", "item_id", "response_id", "start_ms", "end_ms"]
        let usage = Usage(inputTokens: 12, outputTokens: 3, inputTextTokens: 1, inputAudioTokens: 11, cachedTokens: 4)

        let partial = Caption(
            text: "a", isFinal: false, itemID: "i", responseID: nil, startMs: 0, endMs: 1,
            usage: usage)
        let partialJSON = try object(CaptionFormat.jsonLine(partial))
        #expect(Set(partialJSON.keys) == Set(base), "usage belongs to finals only")
        #expect(partialJSON["response_id"] is NSNull)
        #expect(partialJSON["type"] as? String == "caption")
        #expect(partialJSON["final"] as? Bool == false)

        let final = Caption(text: "a", isFinal: true, itemID: "i", responseID: "r", startMs: 0, endMs: 1)
        #expect(Set(try object(CaptionFormat.jsonLine(final)).keys) == Set(base))
        #expect(Set(try object(CaptionFormat.jsonLine(final, source: "s")).keys) == Set(base + ["source"]))

        var withUsage = final
        withUsage.usage = usage
        let json = try object(CaptionFormat.jsonLine(withUsage, source: "s"))
        #expect(Set(json.keys) == Set(base + ["source", "usage"]))
        let usageJSON = try #require(json["usage"] as? [String: Any])
        #expect(Set(usageJSON.keys) == ["input_tokens", "output_tokens"])
        #expect(usageJSON["input_tokens"] as? Int == 12)
        #expect(usageJSON["output_tokens"] as? Int == 3)
        #expect(json["start_ms"] as? Int == 0 && json["end_ms"] as? Int == 1)
    }

    @Test func jsonLineIsOneLineWithoutTrailingSpace() {
        let caption = Caption(
            text: "two\nlines  ", isFinal: true, itemID: "i", responseID: nil, startMs: 0, endMs: 1,
            usage: Usage(inputTokens: 1, outputTokens: 2))
        let line = CaptionFormat.jsonLine(caption, source: "x")
        #expect(!line.contains("\n"))
        #expect(line.last == "}")
    }

    @Test(arguments: [
        (0, "00:00:00,000"), (999, "00:00:00,999"), (1000, "00:00:01,000"), (59_999, "00:00:59,999"),
        (60_000, "00:01:00,000"), (3_599_999, "00:59:59,999"), (3_600_000, "01:00:00,000"),
        (3_723_004, "01:02:03,004"), (86_399_999, "23:59:59,999"), (360_000_000, "100:00:00,000"),
        (-5, "00:00:00,000"),
    ])
    func srtTimestamps(_ ms: Int, _ expected: String) {
        #expect(CaptionFormat.srtTimestamp(ms) == expected)
        #expect(CaptionFormat.vttTimestamp(ms) == expected.replacingOccurrences(of: ",", with: "."))
    }

    @Test func srtCueShape() {
        #expect(
            CaptionFormat.srtCue(index: 3, startMs: 1200, endMs: 3_600_001, text: "Hello\nthere")
                == "3\n00:00:01,200 --> 01:00:00,001\nHello there\n\n")
    }

    @Test func vttCueShapeAndEscaping() {
        #expect(
            CaptionFormat.vttCue(startMs: 0, endMs: 999, text: "a < b && c > d --> e")
                == "00:00:00.000 --> 00:00:00.999\na &lt; b &amp;&amp; c &gt; d --&gt; e\n\n")
        #expect(
            CaptionFormat.vttCue(index: 7, startMs: 1000, endMs: 2000, text: "hi")
                == "7\n00:00:01.000 --> 00:00:02.000\nhi\n\n")
        #expect(CaptionFormat.vttHeader == "WEBVTT\n\n")
    }

    @Test func singleLineFlattensControlsAndTrims() {
        #expect(CaptionFormat.singleLine("  one\r\ntwo\n\nthree\tfour\u{2028}five  ") == "one two three four five")
        #expect(CaptionFormat.singleLine("\n\n") == "")
        #expect(CaptionFormat.singleLine("café 日本") == "café 日本")
    }

    @Test func textLineAddsTheSourceLabel() {
        #expect(CaptionFormat.textLine("hello\nworld") == "hello world")
        #expect(CaptionFormat.textLine("hello", source: "mic") == "[mic] hello")
    }

    @Test func terminalTailKeepsTheNewestWordsWithinTheWidth() {
        #expect(CaptionFormat.terminalTail("abcdef", columns: 6) == "abcdef")
        #expect(CaptionFormat.terminalTail("abcdef", columns: 4) == "…def")
        #expect(CaptionFormat.terminalTail("abcdef", columns: 1) == "…")
        #expect(CaptionFormat.terminalTail("日本語テキスト", columns: 7) == "…キスト")
        #expect(CaptionFormat.displayWidth("日本語") == 6)
        #expect(CaptionFormat.displayWidth("e\u{301}") == 1)
        for columns in 1...12 {
            let tail = CaptionFormat.terminalTail("日本語 and text", columns: columns)
            #expect(CaptionFormat.displayWidth(tail) <= columns)
        }
    }
}
