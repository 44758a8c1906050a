import ArgumentParser
import CaptionTapOverlay
import CaptionTapSinks
import Foundation
import Logging

extension StdoutFormat: ExpressibleByArgument {}

/// Whether partial captions come from the local recognizer while a turn is spoken.
enum LiveMode: String, ExpressibleByArgument, CaseIterable {
    /// On when the embedded recognizer is installed.
    case auto
    case on, off
}

/// Where captions go. All sinks can be combined in one run.
struct OutputOptions: ParsableArguments {
    @Option(help: "Captions on stdout: text or jsonl.")
    var format: StdoutFormat = .text

    @Flag(help: "JSONL: also print partial captions when stdout is not a terminal (always, with live captions).")
    var partials = false

    @Option(
        help:
            "Live captions while people speak, decoded by the embedded recognizer for any backend: auto (on when it is installed), on or off."
    )
    var live: LiveMode = .auto

    @Option(
        help: ArgumentHelp(
            "Write final captions, one per line, to this FIFO (created 0600 if missing); never blocks.",
            valueName: "path"))
    var fifo: String?

    @Option(name: .customLong("fifo-format"), help: "FIFO lines: text or jsonl.")
    var fifoFormat: StdoutFormat = .text

    @Option(help: ArgumentHelp("Write SubRip subtitles, valid after every cue.", valueName: "file.srt"))
    var srt: String?

    @Option(help: ArgumentHelp("Write WebVTT subtitles, valid after every cue.", valueName: "file.vtt"))
    var vtt: String?

    @Option(
        name: .customLong("obs-text"),
        help: ArgumentHelp(
            "Keep the last lines in this file for OBS's Text source (\"Read from file\"), replaced atomically.",
            valueName: "file"))
    var obsText: String?

    @Option(name: .customLong("obs-lines"), help: "Lines kept in the --obs-text file and shown in --obs-text-source.")
    var obsLines = 2

    @Option(
        help: ArgumentHelp(
            "Serve a caption page for an OBS Browser Source (or any browser) at http://HOST:PORT/; HOST defaults to 127.0.0.1, port 0 picks one.",
            valueName: "host:port"))
    var overlay: String?

    @Flag(
        name: .customLong("overlay-allow-remote"),
        help: "Let --overlay bind an address other than loopback (anyone who can reach it can read the captions).")
    var overlayAllowRemote = false

    func validate() throws {
        guard (1...20).contains(obsLines) else { throw ValidationError("--obs-lines must be 1–20") }
        do { _ = try overlayAddress() } catch { throw ValidationError(error.message) }
    }

    /// The checked `--overlay` address, if any.
    func overlayAddress() throws(CLIError) -> OverlayAddress? {
        guard let overlay else { return nil }
        guard let address = OverlayAddress(parsing: overlay) else {
            throw .usage("--overlay must be HOST:PORT or PORT (HOST an IPv4 address or localhost), not '\(overlay)'")
        }
        if !address.isLoopback && !overlayAllowRemote {
            throw .usage(
                "--overlay \(overlay) is not a loopback address: anyone who can reach it could read the captions; add --overlay-allow-remote if that is intended"
            )
        }
        return address
    }

    /// The line outputs (stdout, FIFO), labelled with the source when there are several. With
    /// several sources a terminal gets finals only: two partial lines cannot share one row.
    func makeSinks(label: String?, severalSources: Bool, live: Bool) throws(CLIError) -> [CaptionSink] {
        var sinks: [CaptionSink] = []
        let onTerminal = isatty(1) == 1
        // JSONL carries live partials (`"final": false`, with their stable part) whenever there are any.
        sinks.append(
            StdoutSink(
                format: format, includePartials: partials || live || (onTerminal && !severalSources),
                sourceLabel: label,
                isTerminal: severalSources ? false : nil))
        do {
            if let fifo { sinks.append(try FIFOSink(path: fifo, format: fifoFormat, sourceLabel: label)) }
        } catch {
            throw .usage(error.description)
        }
        return sinks
    }

    /// The file outputs and the overlay, one of each however many sources there are.
    func makeSharedFileSinks(logger: Logger) throws(CLIError) -> [CaptionSink] {
        var sinks: [CaptionSink] = []
        do {
            if let srt { sinks.append(try SubtitleFileSink(path: srt, format: .srt)) }
            if let vtt { sinks.append(try SubtitleFileSink(path: vtt, format: .vtt)) }
            if let obsText { sinks.append(try OBSTextFileSink(path: obsText, lines: obsLines)) }
        } catch {
            throw .usage(error.description)
        }
        if let address = try overlayAddress() {
            do {
                let overlay = try OverlaySink(address: address)
                sinks.append(overlay)
                logger.info("overlay: \(overlay.url) (add as an OBS Browser Source)")
            } catch {
                throw .failure("--overlay: \(error.description)")
            }
        }
        return sinks
    }
}
