import CWebSockets
import Foundation

/// Plain HTTP on the WebSocket port (``Options/httpHandler``: `/healthz`, `/metrics`, the
/// overlay's page), on the service thread.
extension WebSocketServer {
    /// Answers a plain HTTP request through ``Options/httpHandler``: the headers now, the body
    /// when the socket is writable. Errors get a status page and close the connection.
    func respond(_ wsi: OpaquePointer?, key: UInt) -> Int32 {
        guard let handler = options.httpHandler else { return 0 }
        guard let uri = header(wsi, WSI_TOKEN_GET_URI) else {
            _ = lws_return_http_status(wsi, 405, nil)
            return -1
        }
        let path = String(uri.prefix { $0 != "?" })
        guard let response = handler(path) else {
            _ = lws_return_http_status(wsi, 404, nil)
            return -1
        }
        var headers = [UInt8](repeating: 0, count: ct_lws_pre() + 1024)
        let failed = headers.withUnsafeMutableBufferPointer { buf -> Bool in
            let start = buf.baseAddress! + ct_lws_pre()
            let end = buf.baseAddress! + buf.count - 1
            var p: UnsafeMutablePointer<UInt8>? = start
            let length = lws_filepos_t(response.body.count)
            if lws_add_http_common_headers(wsi, response.status, response.contentType, length, &p, end) != 0 {
                return true
            }
            let noStore = Array("no-store".utf8)
            if lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL, noStore, Int32(noStore.count), &p, end)
                != 0
            {
                return true
            }
            return lws_finalize_write_http_header(wsi, start, &p, end) != 0
        }
        if failed { return -1 }
        httpBodies[key] = response.body
        lws_callback_on_writable(wsi)
        return 0
    }

    /// The body ``respond(_:key:)`` held back, once the socket is writable.
    func writeHTTPBody(_ wsi: OpaquePointer?, _ body: [UInt8]) -> Int32 {
        frame.removeAll(keepingCapacity: true)
        frame.append(contentsOf: repeatElement(0, count: ct_lws_pre()))
        frame.append(contentsOf: body)
        // lws keeps whatever the socket does not take now and sends it before anything else.
        let written = frame.withUnsafeMutableBufferPointer { buf in
            lws_write(wsi, buf.baseAddress! + ct_lws_pre(), body.count, LWS_WRITE_HTTP_FINAL)
        }
        if written < body.count { return -1 }
        return lws_http_transaction_completed(wsi) != 0 ? -1 : 0
    }
}
