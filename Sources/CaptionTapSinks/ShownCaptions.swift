import CaptionTapCore

/// What a caption display shows: the last finals and the current partial, newest last, the way
/// OBS's Text source and the browser overlay show captions.
///
/// The partial is the newest (latest wins). A final ends its own turn's partial, not a later
/// turn's that is already on screen; an empty final adds no line; an empty partial is a turn
/// that turned out to have no words, and takes down only that turn's partial. `Line` is what the
/// display keeps per caption (its text, or the message a page is sent).
public struct ShownCaptions<Line> {
    /// The newest finals, oldest first, at most `keep`.
    public private(set) var finals: [Line] = []
    public private(set) var partial: (itemID: String, line: Line)?
    public let keep: Int

    public init(keep: Int) {
        self.keep = max(1, keep)
    }

    /// Takes `caption` in; `line` is what to show for it, nil when it has no text.
    public mutating func apply(_ caption: Caption, line: Line?) {
        if caption.isFinal {
            if partial?.itemID == caption.itemID { partial = nil }
            guard let line else { return }
            finals.append(line)
            if finals.count > keep { finals.removeFirst(finals.count - keep) }
        } else if let line {
            partial = (caption.itemID, line)
        } else if partial?.itemID == caption.itemID {
            partial = nil
        }
    }

    /// The newest `count` lines on screen: finals, then the partial.
    public func lines(_ count: Int) -> [Line] {
        guard let partial else { return Array(finals.suffix(count)) }
        return finals.suffix(max(0, count - 1)) + [partial.line]
    }
}
