// swift-tools-version:6.1
import Foundation
import PackageDescription

// The embedded offline recognizer (sherpa-onnx + Moonshine + Silero) is built in only when
// scripts/setup-recognizer.sh has installed its wheels; without them captiontap still builds and
// runs against a Realtime server, and `doctor` says how to add it.
let recognizerInclude = Context.packageDirectory + "/vendor/recognizer/wheels/sherpa_onnx/include"
let hasRecognizer = FileManager.default.fileExists(atPath: recognizerInclude + "/sherpa-onnx/c-api/c-api.h")
let recognizerTargets: [Target] =
    hasRecognizer
    ? [
        // The C API's types from the installed wheel's header; its functions through dlopen, so the
        // recognizer's libraries are loaded only when the embedded backend starts.
        .target(
            name: "CSherpaLoader",
            cSettings: [.unsafeFlags(["-I", recognizerInclude])],
            linkerSettings: [.linkedLibrary("dl")]
        ),
        .target(
            name: "CaptionTapRecognizer",
            dependencies: ["CaptionTapCore", "CaptionTapServerCore", "CaptionTapServer", "CSherpaLoader", "CSoxr"],
            swiftSettings: [.unsafeFlags(["-Xcc", "-I", "-Xcc", recognizerInclude])]
        ),
        // The real recognizer on the speech fixtures, in-process.
        .testTarget(
            name: "RecognizerTests", dependencies: ["CaptionTapRecognizer", "CaptionTapCore", "TestSupport"],
            swiftSettings: [.unsafeFlags(["-Xcc", "-I", "-Xcc", recognizerInclude])]
        ),
    ] : []
let recognizerDependency: [Target.Dependency] = hasRecognizer ? ["CaptionTapRecognizer"] : []

let package = Package(
    name: "captiontap",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "captiontap", targets: ["captiontap"]),
        .library(name: "CaptionTapCore", targets: ["CaptionTapCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
    ],
    targets: [
        // C shims: module maps over system headers plus static-inline forwards for macros.
        .systemLibrary(
            name: "CPipeWire", pkgConfig: "libpipewire-0.3",
            providers: [.apt(["libpipewire-0.3-dev", "libspa-0.2-dev"])]),
        .systemLibrary(
            name: "CWebSockets", pkgConfig: "libwebsockets",
            providers: [.apt(["libwebsockets-dev"])]),
        .systemLibrary(name: "CSndFile", pkgConfig: "sndfile", providers: [.apt(["libsndfile1-dev"])]),
        .systemLibrary(name: "CSoxr", pkgConfig: "soxr", providers: [.apt(["libsoxr-dev"])]),
        .systemLibrary(name: "CJack", pkgConfig: "jack", providers: [.apt(["libjack-jackd2-dev"])]),
        // SHA-256 for obs-websocket authentication (libwebsockets links OpenSSL already).
        .systemLibrary(name: "COpenSSL", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        // glibc's mallopt, for the allocator tuning in captiontap's main.swift.
        .systemLibrary(name: "CMalloc"),

        // Pure Swift, no C imports, no I/O: the capture ring and samples, the Realtime client
        // protocol and its out-of-band transcriber, captions and live-caption scheduling, the
        // obs-websocket protocol, config parsing.
        .target(name: "CaptionTapCore"),
        // Pure Swift, no I/O: the embedded backend's side of the Realtime protocol (sessions,
        // server events, turn segmentation, segment joining), driven by CaptionTapServer.
        .target(name: "CaptionTapServerCore", dependencies: ["CaptionTapCore"]),

        // Adapters: PipeWire capture, file decoding, WAV recording.
        .target(
            name: "CaptionTapCapture",
            dependencies: [
                "CaptionTapCore", "CPipeWire", "CSndFile", "CSoxr", "CJack",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Adapters: WebSocket transport (libwebsockets), the OBS connection.
        .target(
            name: "CaptionTapTransport",
            dependencies: [
                "CaptionTapCore", "CWebSockets", "COpenSSL",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // The embedded Realtime backend: WebSocket server, sessions, the shared decode queue.
        .target(
            name: "CaptionTapServer",
            dependencies: [
                "CaptionTapCore", "CaptionTapServerCore", "CaptionTapTransport",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // Caption outputs: stdout text/JSONL, FIFO, SRT/WebVTT, OBS text file, OBS WebSocket requests.
        .target(name: "CaptionTapSinks", dependencies: ["CaptionTapCore"]),
        // The browser overlay: a page and its caption WebSocket on one loopback port (apart from
        // CaptionTapSinks so that stays free of libwebsockets).
        .target(name: "CaptionTapOverlay", dependencies: ["CaptionTapCore", "CaptionTapSinks", "CaptionTapTransport"]),

        .executableTarget(
            name: "captiontap",
            dependencies: [
                "CaptionTapCore", "CaptionTapCapture", "CaptionTapTransport", "CaptionTapSinks", "CaptionTapServer",
                "CaptionTapOverlay", "CMalloc",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ] + recognizerDependency
        ),
        .executableTarget(
            name: "captiontap-bench",
            dependencies: [
                "CaptionTapCore", "CaptionTapServerCore", "CaptionTapCapture", "CaptionTapServer", "CPipeWire",
                "TestSupport",
            ]
                + recognizerDependency,
            path: "Sources/captiontap-bench"
        ),

        // Test support: counts heap calls made by the calling thread (interposes malloc & co).
        .target(name: "CMallocCounter", path: "Tests/Support/CMallocCounter"),

        // Test support: captiontap's capture callbacks on a live PipeWire/JACK thread, each call
        // counted for heap calls and timed (run by the integration tests).
        .executableTarget(
            name: "captiontap-rtprobe",
            dependencies: [
                "CaptionTapCore", "CaptionTapCapture", "CJack", "CMallocCounter",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/RTProbe"
        ),

        // Test support: signal measurements, WAV helpers, running the built binary.
        .target(
            name: "TestSupport", dependencies: ["CaptionTapCapture", "CPipeWire"], path: "Tests/Support/TestSupport"),

        .testTarget(name: "CaptionTapCoreTests", dependencies: ["CaptionTapCore"]),
        .testTarget(name: "CaptionTapServerCoreTests", dependencies: ["CaptionTapCore", "CaptionTapServerCore"]),
        .testTarget(name: "CaptionTapSinksTests", dependencies: ["CaptionTapCore", "CaptionTapSinks", "TestSupport"]),
        .testTarget(name: "CaptionTapTransportTests", dependencies: ["CaptionTapCore", "CaptionTapTransport"]),
        .testTarget(
            name: "CaptionTapCaptureTests",
            dependencies: [
                "CaptionTapCore", "CaptionTapCapture", "CMallocCounter", "CPipeWire", "CSndFile", "TestSupport",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The command line: usage errors and their exit codes, run as the built binary.
        .testTarget(name: "CLITests", dependencies: ["TestSupport"]),
        .testTarget(
            name: "IntegrationTests",
            dependencies: ["CaptionTapCore", "CaptionTapCapture", "TestSupport"]
        ),
    ] + recognizerTargets,
    swiftLanguageModes: [.v6]
)
