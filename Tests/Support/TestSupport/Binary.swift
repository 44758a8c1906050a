import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// What a finished process left behind.
public struct RunResult: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
}

/// A child process started with posix_spawn, its output going to files.
///
/// Files rather than pipes: daemons a script leaves behind (pw restarts) can never keep a test
/// waiting for EOF, and nothing needs a reader thread.
public final class RunningProcess: @unchecked Sendable {
    public let pid: pid_t
    private let outPath: String
    private let errPath: String
    private var exitStatus: Int32?
    /// CPU seconds (user + system) and peak RSS of the child, once it has exited.
    public private(set) var cpuSeconds: Double = 0
    public private(set) var peakRSSMiB: Double = 0

    public init(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("ct-proc-\(UUID().uuidString)").path
        outPath = base + ".out"
        errPath = base + ".err"
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        let env = (environment ?? ProcessInfo.processInfo.environment).map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for pointer in env { free(pointer) } }
        // Test threads (libdispatch workers) block signals; a child inherits that mask and would
        // never see SIGTERM or SIGINT. Start it with nothing blocked and default handlers.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGINT, SIGTERM, SIGPIPE, SIGHUP] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, executable, &actions, &attributes, argv, env)
        guard rc == 0 else { throw POSIXError(POSIXErrorCode(rawValue: rc) ?? .EINVAL) }
        self.pid = pid
    }

    deinit {
        if exitStatus == nil {
            kill(pid, SIGKILL)
            _ = poll()
        }
        unlink(outPath)
        unlink(errPath)
    }

    private func read(_ path: String) -> String {
        (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    }

    public var stderrSoFar: String { read(errPath) }
    public var stdoutSoFar: String { read(outPath) }

    /// Reaps the child if it exited; returns its status.
    private func poll() -> Int32? {
        if let exitStatus { return exitStatus }
        sampleResidentPeak()
        var status: Int32 = 0
        var usage = rusage()
        if wait4(pid, &status, WNOHANG, &usage) == pid {
            cpuSeconds =
                Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
                + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
            let code = status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
            exitStatus = code
        }
        return exitStatus
    }

    /// The child's peak resident memory so far (VmHWM). Not wait4's ru_maxrss: Linux carries the
    /// spawning process's peak over the exec, so a child of a large parent would report the parent's.
    private func sampleResidentPeak() {
        guard let peak = ProcStatus(pid: String(pid)).mebibytes("VmHWM") else { return }
        peakRSSMiB = max(peakRSSMiB, peak)
    }

    public var isRunning: Bool { poll() == nil }

    /// Waits until stderr contains `text` (or the timeout passes). Returns whether it appeared.
    @discardableResult
    public func waitForStderr(_ text: String, timeout: Double = 10) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if stderrSoFar.contains(text) { return true }
            if !isRunning { return stderrSoFar.contains(text) }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return false
    }

    public func interrupt() { kill(pid, SIGINT) }
    public func terminate() { kill(pid, SIGTERM) }

    /// Waits for exit (killing the child after `timeout` seconds) and collects its output.
    public func wait(timeout: Double = 60) -> RunResult {
        let deadline = Date().addingTimeInterval(timeout)
        while poll() == nil {
            if Date() > deadline {
                kill(pid, SIGKILL)
                var status: Int32 = 0
                waitpid(pid, &status, 0)
                exitStatus = 137
                break
            }
            Thread.sleep(forTimeInterval: 0.01)
        }
        return RunResult(status: exitStatus ?? -1, stdout: stdoutSoFar, stderr: stderrSoFar)
    }
}

public enum Tools {
    /// The package's build products (the test bundle sits beside them).
    public static var productsDirectory: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    }

    public static var captiontap: String { productsDirectory.appendingPathComponent("captiontap").path }

    /// The real-time probe (Tests/RTProbe): captiontap's capture callbacks on a live data thread.
    public static var rtprobe: String { productsDirectory.appendingPathComponent("captiontap-rtprobe").path }

    /// Runs `captiontap ARGS` to completion.
    public static func captiontap(_ arguments: [String], environment: [String: String]? = nil, timeout: Double = 60)
        throws -> RunResult
    {
        try RunningProcess(captiontap, arguments, environment: environment).wait(timeout: timeout)
    }

    /// Runs a command found on PATH to completion.
    public static func run(_ command: String, _ arguments: [String], timeout: Double = 60) throws -> RunResult {
        try RunningProcess(command, arguments).wait(timeout: timeout)
    }

    /// The repository root (for scripts/).
    public static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
    }
}
