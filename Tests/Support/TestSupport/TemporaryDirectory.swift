import Foundation

/// Fresh directories for tests, which run in parallel: one per test or suite.
public final class TemporaryDirectory {
    public let url: URL
    public var path: String { url.path }

    /// A directory removed when the value is released.
    public init() throws {
        url = try Self.create()
    }

    deinit {
        try? FileManager.default.removeItem(at: url)
    }

    /// A directory that outlives the test, for processes and files a failure report points at.
    public static func create() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("captiontap-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    public func file(_ name: String) -> String {
        url.appendingPathComponent(name).path
    }

    /// The names in the directory, sorted.
    public func contents() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
    }
}
