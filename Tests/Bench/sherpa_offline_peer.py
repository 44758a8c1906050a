#!/usr/bin/env python3
"""The peer for captiontap's embedded backend: sherpa-onnx's own VAD + offline recognizer
pipeline, with the same model files, serving N streams fed in real time from one WAV.

usage: sherpa_offline_peer.py --encoder E --decoder D --tokens T --vad V [--provider P]
                              [--streams N] [--seconds S] [--stagger S] WAV

What sherpa-onnx's VAD + non-streaming examples do, in our own code, for N streams at once: each
stream has its own Silero VAD (32 ms windows, 0.8 s of silence ends a segment, like captiontap's
--silence-ms 800); finished segments of every stream are decoded in order by one recognizer on a
thread of its own (captiontap's embedded backend also shares one recognizer). Audio is fed in
100 ms steps on the wall clock.

Prints "ready" on stderr once the recognizer is loaded, then one JSON object on stdout:
{"ready_s", "streams", "audio_s", "segments", "latency_s": [...], "p95_s", "decode_rtf",
 "cpu_s", "peak_rss_mib"}; latency is from the turn's end (when the VAD hands the segment over,
0.8 s of silence after the speech) to its transcript, on the audio clock of the real-time feed.
"""
import argparse
import json
import queue
import resource
import sys
import threading
import time
import wave

import numpy as np
import sherpa_onnx

STARTED = time.monotonic()
RATE = 16000
STEP = RATE // 10  # 100 ms


def read(path: str, seconds: float) -> np.ndarray:
    with wave.open(path, "rb") as w:
        rate = w.getframerate()
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768
    pcm = pcm[: int(seconds * rate)] if seconds > 0 else pcm
    n = int(len(pcm) * RATE / rate)
    return np.interp(np.linspace(0, len(pcm) - 1, n), np.arange(len(pcm)), pcm).astype(np.float32)


def make_vad(model: str) -> sherpa_onnx.VoiceActivityDetector:
    config = sherpa_onnx.VadModelConfig()
    config.silero_vad.model = model
    config.silero_vad.threshold = 0.5
    config.silero_vad.min_silence_duration = 0.8
    config.silero_vad.min_speech_duration = 0.25
    config.silero_vad.max_speech_duration = 20
    config.sample_rate = RATE
    return sherpa_onnx.VoiceActivityDetector(config, buffer_size_in_seconds=60)


def main() -> int:
    p = argparse.ArgumentParser()
    for name in ("--encoder", "--decoder", "--tokens", "--vad"):
        p.add_argument(name, required=True)
    p.add_argument("--provider", default="cpu")
    p.add_argument("--streams", type=int, default=1)
    p.add_argument("--seconds", type=float, default=0)
    p.add_argument("--stagger", type=float, default=0, help="stream i starts i x this many seconds later")
    p.add_argument("wav")
    a = p.parse_args()
    if not 1 <= a.streams <= 64:
        p.error("--streams must be 1-64")
    recognizer = sherpa_onnx.OfflineRecognizer.from_moonshine_v2(
        encoder=a.encoder, decoder=a.decoder, tokens=a.tokens, num_threads=1, provider=a.provider)
    ready = time.monotonic() - STARTED
    print("ready", file=sys.stderr, flush=True)

    audio = read(a.wav, a.seconds)
    vads = [make_vad(a.vad) for _ in range(a.streams)]
    jobs: "queue.Queue" = queue.Queue()
    latencies, decoded = [], [0.0, 0.0]  # decode seconds, audio seconds
    begin = time.monotonic()

    def decoder() -> None:
        while (job := jobs.get()) is not None:
            samples, closed_s = job
            t = time.monotonic()
            stream = recognizer.create_stream()
            stream.accept_waveform(RATE, samples)
            recognizer.decode_stream(stream)
            _ = stream.result.text
            done = time.monotonic()
            decoded[0] += done - t
            decoded[1] += len(samples) / RATE
            latencies.append(done - begin - closed_s)

    thread = threading.Thread(target=decoder)
    thread.start()

    def drain(vad, clock: int) -> None:
        while not vad.empty():
            jobs.put((np.array(vad.front.samples, dtype=np.float32), clock / RATE))
            vad.pop()

    # Stream i plays the audio from `offsets[i]` samples on the common clock: the clock runs
    # until the last stream has played all of it.
    offsets = [int(i * a.stagger * RATE) for i in range(a.streams)]
    clock = 0
    while clock < offsets[-1] + len(audio):
        clock += STEP
        ahead = clock / RATE - (time.monotonic() - begin)  # a chunk is there once it has played
        if ahead > 0:
            time.sleep(ahead)
        for vad, offset in zip(vads, offsets):
            played = clock - offset  # samples of the audio this stream has played by now
            if played <= 0 or played - STEP >= len(audio):
                continue
            vad.accept_waveform(audio[played - STEP:min(played, len(audio))])
            drain(vad, clock)
            if played >= len(audio):
                vad.flush()
                drain(vad, clock)
    jobs.put(None)
    thread.join()

    usage = resource.getrusage(resource.RUSAGE_SELF)
    ordered = sorted(latencies)
    print(json.dumps({
        "ready_s": round(ready, 3), "streams": a.streams, "audio_s": round(len(audio) / RATE, 2),
        "segments": len(latencies), "latency_s": [round(x, 3) for x in latencies],
        "p95_s": round(ordered[min(len(ordered) - 1, len(ordered) * 95 // 100)], 3) if ordered else None,
        "decode_rtf": round(decoded[0] / decoded[1], 3) if decoded[1] else None,
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2), "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
