import CaptionTapCore
import CaptionTapSinks
import Foundation

/// One shared file output (SRT, WebVTT, OBS text) seen from one source: calls are serialized
/// (each source's captions arrive on its own session thread) and the text says whose it is.
final class LabelledSink: CaptionSink, @unchecked Sendable {
    private static let lock = NSLock()
    let inner: CaptionSink
    let label: String

    init(_ inner: CaptionSink, label: String) {
        self.inner = inner
        self.label = label
    }

    func caption(_ caption: Caption) {
        var labelled = caption
        // Item ids are per session: make them unique across sources (the overlay keys partials on them).
        labelled.itemID = label + ":" + caption.itemID
        labelled.source = label
        if !CaptionFormat.singleLine(caption.text).isEmpty {
            labelled.text = CaptionFormat.textLine(caption.text, source: label)
        }
        Self.lock.withLock { inner.caption(labelled) }
    }

    func lost(_ turn: LostTurn) {
        var labelled = turn
        labelled.itemID = label + ":" + turn.itemID
        Self.lock.withLock { inner.lost(labelled) }
    }

    var showsPartials: Bool { inner.showsPartials }

    /// The shared sink is closed once, by its owner.
    func close() {}
}
