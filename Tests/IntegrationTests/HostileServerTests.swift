import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `captiontap run` against servers that misbehave in ways the real service cannot be made to
/// (Tests/RealtimeServer/hostile_server.py speaks RFC 6455's handshake and frames, nothing more):
/// the key goes nowhere a redirect points.
@Suite(.serialized, .enabled(if: FakeRealtimeServer.shouldRun, "needs the test venv of scripts/test.sh"))
struct HostileServerTests {
    let turns: ToneTurnsFile

    init() throws { turns = try ToneTurnsFile() }

    /// The hostile server in `mode` and its port.
    func hostile(_ mode: String, _ arg: String? = nil) throws -> (process: RunningProcess, port: Int) {
        let python = FakeRealtimeServer.python ?? "/usr/bin/python3"
        let script = Tools.repositoryRoot.appendingPathComponent("Tests/RealtimeServer/hostile_server.py").path
        let process = try RunningProcess(python, [script, mode] + (arg.map { [$0] } ?? []))
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline && process.isRunning {
            if let line = process.stdoutSoFar.split(separator: "\n").first(where: { $0.hasPrefix("LISTENING ") }),
                let port = Int(line.dropFirst(10))
            {
                return (process, port)
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw POSIXError(.ETIMEDOUT)
    }

    func keyFile(_ key: String) throws -> String {
        let path = turns.dir.appendingPathComponent("key-\(UUID().uuidString)").path
        try key.write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o600)
        return path
    }

    func run(_ port: Int, key: String, _ extra: [String] = []) throws -> RunResult {
        var env = ProcessInfo.processInfo.environment
        env["OPENAI_API_KEY"] = nil
        return try Tools.captiontap(
            [
                "run", "--input", turns.input, "--url", "ws://127.0.0.1:\(port)/v1/realtime", "--api-key-file",
                try keyFile(key), "--no-failover", "--drain-timeout", "2",
            ] + extra, environment: env, timeout: 90)
    }

    @Test func aRedirectIsNotFollowedSoTheKeyGoesNowhereElse() throws {
        let key = "sk-redirect-\(UUID().uuidString)"
        // Where the redirect points: a server that would take this very key.
        let target = try FakeRealtimeServer(["--api-key", key])
        let (redirector, port) = try hostile("redirect", target.url)
        defer { redirector.terminate() }
        let result = try run(port, key: key)
        #expect(result.status == 1, "\(result.stderr)")
        #expect(target.clientEvents().isEmpty, "the redirect's target heard from the client")
        #expect(!result.stderr.contains(key) && !result.stdout.contains(key))
    }

    @Test func anOBSThatNeverSaysHelloIsLeftAndTriedAgain() throws {
        let (silent, port) = try hostile("silent")
        defer { silent.terminate() }
        let server = try FakeRealtimeServer()
        let wav = turns.dir.appendingPathComponent("fifteen-seconds.wav").path
        try WAV.write24kMono(WAV.toneTurns([300, 400, 500, 600, 700, 800], seconds: 1.0, gap: 1.5), to: wav)
        var env = ProcessInfo.processInfo.environment
        env["OPENAI_API_KEY"] = nil
        let result = try Tools.captiontap(
            [
                "run", "--input", wav, "--pace", "realtime", "--url", server.url, "--format", "jsonl", "--obs",
                "ws://127.0.0.1:\(port)",
            ], environment: env, timeout: 90)
        _ = server.stop()
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("did not identify within 10 s; reconnecting"), "\(result.stderr)")
        let connections = silent.stdoutSoFar.components(separatedBy: "CONNECTION").count - 1
        #expect(connections >= 2, "never tried again: \(connections) connection(s)")
    }
}
