// captiontap-bench: numbers for the real-time path and the encoder.
//
//   swift run -c release captiontap-bench [--skip-rss | --only-pipeline | --only-embedded | --only-footprint |
//   --only-levels | --only-live [--live-on-only]] [--int8-latency]
//
// --live-on-only: the live-captions run with live captions on only, no peer (for tuning).
//
// Prints: the RT callback's copy cost per PipeWire quantum, the worker's drain + PCM16 +
// base64 + JSON throughput in audio-seconds per CPU-second, and the peak RSS of
// `captiontap run --input <1 h file> --record /dev/null --pace fast`.
import CaptionTapCapture
import CaptionTapCore
import Foundation
import TestSupport

func threadCPUSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// Nanoseconds per `CaptureProcess.copy` of one quantum (median of 5 runs).
func callbackCost(frames: Int) -> Double {
    let ring = AudioRing(minimumCapacity: 1 << 18)
    let buffer = FakePipeWireBuffer(frames: frames)
    let consumer = ring.consumer
    let sink = UnsafeMutablePointer<Float>.allocate(capacity: 1 << 18)
    defer { sink.deallocate() }
    let iterations = 200_000
    var runs: [Double] = []
    for _ in 0..<5 {
        var spent = 0.0
        for i in 0..<iterations {
            let t0 = monotonicSeconds()
            CaptureProcess.copy(buffer.pw, into: ring.producer)
            spent += monotonicSeconds() - t0
            if i % 64 == 0 { _ = consumer.read(into: sink, maxCount: 1 << 18) }
        }
        runs.append(spent / Double(iterations) * 1e9)
    }
    return runs.sorted()[2]
}

/// Audio seconds encoded per CPU second: ring drain → 100 ms chunks → PCM16 → base64 → JSON.
func encodingThroughput(seconds: Int) -> (ratio: Double, bytes: Int) {
    let ring = AudioRing(minimumCapacity: 1 << 16)
    let consumer = ring.consumer
    let quantum = 1024
    let block = (0..<quantum).map { Float(sin(Double($0) * 0.05) * 0.5) }
    let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 8192)
    defer { scratch.deallocate() }
    var assembler = ChunkAssembler(chunkSamples: 2400)
    var encoder = AppendEventEncoder(maxSamples: 2400)
    var bytes = 0
    let total = seconds * PCM16.sampleRate
    var produced = 0
    var cpu = 0.0
    while produced < total {
        // Filling the ring stands in for the RT thread and is not counted.
        for _ in 0..<8 {
            block.withUnsafeBufferPointer { ring.producer.write($0.baseAddress!, count: quantum) }
        }
        produced += 8 * quantum
        let t0 = threadCPUSeconds()
        while true {
            let n = consumer.read(into: scratch, maxCount: 8192)
            if n == 0 { break }
            assembler.append(UnsafeBufferPointer(start: scratch, count: n)) { chunk in
                let (event, _) = encoder.encode(chunk)
                bytes &+= event.utf8.count
            }
        }
        cpu += threadCPUSeconds() - t0
    }
    return (Double(seconds) / cpu, bytes)
}

/// Resources a child process used.
struct Measured {
    var status: Int32
    var cpuSeconds: Double
    var peakMiB: Double
    var wallSeconds: Double
    var stdout: String
    var stderr: String
}

/// Runs a command to completion and reads its CPU time and peak RSS from wait4.
func measure(_ args: [String]) throws -> Measured {
    let start = monotonicSeconds()
    let process = try RunningProcess(args[0], Array(args.dropFirst()))
    let result = process.wait(timeout: 3600)
    return Measured(
        status: result.status, cpuSeconds: process.cpuSeconds, peakMiB: process.peakRSSMiB,
        wallSeconds: monotonicSeconds() - start, stdout: result.stdout, stderr: result.stderr)
}

/// Writes `repeats` copies of `unit` (24 kHz mono) as one WAV.
func writeRepeated(_ unit: [Float], repeats: Int, to path: String) throws {
    let writer = try PCM16WavWriter(path: path)
    var bytes = [UInt8](repeating: 0, count: unit.count * 2)
    unit.withUnsafeBufferPointer { PCM16.encode($0.baseAddress!, count: unit.count, into: &bytes) }
    for _ in 0..<repeats { bytes.withUnsafeBytes { writer.write($0) } }
    writer.close()
}

/// Peak RSS (MiB) of the real binary streaming a 1 h file to /dev/null.
func peakRSS(binary: String) throws -> (mib: Double, wall: Double) {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("captiontap-bench-\(getpid())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let path = dir.appendingPathComponent("hour.wav").path
    let minute = WAV.tone(hz: 440, seconds: 60, amplitude: 0.3, padSeconds: 0)
    let writer = try PCM16WavWriter(path: path)
    var bytes = [UInt8](repeating: 0, count: minute.count * 2)
    minute.withUnsafeBufferPointer { PCM16.encode($0.baseAddress!, count: minute.count, into: &bytes) }
    for _ in 0..<60 { bytes.withUnsafeBytes { writer.write($0) } }
    writer.close()

    let run = try measure([
        binary, "run", "-q", "--no-captions", "--input", path, "--record", "/dev/null", "--pace", "fast",
    ])
    return (run.peakMiB, run.wallSeconds)
}

/// One hour of turns streamed fast to the loopback server: captiontap next to the cookbook-style
/// Python client, then commit-to-final latency on a short file played in real time.
func realtimeBenchmarks(binary: String) throws {
    guard let python = FakeRealtimeServer.python else {
        print("session benchmarks skipped: set CAPTIONTAP_PYTHON to the venv of Tests/RealtimeServer/setup-venv.sh")
        return
    }
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("captiontap-bench-rt-\(getpid())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    // 1 h = 1440 turns of a 1 s tone and 1.5 s of silence.
    let hour = dir.appendingPathComponent("hour-turns.wav").path
    try writeRepeated(WAV.toneTurns([440], seconds: 1.0, gap: 0.75), repeats: 1440, to: hour)

    var server = try FakeRealtimeServer()
    let ours = try measure([binary, "run", "-q", "--input", hour, "--url", server.url, "--format", "jsonl"])
    _ = server.stop()
    let finals = ours.stdout.split(separator: "\n").count
    print(
        String(
            format: "1 h streamed fast, captiontap: %.2f CPU s, peak RSS %.1f MiB, %.1f s wall, %d finals (exit %d)",
            ours.cpuSeconds, ours.peakMiB, ours.wallSeconds, finals, ours.status))

    server = try FakeRealtimeServer()
    let script = Tools.repositoryRoot.appendingPathComponent("Tests/RealtimeServer/cookbook_client.py").path
    let theirs = try measure([python, script, "--url", server.url, "--input", hour])
    _ = server.stop()
    let pyFinals = theirs.stdout.split(separator: "\n").count
    print(
        String(
            format:
                "1 h streamed fast, Python cookbook client: %.2f CPU s, peak RSS %.1f MiB, %.1f s wall, %d finals (exit %d)",
            theirs.cpuSeconds, theirs.peakMiB, theirs.wallSeconds, pyFinals, theirs.status))
    print(
        String(
            format: "captiontap CPU = %.1f %% of the Python client's",
            100 * ours.cpuSeconds / max(theirs.cpuSeconds, 1e-9)))

    let short = dir.appendingPathComponent("short-turns.wav").path
    try WAV.write24kMono(
        WAV.toneTurns([300, 500, 700, 900, 400, 600, 800, 350, 550, 750], seconds: 1.0, gap: 1.2), to: short)
    server = try FakeRealtimeServer()
    let latency = try measure([binary, "run", "--input", short, "--pace", "realtime", "--url", server.url])
    let (_, serverStats) = server.stop()
    let line = latency.stderr.split(separator: "\n").first { $0.contains("commit to final caption") }
    // captiontap reports commit → final per turn; the server reports its own time from receiving
    // response.create to sending response.done. The difference is what captiontap adds.
    func number(after label: String, in text: Substring) -> Double? {
        guard let range = text.range(of: label) else { return nil }
        return Double(text[range.upperBound...].prefix { $0.isNumber || $0 == "." })
    }
    let endToEnd = line.flatMap { number(after: "median ", in: $0) }
    let serverLine = serverStats.split(separator: "\n").last { $0.contains("fake_realtime_stats") }
    let serverMedian = serverLine.flatMap { number(after: "\"median\": ", in: $0) }
    print(
        String(
            format:
                "commit to final caption, turns played in real time: median %.1f ms end to end, of which the test server %.1f ms; captiontap's overhead %.1f ms",
            endToEnd ?? .nan, serverMedian ?? .nan, (endToEnd ?? .nan) - (serverMedian ?? .nan)))
}

if !CommandLine.arguments.contains("--memory-breakdown-child") {
    print("captiontap-bench (\(ProcessInfo.processInfo.activeProcessorCount) cores)")
}
if CommandLine.arguments.contains("--only-levels") {
    try LevelBench.run()
    exit(0)
}
if CommandLine.arguments.contains("--only-live") {
    let quick = CommandLine.arguments.contains("--live-on-only")
    try LiveBench.run(
        binary: URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(
            "captiontap"
        ).path, modes: quick ? ["on"] : ["on", "off"], peer: !quick)
    exit(0)
}
if let i = CommandLine.arguments.firstIndex(of: "--memory-breakdown-child"), i + 1 < CommandLine.arguments.count {
    #if canImport(CaptionTapRecognizer)
        try MemoryBreakdown.child(precision: CommandLine.arguments[i + 1])
    #endif
    exit(0)
}
if CommandLine.arguments.contains("--only-footprint") {
    try MemoryBreakdown.run()
    #if canImport(CaptionTapRecognizer)
        try EmbeddedBackendBench.realTimeFactors()
    #endif
    try FootprintBench.run(
        binary: URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(
            "captiontap"
        ).path)
    exit(0)
}
if CommandLine.arguments.contains("--only-embedded") {
    let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(
        "captiontap"
    ).path
    try EmbeddedBackendBench.run(binary: binary)
    exit(0)
}
for frames in [256, 1024] {
    print(String(format: "callback copy, %4d-frame quantum: %8.1f ns", frames, callbackCost(frames: frames)))
}
let (ratio, bytes) = encodingThroughput(seconds: 3600)
print(
    String(
        format: "drain+PCM16+base64+JSON: %.0f× real time on one core (%.1f MB of events per audio hour)", ratio,
        Double(bytes) / 1e6))
if !CommandLine.arguments.contains("--skip-rss") {
    let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(
        "captiontap"
    ).path
    let (mib, wall) = try peakRSS(binary: binary)
    print(
        String(
            format: "captiontap run --input <1 h file> --record /dev/null --pace fast: peak RSS %.1f MiB, %.1f s wall",
            mib, wall))
    try realtimeBenchmarks(binary: binary)
    // The capture and session path alone (before/after a refactor of it).
    if CommandLine.arguments.contains("--only-pipeline") { exit(0) }
    try EmbeddedBackendBench.run(binary: binary)
    try FootprintBench.run(binary: binary)
    try LevelBench.run()
    try LiveBench.run(binary: binary)
}
