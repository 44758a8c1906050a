#!/usr/bin/env python3
"""Drive a transcription session of ``captiontap serve`` with the official openai SDK.

``--dialect ga``: ``AsyncOpenAI(websocket_base_url=URL).realtime.connect(extra_query={"intent":
"transcription"})``, a GA ``session.update`` with ``type: "transcription"``.
``--dialect beta``: ``client.beta.realtime.connect(...)`` (it sends ``OpenAI-Beta: realtime=v1``)
and the beta ``transcription_session.update``.

Either way a 24 kHz mono PCM16 WAV streams in 100 ms appends; the server's VAD commits turns
(``--turn-detection none``: the client commits once at the end). Every server event is validated
against the SDK's types for that dialect (``transcription_session.created`` has no type of its
own in the SDK: it is validated as ``transcription_session.updated``). Prints one JSON object:
the transcripts in commit order, whether each item's deltas add up to its transcript, the event
counts and any problems. Exit status 0 when there are none.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import wave

import pydantic
from openai import AsyncOpenAI
from openai.types.beta.realtime import RealtimeServerEvent as BetaServerEvent

from fake_realtime import Validator, collect_extras


class BetaValidator:
    """The beta server-event union, checked like the GA one (no unknown fields)."""

    def __init__(self) -> None:
        self.adapter = pydantic.TypeAdapter(BetaServerEvent)

    def check_server(self, event: dict) -> str | None:
        candidate = dict(event)
        if candidate.get("type") == "transcription_session.created":
            candidate["type"] = "transcription_session.updated"
        try:
            model = self.adapter.validate_python(candidate)
        except pydantic.ValidationError as exc:
            return str(exc)
        extras = [p for p in collect_extras(model) if p not in Validator.ALLOWED_SERVER_EXTRAS]
        return f"unexpected fields {extras}" if extras else None


def session_update(dialect: str, model: str, turn_detection: dict | None) -> dict:
    if dialect == "beta":
        return {"type": "transcription_session.update", "session": {
            "input_audio_format": "pcm16",
            "input_audio_transcription": {"model": model, "language": "en", "prompt": ""},
            "turn_detection": turn_detection,
            "input_audio_noise_reduction": {"type": "near_field"},
        }}
    return {"type": "session.update", "session": {
        "type": "transcription",
        "audio": {"input": {
            "format": {"type": "audio/pcm", "rate": 24000},
            "transcription": {"model": model, "language": "en"},
            "noise_reduction": {"type": "near_field"},
            "turn_detection": turn_detection,
        }},
    }}


async def run(url: str, wav_path: str, dialect: str, model: str, turn: str) -> int:
    validator = BetaValidator() if dialect == "beta" else Validator()
    problems: list[str] = []
    counts: dict[str, int] = {}
    committed: list[str] = []
    transcripts: dict[str, str] = {}
    deltas: dict[str, list[str]] = {}
    first_event = None
    with wave.open(wav_path) as w:
        assert w.getframerate() == 24000 and w.getnchannels() == 1 and w.getsampwidth() == 2
        pcm = w.readframes(w.getnframes())
    client = AsyncOpenAI(api_key="any-key-works-locally", websocket_base_url=url)
    realtime = client.beta.realtime if dialect == "beta" else client.realtime
    turn_detection = None if turn == "none" else {"type": turn, **({"silence_duration_ms": 600} if turn == "server_vad" else {"eagerness": "high"})}
    updated = asyncio.Event()
    done = asyncio.Event()
    sent_all = False

    async with realtime.connect(model=model, extra_query={"intent": "transcription"}) as conn:
        async def reader() -> None:
            nonlocal first_event
            while True:
                event = json.loads(await conn.recv_bytes())
                etype = event.get("type")
                first_event = first_event or etype
                counts[etype] = counts.get(etype, 0) + 1
                problem = validator.check_server(event)
                if problem:
                    problems.append(f"{etype}: {problem}")
                if etype in ("session.updated", "transcription_session.updated"):
                    updated.set()
                elif etype == "input_audio_buffer.committed":
                    committed.append(event["item_id"])
                elif etype == "conversation.item.input_audio_transcription.delta":
                    deltas.setdefault(event["item_id"], []).append(event.get("delta") or "")
                elif etype == "conversation.item.input_audio_transcription.completed":
                    transcripts[event["item_id"]] = event["transcript"]
                elif etype == "error":
                    problems.append(f"error event: {event['error']}")
                elif etype.startswith("response."):
                    problems.append(f"a transcription session sent {etype}")
                if sent_all and committed and len(transcripts) == len(committed):
                    done.set()

        task = asyncio.create_task(reader())
        await conn.send(session_update(dialect, model, turn_detection))
        await asyncio.wait_for(updated.wait(), timeout=30)
        silence = b"\0" * 4800
        for i in range(0, len(pcm), 4800):
            await conn.send({"type": "input_audio_buffer.append", "audio": base64.b64encode(pcm[i:i + 4800]).decode()})
        for _ in range(15):
            await conn.send({"type": "input_audio_buffer.append", "audio": base64.b64encode(silence).decode()})
        if turn == "none":
            await conn.send({"type": "input_audio_buffer.commit"})
        sent_all = True
        try:
            await asyncio.wait_for(done.wait(), timeout=120)
        except asyncio.TimeoutError:
            problems.append(f"timed out: {len(transcripts)} of {len(committed)} turns transcribed")
        task.cancel()

    print(json.dumps({
        "first_event": first_event,
        "transcripts": [transcripts.get(i, "") for i in committed],
        "deltas_add_up": all("".join(deltas.get(i, [])) == transcripts.get(i, "") for i in committed),
        "events": counts,
        "problems": problems,
    }))
    return 1 if problems else 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--url", required=True, help="ws://HOST:PORT/v1 or …/v1/realtime")
    p.add_argument("--input", required=True, help="24 kHz mono PCM16 WAV")
    p.add_argument("--dialect", choices=["ga", "beta"], default="ga")
    p.add_argument("--model", default="gpt-4o-mini-transcribe")
    p.add_argument("--turn-detection", dest="turn", choices=["server_vad", "semantic_vad", "none"], default="server_vad")
    a = p.parse_args()
    return asyncio.run(run(a.url, a.input, a.dialect, a.model, a.turn))


if __name__ == "__main__":
    raise SystemExit(main())
