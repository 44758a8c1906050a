/// One node of the PipeWire graph as `captiontap devices` shows it.
public struct NodeInfo: Sendable, Codable, Equatable {
    public enum Kind: String, Sendable, Codable {
        case sink, source, stream
    }

    public var id: UInt32
    public var serial: String
    public var name: String
    public var description: String
    public var mediaClass: String
    public var kind: Kind
    /// The default sink or source, as WirePlumber's "default" metadata says.
    public var isDefault: Bool
    /// For application streams: the app's name (`application.name`).
    public var application: String?

    enum CodingKeys: String, CodingKey {
        case id, serial, name, description, kind, application
        case mediaClass = "media_class"
        case isDefault = "default"
    }

    /// Maps `media.class` to the kinds captiontap can capture; `nil` for nodes it can't.
    public static func kind(forMediaClass mediaClass: String) -> Kind? {
        switch mediaClass {
        case "Audio/Sink", "Audio/Duplex": .sink
        case "Audio/Source", "Audio/Source/Virtual": .source
        case "Stream/Output/Audio": .stream
        default: nil
        }
    }

    /// Whether `--target VALUE` names this node.
    public func matches(target: String) -> Bool { target == name || target == serial }
}
