import Foundation
import TestSupport
import Testing

/// Stream captions (CEA-608) from a real OBS, streamed to `ffmpeg -listen` on loopback and decoded
/// out of the received video (Tests/OBS/cea608_captions.py): what a viewer's CC button would show.
extension OBSTests {
    /// Every caption is accepted and decoded back, in order.
    @Test func streamCaptionsReachTheStreamAsCEA608() throws {
        let server = try FakeRealtimeServer()
        let (result, decoded) = try streamWhileCaptioning(input: input, server: server)
        #expect(finals(result.stdout) == ToneTurnsFile.expected)
        #expect(result.stderr.contains("OBS: 4 stream captions sent, 0 not streaming"), "\(result.stderr)")
        #expect(decoded == ToneTurnsFile.expected)
    }

    /// A final longer than the 128 bytes OBS keeps of a caption reaches viewers whole, in pieces
    /// each shown long enough to read (OBS cut it at 128 bytes before).
    @Test func aLongFinalReachesTheStreamWhole() throws {
        let suffix =
            "and this sentence goes on well past what one stream caption can carry, so it reaches viewers in pieces, every word in order"
        let wav = dir.appendingPathComponent("one-turn.wav").path
        try WAV.write24kMono(WAV.toneTurns([440], seconds: 1.0, gap: 1.0), to: wav)
        let server = try FakeRealtimeServer(["--text-suffix", suffix])
        let (result, decoded) = try streamWhileCaptioning(input: wav, server: server)
        let text = "tone 440 hertz " + suffix
        #expect(finals(result.stdout) == [text])
        #expect(result.stderr.contains("OBS: 2 stream captions sent, 0 not streaming"), "\(result.stderr)")
        #expect(decoded.joined(separator: " ") == text, "\(decoded)")
    }

    /// Starts streaming to ffmpeg, runs captiontap on `input` against `server` with OBS, stops the
    /// stream; the run and the captions decoded from the received video, one per line.
    func streamWhileCaptioning(input: String, server: FakeRealtimeServer) throws -> (RunResult, [String]) {
        let obs = try HeadlessOBS()
        let password = try passwordFile(obs.password)
        let flv = dir.appendingPathComponent("out-\(UUID().uuidString).flv").path
        let receiver = try RunningProcess(
            "ffmpeg",
            [
                "-nostdin", "-loglevel", "error", "-listen", "1",
                "-i", "rtmp://127.0.0.1:\(obs.rtmpPort)/live/test", "-c", "copy", "-f", "flv", "-y", flv,
            ])
        defer {
            if receiver.isRunning {
                receiver.terminate()
                _ = receiver.wait(timeout: 10)
            }
        }
        Thread.sleep(forTimeInterval: 0.5)  // ffmpeg listening
        #expect(obs.code(of: try obs.request("StartStream")) == 100)
        var active = false
        let deadline = Date().addingTimeInterval(15)
        while !active && Date() < deadline {
            let status = try obs.request("GetStreamStatus")
            active = (status["responseData"] as? [String: Any])?["outputActive"] as? Bool == true
            if !active { Thread.sleep(forTimeInterval: 0.2) }
        }
        try #require(active, "OBS did not start streaming to ffmpeg")

        let result = try Tools.captiontap(
            ["run", "--input", input, "--url", server.url, "--obs", obs.url, "--obs-password-file", password],
            environment: environment)
        _ = server.stop()
        Thread.sleep(forTimeInterval: 2)  // OBS puts queued captions into the next video frames
        _ = try obs.request("StopStream")
        _ = receiver.wait(timeout: 10)  // ffmpeg ends with the stream (~2 s after StopStream)
        #expect(result.status == 0, "\(result.stderr)")
        let size = (try? FileManager.default.attributesOfItem(atPath: flv)[.size] as? Int) ?? 0
        try #require(size > 0, "the stream never reached ffmpeg")

        let h264 = flv + ".h264"
        let extract = try Tools.run(
            "ffmpeg",
            [
                "-nostdin", "-loglevel", "error", "-i", flv, "-map", "0:v", "-c", "copy",
                "-bsf:v", "h264_mp4toannexb", "-f", "h264", "-y", h264,
            ])
        try #require(extract.status == 0, "\(extract.stderr)")
        let decoder = Tools.repositoryRoot.appendingPathComponent("Tests/OBS/cea608_captions.py").path
        let decoded = try Tools.run("python3", [decoder, h264])
        #expect(decoded.status == 0, "\(decoded.stderr)")
        return (result, decoded.stdout.split(separator: "\n").map(String.init))
    }
}
