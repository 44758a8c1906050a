import Foundation

/// Memory figures from /proc/PID/status, in MiB.
public struct ProcStatus {
    private let text: String

    /// The status of `pid` ("self" for this process) as it is now; empty once it has exited.
    public init(pid: String = "self") {
        text = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
    }

    /// A "kB" field (VmRSS, VmHWM, RssAnon, RssFile, …) in MiB; nil when absent.
    public func mebibytes(_ field: String) -> Double? {
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(field + ":") }),
            let kib = Double(line.split(separator: " ").dropFirst().first ?? "")
        else { return nil }
        return kib / 1024
    }
}
