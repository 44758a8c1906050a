import CaptionTapCore
import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// captiontap.conf read through libpipewire's config search, checked, and merged with the flags.
/// No daemon is needed: every test points the search at a private directory.
@Suite struct ConfigTests {
    /// A private config directory and an environment whose PipeWire search sees only it.
    struct Setup {
        let dir: URL
        var environment: [String: String]

        init(searchVariable: String = "PIPEWIRE_CONFIG_DIR") throws {
            dir = try TemporaryDirectory.create()
            var env = ProcessInfo.processInfo.environment
            env["PIPEWIRE_CONFIG_DIR"] = nil
            env["XDG_CONFIG_HOME"] = dir.appendingPathComponent("xdg-unused").path
            env["OPENAI_API_KEY"] = nil
            env[searchVariable] = dir.path
            environment = env
        }

        /// Writes `text` under the directory; returns its path.
        @discardableResult
        func write(_ relative: String, _ text: String) throws -> String {
            let url = dir.appendingPathComponent(relative)
            try FileManager.default.createDirectory(
                at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: url, atomically: true, encoding: .utf8)
            return url.path
        }

        func run(_ arguments: [String]) throws -> RunResult {
            try Tools.captiontap(arguments, environment: environment)
        }

        /// `run --print-config`'s line for `key`, or "" if missing.
        func printed(_ key: String, _ stdout: String) -> String {
            stdout.split(separator: "\n").map(String.init).first { $0.hasPrefix("    \(key) = ") } ?? ""
        }
    }

    @Test func theMergedConfigurationIsCheckedAgainNoValueFromAFileCanCrash() throws {
        let s = try Setup()
        // A URL the flag check would refuse (port 0) used to reach a force unwrap from a file.
        try s.write("captiontap.conf", "captiontap.properties = { url = \"ws://127.0.0.1:0/v1/realtime\" }")
        let url = try s.run(["run", "--input", "x.wav"])
        #expect(url.status == 2, "\(url.stderr)")
        #expect(url.stderr.split(separator: "\n").count == 1, "\(url.stderr)")
        #expect(url.stderr.contains("--url") && url.stderr.contains("captiontap.conf"), "\(url.stderr)")
        // A file's duration is held to the same range as the flag's.
        try s.write("captiontap.conf", "captiontap.properties = { duration = 1e300 }")
        let duration = try s.run(["run", "--input", "x.wav"])
        #expect(duration.status == 2, "\(duration.stderr)")
        #expect(duration.stderr.contains("--duration must be"), "\(duration.stderr)")
    }

    @Test func aCommandLineSourceAlsoReplacesTheFilesBackend() throws {
        let s = try Setup()
        try s.write("captiontap.conf", "captiontap.properties = { backend = jack }")
        let r = try s.run(["run", "--print-config", "--target", "test-sink"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(s.printed("backend", r.stdout).contains("pipewire"), "\(r.stdout)")
        #expect(s.printed("backend", r.stdout).contains("replaced by the command-line source"), "\(r.stdout)")
        #expect(s.printed("target", r.stdout).contains("test-sink"))
        // Without a source on the command line the file's backend applies.
        let fromFile = try s.run(["run", "--print-config"])
        #expect(s.printed("backend", fromFile.stdout).contains("jack"), "\(fromFile.stdout)")
    }

    @Test func aFileWhoseHeaderClaimsAnAbsurdRateIsRefused() throws {
        let s = try Setup()
        // A valid 16-bit mono WAV header that claims 1 Hz: 20 KB of "audio" = hours at 24 kHz.
        var wav = Data("RIFF".utf8)
        let body = 20_000
        func le32(_ v: Int) -> Data { withUnsafeBytes(of: UInt32(v).littleEndian) { Data($0) } }
        func le16(_ v: Int) -> Data { withUnsafeBytes(of: UInt16(v).littleEndian) { Data($0) } }
        wav +=
            le32(36 + body) + Data("WAVEfmt ".utf8) + le32(16) + le16(1) + le16(1) + le32(1) + le32(2) + le16(2)
            + le16(16)
        wav += Data("data".utf8) + le32(body) + Data(repeating: 1, count: body)
        let path = s.dir.appendingPathComponent("one-hertz.wav").path
        try wav.write(to: URL(fileURLWithPath: path))
        let r = try s.run(["run", "--no-captions", "--input", path, "--record", "/dev/null"])
        #expect(r.status == 2, "\(r.stderr)")
        #expect(r.stderr.contains("claims 1 Hz"), "\(r.stderr)")
    }

    @Test func precedenceIsDefaultsThenFileThenDropInsThenFlags() throws {
        let s = try Setup()
        let main = try s.write(
            "captiontap.conf",
            """
            # main file
            captiontap.properties = {
                vad-threshold = 0.5
                silence-ms = 900
                prefix-ms = 200
                language = "de"
            }
            """)
        let a = try s.write(
            "captiontap.conf.d/10-a.conf", "captiontap.properties = {\n  silence-ms = 1000\n  language = null\n}\n")
        let b = try s.write(
            "captiontap.conf.d/20-b.conf", "captiontap.properties = { prefix-ms = 250 silence-ms = 1100 }\n")
        let r = try s.run(["run", "--print-config", "--prefix-ms", "400"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("# read: \(main)\n# read: \(a)\n# read: \(b)\n"))
        #expect(s.printed("vad-threshold", r.stdout).hasSuffix("# \(main):3"))
        #expect(s.printed("vad-threshold", r.stdout).hasPrefix("    vad-threshold = 0.5 "))
        #expect(s.printed("silence-ms", r.stdout).hasPrefix("    silence-ms = 1100 "))
        #expect(s.printed("silence-ms", r.stdout).hasSuffix("# \(b):1"))
        #expect(s.printed("language", r.stdout).hasPrefix("    language = null "))
        #expect(s.printed("language", r.stdout).hasSuffix("# default"))
        #expect(s.printed("prefix-ms", r.stdout).hasPrefix("    prefix-ms = 400 "))
        #expect(s.printed("prefix-ms", r.stdout).hasSuffix("# command line"))
        #expect(s.printed("chunk-ms", r.stdout).hasPrefix("    chunk-ms = 100 "))
        #expect(s.printed("url", r.stdout).contains("\"wss://api.openai.com/v1/realtime?model=gpt-realtime\""))
        // Every key is printed, and the output is itself a valid config file.
        let printed = try s.write("printed.conf", r.stdout)
        let again = try s.run(["run", "--print-config", "--config", printed])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(s.printed("prefix-ms", again.stdout).hasPrefix("    prefix-ms = 400 "))
    }

    @Test func searchesTheUserConfigDirectory() throws {
        let s = try Setup(searchVariable: "XDG_CONFIG_HOME")
        let main = try s.write("pipewire/captiontap.conf", "captiontap.properties = { context = \"recent:4\" }")
        try s.write("pipewire/captiontap.conf.d/50-fmt.conf", "captiontap.properties = { format = jsonl }")
        let r = try s.run(["run", "--print-config"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(s.printed("context", r.stdout).hasPrefix("    context = \"recent:4\" "))
        #expect(s.printed("context", r.stdout).hasSuffix("# \(main):1"))
        #expect(s.printed("format", r.stdout).hasPrefix("    format = \"jsonl\" "))
    }

    @Test func noFileMeansDefaults() throws {
        let s = try Setup()
        let r = try s.run(["run", "--print-config"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.isEmpty)
        #expect(r.stdout.contains("# no captiontap.conf found"))
        #expect(s.printed("obs-lines", r.stdout).hasPrefix("    obs-lines = 2 "))
    }

    /// Every schema key is bound to an option (and printed), in the schema's order.
    @Test func everyKeyIsPrinted() throws {
        let r = try Setup().run(["run", "--print-config"])
        let printed = r.stdout.split(separator: "\n").filter { $0.hasPrefix("    ") && !$0.hasPrefix("    #") }
            .map { String($0.dropFirst(4).prefix { $0 != " " }) }
        #expect(printed == ConfigSchema.keys.map(\.name))
    }

    @Test func configFlagReadsThatFileAndItsDropIns() throws {
        let s = try Setup()
        try s.write("captiontap.conf", "captiontap.properties = { chunk-ms = 300 obs-lines = 5 }")
        let own = try s.write("elsewhere/mine.conf", "captiontap.properties = {\n  chunk-ms = 200\n}\n")
        try s.write("elsewhere/mine.conf.d/10-x.conf", "captiontap.properties = { obs-lines = 3 }")
        let r = try s.run(["run", "--print-config", "--config", own])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(s.printed("chunk-ms", r.stdout).hasPrefix("    chunk-ms = 200 "))
        #expect(s.printed("chunk-ms", r.stdout).hasSuffix("# \(own):2"))
        #expect(s.printed("obs-lines", r.stdout).hasPrefix("    obs-lines = 3 "))

        let missing = try s.run(["run", "--print-config", "--config", s.dir.appendingPathComponent("nope.conf").path])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("cannot read --config file"))
    }

    @Test func theShippedFileIsValidAndAllDefaults() throws {
        let s = try Setup()
        let shipped = Tools.repositoryRoot.appendingPathComponent("conf/captiontap.conf").path
        let withFile = try s.run(["run", "--print-config", "--config", shipped])
        let without = try s.run(["run", "--print-config"])
        #expect(withFile.status == 0, "\(withFile.stderr)")
        func values(_ out: String) -> [String] {
            out.split(separator: "\n").filter { $0.hasPrefix("    ") && !$0.hasPrefix("    #") }
                .map { String($0.split(separator: "#")[0]) }
        }
        #expect(values(withFile.stdout) == values(without.stdout))
        // Every key of the schema is documented in the shipped file.
        let text = try String(contentsOfFile: shipped, encoding: .utf8)
        for line in values(without.stdout) {
            let key = line.trimmingCharacters(in: .whitespaces).split(separator: " ")[0]
            #expect(text.contains("    #\(key) = "), "\(key) is not in conf/captiontap.conf")
        }
    }

    @Test(arguments: [
        (
            "captiontap.properties = {\n    vad-threshold = 0.6\n    prompt = \"unclosed\n}\n", 3,
            "string is not closed on its line"
        ),
        ("captiontap.properties = {\n    silence-ms = 800\n", 1, "'{' opened here is never closed"),
        (
            "# x\ncaptiontap.properties = {\n    vad-threshold = 1.5\n}\n", 3,
            "'vad-threshold' must be a number between 0 and 1"
        ),
        (
            "captiontap.properties = {\n    silence-ms = \"long\"\n}\n", 2,
            "'silence-ms' must be an integer between 100 and 10000"
        ),
        (
            "captiontap.properties = {\n\n    silense-ms = 800\n}\n", 3,
            "unknown key 'silense-ms' (did you mean 'silence-ms'?)"
        ),
        ("captiontap.properties = {\n    partials = 1\n}\n", 2, "'partials' must be true or false"),
        ("captiontap.properties = {\n    live = \"sometimes\"\n}\n", 2, "'live' must be one of auto, on, off"),
    ])
    func malformedFileIsOneLineNamingFileAndLine(text: String, line: Int, message: String) throws {
        let s = try Setup()
        let path = try s.write("captiontap.conf", text)
        let r = try s.run(["run", "--print-config"])
        #expect(r.status == 2)
        #expect(r.stdout.isEmpty)
        #expect(r.stderr.hasPrefix("captiontap: error: \(path):\(line): \(message)"), "\(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
    }

    @Test func aBadDropInIsNamedToo() throws {
        let s = try Setup()
        try s.write("captiontap.conf", "captiontap.properties = { }")
        let bad = try s.write("captiontap.conf.d/30-bad.conf", "captiontap.properties = {\n    format = xml\n}\n")
        let r = try s.run(["run", "--input", "x.wav", "--no-captions", "--record", "y.wav"])
        #expect(r.status == 2)
        #expect(r.stderr == "captiontap: error: \(bad):2: 'format' must be one of text, jsonl\n")
    }

    @Test func theAPIKeyIsNeverPrinted() throws {
        var s = try Setup()
        let secret = "sk-test-" + UUID().uuidString
        let keyFile = try s.write("key", secret + "\n")
        chmod(keyFile, 0o600)
        try s.write("captiontap.conf", "captiontap.properties = { api-key-file = \"\(keyFile)\" }")
        let fromFile = try s.run(["run", "--print-config"])
        #expect(fromFile.status == 0, "\(fromFile.stderr)")
        #expect(!fromFile.stdout.contains(secret) && !fromFile.stderr.contains(secret))
        #expect(fromFile.stdout.contains("# api-key = \"(set, redacted)\""))

        try s.write("captiontap.conf", "captiontap.properties = { }")
        s.environment["OPENAI_API_KEY"] = secret
        let fromEnv = try s.run(["run", "--print-config"])
        #expect(!fromEnv.stdout.contains(secret))
        #expect(fromEnv.stdout.contains("# api-key = \"(set, redacted)\""))

        s.environment["OPENAI_API_KEY"] = nil
        let none = try s.run(["run", "--print-config"])
        #expect(none.stdout.contains("# api-key = null"))
    }

    @Test func aCommandLineSourceReplacesTheFilesSource() throws {
        let s = try Setup()
        let main = try s.write("captiontap.conf", "captiontap.properties = { target = \"NoSuchNode\" pace = realtime }")
        let r = try s.run(["run", "--print-config", "--virtual-sink", "Mine"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(s.printed("virtual-sink", r.stdout).hasPrefix("    virtual-sink = \"Mine\" "))
        #expect(s.printed("target", r.stdout).hasPrefix("    target = null "))
        #expect(s.printed("target", r.stdout).contains("\(main):1 replaced by the command-line source"))
        // A config pace is for input files only; a live source ignores it.
        #expect(s.printed("pace", r.stdout).hasPrefix("    pace = null "))
    }

    /// `--events-out` writes into what the path is (a link's target, a FIFO), never replacing it,
    /// and a reader that goes away costs the events, not the run.
    @Test func eventsGoWhereThePathPointsAndAGoneReaderIsNoCrash() throws {
        let s = try Setup()
        let input = Tools.repositoryRoot.appendingPathComponent("Tests/Fixtures/speech/goforward.wav").path
        let target = s.dir.appendingPathComponent("target.jsonl").path
        let link = s.dir.appendingPathComponent("link.jsonl").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        let linked = try s.run(["run", "-q", "--no-captions", "--input", input, "--events-out", link])
        #expect(linked.status == 0, "\(linked.stderr)")
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: link)) == target, "still a link")
        #expect(try String(contentsOfFile: target, encoding: .utf8).split(separator: "\n").count > 10)
        // A FIFO whose reader reads one line and leaves: still a FIFO, the run ends normally.
        let fifo = s.dir.appendingPathComponent("events.fifo").path
        #expect(mkfifo(fifo, 0o600) == 0)
        let reader = try RunningProcess("/usr/bin/head", ["-n", "1", fifo])
        let piped = try s.run(["run", "-q", "--no-captions", "--input", input, "--events-out", fifo])
        #expect(piped.status == 0, "\(piped.stderr)")
        #expect(reader.wait(timeout: 20).stdout.hasPrefix("{"))
        var info = stat()
        #expect(lstat(fifo, &info) == 0 && info.st_mode & S_IFMT == S_IFIFO)
    }

    /// The values really take effect: a capture-only run configured entirely from the file.
    @Test func aRunTakesItsSettingsFromTheFile() throws {
        let s = try Setup()
        let input = Tools.repositoryRoot.appendingPathComponent("Tests/Fixtures/speech/goforward.wav").path
        let wav = s.dir.appendingPathComponent("out.wav").path
        let events = s.dir.appendingPathComponent("events.jsonl").path
        try s.write(
            "captiontap.conf",
            """
            captiontap.properties = {
                input = "\(input)"
                chunk-ms = 250
                duration = 1.5
                no-captions = true
                record = "\(wav)"
            }
            """)
        try s.write("captiontap.conf.d/10-events.conf", "captiontap.properties = { events-out = \"\(events)\" }")
        let r = try s.run(["run", "-q"])
        #expect(r.status == 0, "\(r.stderr)")
        let samples = try WAV.read24kMono(wav)
        #expect(samples.count == 36_000)  // 1.5 s at 24 kHz
        let lines = try String(contentsOfFile: events, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 6)  // 1.5 s in 250 ms chunks

        // A flag still wins over the file.
        let flagged = try s.run(["run", "-q", "--chunk-ms", "500"])
        #expect(flagged.status == 0, "\(flagged.stderr)")
        #expect(try String(contentsOfFile: events, encoding: .utf8).split(separator: "\n").count == 3)
    }
}
