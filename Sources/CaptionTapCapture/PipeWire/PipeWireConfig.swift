import CPipeWire
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// An application config file found and read by libpipewire itself, the way pw-loopback and
/// pipewire-pulse find theirs.
///
/// `pw_conf_load_conf(NULL, name)` searches `$PIPEWIRE_CONFIG_DIR` if set, otherwise
/// `$XDG_CONFIG_HOME/pipewire` (or `~/.config/pipewire`), `/etc/pipewire` and
/// `/usr/share/pipewire`, and takes the first `name` it finds; it then reads the `name.d/*.conf`
/// drop-ins of every one of those directories, in name order. An absolute `name` is read as it is,
/// with drop-ins from `name.d/` beside it. This is the loader `pw_context_new` uses for
/// `config.name`; it is called directly so that reading captiontap's settings creates no context
/// (no modules, no `context.exec`, no data thread) and needs no daemon.
public struct PipeWireConfig: Sendable {
    public struct Section: Sendable, Equatable {
        /// The file the section came from.
        public var path: String
        /// The section's text as libpipewire stored it (a `{ ... }` object).
        public var text: String
    }

    /// Every file libpipewire read, in the order it applies them: the main file, then drop-ins.
    public var files: [String]
    /// The requested section from each file that has it, in the same order.
    public var sections: [Section]
    /// The sections' keys merged by libpipewire (`pw_properties_update_string`, as
    /// `pw_context_conf_update_props` does): a later file replaces a key, `null` removes it.
    public var merged: [String: String]

    public enum LoadError: Error, Sendable {
        /// The file is on no search path (or, for an absolute name, does not exist).
        case notFound
        case failed(code: Int32)
    }

    /// Loads `name` and returns `section` from it and its drop-ins.
    public static func load(name: String, section: String) throws(LoadError) -> PipeWireConfig {
        pw_init(nil, nil)
        guard let conf = ct_pw_properties_new() else { throw .failed(code: -ENOMEM) }
        defer { pw_properties_free(conf) }
        // libpipewire warns on stderr when PIPEWIRE_CONFIG_DIR lacks the file; a missing app
        // config is normal here, so only errors are let through while loading (unless the user
        // asked for more with PIPEWIRE_DEBUG).
        let level = ct_pw_log_level()
        if level.rawValue <= SPA_LOG_LEVEL_WARN.rawValue { pw_log_set_level(SPA_LOG_LEVEL_ERROR) }
        let result = pw_conf_load_conf(nil, name, conf)
        pw_log_set_level(level)
        if result == -ENOENT { throw .notFound }
        if result < 0 { throw .failed(code: result) }

        var files: [String] = []
        var sections: [Section] = []
        let dict = conf.pointee.dict
        var path = ""
        // Keys are `config.path` and `<section>` for the main file, `override.L.N.config.path`
        // and `override.L.N.<section>` for each drop-in, in the order they were read (the same
        // walk pw_context_conf_section_for_each does).
        for i in 0..<Int(dict.n_items) {
            let item = dict.items[i]
            guard let keyPointer = item.key, let valuePointer = item.value else { continue }
            let key = String(cString: keyPointer)
            let value = String(cString: valuePointer)
            if key == "config.path" || (key.hasPrefix("override.") && key.hasSuffix(".config.path")) {
                path = value
                files.append(value)
            } else if key == section || (key.hasPrefix("override.") && key.hasSuffix("." + section)) {
                sections.append(Section(path: path, text: value))
            }
        }

        guard let props = ct_pw_properties_new() else { throw .failed(code: -ENOMEM) }
        defer { pw_properties_free(props) }
        for section in sections {
            _ = pw_properties_update_string(props, section.text, section.text.utf8.count)
        }
        var merged: [String: String] = [:]
        for i in 0..<Int(props.pointee.dict.n_items) {
            let item = props.pointee.dict.items[i]
            guard let key = item.key, let value = item.value else { continue }
            merged[String(cString: key)] = String(cString: value)
        }
        return PipeWireConfig(files: files, sections: sections, merged: merged)
    }
}
