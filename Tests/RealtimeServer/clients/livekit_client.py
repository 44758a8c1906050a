#!/usr/bin/env python3
"""LiveKit Agents' OpenAI speech-to-text (livekit-plugins-openai, streaming over the Realtime
transcription API) transcribing a WAV through a Realtime server, without a LiveKit server.

usage: livekit_client.py BASE_URL WAV [--speed X]

BASE_URL as a user sets it (http://127.0.0.1:PORT/v1); the plugin opens
ws://…/v1/realtime?intent=transcription&model=gpt-4o-mini-transcribe. Library defaults: the
default model, English, its server_vad settings (prefix 600 ms, silence 350 ms), 50 ms appends.
The plugin never commits and has no end-of-input signal, so a second of silence follows the
speech (as a microphone would give) and the script waits until every end of speech has its final.
Prints {"turns": [...], "errors": [...]}.
"""
import argparse
import asyncio
import os
import sys
import time

import numpy as np
from livekit import rtc
from livekit.agents import stt, utils
from livekit.plugins import openai

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wav import read_int16, report  # noqa: E402


async def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("base_url")
    p.add_argument("wav")
    p.add_argument("--speed", type=float, default=1.0, help="times real time; 0: as fast as possible")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for finals after the input")
    a = p.parse_args()
    pcm, rate = read_int16(a.wav)
    pcm = np.concatenate([pcm, np.zeros(rate, np.int16)])
    turns: list[str] = []
    errors: list[str] = []
    state = {"speaking": False, "ended": 0}
    changed = asyncio.Event()
    # Outside a LiveKit job, the plugin needs a process-local HTTP session (as its tests use).
    async with utils.http_context.open():
        recognizer = openai.STT(base_url=a.base_url, api_key="any-key-works-locally")
        recognizer.on("error", lambda err: (errors.append(repr(err.error)), changed.set()))
        stream = recognizer.stream()

        async def read() -> None:
            async for event in stream:
                if event.type == stt.SpeechEventType.START_OF_SPEECH:
                    state["speaking"] = True
                elif event.type == stt.SpeechEventType.END_OF_SPEECH:
                    state["speaking"] = False
                    state["ended"] += 1
                elif event.type == stt.SpeechEventType.FINAL_TRANSCRIPT:
                    turns.append(event.alternatives[0].text)
                changed.set()

        reader = asyncio.create_task(read())
        chunk = rate // 10
        start = time.monotonic()
        for i in range(0, len(pcm), chunk):
            part = pcm[i:i + chunk]
            stream.push_frame(rtc.AudioFrame(part.tobytes(), rate, 1, len(part)))
            await asyncio.sleep(max(0.0, start + (i + chunk) / rate / a.speed - time.monotonic()) if a.speed > 0 else 0)
        stream.end_input()
        deadline = time.monotonic() + a.timeout
        while time.monotonic() < deadline and not reader.done() and not errors:
            if not state["speaking"] and state["ended"] > 0 and len(turns) >= state["ended"]:
                break
            changed.clear()
            try:
                await asyncio.wait_for(changed.wait(), timeout=max(0.01, deadline - time.monotonic()))
            except asyncio.TimeoutError:
                errors.append(f"timed out: {len(turns)} finals for {state['ended']} ends of speech")
        if reader.done() and reader.exception():
            errors.append(repr(reader.exception()))
        await stream.aclose()
        await recognizer.aclose()
        reader.cancel()
    return report(turns, errors)


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
