import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A real OBS Studio (obs-websocket 5) per test, headless, started by scripts/headless-obs.sh
/// with a private HOME; queried with an independent Python client (Tests/OBS/obs_request.py).
/// scripts/test.sh exports CAPTIONTAP_OBS=1; in CI these tests never skip (without OBS they fail).
final class HeadlessOBS {
    static var shouldRun: Bool {
        ProcessInfo.processInfo.environment["CAPTIONTAP_OBS"] != nil || ProcessInfo.processInfo.environment["CI"] != nil
    }

    let directory: URL
    let port: Int
    let rtmpPort: Int
    private(set) var password = "ct-\(UUID().uuidString.prefix(8))"
    var url: String { "ws://127.0.0.1:\(port)" }
    private var running = false

    init() throws {
        directory = try TemporaryDirectory.create()
        port = try freePort()
        var other = try freePort()
        while other == port { other = try freePort() }
        rtmpPort = other
        try script(["start", directory.path, String(port), password, String(rtmpPort)])
        running = true
    }

    /// SIGKILLs OBS (as a crash would) and starts it again with the same configuration.
    func restart() throws { try script(["restart", directory.path]) }

    /// Stops OBS and starts it again on the same port with another password (a user changing it).
    func restart(password newPassword: String) throws {
        try script(["stop", directory.path])
        password = newPassword
        try script(["start", directory.path, String(port), password, String(rtmpPort)])
    }

    func stop() {
        guard running else { return }
        running = false
        _ = try? script(["stop", directory.path])
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: directory)
    }

    private func script(_ arguments: [String]) throws {
        let path = Tools.repositoryRoot.appendingPathComponent("scripts/headless-obs.sh").path
        let result = try Tools.run("bash", [path] + arguments, timeout: 60)
        try #require(result.status == 0, "headless-obs.sh \(arguments[0]) failed: \(result.stderr)")
    }

    /// Sends one request with the test's own client; returns {requestStatus, responseData}.
    func request(_ type: String, _ data: [String: Any]? = nil) throws -> [String: Any] {
        let python = try #require(
            FakeRealtimeServer.python, "CAPTIONTAP_PYTHON is not set: run the tests with scripts/test.sh")
        let client = Tools.repositoryRoot.appendingPathComponent("Tests/OBS/obs_request.py").path
        var arguments = [client, url, password, type]
        if let data {
            arguments.append(String(decoding: try JSONSerialization.data(withJSONObject: data), as: UTF8.self))
        }
        let result = try RunningProcess(python, arguments).wait(timeout: 30)
        try #require(result.status == 0, "\(type) failed: \(result.stdout) \(result.stderr)")
        return try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
    }

    func code(of response: [String: Any]) -> Int? { (response["requestStatus"] as? [String: Any])?["code"] as? Int }

    /// The Text source's text, as OBS has it now.
    func text(of input: String) throws -> String? {
        let response = try request("GetInputSettings", ["inputName": input])
        return ((response["responseData"] as? [String: Any])?["inputSettings"] as? [String: Any])?["text"] as? String
    }
}

/// A TCP port nobody listens on right now (the kernel's pick for an ephemeral bind).
func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw POSIXError(.EMFILE) }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
        }
    }
    guard bound else { throw POSIXError(.EADDRINUSE) }
    return Int(UInt16(bigEndian: address.sin_port))
}

@Suite(.serialized, .enabled(if: HeadlessOBS.shouldRun, "needs OBS and the test venv of scripts/test.sh"))
struct OBSTests {
    let turns: ToneTurnsFile
    var dir: URL { turns.dir }
    var input: String { turns.input }

    init() throws { turns = try ToneTurnsFile() }

    var environment: [String: String] {
        var env = ProcessInfo.processInfo.environment
        env["OPENAI_API_KEY"] = nil
        return env
    }

    func passwordFile(_ password: String, mode: mode_t = 0o600) throws -> String {
        let path = dir.appendingPathComponent("obs-password-\(UUID().uuidString)").path
        try (password + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, mode)
        return path
    }

    func finals(_ stdout: String) -> [String] {
        stdout.split(separator: "\n").map(String.init)
    }

    @Test func theRightPasswordIsAcceptedAndAWrongOneExitsTwoWithOneClearLine() throws {
        let obs = try HeadlessOBS()
        let right = try passwordFile(obs.password)
        let doctor = try Tools.captiontap(
            ["doctor", "--obs", obs.url, "--obs-password-file", right, "--obs-text-source", "Captions"],
            environment: environment)
        #expect(doctor.stdout.contains("✓ OBS reachable at \(obs.url)/ (obs-websocket 5."), "\(doctor.stdout)")
        #expect(doctor.stdout.contains(", authenticated)"))
        #expect(doctor.stdout.contains("✓ OBS text source 'Captions' exists (text_ft2_source_v2)"), "\(doctor.stdout)")
        let missing = try Tools.captiontap(
            ["doctor", "--obs", obs.url, "--obs-password-file", right, "--obs-text-source", "Nope"],
            environment: environment)
        #expect(missing.status == 1)
        #expect(missing.stdout.contains("✗ OBS has no input named 'Nope'"), "\(missing.stdout)")

        let wrong = try passwordFile("not-\(obs.password)")
        let badDoctor = try Tools.captiontap(
            ["doctor", "--obs", obs.url, "--obs-password-file", wrong], environment: environment)
        #expect(badDoctor.status == 1)
        #expect(
            badDoctor.stdout.contains("✗ OBS at \(obs.url)/ refused the password (close 4009)"), "\(badDoctor.stdout)")

        let server = try FakeRealtimeServer()
        let started = Date()
        let result = try Tools.captiontap(
            [
                "run", "--verbose", "--input", input, "--url", server.url, "--obs", obs.url, "--obs-password-file",
                wrong,
            ],
            environment: environment)
        _ = server.stop()
        #expect(Date().timeIntervalSince(started) < 10)
        #expect(result.status == 2)
        #expect(
            result.stderr.hasSuffix(
                "captiontap: error: OBS refused the password (close 4009): check --obs-password-file\n"),
            "\(result.stderr)")
        #expect(result.stderr.components(separatedBy: "4009").count == 2, "one line, not one per retry")
        #expect(result.stdout.isEmpty, "nothing was captioned: it is a configuration error, found before capture")
        #expect(
            !result.stderr.contains(obs.password) && !doctor.stdout.contains(obs.password)
                && !doctor.stderr.contains(obs.password))
    }

    @Test func theTextSourceShowsTheLastCaptions() throws {
        let obs = try HeadlessOBS()
        // Readable by others: works, with a warning like the API key file's.
        let password = try passwordFile(obs.password, mode: 0o644)
        let server = try FakeRealtimeServer()
        let result = try Tools.captiontap(
            [
                "run", "--verbose", "--input", input, "--url", server.url, "--obs", obs.url, "--obs-password-file",
                password,
                "--obs-text-source", "Captions",
            ],
            environment: environment)
        let (status, stats) = server.stop()
        #expect(result.status == 0, "\(result.stderr)")
        #expect(status == 0, "\(stats)")
        #expect(finals(result.stdout) == ToneTurnsFile.expected, "captions on stdout are unaffected")
        #expect(
            try obs.text(of: "Captions") == ToneTurnsFile.expected.suffix(2).joined(separator: "\n"), "\(result.stderr)"
        )
        #expect(result.stderr.contains("OBS: 0 stream captions sent, 4 not streaming"), "\(result.stderr)")
        #expect(result.stderr.contains("is readable by group or others; run: chmod 600"))
        #expect(!result.stderr.contains(obs.password), "the password is never logged, even with --verbose")
    }

    /// obs-websocket runs requests on a thread pool, in any order: a burst of text updates (every
    /// word of every turn) must still leave the source on the newest text, never an older one.
    @Test func aBurstOfUpdatesLeavesTheTextSourceOnTheNewestCaptions() throws {
        let obs = try HeadlessOBS()
        let password = try passwordFile(obs.password)
        let frequencies = (3...26).map { Double($0 * 100) }
        let many = dir.appendingPathComponent("many.wav").path
        try WAV.write24kMono(WAV.toneTurns(frequencies, seconds: 0.4, gap: 1.0), to: many)
        let server = try FakeRealtimeServer()
        let result = try Tools.captiontap(
            [
                "run", "--input", many, "--url", server.url, "--obs", obs.url, "--obs-password-file", password,
                "--obs-text-source", "Captions", "--obs-lines", "3",
            ],
            environment: environment)
        _ = server.stop()
        let expected = frequencies.map { "tone \(Int($0)) hertz" }
        #expect(result.status == 0, "\(result.stderr)")
        #expect(finals(result.stdout) == expected)
        #expect(try obs.text(of: "Captions") == expected.suffix(3).joined(separator: "\n"), "\(result.stderr)")
        #expect(
            result.stderr.contains("OBS: 0 stream captions sent, \(expected.count) not streaming"), "\(result.stderr)")
        #expect(result.stderr.contains("; 0 requests dropped while OBS was away"), "\(result.stderr)")
    }

    @Test func captionsResumeAfterOBSRestarts() throws {
        let obs = try HeadlessOBS()
        let password = try passwordFile(obs.password)
        let frequencies: [Double] = [300, 400, 500, 600, 700, 800, 900, 1000]
        let long = dir.appendingPathComponent("long.wav").path
        try WAV.write24kMono(WAV.toneTurns(frequencies, seconds: 0.5, gap: 1.2), to: long)
        let server = try FakeRealtimeServer()
        let run = try RunningProcess(
            Tools.captiontap,
            [
                "run", "--input", long, "--pace", "realtime", "--url", server.url, "--obs", obs.url,
                "--obs-password-file", password, "--obs-text-source", "Captions", "--obs-lines", "1",
            ],
            environment: environment)
        // After the first caption, OBS crashes and comes back.
        let deadline = Date().addingTimeInterval(20)
        while finals(run.stdoutSoFar).isEmpty && run.isRunning && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.05)
        }
        try #require(!finals(run.stdoutSoFar).isEmpty, "no caption: \(run.stderrSoFar)")
        try obs.restart()
        #expect(run.waitForStderr("reconnected to OBS", timeout: 10), "\(run.stderrSoFar)")
        let result = run.wait(timeout: 60)
        _ = server.stop()
        #expect(result.status == 0, "\(result.stderr)")
        #expect(finals(result.stdout) == frequencies.map { "tone \(Int($0)) hertz" }, "captioning never waited for OBS")
        #expect(result.stderr.contains("lost the connection to OBS"))
        #expect(try obs.text(of: "Captions") == "tone 1000 hertz", "captions after the restart reach the text source")
        #expect(result.stderr.contains("reconnected once"), "\(result.stderr)")
    }

    @Test func aPasswordChangedWhileRunningIsOneErrorLineAndCaptioningGoesOn() throws {
        let obs = try HeadlessOBS()
        let password = try passwordFile(obs.password)
        let frequencies: [Double] = [300, 400, 500, 600]
        let long = dir.appendingPathComponent("long.wav").path
        try WAV.write24kMono(WAV.toneTurns(frequencies, seconds: 0.5, gap: 1.2), to: long)
        let server = try FakeRealtimeServer()
        let run = try RunningProcess(
            Tools.captiontap,
            [
                "run", "--input", long, "--pace", "realtime", "--url", server.url, "--obs", obs.url,
                "--obs-password-file", password, "--obs-text-source", "Captions",
            ],
            environment: environment)
        try #require(run.waitForStderr("connected to OBS", timeout: 20), "\(run.stderrSoFar)")
        try obs.restart(password: "changed-\(UUID().uuidString.prefix(8))")
        let result = run.wait(timeout: 60)
        _ = server.stop()
        #expect(result.status == 0, "a later refusal is not fatal: \(result.stderr)")
        #expect(finals(result.stdout) == frequencies.map { "tone \(Int($0)) hertz" })
        let refusals = result.stderr.split(separator: "\n").filter { $0.contains("4009") }
        #expect(
            refusals == [
                "captiontap: error: OBS refused the password after a reconnection (close 4009): check --obs-password-file; retrying every 30 s"
            ],
            "\(result.stderr)")
        #expect(result.stderr.contains("requests dropped while OBS was away"))
    }
}
