import CaptionTapCore
import Foundation

/// Decode results coming back: transcription deltas while a turn is spoken, `.completed` (or
/// `.failed`) once an item is whole, and every response waiting for them.
extension RealtimeServerSession {
    /// A decode finished (in any order); answers every response and transcription now ready.
    public func decoded(job: Int, text: String) -> [Action] {
        guard let owner = jobOwner.removeValue(forKey: job), items[owner] != nil else { return [] }
        items[owner]?.texts[job] = text
        return reportTranscribed(owner) + streamTranscription(owner, final: false) + deliverReady()
    }

    /// The recognizer could not decode `job`: its item's transcription fails
    /// (`conversation.item.input_audio_transcription.failed`) and responses about it answer with
    /// what is known, so no client waits forever.
    public func decodeFailed(job: Int, reason: String) -> [Action] {
        guard let owner = jobOwner.removeValue(forKey: job), items[owner] != nil else { return [] }
        if items[owner]?.failure == nil { items[owner]?.failure = reason }
        return reportTranscribed(owner) + deliverReady()
    }

    /// Built-in transcription deltas while a long turn is spoken: the text of the decoded
    /// segments at the front of the item, all but the last words a later segment's overlap may
    /// still change (``SegmentJoin/settledPrefix(_:)``); the rest once the item is final. A
    /// speculative decode may still be thrown away, so it only counts once final. The deltas
    /// add up to the `.completed` transcript exactly.
    func streamTranscription(_ id: String, final: Bool, force: Bool = false) -> [Action] {
        guard session.wantsInputTranscription, force || !transcriptionSent.contains(id) && isTranscriptHead(id),
            var item = items[id], item.failure == nil
        else { return [] }
        let target: String
        if final {
            target = item.transcript
        } else {
            let ready = item.jobs.prefix { item.texts[$0] != nil && $0 != speculativeJob }.count
            target = SegmentJoin.settledPrefix(item.joined(ready))
        }
        guard target.count > item.streamedCharacters else { return [] }
        let fresh = String(target.dropFirst(item.streamedCharacters))
        item.streamedCharacters = target.count
        items[id] = item
        return ServerEvents.words(fresh).map { .send(events.transcriptionDelta(item: id, delta: $0)) }
    }

    /// `.transcribed` the first time an audio item is committed with every decode done.
    func reportTranscribed(_ id: String) -> [Action] {
        guard let item = items[id], item.hasAudio, item.isReady, transcribed.insert(id).inserted else { return [] }
        return [.transcribed(item: id)]
    }

    /// Sends every transcript that is complete, in conversation order, then answers the
    /// responses whose items are ready (starting queued automatic ones as the conversation frees).
    func deliverReady() -> [Action] {
        var actions = readyTranscripts()
        while true {
            var remaining: [Request] = []
            for request in waiting {
                if let id = request.itemID {
                    guard let item = items[id] else {
                        // The item was cleared or deleted while its transcript was pending.
                        actions += respond(request, text: "")
                        continue
                    }
                    guard item.isReady else {
                        remaining.append(request)
                        continue
                    }
                    actions += respond(request, text: item.transcript)
                } else {
                    actions += respond(request, text: "")
                }
            }
            waiting = remaining
            let next = nextAutomatic()
            if next.isEmpty { break }
            actions += next
        }
        pruneHistory()
        return actions
    }

    /// Transcripts go out in commit order, one item at a time: a client that joins deltas into
    /// one running text (LiveKit's) never sees two items' deltas interleaved, and `.completed`
    /// events never overtake each other.
    private func readyTranscripts() -> [Action] {
        guard session.wantsInputTranscription else { return [] }
        var actions: [Action] = []
        for id in order where !transcriptionSent.contains(id) {
            guard let item = items[id], item.hasAudio else { continue }
            guard item.isReady else {
                return actions + streamTranscription(id, final: false)  // the head streams; the rest wait
            }
            transcriptionSent.insert(id)
            if let failure = item.failure {
                let problem = ProtocolProblem(
                    message: "The recognizer could not transcribe this audio: \(failure)", code: "transcription_failed",
                    type: "server_error")
                actions.append(.send(events.transcriptionFailed(item: id, problem: problem)))
                continue
            }
            actions += streamTranscription(id, final: true, force: true)
            actions.append(
                .send(events.transcriptionCompleted(item: id, transcript: item.transcript, seconds: item.seconds)))
        }
        return actions
    }

    /// Whether `id` is the earliest audio item whose transcript has not gone out: only it streams.
    func isTranscriptHead(_ id: String) -> Bool {
        (order.first { !transcriptionSent.contains($0) && items[$0]?.hasAudio == true } ?? openItem) == id
    }
}
