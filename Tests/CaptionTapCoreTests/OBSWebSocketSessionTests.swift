import CaptionTapCore
import Foundation
import Testing

/// The obs-websocket v5 client state machine, fed the messages obs-websocket 5.1 sends.
@Suite struct OBSWebSocketSessionTests {
    /// A stand-in digest (the real one is tested with OpenSSL in CaptionTapTransportTests):
    /// the input reversed, so every step of the derivation shows in the result.
    static func fakeHash(_ bytes: [UInt8]) -> [UInt8] { bytes.reversed() }

    static let hello =
        #"{"op":0,"d":{"obsWebSocketVersion":"5.1.0","rpcVersion":1,"authentication":{"challenge":"CH","salt":"SA"}}}"#

    @Test func authenticationIsBase64OfTheHashOfTheSecretAndChallenge() {
        // secret = b64(rev("pwSA")) = b64("ASwp") = "QVN3cA=="; auth = b64(rev("QVN3cA==CH")).
        let auth = OBSWebSocketSession.authentication(
            password: "pw", salt: "SA", challenge: "CH", sha256: Self.fakeHash)
        #expect(auth == Data("HC==Ac3NVQ".utf8).base64EncodedString())
    }

    @Test func helloIdentifiedThenRequestsAndResponses() throws {
        var session = OBSWebSocketSession(password: "pw", sha256: Self.fakeHash)
        #expect(session.message(for: .sendStreamCaption("early")) == nil, "no requests before Identified")
        guard case .send(let text) = session.receive(Self.hello) else {
            Issue.record("expected Identify")
            return
        }
        let identify = try #require(JSONValue.parse(text))
        #expect(identify["op"]?.int == 1)
        #expect(identify["d"]?["rpcVersion"]?.int == 1)
        #expect(identify["d"]?["eventSubscriptions"]?.int == 0)
        #expect(identify["d"]?["authentication"]?.string != nil)
        #expect(!text.contains("pw"), "the password itself is never sent")
        #expect(session.serverVersion == "5.1.0")
        #expect(session.authenticationRequired)
        #expect(session.state == .awaitingIdentified)

        #expect(session.receive(#"{"op":2,"d":{"negotiatedRpcVersion":1}}"#) == .ready)
        #expect(session.state == .identified)

        let firstText = session.message(for: .sendStreamCaption("hello \"world\""))?.text
        let first = try #require(firstText)
        let request = try #require(JSONValue.parse(first))
        #expect(request["op"]?.int == 6)
        #expect(request["d"]?["requestType"]?.string == "SendStreamCaption")
        #expect(request["d"]?["requestData"]?["captionText"]?.string == "hello \"world\"")
        let id = try #require(request["d"]?["requestId"]?.string)
        #expect(id == "1")
        let secondText = session.message(for: .setText(input: "Captions", text: "a\nb"))?.text
        let second = try #require(JSONValue.parse(secondText ?? ""))
        #expect(second["d"]?["requestType"]?.string == "SetInputSettings")
        #expect(second["d"]?["requestData"]?["inputName"]?.string == "Captions")
        #expect(second["d"]?["requestData"]?["inputSettings"]?["text"]?.string == "a\nb")
        #expect(second["d"]?["requestData"]?["overlay"] == .bool(true))
        #expect(second["d"]?["requestId"]?.string != id, "request IDs are unique")
        #expect(session.outstanding == 2)

        // A 501 has no comment (obs-websocket 5.1); key on the code.
        let response = session.receive(
            #"{"op":7,"d":{"requestType":"SendStreamCaption","requestId":"\#(id)","requestStatus":{"result":false,"code":501}}}"#
        )
        #expect(
            response
                == .response(
                    OBSResponse(requestType: "SendStreamCaption", requestID: id, code: 501, comment: nil, data: nil)))
        #expect(session.outstanding == 1)
        // An answer without a code still answers its request (else its lane waits for good).
        let odd = session.receive(
            #"{"op":7,"d":{"requestType":"SetInputSettings","requestId":"2","requestStatus":{"result":true}}}"#)
        #expect(
            odd
                == .response(
                    OBSResponse(requestType: "SetInputSettings", requestID: "2", code: -1, comment: nil, data: nil)))
        #expect(session.outstanding == 0)
        // Events and unknown op codes are ignored once identified.
        #expect(session.receive(#"{"op":5,"d":{"eventType":"StreamStateChanged"}}"#) == .none)
        #expect(session.receive("not json") == .none)
    }

    @Test func noPasswordMeansNoAuthenticationField() throws {
        var session = OBSWebSocketSession(password: nil, sha256: Self.fakeHash)
        guard case .send(let text) = session.receive(Self.hello) else {
            Issue.record("expected Identify")
            return
        }
        #expect(JSONValue.parse(text)?["d"]?["authentication"] == nil)
        #expect(session.authenticationRequired)

        var open = OBSWebSocketSession(password: "unused", sha256: Self.fakeHash)
        guard case .send(let plain) = open.receive(#"{"op":0,"d":{"obsWebSocketVersion":"5.1.0","rpcVersion":1}}"#)
        else {
            Issue.record("expected Identify")
            return
        }
        #expect(JSONValue.parse(plain)?["d"]?["authentication"] == nil, "a server without auth gets none")
        #expect(!open.authenticationRequired)
    }

    @Test func outOfOrderMessagesFailTheConnection() {
        var session = OBSWebSocketSession(password: "pw", sha256: Self.fakeHash)
        guard case .fail = session.receive(#"{"op":7,"d":{}}"#) else {
            Issue.record("a response before Hello is a protocol error")
            return
        }
        #expect(session.state == .failed)
        var garbage = OBSWebSocketSession(password: "pw", sha256: Self.fakeHash)
        guard case .fail = garbage.receive("<html>") else {
            Issue.record("non-JSON before Identified is a protocol error")
            return
        }
    }
}
