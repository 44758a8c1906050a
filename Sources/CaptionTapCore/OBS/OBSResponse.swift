/// A response (op 7) to one of our requests.
public struct OBSResponse: Sendable, Equatable {
    public var requestType: String
    public var requestID: String
    /// 100 success, 300 missing field, 501 output not running, 600 resource not found, …
    public var code: Int
    public var comment: String?
    public var data: JSONValue?

    public var succeeded: Bool { code == OBSWebSocketSession.StatusCode.success }

    public init(requestType: String, requestID: String, code: Int, comment: String? = nil, data: JSONValue? = nil) {
        self.requestType = requestType
        self.requestID = requestID
        self.code = code
        self.comment = comment
        self.data = data
    }
}
