import Foundation
import TestSupport
import Testing

extension PipeWireCaptureTests {
    /// Live captions while people speak (issue: live partials): speech played through the headless
    /// PipeWire, captioned by the default offline run, and a cloud spy that must see nothing extra.
    /// Nested in the PipeWire suite so it runs serialized with it: both play into the default sink.
    @Suite(
        .enabled(
            if: EmbeddedRecognizer.shouldRun && FakeRealtimeServer.shouldRun,
            "needs the recognizer and the test venv of scripts/test.sh"))
    struct LiveCaptionPlaybackTests {
        struct Line {
            var final: Bool
            var text: String
            var item: String
            var start: Int
            var end: Int
            var stable: String?
            var latency: Int?
        }

        static func lines(_ stdout: String) -> [Line] {
            stdout.split(separator: "\n").compactMap { raw in
                guard let o = try? JSONSerialization.jsonObject(with: Data(raw.utf8)) as? [String: Any],
                    o["type"] as? String == "caption",
                    let final = o["final"] as? Bool, let text = o["text"] as? String, let item = o["item_id"] as? String
                else { return nil }
                return Line(
                    final: final, text: text, item: item, start: o["start_ms"] as? Int ?? -1,
                    end: o["end_ms"] as? Int ?? -1,
                    stable: o["stable"] as? String, latency: o["latency_ms"] as? Int)
            }
        }

        /// Plays `fixture` through the default sink while `captiontap run ARGS` captions its monitor.
        func captionPlayback(_ fixture: String, _ args: [String]) throws -> (lines: [Line], stderr: String) {
            _ = try HeadlessPipeWire.requireDaemon()
            let run = try RunningProcess(
                Tools.captiontap, ["run", "--format", "jsonl", "--no-status"] + args,
                environment: EmbeddedRecognizer.noKey)
            try #require(run.waitForStderr("capturing", timeout: 60), "capture did not start: \(run.stderrSoFar)")
            Thread.sleep(forTimeInterval: 0.5)  // let WirePlumber link the stream
            let played = try Tools.run("pw-play", [EmbeddedRecognizer.fixture(fixture)])
            try #require(played.status == 0, "pw-play failed: \(played.stderr)")
            Thread.sleep(forTimeInterval: 2.5)  // the last turn ends and is transcribed
            run.interrupt()
            let result = run.wait(timeout: 60)
            #expect(result.status == 0, "\(result.stderr.suffix(3000))")
            return (Self.lines(result.stdout), result.stderr)
        }

        @Test func partialsGrowWhileALongTurnIsSpokenAndTheFinalReplacesThem() throws {
            let (lines, stderr) = try captionPlayback("two_cities.wav", [])
            let finals = lines.filter(\.final)
            try #require(!finals.isEmpty, "no captions: \(stderr.suffix(2000))")
            // The reading has no pause long enough to end a turn: its turns run 15–25 s.
            let long = try #require(finals.max { $0.end - $0.start < $1.end - $1.start })
            #expect(long.end - long.start >= 10_000, "longest turn \(long.end - long.start) ms")
            let partials = lines.filter { !$0.final && $0.item == long.item }
            #expect(partials.count >= 5, "\(partials.count) partials for a \(long.end - long.start) ms turn")
            // They came while the turn was open (speech, then the silence that ended it), through all of it.
            #expect(partials.allSatisfy { $0.end <= long.end }, "partials decode audio of the open turn")
            #expect(
                partials.allSatisfy { $0.start == long.start }, "a partial names its turn's start, as the final does")
            let third = (long.end - long.start) / 3
            for part in 0..<3 {
                let range = (long.start + part * third)..<(long.start + (part + 1) * third + 500)
                #expect(
                    partials.contains { range.contains($0.end) },
                    "no partial in part \(part + 1) of the turn: \(partials.map(\.end))")
            }
            // They grow, their stable part is a prefix of them, and the final comes after the last.
            let words = partials.map { $0.text.split(separator: " ").count }
            #expect(words.last! > words.first!, "\(partials.map(\.text))")
            #expect(partials.allSatisfy { $0.text.hasPrefix($0.stable ?? "") }, "stable text is a prefix")
            let finalIndex = try #require(lines.firstIndex { $0.final && $0.item == long.item })
            #expect(!lines[finalIndex...].contains { !$0.final && $0.item == long.item }, "no partial after its final")
            #expect(long.latency != nil, "finals carry latency_ms")
            #expect(stderr.contains("live captions, first words after speech began"), "\(stderr.suffix(1500))")
            // Sentences end where the reader ends them, not where the recognizer's segments do.
            let reference = try EmbeddedRecognizer.reference("two_cities")
            let wer = WordErrorRate.score(reference: reference, hypothesis: finals.map(\.text).joined(separator: " "))
            #expect(wer <= 0.10, "WER \(wer)")
        }

        @Test func withLiveCaptionsOffOnlyFinalsAppear() throws {
            let (lines, _) = try captionPlayback("jfk.wav", ["--live", "off"])
            #expect(!lines.isEmpty)
            let partials = lines.filter { !$0.final }
            #expect(partials.isEmpty, "\(partials.map(\.text))")
        }

        /// The cloud sees exactly the same client events with live captions on as off: partials
        /// cost no request and no audio.
        @Test func liveCaptionsSendNothingExtraToTheBackend() throws {
            func run(_ live: String) throws -> (events: [String: Int], audio: Int, partials: Int) {
                let server = try FakeRealtimeServer()
                let result = try Tools.captiontap(
                    [
                        "run", "--input", EmbeddedRecognizer.fixture("jfk.wav"), "--pace", "realtime", "--url",
                        server.url,
                        "--format", "jsonl", "--no-status", "--live", live,
                    ], timeout: 120)
                let events = server.clientEvents()
                _ = server.stop()
                #expect(result.status == 0, "\(result.stderr.suffix(2000))")
                var counts: [String: Int] = [:]
                var audio = 0
                for event in events {
                    let type = event["type"] as? String ?? "?"
                    counts[type, default: 0] += 1
                    if type == "input_audio_buffer.append" {
                        audio += event["audio_bytes"] as? Int ?? event["audio"] as? Int ?? 0
                    }
                }
                return (counts, audio, Self.lines(result.stdout).filter { !$0.final }.count)
            }
            let on = try run("on")
            let off = try run("off")
            #expect(on.partials > 0, "live captions showed partials")
            #expect(on.events == off.events, "on \(on.events) vs off \(off.events)")
            #expect(on.audio == off.audio)
        }
    }
}
