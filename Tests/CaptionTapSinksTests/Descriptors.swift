import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Raw descriptor helpers for driving sinks through pipes and FIFOs without blocking the test.
enum Descriptors {
    /// A pipe; both ends close-on-exec. The caller closes them.
    static func pipe() -> (read: Int32, write: Int32) {
        var fds: [Int32] = [-1, -1]
        let result = fds.withUnsafeMutableBufferPointer { Glibc.pipe($0.baseAddress!) }
        precondition(result == 0, "pipe failed: \(errno)")
        return (fds[0], fds[1])
    }

    static func setNonBlocking(_ fd: Int32) {
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
    }

    /// Everything readable from `fd` right now, without blocking: reads until the pipe is empty
    /// (`EAGAIN`) or at end of file. Writers in these tests have finished their `write(2)` before
    /// this is called, so "right now" is everything they wrote.
    static func readAvailable(_ fd: Int32) -> [UInt8] {
        setNonBlocking(fd)
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if n > 0 {
                out += buffer[0..<n]
            } else if n < 0 && errno == EINTR {
                continue
            } else {
                return out
            }
        }
    }

    static func readAvailableString(_ fd: Int32) -> String {
        String(decoding: readAvailable(fd), as: UTF8.self)
    }

    /// Opens the read end of a FIFO without waiting for a writer.
    static func openFIFOReader(_ path: String) -> Int32 {
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        precondition(fd >= 0, "cannot open FIFO reader: \(errno)")
        return fd
    }

    /// The inode number of `path`, or nil if it cannot be stat'ed.
    static func inode(_ path: String) -> UInt64? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return UInt64(info.st_ino)
    }

    static func fileString(_ path: String) -> String? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }
}
