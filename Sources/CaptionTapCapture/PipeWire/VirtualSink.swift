import CPipeWire
import Foundation

/// A sink that apps can be routed to, made by loading `libpipewire-module-loopback` into our
/// own context (as pw-loopback does): its sink side is what we capture (through the monitor),
/// its playback side forwards to the default output so people still hear the audio. It lives
/// exactly as long as the module, so it disappears when captiontap exits.
final class VirtualSink {
    let name: String
    private var module: OpaquePointer?
    private let hook = UnsafeMutablePointer<spa_hook>.allocate(capacity: 1)
    private let events = UnsafeMutablePointer<pw_impl_module_events>.allocate(capacity: 1)

    init(name: String) {
        self.name = name
        hook.initialize(to: spa_hook())
        var e = pw_impl_module_events()
        e.version = UInt32(PW_VERSION_IMPL_MODULE_EVENTS)
        // The module destroys itself when the daemon goes away; forget it then, never free it twice.
        e.destroy = { data in
            guard let data else { return }
            let me = Unmanaged<VirtualSink>.fromOpaque(data).takeUnretainedValue()
            spa_hook_remove(me.hook)
            me.module = nil
        }
        events.initialize(to: e)
    }

    deinit {
        hook.deallocate()
        events.deallocate()
    }

    var isLoaded: Bool { module != nil }

    /// Loads the module. Call with the loop lock held.
    func loadLocked(context: OpaquePointer) throws(CaptureError) {
        guard module == nil else { return }
        let quoted = name.replacingOccurrences(of: "\"", with: "")
        let args = """
            { node.description = "\(quoted)" audio.position = [ FL FR ]
              capture.props = { node.name = "\(quoted)" media.class = "Audio/Sink" }
              playback.props = { node.name = "\(quoted).playback" node.description = "\(quoted) pass-through" } }
            """
        guard let module = pw_context_load_module(context, "libpipewire-module-loopback", args, nil) else {
            throw .pipewire(call: "loading libpipewire-module-loopback", code: -Int32(errno))
        }
        self.module = module
        hook.update(repeating: spa_hook(), count: 1)
        pw_impl_module_add_listener(module, hook, events, Unmanaged.passUnretained(self).toOpaque())
    }

    /// Unloads the module (the sink vanishes from the graph). Call with the loop lock held.
    func unloadLocked() {
        guard let module else { return }
        // The destroy event clears `self.module`.
        pw_impl_module_destroy(module)
        self.module = nil
    }
}
