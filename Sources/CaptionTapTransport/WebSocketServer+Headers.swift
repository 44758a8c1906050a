import CWebSockets
import Foundation
import Synchronization

/// Reading the handshake on the service thread: headers lws knows, custom ones, the query.
extension WebSocketServer {
    func header(_ wsi: OpaquePointer?, _ token: lws_token_indexes) -> String? {
        let length = Int(lws_hdr_total_length(wsi, token))
        guard length > 0 else { return nil }
        var buffer = [CChar](repeating: 0, count: length + 1)
        let n = lws_hdr_copy(wsi, &buffer, Int32(buffer.count), token)
        guard n >= 0 else { return nil }
        return String(decoding: buffer.prefix(Int(n)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// A header lws has no token for, by lower-case name; nil when absent or over 256 bytes.
    func customHeader(_ wsi: OpaquePointer?, _ name: String) -> String? {
        let key = name + ":"
        let length = Int(lws_hdr_custom_length(wsi, key, Int32(key.utf8.count)))
        guard length > 0, length <= 256 else { return nil }
        var buffer = [CChar](repeating: 0, count: length + 1)
        let n = lws_hdr_custom_copy(wsi, &buffer, Int32(buffer.count), key, Int32(key.utf8.count))
        guard n >= 0 else { return nil }
        return String(decoding: buffer.prefix(Int(n)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    func query(_ wsi: OpaquePointer?) -> String {
        var parts: [String] = []
        var buffer = [CChar](repeating: 0, count: 1024)
        var index: Int32 = 0
        while case let n = lws_hdr_copy_fragment(wsi, &buffer, Int32(buffer.count), WSI_TOKEN_HTTP_URI_ARGS, index),
            n > 0
        {
            parts.append(String(decoding: buffer.prefix(Int(n)).map { UInt8(bitPattern: $0) }, as: UTF8.self))
            index += 1
        }
        return parts.joined(separator: "&")
    }
}
