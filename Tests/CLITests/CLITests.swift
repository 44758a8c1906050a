import Foundation
import TestSupport
import Testing

/// Usage errors exit 2 with one line on stderr, without needing PipeWire.
@Suite struct CLITests {
    @Test(arguments: [
        (["run", "--no-captions", "--chunk-ms", "10", "--record", "/dev/null"], "--chunk-ms 10 is out of range"),
        (["run", "--no-captions", "--chunk-ms", "501", "--record", "/dev/null"], "--chunk-ms 501 is out of range"),
        (["run", "--no-captions", "--frobnicate"], "Unknown option '--frobnicate'"),
        (["run", "--no-captions", "--target", "a", "--input", "b.wav"], "choose one source"),
        (["run", "--no-captions", "--pace", "realtime"], "--pace applies to --input files only"),
        (["run", "--no-captions", "--pace", "warp", "--input", "x.wav"], "warp"),
        (["run", "--live", "sometimes", "--input", "x.wav"], "sometimes"),
        (["run", "--live", String(repeating: "o", count: 100_000), "--input", "x.wav"], "ooo"),
        (["run", "--recognizer-precision", "int4", "--input", "x.wav"], "int4"),
        (["serve", "--recognizer-precision", String(repeating: "c", count: 100_000)], "ccc"),
        (
            ["run", "--no-captions", "--duration", "inf", "--record", "/dev/null"],
            "--duration must be a number of seconds"
        ),
        (
            ["run", "--no-captions", "--duration", "1e300", "--record", "/dev/null"],
            "--duration must be a number of seconds"
        ),
        (
            ["run", "--no-captions", "--duration", "nan", "--record", "/dev/null"],
            "--duration must be a number of seconds"
        ),
        (["run", "--no-captions", "--duration=-1", "--record", "/dev/null"], "--duration must be a number of seconds"),
        (
            ["run", "--no-captions", "--idle-timeout", "1e300", "--record", "/dev/null"],
            "--idle-timeout must be 2–300 seconds"
        ),
        (
            ["run", "--no-captions", "--idle-timeout", "nan", "--record", "/dev/null"],
            "--idle-timeout must be 2–300 seconds"
        ),
        (
            ["run", "--backend", "jack", "--no-captions"] + (1...9).flatMap { ["--jack-connect", "p:\($0)"] },
            "--jack-connect is given more than 8 times"
        ),
        (
            ["run", "--backend", "jack", "--no-captions", "--jack-connect", "a:b", "--jack-connect", "a:b"],
            "the same --jack-connect is given twice"
        ),
        (
            ["run", "--no-captions", "--failover-after", "inf", "--record", "/dev/null"],
            "--failover-after must be 1–3600 seconds"
        ),
        (
            ["run", "--no-captions", "--failover-after", "0", "--record", "/dev/null"],
            "--failover-after must be 1–3600 seconds"
        ),
        (
            ["run", "--no-captions", "--fallback-url", "ws://127.0.0.1:0/v1/realtime", "--record", "/dev/null"],
            "--fallback-url must be"
        ),
        (
            [
                "run", "--no-captions", "--fallback-url", String(repeating: "x", count: 100_000), "--record",
                "/dev/null",
            ], "--fallback-url must be"
        ),
        (
            ["run", "--no-captions", "--drain-timeout", "1e300", "--record", "/dev/null"],
            "--drain-timeout must be 0–3600 seconds"
        ),
        (["serve", "--max-sessions", "0"], "--max-sessions must be 1–256"),
        (["serve", "--max-sessions", "1000000000"], "--max-sessions must be 1–256"),
        (["serve", "--allow-origin", "evil.example"], "--allow-origin"),
        (["serve", "--allow-origin", "https://" + String(repeating: "x", count: 100_000)], "--allow-origin"),
    ])
    func usageErrorsExitTwo(arguments: [String], message: String) throws {
        let result = try Tools.captiontap(arguments)
        #expect(result.status == 2)
        #expect(result.stderr.contains(message), "stderr was: \(result.stderr)")
        #expect(result.stdout.isEmpty)
    }

    @Test func aPasswordInAURLIsRefusedAndNeverShown() throws {
        for flag in ["--obs", "--url", "--fallback-url"] {
            let result = try Tools.captiontap(
                ["run", "--no-captions", "--record", "/dev/null", flag, "ws://me:hunter2@127.0.0.1:4455"])
            #expect(result.status == 2, "\(flag): \(result.stderr)")
            #expect(result.stderr.contains("ws://…@127.0.0.1:4455"), "\(result.stderr)")
            #expect(!result.stderr.contains("hunter2") && !result.stdout.contains("hunter2"), "\(result.stderr)")
        }
    }

    @Test func helpListsTheSubcommandsAndSources() throws {
        let result = try Tools.captiontap(["--help"])
        #expect(result.status == 0)
        for word in ["run", "devices"] { #expect(result.stdout.contains(word)) }
        let run = try Tools.captiontap(["run", "--no-captions", "--help"])
        for flag in [
            "--target", "--virtual-sink", "--input", "--pace", "--record", "--chunk-ms", "--no-captions",
            "--url", "--api-key-file", "--context", "--format", "--fifo", "--srt", "--vtt", "--obs-text",
        ] {
            #expect(run.stdout.contains(flag))
        }
    }

    @Test func noDaemonIsOneClearLineNamingTheSocket() throws {
        let dir = try TemporaryDirectory()
        var env = ProcessInfo.processInfo.environment
        env["XDG_RUNTIME_DIR"] = dir.path
        env["PIPEWIRE_REMOTE"] = nil
        let result = try Tools.captiontap(["run", "--no-captions", "--record", "/dev/null"], environment: env)
        #expect(result.status != 0)
        #expect(result.stderr.contains("cannot connect to PipeWire at \(dir.path)/pipewire-0"), "\(result.stderr)")
        let devices = try Tools.captiontap(["devices"], environment: env)
        #expect(devices.status != 0)
        #expect(devices.stderr.contains("cannot connect to PipeWire"))
        let doctor = try Tools.captiontap(["doctor"], environment: env)
        #expect(doctor.status == 1)
        #expect(doctor.stdout.contains("✗ cannot connect to PipeWire at \(dir.path)/pipewire-0"))
    }
}
