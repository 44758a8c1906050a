// captiontap-rtprobe: runs captiontap's own capture callbacks on a live PipeWire or JACK data
// thread, each call wrapped to count the heap calls it makes (CMallocCounter interposes malloc
// & co. in this executable) and to time it.
//
//   captiontap-rtprobe pipewire TARGET SECONDS [--allocate]
//   pw-jack captiontap-rtprobe jack SOURCE_PORT SECONDS [--allocate]
//
// Prints one JSON line: {"backend", "calls", "heap_calls", "frames", "dropped", "ns_median",
// "ns_p99", "ns_max"}. `--allocate` makes the wrapper itself allocate in every call, to show the
// counter sees heap calls on that thread (the integration test checks both).
// RealtimePathTests counts the copy in-process with a hand-built buffer; this counts the whole
// callback, PipeWire's dequeue/queue and jack_port_get_buffer included, where it really runs.

import CJack
import CMallocCounter
import CaptionTapCapture
import CaptionTapCore
import Foundation
import Logging
import Synchronization

/// What the wrapped callbacks record. Everything is allocated and touched before capture starts,
/// so the data thread only does loads, stores and atomics here.
enum Probe {
    static let capacity = 1 << 16
    nonisolated(unsafe) static let durations = UnsafeMutablePointer<UInt64>.allocate(capacity: capacity)
    static let calls = Atomic<Int>(0)
    static let heapCalls = Atomic<Int>(0)
    nonisolated(unsafe) static var allocate = false
    /// The self-check's allocation is kept until the next call so the optimizer cannot elide it.
    nonisolated(unsafe) static var kept: UnsafeMutableRawPointer?

    static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)  // vDSO: no syscall
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    static func selfCheckAllocation() {
        let previous = kept
        kept = malloc(64)
        free(previous)
    }

    static func record(heap: Int, since start: UInt64) {
        let elapsed = now() &- start
        let index = calls.wrappingAdd(1, ordering: .relaxed).oldValue
        if index < capacity { durations[index] = elapsed }
        heapCalls.wrappingAdd(heap, ordering: .relaxed)
    }
}

let pipeWireProcess: CaptureProcess.Callback = { data in
    let start = Probe.now()
    ct_malloc_counter_begin()
    CaptureProcess.onProcess(data)
    if Probe.allocate { Probe.selfCheckAllocation() }
    Probe.record(heap: ct_malloc_counter_end(), since: start)
}

let jackProcess: JackProcess.Callback = { frames, data in
    let start = Probe.now()
    ct_malloc_counter_begin()
    let result = JackProcess.onProcess(frames, data)
    if Probe.allocate { Probe.selfCheckAllocation() }
    Probe.record(heap: ct_malloc_counter_end(), since: start)
    return result
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("captiontap-rtprobe: \(message)\n".utf8))
    exit(2)
}

let arguments = Array(CommandLine.arguments.dropFirst())
guard arguments.count >= 3, let seconds = Double(arguments[2]) else {
    fail(
        "usage: captiontap-rtprobe pipewire TARGET SECONDS [--allocate] | jack SOURCE_PORT[,PORT…] SECONDS [--allocate]"
    )
}
Probe.allocate = arguments.dropFirst(3).contains("--allocate")
// Touch everything the callbacks use before the data thread starts.
for index in 0..<Probe.capacity { Probe.durations[index] = 0 }
_ = Probe.now()
_ = Probe.calls.load(ordering: .relaxed) + Probe.heapCalls.load(ordering: .relaxed)

var logger = Logger(label: "captiontap-rtprobe")
logger.logLevel = .warning
let ring = AudioRing(minimumCapacity: 1 << 18)
let stop: () -> Void
do {
    switch arguments[0] {
    case "pipewire":
        let capture = PipeWireCapture(target: .node(arguments[1]), ring: ring, logger: logger, process: pipeWireProcess)
        try capture.start()
        stop = capture.stop
    case "jack":
        // Several source ports, comma-separated: one input port each, averaged in the callback.
        let sources = arguments[1].split(separator: ",").map(String.init)
        let capture = JackCapture(ring: ring, connectTo: sources, logger: logger, process: jackProcess)
        try capture.start()
        stop = capture.stop
    default:
        fail("unknown backend '\(arguments[0])': pipewire or jack")
    }
} catch {
    fail("\(error)")
}
FileHandle.standardError.write(Data("captiontap-rtprobe: capturing\n".utf8))

// Drain the ring as the worker would, counting what arrived.
let consumer = ring.consumer
let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 1 << 16)
var frames = 0
let deadline = Date().addingTimeInterval(seconds)
while Date() < deadline {
    while case let n = consumer.read(into: scratch, maxCount: 1 << 16), n > 0 { frames += n }
    usleep(10_000)
}
stop()
while case let n = consumer.read(into: scratch, maxCount: 1 << 16), n > 0 { frames += n }

let calls = Probe.calls.load(ordering: .relaxed)
let durations = (0..<min(calls, Probe.capacity)).map { Probe.durations[$0] }.sorted()
func percentile(_ p: Double) -> UInt64 {
    durations.isEmpty ? 0 : durations[min(durations.count - 1, Int(Double(durations.count) * p))]
}
let report: [String: Any] = [
    "backend": arguments[0], "calls": calls, "heap_calls": Probe.heapCalls.load(ordering: .relaxed),
    "frames": frames, "dropped": Int(consumer.dropped),
    "ns_median": percentile(0.5), "ns_p99": percentile(0.99), "ns_max": durations.last ?? 0,
]
let json = try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys])
print(String(decoding: json, as: UTF8.self))
