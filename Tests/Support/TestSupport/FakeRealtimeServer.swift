import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The loopback Realtime test server (Tests/RealtimeServer/fake_realtime.py), run in the venv
/// that scripts/test.sh prepares (`CAPTIONTAP_PYTHON`).
public final class FakeRealtimeServer {
    public static var python: String? { ProcessInfo.processInfo.environment["CAPTIONTAP_PYTHON"] }
    public static var shouldRun: Bool { python != nil || ProcessInfo.processInfo.environment["CI"] != nil }

    public let port: Int
    public let directory: URL
    private let process: RunningProcess

    public var url: String { "ws://127.0.0.1:\(port)/v1/realtime?model=gpt-realtime" }
    public var logPath: String { directory.appendingPathComponent("events.jsonl").path }
    public func audioPath(session: Int) -> String { directory.appendingPathComponent("audio.pcm.\(session)").path }

    /// Starts the server with extra flags (fault injection, `--api-key`).
    public init(_ flags: [String] = []) throws {
        guard let python = Self.python else {
            throw POSIXError(
                .ENOENT,
                userInfo: [
                    NSLocalizedDescriptionKey: "CAPTIONTAP_PYTHON is not set: run the tests with scripts/test.sh"
                ])
        }
        directory = try TemporaryDirectory.create()
        let script = Tools.repositoryRoot.appendingPathComponent("Tests/RealtimeServer/fake_realtime.py").path
        process = try RunningProcess(
            python,
            [
                script, "--port", "0", "--strict",
                "--log", directory.appendingPathComponent("events.jsonl").path,
                "--audio-out", directory.appendingPathComponent("audio.pcm").path,
            ] + flags)
        let deadline = Date().addingTimeInterval(20)
        var found: Int?
        while found == nil && Date() < deadline && process.isRunning {
            if let line = process.stdoutSoFar.split(separator: "\n").first(where: { $0.hasPrefix("LISTENING ") }) {
                found = Int(line.dropFirst(10))
            } else {
                Thread.sleep(forTimeInterval: 0.05)
            }
        }
        guard let found else {
            throw POSIXError(
                .ETIMEDOUT, userInfo: [NSLocalizedDescriptionKey: "fake server did not start: \(process.stderrSoFar)"])
        }
        port = found
    }

    /// Stops the server; returns its exit status (non-zero under --strict if any event failed validation) and stats.
    public func stop() -> (status: Int32, stats: String) {
        process.terminate()
        let result = process.wait(timeout: 10)
        return (result.status, result.stderr)
    }

    /// The client events the server received, in order (append audio replaced by its length).
    public func clientEvents() -> [[String: Any]] {
        let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    deinit {
        if process.isRunning { _ = stop() }
        try? FileManager.default.removeItem(at: directory)
    }
}

extension WAV {
    /// Silence-separated tone bursts: the fake server transcribes each as "tone F hertz".
    public static func toneTurns(
        _ frequencies: [Double], seconds: Double = 1.0, gap: Double = 1.5, amplitude: Float = 0.3
    ) -> [Float] {
        var out = [Float](repeating: 0, count: Int(gap * 24_000))
        for f in frequencies {
            out += (0..<Int(seconds * 24_000)).map { amplitude * Float(sin(2 * Double.pi * f * Double($0) / 24_000)) }
            out += [Float](repeating: 0, count: Int(gap * 24_000))
        }
        return out
    }
}
