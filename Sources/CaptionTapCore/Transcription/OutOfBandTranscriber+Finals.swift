import Foundation

/// Finals leave in commit order; old turns are forgotten.
extension OutOfBandTranscriber {
    func caption(_ turn: Turn, final: Bool) -> Caption {
        Caption(
            text: turn.text, isFinal: final, itemID: turn.itemID, responseID: turn.responseID,
            startMs: turn.startMs, endMs: turn.endMs, usage: final ? turn.usage : nil)
    }

    /// The empty partial that names a turn settled without a caption (``Action/uncaptioned(_:)``).
    func uncaptioned(_ turn: Turn) -> Action {
        var gone = caption(turn, final: false)
        gone.text = ""
        return .uncaptioned(gone)
    }

    /// Emits every final whose predecessors are all out: captions stay in commit order.
    func emitFinals(now: Double?) -> [Action] {
        var actions: [Action] = []
        while emitted < turns.count, turns[emitted].state == .final {
            let turn = turns[emitted]
            let text = Self.trimmingWhitespace(turn.text)
            if turn.silent {
                // Merged into another turn's caption, or lost (reported when it was settled).
                actions.append(uncaptioned(turn))
            } else if text.isEmpty {
                // No words (a cough, music, a noise the VAD took for speech): nothing to show, and
                // an empty caption on any output would only blank what a reader is looking at.
                wordlessTurns += 1
                actions.append(uncaptioned(turn))
            } else {
                var final = caption(turn, final: true)
                final.text = text
                final.latencyMs = max(0, timelineMs - speechEndMs(turn))
                actions.append(.caption(final))
                captionsEmitted += 1
                recentFinals.append(text)
            }
            if recentFinals.count > 50 { recentFinals.removeFirst(recentFinals.count - 50) }
            emitted += 1
            finalsEmitted += 1
            if let now, !turn.silent { latencies.append(max(0, now - turn.committedAt)) }
        }
        compact()
        return actions
    }

    /// Where the turn's speech ended, on the audio clock: found in the audio while the history
    /// holds it (a long turn may be committed at a pause shorter than `silence_duration_ms`),
    /// else the turn's end less that silence.
    func speechEndMs(_ turn: Turn) -> Int {
        let rate = PCM16.sampleRate / 1000
        let start = min(max(0, turn.startMs), timelineMs)  // the server's numbers, kept in range
        let end = speechEnd(in: start * rate..<min(max(start, turn.endMs), timelineMs) * rate)
        return end.map { $0 / rate } ?? turn.endMs - config.session.silenceMs
    }

    /// Forgets emitted turns no replay can reach any more (older than the replay buffer plus the
    /// minute `committed` looks back), and the oldest latencies, so a run of days keeps its
    /// memory flat. Amortized: only when hundreds have piled up.
    func compact() {
        if latencies.count > 20_000 { latencies.removeFirst(10_000) }
        guard emitted > 512 else { return }
        let horizon = timelineMs - (config.replayLimitSeconds + 120) * 1000
        let old = turns[..<emitted].prefix { $0.endMs < horizon }.count
        guard old > 256 else { return }
        turns.removeFirst(old)
        emitted -= old
        forgottenTurns += old
    }

    /// `trimmingCharacters(in: .whitespacesAndNewlines)` without Foundation's NSString bridge:
    /// that set (Unicode Z* plus U+0009–U+000D and U+0085) is exactly Unicode's White_Space.
    static func trimmingWhitespace(_ text: String) -> String {
        let scalars = text.unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })!
        if first == scalars.startIndex && last == scalars.index(before: scalars.endIndex) { return text }
        return String(scalars[first...last])
    }
}
