import CWebSockets

/// The WebSocket transport (libwebsockets). The client and server arrive with the
/// out-of-band transcription work; for now this proves the library links.
public enum Transport {
    /// libwebsockets' version string, e.g. "4.1.6".
    public static var libraryVersion: String { String(cString: lws_get_library_version()) }
}
