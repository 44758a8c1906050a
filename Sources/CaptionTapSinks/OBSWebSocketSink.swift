import CaptionTapCore

/// Captions into OBS over obs-websocket: every final as a CEA-608 stream caption
/// (`SendStreamCaption`; a long one in pieces, ``StreamCaption``), and, with a text source named, the last few lines into that Text
/// source's `text` (`SetInputSettings`, overlaying its other settings).
///
/// The sink only decides what to send; `send` (the connection, `OBSClient`) must never block
/// and drops requests while OBS is away. The text source shows the same lines as
/// `OBSTextFileSink`: at most `lines`, oldest first, the partial of the turn being spoken as the
/// last line; unchanged text is not re-sent. Stream captions carry finals only: a broadcast
/// caption cannot be rewritten. Used from one thread at a time, like every `CaptionSink`.
public final class OBSWebSocketSink: CaptionSink {
    public let textSource: String?
    public let lines: Int
    public let streamCaptions: Bool

    private let send: (OBSRequest) -> Void
    private var shown: ShownCaptions<String>
    private var shownText: String?

    public init(textSource: String?, lines: Int = 2, streamCaptions: Bool = true, send: @escaping (OBSRequest) -> Void)
    {
        self.textSource = textSource
        self.lines = max(1, lines)
        shown = ShownCaptions(keep: self.lines)
        self.streamCaptions = streamCaptions
        self.send = send
    }

    public func caption(_ caption: Caption) {
        let text = CaptionFormat.singleLine(caption.text)
        if caption.isFinal, !text.isEmpty, streamCaptions {
            let pieces = StreamCaption.pieces(text)
            for (k, piece) in pieces.enumerated() {
                var request = OBSRequest.sendStreamCaption(piece)
                if k < pieces.count - 1 { request.holdSeconds = StreamCaption.readingSeconds(piece) }
                send(request)
            }
        }
        shown.apply(caption, line: text.isEmpty ? nil : text)
        guard let textSource else { return }
        let content = shown.lines(lines).joined(separator: "\n")
        guard content != shownText else { return }
        shownText = content
        send(.setText(input: textSource, text: content))
    }

    /// The connection is finished by its owner (it waits for answers and reports counts).
    public func close() {}
}
