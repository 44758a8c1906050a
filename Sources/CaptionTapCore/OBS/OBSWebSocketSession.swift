import Foundation

/// The client side of the obs-websocket v5 protocol (RPC version 1), without I/O or clock: the
/// transport feeds it every text message and sends what it returns.
///
/// ```
/// server: Hello (op 0) {rpcVersion, authentication? {challenge, salt}}
/// client: Identify (op 1) {rpcVersion: 1, authentication?, eventSubscriptions: 0}
/// server: Identified (op 2)        (or closes: 4009 wrong password, 4010 RPC version)
/// client: Request (op 6) {requestType, requestId, requestData}
/// server: RequestResponse (op 7) {requestType, requestId, requestStatus {result, code, comment?}}
/// ```
///
/// The SHA-256 function is passed in so this stays pure Swift (the transport uses OpenSSL's).
/// One value per connection; used from one thread at a time.
public struct OBSWebSocketSession {
    public enum OpCode {
        public static let hello = 0
        public static let identify = 1
        public static let identified = 2
        public static let event = 5
        public static let request = 6
        public static let requestResponse = 7
    }

    public enum StatusCode {
        public static let success = 100
        public static let outputNotRunning = 501
        public static let resourceNotFound = 600
    }

    /// WebSocket close codes obs-websocket uses to refuse a client.
    public enum CloseCode {
        public static let authenticationFailed = 4009
        public static let unsupportedRPCVersion = 4010
    }

    public static let rpcVersion = 1

    public enum State: Equatable, Sendable {
        case awaitingHello
        case awaitingIdentified
        case identified
        /// A protocol violation; the transport should close the connection.
        case failed
    }

    public enum Action: Equatable, Sendable {
        /// Send this text (the Identify message).
        case send(String)
        /// Identified: requests may be sent now.
        case ready
        case response(OBSResponse)
        /// The server broke the protocol; close the connection. The reason never contains the password.
        case fail(String)
        /// Nothing to do (events, unknown op codes, unrelated responses).
        case none
    }

    public private(set) var state: State = .awaitingHello
    /// The server's obs-websocket version, from Hello.
    public private(set) var serverVersion: String?
    /// Whether the server asked for a password.
    public private(set) var authenticationRequired = false
    /// Requests sent and not yet answered.
    public private(set) var outstanding = 0

    private let password: String?
    private let sha256: ([UInt8]) -> [UInt8]
    private var nextRequestID = 1

    /// `password` nil when none was given (Identify then carries no authentication, and a server that
    /// requires one closes with 4009).
    public init(password: String?, sha256: @escaping ([UInt8]) -> [UInt8]) {
        self.password = password
        self.sha256 = sha256
    }

    /// base64(sha256(base64(sha256(password + salt)) + challenge)), as obs-websocket 5 defines it.
    public static func authentication(
        password: String, salt: String, challenge: String,
        sha256: ([UInt8]) -> [UInt8]
    ) -> String {
        let secret = Data(sha256(Array((password + salt).utf8))).base64EncodedString()
        return Data(sha256(Array((secret + challenge).utf8))).base64EncodedString()
    }

    /// Handles one text message from the server.
    public mutating func receive(_ text: String) -> Action {
        guard let message = JSONValue.parse(text), let op = message["op"]?.int, let d = message["d"] else {
            return state == .identified ? .none : fail("obs-websocket sent a message that is not {op, d} JSON")
        }
        switch (state, op) {
        case (.awaitingHello, OpCode.hello):
            serverVersion = d["obsWebSocketVersion"]?.string
            var identify: [(String, JSONValue)] = [("rpcVersion", .number(Double(Self.rpcVersion)))]
            if let auth = d["authentication"], let challenge = auth["challenge"]?.string,
                let salt = auth["salt"]?.string
            {
                authenticationRequired = true
                if let password {
                    let response = Self.authentication(
                        password: password, salt: salt, challenge: challenge, sha256: sha256)
                    identify.append(("authentication", .string(response)))
                }
            }
            identify.append(("eventSubscriptions", 0))  // captions need no events
            state = .awaitingIdentified
            return .send(JSONValue.object([("op", .number(Double(OpCode.identify))), ("d", .object(identify))]).text)
        case (.awaitingIdentified, OpCode.identified):
            state = .identified
            return .ready
        case (.identified, OpCode.requestResponse):
            guard let type = d["requestType"]?.string, let id = d["requestId"]?.string,
                let status = d["requestStatus"]
            else { return .none }
            outstanding = max(0, outstanding - 1)
            // Without a code it still answers its request (-1: a failure of unknown kind), so
            // its lane is not held until the next reconnection.
            return .response(
                OBSResponse(
                    requestType: type, requestID: id, code: status["code"]?.int ?? -1,
                    comment: status["comment"]?.string, data: d["responseData"]))
        case (.identified, _):
            return .none  // events, batch responses: not ours
        default:
            return fail(
                "obs-websocket sent op \(op) while \(state == .awaitingHello ? "waiting for Hello" : "identifying")")
        }
    }

    /// The Request (op 6) message for `request` and its fresh request ID; nil until identified.
    public mutating func message(for request: OBSRequest) -> (id: String, text: String)? {
        guard state == .identified else { return nil }
        let id = String(nextRequestID)
        nextRequestID += 1
        outstanding += 1
        let d: JSONValue = .object([
            ("requestType", .string(request.type)), ("requestId", .string(id)),
            ("requestData", request.data),
        ])
        return (id, JSONValue.object([("op", .number(Double(OpCode.request))), ("d", d)]).text)
    }

    private mutating func fail(_ reason: String) -> Action {
        state = .failed
        return .fail(reason)
    }
}
