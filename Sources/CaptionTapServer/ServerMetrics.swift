import Foundation
import Synchronization

/// What an operator watches on `serve` (`GET /metrics`, Prometheus text format 0.0.4): sessions,
/// the decode queue, the recognizer's real-time factor, and the time from the end of a turn
/// (its commit) to its complete transcript.
final class ServerMetrics: Sendable {
    /// Upper bounds of the latency histogram's buckets, in seconds.
    static let buckets: [Double] = [0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10]

    private struct Counts {
        var sessionsTotal = 0
        var sessionsRefused = 0
        var latency = [Int](repeating: 0, count: ServerMetrics.buckets.count + 1)
        var latencySum = 0.0
    }
    private let counts = Mutex(Counts())

    func sessionOpened() { counts.withLock { $0.sessionsTotal += 1 } }
    func sessionRefused() { counts.withLock { $0.sessionsRefused += 1 } }

    func observeLatency(_ seconds: Double) {
        guard seconds.isFinite, seconds >= 0 else { return }
        let bucket = Self.buckets.firstIndex { seconds <= $0 } ?? Self.buckets.count
        counts.withLock {
            $0.latency[bucket] += 1
            $0.latencySum += seconds
        }
    }

    /// The exposition text, with the gauges read now.
    func render(activeSessions: Int, queueDepth: Int, decoded: (audio: Double, busy: Double)) -> String {
        let c = counts.withLock { $0 }
        var out = ""
        func metric(_ name: String, _ type: String, _ help: String, _ value: String) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n\(name) \(value)\n"
        }
        metric("captiontap_sessions_active", "gauge", "Realtime sessions open now.", "\(activeSessions)")
        metric("captiontap_sessions_total", "counter", "Realtime sessions opened since start.", "\(c.sessionsTotal)")
        metric(
            "captiontap_sessions_refused_total", "counter", "Sessions refused at --max-sessions.",
            "\(c.sessionsRefused)")
        metric("captiontap_decode_queue_depth", "gauge", "Decodes waiting for the recognizer.", "\(queueDepth)")
        metric(
            "captiontap_decode_audio_seconds_total", "counter", "Seconds of audio decoded.", Self.number(decoded.audio))
        metric(
            "captiontap_decode_busy_seconds_total", "counter", "Seconds the recognizer was busy.",
            Self.number(decoded.busy))
        metric(
            "captiontap_decode_real_time_factor", "gauge",
            "Busy seconds per audio second, since start (0 before any decode).",
            Self.number(decoded.audio > 0 ? decoded.busy / decoded.audio : 0))
        let name = "captiontap_transcript_latency_seconds"
        out +=
            "# HELP \(name) From a turn's commit (the end of speech) to its complete transcript.\n# TYPE \(name) histogram\n"
        var cumulative = 0
        for (bound, count) in zip(Self.buckets.map(Self.number) + ["+Inf"], c.latency) {
            cumulative += count
            out += "\(name)_bucket{le=\"\(bound)\"} \(cumulative)\n"
        }
        out += "\(name)_sum \(Self.number(c.latencySum))\n\(name)_count \(cumulative)\n"
        return out
    }

    static func number(_ x: Double) -> String { x == x.rounded() && abs(x) < 1e15 ? String(Int(x)) : String(x) }
}
