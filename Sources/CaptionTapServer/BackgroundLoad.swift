import Foundation
import Synchronization

/// A value made once, on a thread of its own, so that nothing waits for it at start.
///
/// The embedded recognizer takes about a second to load. Capture, voice detection and the
/// Realtime session need none of it, so they start at once while it loads; the first decode
/// waits for it (``wait()``), and the audio of turns that end meanwhile is held by their
/// sessions, so none is lost.
public final class BackgroundLoad<Value: Sendable, Failure: Error>: Sendable {
    private let result = Mutex<Result<Value, Failure>?>(nil)
    private let finished = DispatchGroup()
    private let started = RealtimeServer.seconds()
    private let took = Mutex<Double?>(nil)

    /// Starts making the value on a thread called `name`.
    public init(name: String, _ make: @escaping @Sendable () throws(Failure) -> Value) {
        finished.enter()
        let thread = Thread { [self] in
            let made: Result<Value, Failure>
            do throws(Failure) { made = .success(try make()) } catch { made = .failure(error) }
            took.withLock { $0 = RealtimeServer.seconds() - started }
            result.withLock { $0 = made }
            finished.leave()
        }
        thread.name = name
        thread.start()
    }

    /// Whether the value (or its failure) is there, without waiting.
    public var isFinished: Bool { result.withLock { $0 != nil } }

    /// Seconds from start until the value was made, once it is.
    public var seconds: Double? { took.withLock { $0 } }

    /// The value or why it could not be made, waiting for it if need be.
    public func wait() -> Result<Value, Failure> {
        finished.wait()
        return result.withLock { $0! }
    }
}
