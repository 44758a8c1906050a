import CaptionTapCore
import CaptionTapTransport
import Testing

/// obs-websocket's authentication string with OpenSSL's SHA-256, against vectors computed
/// independently with Python's hashlib.
@Suite struct OBSAuthenticationTests {
    @Test func sha256MatchesTheStandardVector() {
        let hex = SHA256.digest(Array("abc".utf8)).map { String(format: "%02x", $0) }.joined()
        #expect(hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func authenticationStringMatchesAnIndependentComputation() {
        // python3: s = b64(sha256((pw + salt).encode())); b64(sha256((s + challenge).encode()))
        let auth = OBSWebSocketSession.authentication(
            password: "s3cret pässword", salt: "lM1GncleQOaCu9lT1yeUZhFYnqhsLLP1G5lAGo3ixaI=",
            challenge: "+IxH4CnCiqpX1rM9scsNynZzbOe4KhDeYcTNS3PDaeY=", sha256: SHA256.digest)
        #expect(auth == "nSzyJYYuaLjmiG7KLABZ5X20SJCi/I5cSOfglduH4xQ=")
    }

    @Test func identifyCarriesTheAuthenticationString() throws {
        var session = OBSWebSocketSession(password: "s3cret pässword", sha256: SHA256.digest)
        let hello =
            #"{"op":0,"d":{"obsWebSocketVersion":"5.1.0","rpcVersion":1,"authentication":{"challenge":"+IxH4CnCiqpX1rM9scsNynZzbOe4KhDeYcTNS3PDaeY=","salt":"lM1GncleQOaCu9lT1yeUZhFYnqhsLLP1G5lAGo3ixaI="}}}"#
        guard case .send(let text) = session.receive(hello) else {
            Issue.record("Hello must be answered with Identify")
            return
        }
        let identify = try #require(JSONValue.parse(text))
        #expect(identify["op"]?.int == 1)
        #expect(identify["d"]?["authentication"]?.string == "nSzyJYYuaLjmiG7KLABZ5X20SJCi/I5cSOfglduH4xQ=")
    }
}
