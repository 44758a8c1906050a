import CSndFile
import CaptionTapCore

/// Writes the exact PCM16 bytes that are streamed to the backend into a 24 kHz mono WAV
/// (`--record`), so users keep the meeting audio and tests can compare what was sent.
public final class PCM16WavWriter {
    public let path: String
    private var file: OpaquePointer?
    public private(set) var framesWritten: Int64 = 0

    public init(path: String) throws(CaptureError) {
        self.path = path
        var info = SF_INFO()
        info.samplerate = Int32(PCM16.sampleRate)
        info.channels = 1
        info.format = Int32(SF_FORMAT_WAV | SF_FORMAT_PCM_16)
        guard let handle = sf_open(path, Int32(SFM_WRITE), &info) else {
            throw .recordFailed(path: path, reason: String(cString: sf_strerror(nil)))
        }
        file = handle
    }

    deinit { close() }

    /// Appends little-endian PCM16 bytes (as produced by ``AppendEventEncoder``).
    public func write(_ pcm: UnsafeRawBufferPointer) {
        guard let file, pcm.count >= 2 else { return }
        // sndfile takes host-order shorts; every Linux target captiontap runs on is little-endian.
        let frames = pcm.count / 2
        let shorts = pcm.baseAddress!.assumingMemoryBound(to: Int16.self)
        framesWritten += sf_write_short(file, shorts, Int64(frames))
    }

    /// Finalises the header. Safe to call twice.
    public func close() {
        if let file {
            sf_write_sync(file)
            sf_close(file)
        }
        file = nil
    }
}
