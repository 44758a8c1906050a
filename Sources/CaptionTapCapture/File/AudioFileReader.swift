import CSndFile
import CSoxr
import CaptionTapCore
import Glibc

/// Decodes an audio file (anything libsndfile reads: WAV, FLAC, OGG, ...) to 24 kHz mono floats.
///
/// Channels are averaged; the rate is converted by libsoxr at high quality. Nothing here needs
/// a PipeWire daemon.
public final class AudioFileReader {
    public let path: String
    /// The file's own rate and channel count.
    public let inputRate: Int
    public let inputChannels: Int
    /// Frames in the file at its own rate.
    public let inputFrames: Int64

    /// Whether the file holds exactly what captiontap streams, 24 kHz mono 16-bit PCM: then
    /// ``readPCM16(into:)`` hands the samples over as they are, without the float round trip.
    public let isPCM16At24kMono: Bool

    private var file: OpaquePointer?
    private var resampler: soxr_t?
    private let blockFrames = 4096
    private var interleaved: [Float]
    private var mono: [Float]
    private var pending: [Float] = []
    private var pendingOffset = 0
    private var finished = false

    /// Sample rates and channel counts a file may claim.
    public static let rates = 1000...768_000
    public static let maxChannels = 64

    public init(path: String) throws(CaptureError) {
        self.path = path
        var info = SF_INFO()
        guard access(path, F_OK) == 0 else { throw .fileNotFound(path: path) }
        guard let handle = sf_open(path, Int32(SFM_READ), &info) else {
            throw .fileUnreadable(path: path, reason: String(cString: sf_strerror(nil)))
        }
        guard info.channels > 0, info.samplerate > 0 else {
            sf_close(handle)
            throw .fileUnreadable(path: path, reason: "no audio channels")
        }
        // A header can claim anything: a 20 KB file "at 1 Hz" would resample into hours of audio,
        // 10 000 channels into a huge block. Real audio lives well inside these bounds.
        guard Self.rates.contains(Int(info.samplerate)), Int(info.channels) <= Self.maxChannels else {
            sf_close(handle)
            throw .fileUnreadable(
                path: path,
                reason:
                    "its header claims \(info.samplerate) Hz and \(info.channels) channels; captiontap reads \(Self.rates.lowerBound)–\(Self.rates.upperBound) Hz and up to \(Self.maxChannels) channels"
            )
        }
        file = handle
        inputRate = Int(info.samplerate)
        inputChannels = Int(info.channels)
        inputFrames = info.frames
        isPCM16At24kMono =
            info.format & Int32(SF_FORMAT_SUBMASK) == Int32(SF_FORMAT_PCM_16)
            && info.samplerate == Int32(PCM16.sampleRate) && info.channels == 1
        interleaved = [Float](repeating: 0, count: blockFrames * Int(info.channels))
        mono = [Float](repeating: 0, count: blockFrames)
        if inputRate != PCM16.sampleRate {
            var error: soxr_error_t?
            var io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I)
            var quality = soxr_quality_spec(UInt(SOXR_HQ), 0)
            resampler = soxr_create(Double(inputRate), Double(PCM16.sampleRate), 1, &error, &io, &quality, nil)
            if resampler == nil {
                sf_close(handle)
                file = nil
                throw .fileUnreadable(
                    path: path, reason: "resampler: \(error.map { String(cString: $0) } ?? "unknown")")
            }
        }
    }

    deinit {
        if let file { sf_close(file) }
        if let resampler { soxr_delete(resampler) }
    }

    /// Duration of the file in seconds.
    public var duration: Double { Double(inputFrames) / Double(inputRate) }

    /// Fills `destination` with up to its count of 24 kHz mono samples. Returns 0 only at the end.
    public func read(into destination: UnsafeMutableBufferPointer<Float>) -> Int {
        var written = 0
        while written < destination.count {
            if pendingOffset < pending.count {
                let take = min(destination.count - written, pending.count - pendingOffset)
                pending.withUnsafeBufferPointer { src in
                    (destination.baseAddress! + written).update(from: src.baseAddress! + pendingOffset, count: take)
                }
                pendingOffset += take
                written += take
                continue
            }
            if finished { break }
            refill()
        }
        return written
    }

    /// Fills `destination` with up to its count of samples, straight from the file; returns 0 only
    /// at the end. Only for ``isPCM16At24kMono`` files, and not mixed with ``read(into:)``.
    /// The samples equal what ``read(into:)`` then `PCM16.encode` give, bit for bit.
    public func readPCM16(into destination: UnsafeMutableBufferPointer<Int16>) -> Int {
        precondition(isPCM16At24kMono, "readPCM16 needs a 24 kHz mono 16-bit PCM file")
        guard let base = destination.baseAddress else { return 0 }
        var written = 0
        while written < destination.count && !finished {
            let n = Int(max(0, sf_read_short(file, base + written, Int64(destination.count - written))))
            if n == 0 { finished = true }
            written += n
        }
        return written
    }

    /// Decodes one block into `pending`, resampling if needed; flushes the resampler at the end.
    private func refill() {
        pending.removeAll(keepingCapacity: true)
        pendingOffset = 0
        let frames = interleaved.withUnsafeMutableBufferPointer {
            sf_readf_float(file, $0.baseAddress, Int64(blockFrames))
        }
        let n = Int(max(0, frames))
        let channels = inputChannels
        interleaved.withUnsafeBufferPointer { src in
            mono.withUnsafeMutableBufferPointer { dst in
                let scale = 1 / Float(channels)
                for f in 0..<n {
                    var sum: Float = 0
                    for c in 0..<channels { sum += src[f * channels + c] }
                    dst[f] = channels == 1 ? sum : sum * scale
                }
            }
        }
        guard let resampler else {
            pending.append(contentsOf: mono[0..<n])
            if n == 0 { finished = true }
            return
        }
        let outCapacity =
            Int((Double(max(n, blockFrames)) * Double(PCM16.sampleRate) / Double(inputRate)).rounded(.up)) + 256
        if pending.capacity < outCapacity { pending.reserveCapacity(outCapacity) }
        var out = [Float](repeating: 0, count: outCapacity)
        var produced = 0
        out.withUnsafeMutableBufferPointer { dst in
            mono.withUnsafeBufferPointer { src in
                // A NULL input tells soxr the stream has ended: it flushes its filter tail.
                let input: UnsafeRawPointer? = n > 0 ? UnsafeRawPointer(src.baseAddress) : nil
                _ = soxr_process(resampler, input, n, nil, dst.baseAddress, outCapacity, &produced)
            }
        }
        pending.append(contentsOf: out[0..<produced])
        if n == 0 && produced == 0 { finished = true }
    }
}
