import CaptionTapCore
import Foundation
import Synchronization

/// The one-line status at the bottom of the terminal while `run` captions: source, input level,
/// connection, turns, caption delay and cost so far.
///
/// Drawn only when stderr is a terminal. Like apt's progress bar it pins itself to the last row
/// with a scroll region (DECSTBM), so captions on stdout and log lines on stderr scroll above it
/// untouched, whichever of them share the terminal. Each redraw is one `write(2)`, so it never
/// lands in the middle of a caption line.
final class StatusLine: @unchecked Sendable {
    struct Snapshot: Sendable, Equatable {
        var source: String
        var levelDB: Double?
        var connected: Bool
        var backend: String
        var turns: Int
        var delaySeconds: Double?
        var cost: Double?
    }

    /// The status text for one snapshot (pure, for tests), fitted to `columns`.
    static func render(_ s: Snapshot, columns: Int) -> String {
        let level: String
        if let db = s.levelDB, db > -90 {
            // Eight steps from −60 dBFS to 0: a meter that reads at a glance.
            let steps = max(0, min(8, Int(((db + 60) / 60 * 8).rounded())))
            level =
                String(repeating: "█", count: steps) + String(repeating: "·", count: 8 - steps)
                + String(format: " %3.0f dB", db)
        } else {
            level = "········ silent"
        }
        var parts = [
            s.source, level, s.connected ? "● \(s.backend)" : "○ connecting to \(s.backend)", "\(s.turns) turns",
        ]
        if let d = s.delaySeconds { parts.append(String(format: "delay %.1f s", d)) }
        if let c = s.cost { parts.append(String(format: "$%.4f", c)) }
        let line = parts.joined(separator: " │ ")
        return line.count > columns ? String(line.prefix(max(0, columns - 1))) + "…" : line
    }

    private let fd: Int32 = 2
    private let state: Mutex<Snapshot>
    /// The loudest recent chunk's RMS (as Float bits), reset by each redraw.
    private let level = Atomic<UInt32>(0)
    private let running = Atomic<Bool>(false)
    private let connected: @Sendable () -> Bool
    private var thread: Thread?
    private var rows = 0

    /// nil when stderr is not a terminal: no status line at all, nothing written.
    init?(source: String, backend: String, showCost: Bool, connected: @escaping @Sendable () -> Bool) {
        guard isatty(2) == 1 else { return nil }
        state = Mutex(
            Snapshot(
                source: source, levelDB: nil, connected: false, backend: backend, turns: 0,
                delaySeconds: nil, cost: showCost ? 0 : nil))
        self.connected = connected
    }

    func start() {
        guard let (rows, _) = Self.size(2), rows > 2 else { return }
        self.rows = rows
        // Make room, keep the cursor where it was, and reserve the last row.
        write("\n\u{1B}7\u{1B}[1;\(rows - 1)r\u{1B}8\u{1B}[1A")
        running.store(true, ordering: .releasing)
        let t = Thread { [self] in
            while running.load(ordering: .acquiring) {
                draw()
                Thread.sleep(forTimeInterval: 0.25)
            }
        }
        t.name = "captiontap-status"
        thread = t
        t.start()
    }

    /// Called by the worker for each chunk it sends (cheap: one atomic max).
    func audio(rms: Float) {
        var current = level.load(ordering: .relaxed)
        while rms > Float(bitPattern: current) {
            let (exchanged, original) = level.compareExchange(
                expected: current, desired: rms.bitPattern, ordering: .relaxed)
            if exchanged { break }
            current = original
        }
    }

    /// Called on the caption thread for every caption.
    func caption(_ caption: Caption, cost: Double?, delaySeconds: Double?) {
        guard caption.isFinal else { return }
        state.withLock {
            $0.turns += 1
            if let cost, let sum = $0.cost { $0.cost = sum + cost }  // nil: no cost shown (embedded)
            if let delaySeconds { $0.delaySeconds = delaySeconds }
        }
    }

    /// The backend captions now come from (after a failover, or back).
    func setBackend(_ name: String) {
        state.withLock { $0.backend = name }
    }

    func stop() {
        guard running.exchange(false, ordering: .acquiringAndReleasing) else { return }
        // Clear the status row and give the whole screen back.
        write("\u{1B}7\u{1B}[\(rows);1H\u{1B}[2K\u{1B}[r\u{1B}8")
    }

    private func draw() {
        let rms = Float(bitPattern: level.exchange(0, ordering: .relaxed))
        let columns = Self.size(2)?.1 ?? 80
        let text = state.withLock { s -> String in
            s.levelDB = rms > 0 ? 20 * log10(Double(rms)) : nil
            s.connected = connected()
            return Self.render(s, columns: columns)
        }
        write("\u{1B}7\u{1B}[\(rows);1H\u{1B}[2K\u{1B}[2m\(text)\u{1B}[0m\u{1B}8")
    }

    private func write(_ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
    }

    private static func size(_ fd: Int32) -> (Int, Int)? {
        var size = winsize()
        guard ioctl(fd, UInt(TIOCGWINSZ), &size) == 0, size.ws_row > 0 else { return nil }
        return (Int(size.ws_row), Int(size.ws_col))
    }
}
