#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The few raw system calls the sinks share, with `EINTR` and short writes handled once.
///
/// Sinks write with `write(2)` directly rather than through `FILE*` or `FileHandle`: there is no
/// user-space buffer to flush or lose at exit, every line reaches the reader as soon as it is
/// final, and failures come back as an errno to count instead of a trap or an exception.
enum PosixIO {
    /// What became of one write of a whole line or cue.
    enum WriteOutcome: Equatable {
        /// Every byte was written.
        case written
        /// The descriptor is non-blocking and had no room (`EAGAIN`). `bytesWritten` is 0 for a
        /// clean drop, more when the line was torn (only possible for writes over `PIPE_BUF`).
        case wouldBlock(bytesWritten: Int)
        /// The reading end is gone (`EPIPE`; needs `SIGPIPE` ignored to be seen).
        case brokenPipe(bytesWritten: Int)
        /// Any other errno.
        case failed(errno: Int32, bytesWritten: Int)

        /// The errno behind a failure; nil for `.written`.
        var errorCode: Int32? {
            switch self {
            case .written: nil
            case .wouldBlock: EAGAIN
            case .brokenPipe: EPIPE
            case .failed(let code, _): code
            }
        }

        var bytesWritten: Int? {
            switch self {
            case .written: nil
            case .wouldBlock(let n), .brokenPipe(let n), .failed(_, let n): n
            }
        }
    }

    /// Writes all of `bytes` to `fd`, retrying interrupted and short writes.
    ///
    /// When a non-blocking descriptor fills up after part of the line went out, waits up to
    /// `completionTimeoutMs` (with `poll`) for room to finish it, so a line is torn only when the
    /// reader is stalled for longer than that; a line that could not start is dropped at once.
    static func writeAll(_ fd: Int32, _ bytes: [UInt8], completionTimeoutMs: Int32 = 0) -> WriteOutcome {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { raw in
                write(fd, raw.baseAddress! + offset, raw.count - offset)
            }
            if n > 0 {
                offset += n
                continue
            }
            let code = n < 0 ? errno : EIO
            switch code {
            case EINTR:
                continue
            case EAGAIN, EWOULDBLOCK:
                if offset > 0, completionTimeoutMs > 0, waitWritable(fd, timeoutMs: completionTimeoutMs) {
                    continue
                }
                return .wouldBlock(bytesWritten: offset)
            case EPIPE:
                return .brokenPipe(bytesWritten: offset)
            default:
                return .failed(errno: code, bytesWritten: offset)
            }
        }
        return .written
    }

    /// Whether `fd` became writable within `timeoutMs`.
    static func waitWritable(_ fd: Int32, timeoutMs: Int32) -> Bool {
        var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        while true {
            let r = poll(&pfd, 1, timeoutMs)
            if r < 0 && errno == EINTR { continue }
            return r > 0 && pfd.revents & Int16(POLLOUT) != 0
        }
    }

    /// `open(2)`, retrying `EINTR`; returns the descriptor or -1 with `errno` set. (A wrapper so sinks
    /// with their own `close()` method can call the system functions unambiguously.)
    static func openFile(_ path: String, _ flags: Int32, mode: mode_t = 0) -> Int32 {
        while true {
            let fd = open(path, flags, mode)
            if fd < 0 && errno == EINTR { continue }
            return fd
        }
    }

    /// `close(2)`, ignoring its result: there is nothing useful to do about a failed close here.
    static func closeFile(_ fd: Int32) {
        _ = close(fd)
    }

    /// `strerror` as a Swift string, for error descriptions.
    static func describe(_ code: Int32) -> String {
        guard let message = strerror(code) else { return "errno \(code)" }
        return String(cString: message)
    }

    /// Ignores `SIGPIPE` process-wide so a vanished reader shows up as `EPIPE` on the write
    /// instead of killing the process. Idempotent.
    static func ignoreSIGPIPE() {
        _ = signal(SIGPIPE, SIG_IGN)
    }

    /// `path` split into its directory and last component, for naming a temporary sibling file.
    static func splitPath(_ path: String) -> (directory: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        let directory = String(path[..<slash])
        return (directory.isEmpty ? "/" : directory, String(path[path.index(after: slash)...]))
    }
}
