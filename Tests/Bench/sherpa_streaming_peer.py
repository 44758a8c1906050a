#!/usr/bin/env python3
"""The peer for captiontap's live captions: sherpa-onnx's simulated streaming, with the same
Moonshine and Silero files captiontap uses, fed in real time from a WAV.

usage: sherpa_streaming_peer.py RECOGNIZER_DIR WAV [--every 0.2]

The approach of sherpa-onnx's simulate-streaming examples, in our own code: Silero VAD over
32 ms windows; while speech is detected, the open segment (from where the VAD started it) is
decoded again every --every seconds and shown; when the VAD closes the segment, it is decoded
whole as the final. One JSON line per shown text:
{"final": bool, "text": str, "item_id": "seg_N", "start_ms", "end_ms", "at_ms"} where at_ms is
when the text was ready, in ms since the first audio was fed (the audio clock of a real-time feed).
"""
import argparse
import json
import os
import sys
import time
import wave

import numpy as np
import sherpa_onnx

RATE = 16000
WINDOW = 512  # Silero's window at 16 kHz


def read(path: str) -> np.ndarray:
    with wave.open(path, "rb") as w:
        rate = w.getframerate()
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768
    n = int(len(pcm) * RATE / rate)
    return np.interp(np.linspace(0, len(pcm) - 1, n), np.arange(len(pcm)), pcm).astype(np.float32)


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("recognizer_dir")
    p.add_argument("wav")
    p.add_argument("--every", type=float, default=0.2, help="seconds between decodes of the open segment")
    a = p.parse_args()
    d = a.recognizer_dir
    # The models captiontap's auto precision picks (compact, else fp32), with its session options.
    models = f"{d}/compact" if os.path.exists(f"{d}/compact/encoder_model.onnx.data") else f"{d}/fp32"
    options = f"{d}/onnxruntime.cfg"
    recognizer = sherpa_onnx.OfflineRecognizer.from_moonshine_v2(
        encoder=f"{models}/encoder_model.onnx", decoder=f"{models}/decoder_model_merged.onnx",
        tokens=f"{d}/tokens.txt", num_threads=1,
        provider=f"cpu:{options}" if os.path.exists(options) else "cpu")
    config = sherpa_onnx.VadModelConfig()
    config.silero_vad.model = f"{d}/wheels/silero_vad/data/silero_vad_16k_op15.onnx"
    config.silero_vad.threshold = 0.5
    config.silero_vad.min_silence_duration = 0.25
    config.silero_vad.min_speech_duration = 0.25
    config.sample_rate = RATE
    vad = sherpa_onnx.VoiceActivityDetector(config, buffer_size_in_seconds=100)

    def decode(samples: np.ndarray) -> str:
        stream = recognizer.create_stream()
        stream.accept_waveform(RATE, samples)
        recognizer.decode_stream(stream)
        return stream.result.text.strip()

    audio = read(a.wav)
    fed = 0
    segment, open_start, last_decode, shown = 0, None, 0.0, ""
    start = time.monotonic()

    def clock() -> int:
        """Milliseconds since the first audio was fed: the audio clock of a real-time feed."""
        return int((time.monotonic() - start) * 1000)

    print("ready", file=sys.stderr, flush=True)
    while fed < len(audio):
        chunk = audio[fed:fed + WINDOW]
        fed += len(chunk)
        vad.accept_waveform(chunk)
        ms = fed * 1000 // RATE
        if vad.is_speech_detected() and open_start is None:
            # The VAD reports speech once it is sure: the segment began a little earlier.
            open_start = max(0, fed - int(0.3 * RATE))
        if open_start is not None and time.monotonic() - last_decode >= a.every:
            last_decode = time.monotonic()
            text = decode(audio[open_start:fed])
            if text and text != shown:
                shown = text
                print(json.dumps({"final": False, "text": text, "item_id": f"seg_{segment}", "start_ms": open_start * 1000 // RATE,
                                  "end_ms": ms, "at_ms": clock()}), flush=True)
        while not vad.empty():
            seg = vad.front
            text = decode(np.array(seg.samples, dtype=np.float32))
            print(json.dumps({"final": True, "text": text, "item_id": f"seg_{segment}", "start_ms": seg.start * 1000 // RATE,
                              "end_ms": (seg.start + len(seg.samples)) * 1000 // RATE, "at_ms": clock()}), flush=True)
            vad.pop()
            segment, open_start, shown = segment + 1, None, ""
        # Real time: wait until the wall clock has caught up with the audio fed.
        time.sleep(max(0.0, start + fed / RATE - time.monotonic()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
