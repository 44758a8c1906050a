/// One request to obs-websocket: a request type and its `requestData`.
public struct OBSRequest: Sendable, Equatable {
    public var type: String
    public var data: JSONValue
    /// The least time, in seconds, before the next request of its lane goes out (not sent to
    /// OBS): a piece of a long stream caption is read before the next replaces it.
    public var holdSeconds = 0.0

    public init(type: String, data: JSONValue) {
        self.type = type
        self.data = data
    }

    /// Sends `text` as a CEA-608 caption in the stream (code 501 while OBS is not streaming).
    public static func sendStreamCaption(_ text: String) -> OBSRequest {
        OBSRequest(type: "SendStreamCaption", data: ["captionText": .string(text)])
    }

    /// Sets a Text source's text, leaving its other settings (font, colour) as they are.
    public static func setText(input: String, text: String) -> OBSRequest {
        OBSRequest(
            type: "SetInputSettings",
            data: ["inputName": .string(input), "inputSettings": ["text": .string(text)], "overlay": true])
    }
}
