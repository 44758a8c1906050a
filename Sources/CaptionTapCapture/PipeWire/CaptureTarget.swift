/// What `captiontap run` listens to.
public enum CaptureTarget: Sendable, Equatable, CustomStringConvertible {
    /// The monitor of the default sink: everything the machine plays.
    case defaultOutput
    /// A node by `node.name` or `object.serial`: a sink (via its monitor), a source, or an app stream.
    case node(String)
    /// A sink that captiontap creates, named `name`, passed through to the default output.
    case virtualSink(name: String)

    public var description: String {
        switch self {
        case .defaultOutput: "monitor of the default sink"
        case .node(let name): "node '\(name)'"
        case .virtualSink(let name): "virtual sink '\(name)'"
        }
    }
}
