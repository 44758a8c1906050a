import CaptionTapTransport
import Foundation

/// How `run` hands a file, read faster than real time, to the session worker.
///
/// A file read fast must neither outrun the socket by an hour of queued audio nor read past the
/// replay buffer while the session is down (``RealtimeTranscription/isStreaming``), so reading
/// pauses while the backlog is high; and it hands chunks over in runs, waking the worker once per
/// run instead of once per chunk. Live capture never waits and wakes the worker for every chunk.
final class FilePacing {
    /// Chunks handed over per wake-up of the worker.
    static let chunksPerWake = 16
    /// Messages not yet on the wire at which reading pauses...
    static let pauseAbove = 64
    /// ...until only this many are left: the reader and the worker run in bursts instead of a
    /// chunk per 2 ms.
    static let resumeBelow = 32
    /// How often a paused reader looks again.
    static let pollMicroseconds: useconds_t = 3_000

    private let transcription: RealtimeTranscription
    private var unwoken = 0

    init(_ transcription: RealtimeTranscription) {
        self.transcription = transcription
    }

    /// Hands one chunk over; returns once the session can take more (or `stopped()` says so).
    func handOver(event: String, pcm: UnsafeRawBufferPointer, stopped: () -> Bool) {
        transcription.audio(event: event, pcm: pcm, wake: false)
        unwoken += 1
        if unwoken >= Self.chunksPerWake { wake() }
        guard transcription.backlog > Self.pauseAbove || !transcription.isStreaming else { return }
        wake()
        while (transcription.backlog > Self.resumeBelow || !transcription.isStreaming) && !stopped()
            && transcription.fatalOutcome == nil
        {
            usleep(Self.pollMicroseconds)
        }
    }

    private func wake() {
        guard unwoken > 0 else { return }
        transcription.wakeForAudio()
        unwoken = 0
    }
}
