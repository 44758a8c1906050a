import Foundation
import TestSupport
import Testing

/// No speech lost: the shipped speech at −20 to −60 dBFS average, as a soft hoarse voice after
/// digital silence, and noise alone, captioned by `captiontap run` on the embedded default.
@Suite(.serialized, .enabled(if: EmbeddedRecognizer.shouldRun, "needs scripts/setup-recognizer.sh"))
struct QuietSpeechTests {
    /// jfk.wav phrase by phrase: each must be in the captions, whatever the level.
    static let jfkPhrases = [
        "and so my fellow americans", "ask not", "what your country can do for you",
        "ask what you can do for your country",
    ]

    /// Writes `samples` to a WAV in a temporary directory and captions it offline.
    func caption(_ samples: [Float], name: String) throws -> (finals: [CaptionLine], stdout: String, stderr: String) {
        let path = try TemporaryDirectory.create().appendingPathComponent(name + ".wav").path
        try WAV.write24kMono(samples, to: path)
        let result = try Tools.captiontap(
            ["run", "--input", path, "--format", "jsonl", "--drain-timeout", "150"],
            environment: EmbeddedRecognizer.noKey, timeout: 240)
        #expect(result.status == 0, "\(name): \(result.stderr)")
        return (CaptionLine.finals(result.stdout), result.stdout, result.stderr)
    }

    /// Every final line in the JSONL has words.
    func expectNoEmptyFinals(_ stdout: String, _ name: String) {
        for line in stdout.split(separator: "\n") {
            guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { continue }
            let text = (o["text"] as? String ?? "").trimmingCharacters(in: .whitespaces)
            #expect(!text.isEmpty, "\(name): an empty caption: \(line)")
        }
    }

    func expectEveryPhrase(_ finals: [CaptionLine], _ name: String) {
        let said = " " + WordErrorRate.words(finals.map(\.text).joined(separator: " ")).joined(separator: " ") + " "
        for phrase in Self.jfkPhrases {
            #expect(said.contains(" \(phrase) "), "\(name): '\(phrase)' missing from \(finals.map(\.text))")
        }
    }

    @Test func everyPhraseIsCaptionedFromMinus20ToMinus60DBFS() throws {
        let clean = try WAV.read24kMono(EmbeddedRecognizer.fixture("jfk.wav"))
        let reference = try EmbeddedRecognizer.reference("jfk")
        let normal = try caption(clean, name: "jfk-normal")
        let normalWER = WordErrorRate.score(
            reference: reference, hypothesis: normal.finals.map(\.text).joined(separator: " "))
        for level in [-20.0, -40, -50, -60] {
            let name = "jfk at \(Int(level)) dBFS"
            let quiet = SpeechVariants.atAverageLevel(clean, dbfs: level)
            #expect(abs(SpeechVariants.averageDb(quiet) - level) < 0.5)
            let run = try caption(quiet, name: "jfk\(Int(level))")
            expectEveryPhrase(run.finals, name)
            expectNoEmptyFinals(run.stdout, name)
            let wer = WordErrorRate.score(
                reference: reference, hypothesis: run.finals.map(\.text).joined(separator: " "))
            #expect(
                wer <= normalWER + 0.05,
                "\(name): WER \(wer) against \(normalWER) at the normal level: \(run.finals.map(\.text))")
        }
    }

    @Test func aLongReadingAtMinus60DBFSIsCaptionedAsWellAsAtItsOwnLevel() throws {
        let clean = try WAV.read24kMono(EmbeddedRecognizer.fixture("two_cities.wav"))
        let reference = try EmbeddedRecognizer.reference("two_cities")
        let run = try caption(SpeechVariants.atAverageLevel(clean, dbfs: -60), name: "two_cities-60")
        expectNoEmptyFinals(run.stdout, "two_cities at -60 dBFS")
        let wer = WordErrorRate.score(reference: reference, hypothesis: run.finals.map(\.text).joined(separator: " "))
        #expect(wer <= 0.10, "WER \(wer): \(run.finals.map(\.text))")
    }

    @Test func aSoftHoarseVoiceAfterDigitalSilenceIsHeardFromItsFirstWords() throws {
        let clean = try WAV.read24kMono(EmbeddedRecognizer.fixture("jfk.wav"))
        let soft = SpeechVariants.softHoarse(clean, dbfs: -45, silenceSeconds: 1)
        let onsetMs = try #require(SpeechVariants.onset(soft)) / 24
        let run = try caption(soft, name: "jfk-soft-hoarse")
        expectNoEmptyFinals(run.stdout, "soft hoarse jfk")
        let first = try #require(run.finals.first, "no caption at all: \(run.stderr)")
        // The first caption's audio starts at the first words (prefix padding reaches back 0.3 s).
        #expect(first.start <= onsetMs + 300, "the first caption starts at \(first.start) ms, speech at \(onsetMs) ms")
        let said = WordErrorRate.words(run.finals.map(\.text).joined(separator: " "))
        #expect(said.starts(with: ["and", "so", "my", "fellow"]), "\(run.finals.map(\.text))")
        let wer = WordErrorRate.score(
            reference: try EmbeddedRecognizer.reference("jfk"), hypothesis: said.joined(separator: " "))
        #expect(wer <= 0.25, "WER \(wer): \(run.finals.map(\.text))")
    }

    @Test func noiseAloneIsNotCaptionedEvenWhenQuiet() throws {
        for level in [-60.0, -45] {
            let run = try caption(
                [Float](repeating: 0, count: 24_000)
                    + SpeechVariants.atAverageLevel(SpeechVariants.noise(seconds: 8), dbfs: level),
                name: "noise\(Int(level))")
            #expect(run.finals.isEmpty, "noise at \(Int(level)) dBFS was captioned: \(run.finals.map(\.text))")
            expectNoEmptyFinals(run.stdout, "noise")
        }
    }
}
