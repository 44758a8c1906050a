#!/usr/bin/env python3
"""Cookbook-style Realtime client: out-of-band transcription of a WAV file.

Written the way the OpenAI cookbook (Realtime_out_of_band_transcription)
does it: ``websockets`` + ``json`` + ``base64``, server VAD with auto
responses off, and one out-of-band ``response.create`` (conversation
``none``, ``item_reference`` to the committed item, ``metadata``) per
``input_audio_buffer.committed``.  Used as a baseline in benchmarks::

    python cookbook_client.py --url "ws://127.0.0.1:PORT/v1/realtime?model=gpt-realtime" \\
        --input speech.wav

The input must be a 24 kHz mono 16-bit PCM WAV.  Audio is streamed in 100 ms
``input_audio_buffer.append`` events as fast as possible.  One line per final
transcript is printed to stdout, in commit order; a JSON summary goes to
stderr.  The client exits when all audio is sent and every response is done;
if a turn is still open at the end it sends ``input_audio_buffer.commit``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import sys
import time
import wave

import websockets

INSTRUCTIONS = (
    "You are a transcription engine. Output a strict verbatim transcript of only the "
    "latest user turn, in plain text, with no commentary. Output nothing if there is no speech."
)


def read_pcm(path: str) -> bytes:
    """Read a 24 kHz mono PCM16 WAV file and return its frames."""
    with wave.open(path, "rb") as wav:
        if (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) != (24000, 1, 2):
            raise SystemExit(f"{path}: need 24 kHz mono 16-bit PCM, got "
                             f"{wav.getframerate()} Hz, {wav.getnchannels()} ch, "
                             f"{8 * wav.getsampwidth()} bit")
        return wav.readframes(wav.getnframes())


def session_update(args: argparse.Namespace) -> dict:
    """The cookbook's session config with auto responses off and text output."""
    return {
        "type": "session.update",
        "session": {
            "type": "realtime",
            "output_modalities": ["text"],
            "instructions": INSTRUCTIONS,
            "audio": {
                "input": {
                    "format": {"type": "audio/pcm", "rate": 24000},
                    "noise_reduction": {"type": "near_field"},
                    "turn_detection": {
                        "type": "server_vad",
                        "threshold": args.threshold,
                        "prefix_padding_ms": args.prefix_ms,
                        "silence_duration_ms": args.silence_ms,
                        "create_response": False,
                        "interrupt_response": False,
                    },
                }
            },
        },
    }


def oob_response_create(item_id: str) -> dict:
    """Out-of-band transcription request for one committed item."""
    return {
        "type": "response.create",
        "response": {
            "conversation": "none",
            "output_modalities": ["text"],
            "instructions": INSTRUCTIONS,
            "metadata": {"purpose": "caption", "item_id": item_id},
            "input": [{"type": "item_reference", "id": item_id}],
        },
    }


class OobTranscriber:
    """State of one run: sends audio, tracks turns and responses, prints finals."""

    def __init__(self, ws, pcm: bytes, args: argparse.Namespace):
        self.ws = ws
        self.pcm = pcm
        self.args = args
        self.turn_open = False
        self.audio_sent = False
        self.end_commit_sent = False
        self.updates_seen = 0  # session.updated count; the 2nd answers the barrier
        self.committed: list[str] = []  # item ids in commit order
        self.finals: dict[str, str] = {}  # item id -> transcript
        self.deltas: dict[str, list[str]] = {}  # response id -> text pieces
        self.response_item: dict[str, str] = {}  # response id -> item id
        self.printed = 0
        self.errors = 0
        self.first_final_at: float | None = None

    async def send(self, event: dict) -> None:
        await self.ws.send(json.dumps(event))

    async def stream_audio(self) -> None:
        """Send the whole file in 100 ms appends, then a barrier session.update."""
        step = 4800 * self.args.chunk_ms // 100
        for offset in range(0, len(self.pcm), step):
            chunk = self.pcm[offset: offset + step]
            await self.send({"type": "input_audio_buffer.append",
                             "audio": base64.b64encode(chunk).decode("ascii")})
        # The server answers events in order, so its session.updated for this
        # repeat of the config arrives after every VAD event of the audio:
        # only then is `turn_open` reliable.
        await self.send({**session_update(self.args), "event_id": "end_of_audio"})

    def done(self) -> bool:
        return (self.audio_sent and not self.turn_open
                and len(self.finals) == len(self.committed))

    def print_ready_finals(self) -> None:
        """Print finished transcripts in commit order."""
        while self.printed < len(self.committed) and self.committed[self.printed] in self.finals:
            print(self.finals[self.committed[self.printed]], flush=True)
            self.printed += 1

    async def handle(self, event: dict) -> None:
        """React to one server event."""
        etype = event["type"]
        if etype == "session.updated":
            self.updates_seen += 1
            if self.updates_seen == 2:  # all audio has been through the server's VAD
                self.audio_sent = True
                if self.turn_open and not self.end_commit_sent:
                    self.end_commit_sent = True
                    await self.send({"type": "input_audio_buffer.commit"})
        elif etype == "input_audio_buffer.speech_started":
            self.turn_open = True
        elif etype == "input_audio_buffer.committed":
            self.turn_open = False
            self.committed.append(event["item_id"])
            await self.send(oob_response_create(event["item_id"]))
        elif etype == "response.created":
            response = event["response"]
            self.response_item[response["id"]] = (response.get("metadata") or {}).get("item_id")
            self.deltas[response["id"]] = []
        elif etype == "response.output_text.delta":
            self.deltas.setdefault(event["response_id"], []).append(event["delta"])
        elif etype == "response.done":
            response = event["response"]
            item_id = (response.get("metadata") or {}).get("item_id") \
                or self.response_item.get(response["id"])
            self.finals[item_id] = "".join(self.deltas.pop(response["id"], []))
            if self.first_final_at is None:
                self.first_final_at = time.monotonic()
            self.print_ready_finals()
        elif etype == "error":
            self.errors += 1
            print(f"error: {json.dumps(event['error'])}", file=sys.stderr)

    async def run(self) -> None:
        await self.send(session_update(self.args))
        sender_task = asyncio.create_task(self.stream_audio())
        try:
            async for message in self.ws:
                if isinstance(message, bytes):
                    continue
                try:
                    event = json.loads(message)
                except json.JSONDecodeError:
                    continue
                await self.handle(event)
                if self.done():
                    break
        finally:
            sender_task.cancel()


async def main_async(args: argparse.Namespace) -> int:
    pcm = read_pcm(args.input)
    headers = {"Authorization": f"Bearer {args.api_key}"} if args.api_key else {}
    started = time.monotonic()
    async with websockets.connect(args.url, additional_headers=headers, max_size=None) as ws:
        client = OobTranscriber(ws, pcm, args)
        await asyncio.wait_for(client.run(), args.timeout)
    elapsed = time.monotonic() - started
    print(json.dumps({"turns": len(client.committed), "errors": client.errors,
                      "audio_seconds": round(len(pcm) / 48000, 3),
                      "elapsed_seconds": round(elapsed, 3),
                      "first_final_seconds": round(client.first_final_at - started, 3)
                      if client.first_final_at else None}), file=sys.stderr)
    return 0


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Cookbook-style OOB transcription client.")
    p.add_argument("--url", required=True, help="ws://HOST:PORT/v1/realtime?model=gpt-realtime")
    p.add_argument("--input", required=True, help="24 kHz mono PCM16 WAV file")
    p.add_argument("--api-key", default=os.environ.get("OPENAI_API_KEY"))
    p.add_argument("--threshold", type=float, default=0.6)
    p.add_argument("--prefix-ms", type=int, default=300)
    p.add_argument("--silence-ms", type=int, default=800)
    p.add_argument("--chunk-ms", type=int, default=100)
    p.add_argument("--timeout", type=float, default=120.0, help="give up after this many seconds")
    return p.parse_args(argv)


if __name__ == "__main__":
    sys.exit(asyncio.run(main_async(parse_args())))
