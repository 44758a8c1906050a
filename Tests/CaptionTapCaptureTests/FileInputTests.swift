import CSndFile
import CaptionTapCapture
import Foundation
import TestSupport
import Testing

@Suite struct FileInputTests {
    static let fixtures = Tools.repositoryRoot.appendingPathComponent("Tests/Fixtures")

    /// Writes a 48 kHz stereo 32-bit float WAV of a 1 kHz tone (left and right identical).
    private func writeStereoFloatTone(path: String, seconds: Double, hz: Double) {
        var info = SF_INFO()
        info.samplerate = 48_000
        info.channels = 2
        info.format = Int32(SF_FORMAT_WAV | SF_FORMAT_FLOAT)
        let file = sf_open(path, Int32(SFM_WRITE), &info)
        let frames = Int(seconds * 48_000)
        var interleaved = [Float](repeating: 0, count: frames * 2)
        for i in 0..<frames {
            let x = 0.5 * Float(sin(2 * Double.pi * hz * Double(i) / 48_000))
            interleaved[2 * i] = x
            interleaved[2 * i + 1] = x
        }
        _ = sf_writef_float(file, interleaved, Int64(frames))
        sf_close(file)
    }

    @Test func stereoFloat48kBecomes24kMonoWithDurationAndPitchKept() throws {
        let dir = try TemporaryDirectory.create()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("tone48k.wav").path
        writeStereoFloatTone(path: path, seconds: 2.5, hz: 1000)

        let reader = try AudioFileReader(path: path)
        #expect(reader.inputRate == 48_000)
        #expect(reader.inputChannels == 2)
        let samples = try WAV.read24kMono(path)
        #expect(abs(samples.count - 60_000) <= 1, "2.5 s at 24 kHz is 60000 frames, got \(samples.count)")
        let middle = samples[6_000..<54_000]
        #expect(abs(Signal.frequency(middle) - 1000) < 1)
        // Averaging two identical channels keeps the level: a 0.5 sine is -9.03 dBFS RMS.
        #expect(abs(Signal.rmsDB(middle) - (-9.03)) < 0.1)
    }

    @Test func speechFixtureResampledMatchesThe24kOriginal() throws {
        let original = try WAV.read24kMono(Self.fixtures.appendingPathComponent("speech/jfk.wav").path)
        let converted = try WAV.read24kMono(Self.fixtures.appendingPathComponent("formats/jfk_48k_stereo_f32.wav").path)
        #expect(original.count == 264_000)
        #expect(abs(converted.count - original.count) <= 1)
        // sox resampled it one way, soxr the other: the waveforms should nearly coincide.
        let n = min(original.count, converted.count)
        var dot = 0.0
        var a = 0.0
        var b = 0.0
        for i in 0..<n {
            dot += Double(original[i]) * Double(converted[i])
            a += Double(original[i]) * Double(original[i])
            b += Double(converted[i]) * Double(converted[i])
        }
        #expect(dot / sqrt(a * b) > 0.99)
    }

    @Test func a24kMonoPCM16FileIsPassedThroughBitExactly() throws {
        let dir = try TemporaryDirectory.create()
        defer { try? FileManager.default.removeItem(at: dir) }
        let recorded = dir.appendingPathComponent("out.wav").path
        let input = Self.fixtures.appendingPathComponent("speech/jfk.wav").path
        let result = try Tools.captiontap(["run", "--no-captions", "-q", "--input", input, "--record", recorded])
        #expect(result.status == 0, "\(result.stderr)")
        // The recording holds exactly the PCM that would be streamed: the file's own samples.
        let a = try Data(contentsOf: URL(fileURLWithPath: input)).suffix(264_000 * 2)
        let b = try Data(contentsOf: URL(fileURLWithPath: recorded)).suffix(264_000 * 2)
        #expect(a == b)
        #expect(try WAV.read24kMono(recorded).count == 264_000)
    }

    @Test func missingAndUnsupportedFilesAreUsageErrors() throws {
        let missing = try Tools.captiontap([
            "run", "--no-captions", "--input", "/nonexistent/talk.wav", "--record", "/dev/null",
        ])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("'/nonexistent/talk.wav' does not exist"))
        #expect(missing.stderr.split(separator: "\n").count == 1)

        let dir = try TemporaryDirectory.create()
        defer { try? FileManager.default.removeItem(at: dir) }
        let junk = dir.appendingPathComponent("notes.wav")
        try Data("this is not audio".utf8).write(to: junk)
        let bad = try Tools.captiontap(["run", "--no-captions", "--input", junk.path, "--record", "/dev/null"])
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("cannot read input file '\(junk.path)'"))
    }

    @Test func realtimePaceTakesAtLeastTheFilesDurationAndFastDoesNot() throws {
        let dir = try TemporaryDirectory.create()
        defer { try? FileManager.default.removeItem(at: dir) }
        let short = dir.appendingPathComponent("short.wav").path
        try WAV.write24kMono(WAV.tone(hz: 440, seconds: 0.6, padSeconds: 0.2), to: short)
        let paced = Date()
        #expect(
            try Tools.captiontap([
                "run", "--no-captions", "-q", "--input", short, "--pace", "realtime", "--record", "/dev/null",
            ]).status == 0)
        // Pacing sleeps to the audio clock: load can only make it slower, never faster.
        #expect(Date().timeIntervalSince(paced) >= 0.95)
        // 30 s of audio fed fast finishes long before 30 s (paced, it could not).
        let long = dir.appendingPathComponent("long.wav").path
        try WAV.write24kMono(WAV.tone(hz: 440, seconds: 30, padSeconds: 0), to: long)
        let fast = Date()
        #expect(
            try Tools.captiontap(["run", "--no-captions", "-q", "--input", long, "--record", "/dev/null"]).status == 0)
        #expect(Date().timeIntervalSince(fast) < 30)
    }
}
