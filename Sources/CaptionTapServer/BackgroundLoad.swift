import Foundation
import Synchronization

/// A value made once, on a thread of its own, so that nothing waits for it at start.
///
/// The embedded recognizer takes over half a second to load. Capture, voice detection and the
/// Realtime session need none of it, so they start at once while it loads; the first decode
/// waits for it (``wait()``), and the audio of turns that end meanwhile is held by their
/// sessions, so none is lost.
public final class BackgroundLoad<Value: Sendable, Failure: Error>: Sendable {
    private let result = Mutex<Result<Value, Failure>?>(nil)
    private let finished = DispatchGroup()

    /// Starts making the value on a thread called `name`. `made` is told the outcome and how
    /// many seconds it took, on that thread, before any ``wait()`` returns.
    public init(
        name: String, _ make: @escaping @Sendable () throws(Failure) -> Value,
        made: @escaping @Sendable (Result<Value, Failure>, _ seconds: Double) -> Void = { _, _ in }
    ) {
        finished.enter()
        let started = DispatchTime.now().uptimeNanoseconds
        let thread = Thread { [self] in
            let outcome: Result<Value, Failure>
            do throws(Failure) { outcome = .success(try make()) } catch { outcome = .failure(error) }
            result.withLock { $0 = outcome }
            made(outcome, Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9)
            finished.leave()
        }
        thread.name = name
        thread.start()
    }

    /// Whether the value is made (or failed to be): ``wait()`` would return at once.
    public var isFinished: Bool { result.withLock { $0 != nil } }

    /// The value or why it could not be made, waiting for it if need be.
    public func wait() -> Result<Value, Failure> {
        finished.wait()
        return result.withLock { $0! }
    }
}
