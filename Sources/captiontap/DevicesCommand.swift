import ArgumentParser
import CaptionTapCapture
import Foundation

/// `captiontap devices`: what can be captured, and what to pass to `--target`.
struct DevicesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devices",
        abstract: "List sinks, sources and application streams (names and serials for --target)."
    )

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Print a JSON array for scripts instead of a table.")
    var json = false

    func run() throws {
        _ = global.bootstrapLogging()
        let nodes: [NodeInfo]
        do {
            nodes = try PipeWireCapture.listNodes()
        } catch {
            throw CLIError(message: error.description, exitCode: error.isUsageError ? 2 : 1)
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            let data = try encoder.encode(nodes)
            print(String(decoding: data, as: UTF8.self))
            return
        }
        print(Self.table(nodes))
    }

    static func table(_ nodes: [NodeInfo]) -> String {
        guard !nodes.isEmpty else { return "no sinks, sources or application streams found" }
        var lines = ["  KIND    SERIAL  NAME                                      DESCRIPTION"]
        for node in nodes {
            let mark = node.isDefault ? "*" : " "
            let kind = node.kind.rawValue.padding(toLength: 7, withPad: " ", startingAt: 0)
            let serial = node.serial.padding(toLength: 7, withPad: " ", startingAt: 0)
            let name = node.name.count > 41 ? node.name : node.name.padding(toLength: 41, withPad: " ", startingAt: 0)
            var description = node.description
            if let app = node.application, node.kind == .stream { description += " (\(app))" }
            lines.append("\(mark) \(kind) \(serial) \(name) \(description)")
        }
        lines.append("* = default. Capture one with: captiontap run --target NAME-or-SERIAL")
        return lines.joined(separator: "\n")
    }
}
