import CaptionTapCore

/// Live captions on the worker thread: ``LiveCaptions`` decides what to decode, the audio comes
/// from the transcriber's history, the decode runs on the local recognizer's thread and comes
/// back through the inbox. Nothing here touches the session: no extra request or audio goes to
/// the backend for partials.
extension RealtimeTranscription {
    /// One tick of live captions: starts the next decode when one is due.
    func driveLiveCaptions() {
        guard let recognizer = options.live else { return }
        let transcriber = transcriber
        let actions = liveCaptions.tick(
            open: transcriber.openTurn, audioEnd: transcriber.totalSamples, audio: transcriber)
        for case .decode(let job) in actions {
            let samples = transcriber.historySamples(from: job.from, to: job.to)
            recognizer.recognize(samples, source: liveSource) { [weak self] text in
                self?.enqueue(.partial(job: job, text: text))
            }
        }
    }

    /// A live decode came back: show the partial it makes, if it is still current.
    func livePartialDecoded(_ job: LiveCaptions.Job, text: String?) {
        let context = job.context == nil ? "" : " with the last turn's words"
        logger.debug(
            "live decode \(job.id) of \(job.itemID)\(context) [\(job.from / 24)–\(job.to / 24) ms] → \(text ?? "(dropped)")"
        )
        for case .partial(let itemID, let text, let stable, let start) in liveCaptions.decoded(job: job, text: text) {
            if liveTurnsShown.insert(itemID).inserted {
                // The turn's audio starts with the prefix padding: speech began that much later.
                let speech = start + options.transcriber.session.prefixMs * PCM16.sampleRate / 1000
                firstTextMs.append(max(0, (transcriber.totalSamples - speech) * 1000 / PCM16.sampleRate))
            }
            var caption = Caption(
                text: text, isFinal: false, itemID: itemID, responseID: nil,
                startMs: start * 1000 / PCM16.sampleRate, endMs: job.to * 1000 / PCM16.sampleRate)
            caption.stableText = stable
            caption.atMs = transcriber.timelineMs
            onCaption(caption)
        }
        driveLiveCaptions()  // the recognizer is free: the next decode may be due already
    }

    /// With live captions on, the backend's response deltas are not shown (the local partial is
    /// further along; a shorter one would make the line jump back), and a final ends its turn's
    /// partials. Returns the caption to show, if any.
    func liveCaptionsFilter(_ caption: Caption) -> Caption? {
        var caption = caption
        caption.atMs = transcriber.timelineMs
        if caption.isFinal {
            if let latency = caption.latencyMs { finalLatencyMs.append(latency) }
            if finalLatencyMs.count > 20_000 { finalLatencyMs.removeFirst(10_000) }
        }
        guard options.live != nil else { return caption }
        guard caption.isFinal else { return nil }
        liveCaptions.finalShown(itemID: caption.itemID, text: caption.text)
        liveTurnsShown.remove(caption.itemID)
        if firstTextMs.count > 20_000 { firstTextMs.removeFirst(10_000) }
        return caption
    }

    /// A turn settled without a caption (`turn`: its empty partial): its partials stop, and if
    /// one was shown, the empty partial takes it down (outputs that show partials clear the
    /// turn's; the rest never showed it). Returns the caption to show, if any.
    func liveWithdrawal(_ turn: Caption) -> Caption? {
        guard options.live != nil else { return nil }
        liveCaptions.finalShown(itemID: turn.itemID)
        guard liveTurnsShown.remove(turn.itemID) != nil else { return nil }
        var withdrawn = turn
        withdrawn.atMs = transcriber.timelineMs
        return withdrawn
    }

    /// This source's slot on the shared recognizer.
    var liveSource: Int { ObjectIdentifier(self).hashValue }
}
