import CPipeWire

/// Reads the nodes of the graph and WirePlumber's default sink/source, once.
///
/// Two roundtrips: the first delivers every global (and lets us bind the "default" metadata
/// object), the second delivers that metadata's properties.
final class GraphSnapshot {
    private(set) var nodes: [UInt32: [String: String]] = [:]
    private(set) var defaults: [String: String] = [:]
    /// `application.name` of every connected client (WirePlumber shows up here).
    private(set) var clientApplications: [String] = []
    private var metadata: OpaquePointer?
    private let registryHook = UnsafeMutablePointer<spa_hook>.allocate(capacity: 1)
    private let metadataHook = UnsafeMutablePointer<spa_hook>.allocate(capacity: 1)
    private let registryEvents = UnsafeMutablePointer<pw_registry_events>.allocate(capacity: 1)
    private let metadataEvents = UnsafeMutablePointer<pw_metadata_events>.allocate(capacity: 1)
    private var registry: OpaquePointer?

    init() {
        registryHook.initialize(to: spa_hook())
        metadataHook.initialize(to: spa_hook())
        var r = pw_registry_events()
        r.version = UInt32(PW_VERSION_REGISTRY_EVENTS)
        r.global = { data, id, _, type, _, props in
            guard let data, let type else { return }
            let me = Unmanaged<GraphSnapshot>.fromOpaque(data).takeUnretainedValue()
            me.onGlobal(id: id, type: String(cString: type), props: props)
        }
        registryEvents.initialize(to: r)
        var m = pw_metadata_events()
        m.version = UInt32(PW_VERSION_METADATA_EVENTS)
        m.property = { data, subject, key, _, value in
            guard let data, subject == 0, let key else { return 0 }
            let me = Unmanaged<GraphSnapshot>.fromOpaque(data).takeUnretainedValue()
            me.defaults[String(cString: key)] = value.map { String(cString: $0) }
            return 0
        }
        metadataEvents.initialize(to: m)
    }

    deinit {
        registryHook.deallocate()
        metadataHook.deallocate()
        registryEvents.deallocate()
        metadataEvents.deallocate()
    }

    /// Collects the graph over `connection`. Returns false if the daemon did not answer.
    func collect(on connection: PipeWireConnection) -> Bool {
        connection.locked {
            guard let core = connection.core else { return false }
            let registry = pw_core_get_registry(core, UInt32(PW_VERSION_REGISTRY), 0)
            self.registry = registry
            _ = ct_pw_registry_add_listener(
                registry, registryHook, registryEvents, Unmanaged.passUnretained(self).toOpaque())
            defer {
                spa_hook_remove(registryHook)
                if metadata != nil {
                    spa_hook_remove(metadataHook)
                    pw_proxy_destroy(metadata)
                    metadata = nil
                }
                pw_proxy_destroy(registry)
                self.registry = nil
            }
            guard connection.roundtripLocked() else { return false }
            return connection.roundtripLocked()
        }
    }

    private func onGlobal(id: UInt32, type: String, props: UnsafePointer<spa_dict>?) {
        let dict = Self.dictionary(props)
        switch type {
        case "PipeWire:Interface:Node":
            nodes[id] = dict
        case "PipeWire:Interface:Client":
            if let app = dict["application.name"] { clientApplications.append(app) }
        case "PipeWire:Interface:Metadata" where dict["metadata.name"] == "default" && metadata == nil:
            guard let registry,
                let proxy = pw_registry_bind(registry, id, type, UInt32(PW_VERSION_METADATA), 0)
            else { return }
            metadata = OpaquePointer(proxy)
            metadataHook.update(repeating: spa_hook(), count: 1)
            _ = ct_pw_metadata_add_listener(
                metadata, metadataHook, metadataEvents, Unmanaged.passUnretained(self).toOpaque())
        default:
            break
        }
    }

    static func dictionary(_ props: UnsafePointer<spa_dict>?) -> [String: String] {
        guard let props, let items = props.pointee.items else { return [:] }
        var result: [String: String] = [:]
        for i in 0..<Int(props.pointee.n_items) {
            if let key = items[i].key, let value = items[i].value {
                result[String(cString: key)] = String(cString: value)
            }
        }
        return result
    }

    /// The capturable nodes, sinks first, with the defaults marked.
    var nodeInfos: [NodeInfo] {
        let defaultSink = Self.defaultName(defaults["default.audio.sink"])
        let defaultSource = Self.defaultName(defaults["default.audio.source"])
        return nodes.compactMap { id, props -> NodeInfo? in
            guard let mediaClass = props["media.class"], let kind = NodeInfo.kind(forMediaClass: mediaClass),
                let name = props["node.name"]
            else { return nil }
            let isDefault = (kind == .sink && name == defaultSink) || (kind == .source && name == defaultSource)
            return NodeInfo(
                id: id, serial: props["object.serial"] ?? String(id), name: name,
                description: props["node.description"] ?? props["media.name"] ?? props["node.nick"] ?? name,
                mediaClass: mediaClass, kind: kind, isDefault: isDefault,
                application: props["application.name"])
        }
        .sorted { ($0.kind.order, $0.id) < ($1.kind.order, $1.id) }
    }

    /// The metadata value is JSON like `{ "name": "alsa_output..." }`.
    static func defaultName(_ value: String?) -> String? {
        guard let value, let key = value.range(of: "\"name\"") else { return nil }
        let rest = value[key.upperBound...]
        guard let open = rest.firstIndex(of: "\""),
            let close = rest[rest.index(after: open)...].firstIndex(of: "\"")
        else { return nil }
        return String(rest[rest.index(after: open)..<close])
    }
}

extension NodeInfo.Kind {
    var order: Int {
        switch self {
        case .sink: 0
        case .source: 1
        case .stream: 2
        }
    }
}
