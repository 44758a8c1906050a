#!/usr/bin/env python3
"""Drive a Realtime-compatible server (``captiontap serve``) with the official openai SDK.

Modes:

``transcribe`` (default)
    ``AsyncOpenAI(websocket_base_url=URL).realtime.connect(model=...)``; session.update (text
    out, server VAD that never answers by itself); stream a 24 kHz mono PCM16 WAV in 100 ms
    appends; on every ``input_audio_buffer.committed`` send an out-of-band ``response.create``
    (``conversation: "none"``, ``item_reference``, metadata) and collect deltas to
    ``response.done``. Also asks once for audio output and expects an ``error`` event. Every
    server event is validated against the SDK's ``RealtimeServerEvent`` (pydantic, no unknown
    fields). Prints one JSON object: the transcripts in commit order and counters.

``sessions N``
    Opens N WebSocket connections at once and reports, per connection, whether it got
    ``session.created`` or an ``error`` followed by a close (and its code).

Exit status 0 when every event validated and the run completed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import sys
import wave

import websockets
from openai import AsyncOpenAI

from fake_realtime import Validator


async def transcribe(url: str, wav_path: str, model: str) -> int:
    validator = Validator()
    problems: list[str] = []
    counts: dict[str, int] = {}
    with wave.open(wav_path) as w:
        assert w.getframerate() == 24000 and w.getnchannels() == 1 and w.getsampwidth() == 2
        pcm = w.readframes(w.getnframes())

    client = AsyncOpenAI(api_key="unused-by-the-local-backend", websocket_base_url=url)
    transcripts: dict[str, str] = {}     # item id -> final text
    deltas: dict[str, list[str]] = {}    # response id -> deltas
    response_item: dict[str, str] = {}   # response id -> item id (from metadata)
    committed: list[str] = []
    audio_error = None
    done = asyncio.Event()
    updates = 0  # session.updated count: the second answers the barrier sent after the audio

    async with client.realtime.connect(model=model) as conn:
        async def reader() -> None:
            nonlocal audio_error, updates
            while True:
                raw = await conn.recv_bytes()
                event = json.loads(raw)
                etype = event.get("type")
                counts[etype] = counts.get(etype, 0) + 1
                problem = validator.check_server(event)
                if problem:
                    problems.append(f"{etype}: {problem}")
                if etype == "session.updated":
                    updates += 1
                if etype == "input_audio_buffer.committed":
                    item = event["item_id"]
                    committed.append(item)
                    await conn.send({
                        "type": "response.create",
                        "response": {
                            "conversation": "none",
                            "output_modalities": ["text"],
                            "instructions": "Transcribe the user's speech verbatim.",
                            "metadata": {"purpose": "caption", "item_id": item},
                            "input": [{"type": "item_reference", "id": item}],
                        },
                    })
                elif etype == "response.created":
                    meta = event["response"].get("metadata") or {}
                    if "item_id" in meta:
                        response_item[event["response"]["id"]] = meta["item_id"]
                elif etype == "response.output_text.delta":
                    deltas.setdefault(event["response_id"], []).append(event["delta"])
                elif etype == "response.done":
                    rid = event["response"]["id"]
                    item = response_item.get(rid)
                    if item is None:
                        problems.append(f"response.done {rid} without the metadata echoed in response.created")
                        continue
                    text = "".join(deltas.get(rid, []))
                    final = event["response"]["output"][0]["content"][0]["text"]
                    if text != final:
                        problems.append(f"deltas {text!r} != final text {final!r}")
                    if not event["response"].get("usage"):
                        problems.append("response.done without usage")
                    transcripts[item] = final
                elif etype == "error":
                    if event["error"].get("event_id") == "audio-please":
                        audio_error = event["error"]
                    else:
                        problems.append(f"unexpected error: {event['error']}")
                if updates >= 2 and audio_error and len(transcripts) == len(committed):
                    done.set()

        task = asyncio.create_task(reader())
        await conn.session.update(session={
            "type": "realtime",
            "output_modalities": ["text"],
            "audio": {"input": {
                "format": {"type": "audio/pcm", "rate": 24000},
                "turn_detection": {"type": "server_vad", "threshold": 0.5, "prefix_padding_ms": 300,
                                   "silence_duration_ms": 800, "create_response": False,
                                   "interrupt_response": False},
            }},
        })
        # Unsupported: audio output must be refused with an error event, not a crash or a hang.
        await conn.send({"type": "response.create", "event_id": "audio-please",
                         "response": {"output_modalities": ["audio"]}})
        chunk = 4800  # 100 ms
        for i in range(0, len(pcm), chunk):
            await conn.input_audio_buffer.append(audio=base64.b64encode(pcm[i:i + chunk]).decode())
        # Trailing silence lets the VAD close the last turn.
        silence = base64.b64encode(b"\0" * chunk).decode()
        for _ in range(15):
            await conn.input_audio_buffer.append(audio=silence)
        # Events are handled in order: once this is answered, every append has been through the VAD.
        await conn.session.update(session={"type": "realtime"})
        try:
            await asyncio.wait_for(done.wait(), timeout=120)
        except asyncio.TimeoutError:
            problems.append(f"timed out: {len(transcripts)} of {len(committed)} turns transcribed, audio error {audio_error}")
        task.cancel()

    print(json.dumps({
        "transcripts": [transcripts.get(i, "") for i in committed],
        "turns": len(committed),
        "audio_output_error": audio_error,
        "events": counts,
        "problems": problems,
    }))
    return 1 if problems else 0


async def sessions(url: str, n: int, query: str) -> int:
    async def one(k: int) -> dict:
        ws = await websockets.connect(url + "?" + query)
        first = json.loads(await asyncio.wait_for(ws.recv(), 10))
        result = {"first": first["type"], "code": (first.get("error") or {}).get("code")}
        if first["type"] == "error":
            try:
                await asyncio.wait_for(ws.recv(), 10)
            except websockets.ConnectionClosed as closed:
                result["close_code"] = closed.rcvd.code if closed.rcvd else None
        return {"ws": ws, **result}

    results = []
    for k in range(n):   # in order, so "the fifth" is well defined
        results.append(await one(k))
    for r in results:
        await r.pop("ws").close()
    print(json.dumps(results))
    return 0


async def churn(url: str, wav_path: str, n: int) -> int:
    """N clients that each start a turn and vanish mid-turn (no close frame), then one more.

    With ``--max-sessions 1`` every connection after the first only gets ``session.created``
    once the server has released the previous session.
    """
    with wave.open(wav_path) as w:
        pcm = w.readframes(w.getnframes())
    speech = [base64.b64encode(pcm[i:i + 4800]).decode() for i in range(0, min(len(pcm), 48000), 4800)]
    created = 0
    for k in range(n + 1):
        for attempt in range(50):
            ws = await websockets.connect(url + "?model=gpt-realtime")
            first = json.loads(await asyncio.wait_for(ws.recv(), 10))
            if first["type"] == "session.created":
                break
            await ws.close()
            await asyncio.sleep(0.2)  # the previous session is still being released
        else:
            print(json.dumps({"created": created, "failed_at": k}))
            return 1
        created += 1
        if k == n:
            await ws.close()
            break
        for chunk in speech:
            await ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": chunk}))
        await asyncio.sleep(0.3)
        ws.transport.abort()   # gone mid-turn, without a close handshake
    print(json.dumps({"created": created}))
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--url", required=True, help="ws://HOST:PORT/v1/realtime")
    p.add_argument("--model", default="gpt-realtime")
    p.add_argument("--input", help="24 kHz mono PCM16 WAV (transcribe mode)")
    p.add_argument("--sessions", type=int, help="open this many connections at once instead")
    p.add_argument("--query", default="model=gpt-realtime", help="query string for --sessions")
    p.add_argument("--churn", type=int, help="this many clients that vanish mid-turn, then one more")
    args = p.parse_args()
    if args.churn:
        return asyncio.run(churn(args.url, args.input, args.churn))
    if args.sessions:
        return asyncio.run(sessions(args.url, args.sessions, args.query))
    base = args.url.rsplit("/realtime", 1)[0]   # the SDK appends /realtime?model=
    return asyncio.run(transcribe(base, args.input, args.model))


if __name__ == "__main__":
    sys.exit(main())
