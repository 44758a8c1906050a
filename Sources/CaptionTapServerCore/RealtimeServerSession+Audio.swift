import CaptionTapCore
import Foundation

/// The input audio buffer: appends through the front end, turns from the segmenter, commits
/// (by the VAD, by the client, or by the idle timeout) and the decodes they ask for.
extension RealtimeServerSession {
    /// The most audio one item or uncommitted buffer may hold: beyond it, appends and inline
    /// audio are refused with an error (memory stays bounded; the client commits or clears).
    public static let maxBufferSeconds = 300

    static func tooMuchAudio(param: String?) -> ProtocolProblem {
        ProtocolProblem(
            message:
                "The embedded backend takes at most \(maxBufferSeconds) s of audio per item or uncommitted buffer; commit or clear the buffer, or send shorter audio.",
            code: "input_audio_buffer_full", param: param)
    }

    func append(_ event: JSONValue, eventID: String?) -> [Action] {
        guard let b64 = event["audio"]?.string, var data = Data(base64Encoded: b64) else {
            return [
                error(
                    ProtocolProblem(
                        message: "Invalid 'audio': not valid base64.", code: "invalid_value", param: "audio"),
                    eventID: eventID)
            ]
        }
        let vad = session.turnDetection != nil
        // Without VAD the buffer only empties on commit or clear: bounded, so is memory.
        if !vad, position - bufferStart + data.count / 2 * rate / PCM16.sampleRate > Self.maxBufferSeconds * rate {
            return [error(Self.tooMuchAudio(param: "audio"), eventID: eventID)]
        }
        if let first = halfSample {
            data.insert(first, at: data.startIndex)
            halfSample = nil
        }
        if data.count % 2 == 1 { halfSample = data.removeLast() }
        let samples = PCM16.floats(data)
        var actions: [Action] = []
        samples.withUnsafeBufferPointer { buffer in
            frontEnd.process(buffer) { window, voiced in
                audio.append(contentsOf: window)
                if voiced { voicedSpan = (voicedSpan?.first ?? position - window.count, position) }
                guard vad else { return }
                var energy: Float = 0
                for x in window { energy += x * x }
                let events = segmenter.window(
                    voiced: voiced, end: position, count: window.count, energy: energy / Float(max(1, window.count)))
                for e in events { actions += handle(e) }
            }
        }
        if segmenter.turnStart == nil && vad {
            actions += idleTimeout()
            trimAudio()
        }
        return actions
    }

    /// Keeps only the audio a future turn can still reach back to (its prefix padding), or
    /// without VAD the uncommitted buffer (the next commit's).
    func trimAudio() {
        let keep: Int
        if let start = segmenter.turnStart {
            keep = start
        } else if session.turnDetection == nil {
            keep = bufferStart
        } else {
            keep = max(bufferStart, position - (session.prefixPaddingMs + 100) * rate / 1000)
        }
        let drop = min(max(0, keep - audioBase), audio.count)
        if drop > rate {  // trim in chunks: removing from the front copies the rest
            audio.removeFirst(drop)
            audioBase += drop
        }
    }

    func handle(_ event: TurnSegmenter.Event) -> [Action] {
        switch event {
        case .speechStarted(let start):
            let id = events.id("item")
            openItem = id
            openStart = start
            items[id] = Item(id: id, role: "user", hasAudio: true)
            return [.send(events.speechStarted(item: id, ms: ms(start)))]
        case .decode(let start, let end, let speculative):
            guard let id = openItem else { return [] }
            let job = newJob(for: id)
            if speculative { speculativeJob = job }
            // A later segment also hears the end of the one before: the recognizer then knows
            // the sentence goes on, and the overlap is joined (``SegmentJoin``).
            let from = start > openStart ? max(openStart, start - SegmentJoin.contextMs * rate / 1000) : start
            return [.decode(job: job, samples: slice(from, end))]
        case .discardSpeculative:
            return discardSpeculative()
        case .keepSpeculative:
            return promoteSpeculative()
        case .committed(let end):
            guard let id = openItem else { return [] }
            let promoted = promoteSpeculative()
            return promoted + [.send(events.speechStopped(item: id, ms: ms(end)))] + commitItem(id, end: end)
        }
    }

    /// A new decode job belonging to item `id`.
    func newJob(for id: String) -> Int {
        let job = nextJob
        nextJob += 1
        items[id]?.jobs.append(job)
        jobOwner[job] = id
        return job
    }

    /// The speculative decode is the final one for its segment: queued, it must wait no longer
    /// than any other final (under load, behind every other session's).
    func promoteSpeculative() -> [Action] {
        guard let job = speculativeJob else { return [] }
        speculativeJob = nil
        return [.promote(job: job)]
    }

    func discardSpeculative() -> [Action] {
        guard let job = speculativeJob else { return [] }
        speculativeJob = nil
        jobOwner[job] = nil
        // The decode may have finished already: its text must go too.
        if let open = openItem {
            items[open]?.jobs.removeAll { $0 == job }
            items[open]?.texts[job] = nil
        }
        return [.cancel(job: job)]
    }

    func slice(_ start: Int, _ end: Int) -> [Float] {
        let a = max(0, start - audioBase)
        let b = max(a, min(audio.count, end - audioBase))
        return Array(audio[a..<b])
    }

    /// Item `id` (audio up to `end`) enters the conversation; with `create_response` it gets
    /// its automatic response.
    func commitItem(_ id: String, end: Int) -> [Action] {
        let previous = order.last
        openItem = nil
        items[id]?.committed = true
        items[id]?.seconds = Double(max(0, end - openStart)) / Double(rate)
        order.append(id)
        bufferStart = end
        lastActivity = end
        voicedSpan = nil
        var actions: [Action] = [.send(events.committed(item: id, previous: previous))]
        actions += events.itemEntered(ServerEvents.userAudioItem(id), previous: previous).map(Action.send)
        if session.createResponse && session.turnDetection != nil {
            actions += automaticResponse(for: id)
        }
        return actions + reportTranscribed(id) + deliverReady()
    }

    func commit(eventID: String?) -> [Action] {
        if segmenter.turnStart != nil {
            return segmenter.commitOpenTurn(at: position).flatMap { handle($0) }
        }
        guard position - bufferStart >= rate / 10 else {
            let have = Double(max(0, position - bufferStart)) * 1000 / Double(rate)
            return [
                error(
                    ProtocolProblem(
                        message: String(
                            format:
                                "Error committing input audio buffer: buffer too small. Expected at least 100ms of audio, but buffer only has %.2fms of audio.",
                            have),
                        code: "input_audio_buffer_commit_empty"), eventID: eventID)
            ]
        }
        // Refused (the buffer kept) while earlier audio waits to be decoded: a client committing
        // faster than real time is told to wait, not queued for without bound.
        guard hasRoomToDecode(samples: (position - bufferStart) * PCM16.sampleRate / rate) else {
            return [error(Self.decodesFull(param: nil), eventID: eventID)]
        }
        // No VAD turn: the whole uncommitted buffer becomes the item.
        let id = events.id("item")
        items[id] = Item(id: id, role: "user", hasAudio: true)
        openItem = id
        openStart = bufferStart
        // The speech in the buffer, as the voice detector found it (with the session's prefix
        // padding and 300 ms after), not the raw buffer: leading or trailing silence makes
        // Moonshine return nothing. A buffer without speech gets an empty transcript.
        let prefix = session.prefixPaddingMs * rate / 1000
        let tail = 300 * rate / 1000
        let decodes =
            voicedSpan.map {
                decode(slice(max(bufferStart, $0.first - prefix), min(position, $0.last + tail)), for: id)
            } ?? []
        voicedSpan = nil
        let end = position
        segmenter.clear(at: end)
        let actions = decodes + commitItem(id, end: end)
        trimAudio()
        return actions
    }

    func clearBuffer() -> [Action] {
        segmenter.clear(at: position)
        voicedSpan = nil
        halfSample = nil
        if let open = openItem { drop(item: open) }
        bufferStart = position
        lastActivity = position
        trimAudio()
        return discardSpeculative() + [send("input_audio_buffer.cleared", [:])] + deliverReady()
    }

    /// Server VAD's `idle_timeout_ms`: when nobody has spoken for that long since the last turn,
    /// the silent buffer is committed as an (empty) turn after `input_audio_buffer.timeout_triggered`,
    /// and answered like any turn. Time is the audio the client sent, not the wall clock: a
    /// client that stops streaming has no idle time to measure.
    func idleTimeout() -> [Action] {
        guard let timeout = session.idleTimeoutMs, position - lastActivity >= timeout * rate / 1000 else { return [] }
        let id = events.id("item")
        items[id] = Item(id: id, role: "user", hasAudio: true)
        openStart = lastActivity
        let fired = events.timeoutTriggered(item: id, startMs: ms(lastActivity), endMs: ms(position))
        segmenter.clear(at: position)
        return [.send(fired)] + commitItem(id, end: position)
    }

    /// Decode jobs for `samples` of item `id`, in pieces no longer than ``DecodePieces/maxSeconds``
    /// (the item's transcript joins them), so no item holds the shared recognizer for long.
    func decode(_ samples: [Float], for id: String) -> [Action] {
        DecodePieces.cut(samples[...], rate: rate).map { piece in
            .decode(job: newJob(for: id), samples: Array(samples[piece]))
        }
    }

    /// Inline item audio goes through the same front end, outside the session timeline.
    func resampleForDecode(_ data: Data) -> [Float] {
        let samples = PCM16.floats(data)
        let count = samples.count
        guard rate != PCM16.sampleRate, count > 0 else { return samples }
        // Linear interpolation is enough here: this path is for occasional whole-item uploads.
        let n = count * rate / PCM16.sampleRate
        return (0..<n).map { i in
            let x = Double(i) * Double(PCM16.sampleRate) / Double(rate)
            let j = Int(x)
            let f = Float(x - Double(j))
            return j + 1 < count ? samples[j] * (1 - f) + samples[j + 1] * f : samples[min(j, count - 1)]
        }
    }
}
