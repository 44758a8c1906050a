import ArgumentParser

/// `captiontap`: live captions for anything PipeWire can hear.
struct CaptionTapCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "captiontap",
        abstract: "Live captions for any PipeWire audio stream.",
        subcommands: [RunCommand.self, ServeCommand.self, DevicesCommand.self, DoctorCommand.self],
        defaultSubcommand: RunCommand.self
    )

    /// `--virtual-sink` takes an optional name; argument-parser options always take a value,
    /// so a bare `--virtual-sink` gets the default name spelled out before parsing.
    static func normalise(_ args: [String]) -> [String] {
        var out: [String] = []
        var i = 0
        while i < args.count {
            out.append(args[i])
            if args[i] == "--virtual-sink" {
                let next = i + 1 < args.count ? args[i + 1] : nil
                if next == nil || next!.hasPrefix("-") {
                    out.append(RunCommand.defaultVirtualSinkName)
                }
            }
            i += 1
        }
        return out
    }
}
