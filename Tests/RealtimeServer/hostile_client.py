#!/usr/bin/env python3
"""A hostile WebSocket client for captiontap's listeners (``serve`` and the overlay).

Modes (each prints one JSON object on stdout):

``origin URL ORIGIN [HOST]``
    Opens a handshake with ``Origin: ORIGIN`` (and ``Host: HOST``, as after DNS rebinding);
    reports ``{"status": HTTP status}`` (101 when accepted).

``oversize URL BYTES``
    Sends one text message of BYTES bytes in 64 KiB fragments; reports how the server closed
    (``close_code``) and how many bytes it took before that.

``httpfuzz URL --seconds S --seed N``
    Malformed HTTP requests at a page listener, then ``GET /``: reports its status line.

``fuzz URL --seconds S --seed N [--check realtime|none]``
    Structure-aware fuzzing: real client events (the Realtime GA shapes captiontap and the SDK
    send) mutated field by field (huge, negative, fractional, NaN-like and wrong-typed numbers;
    empty, huge and odd strings; dropped keys; swapped types; deep nesting), plus truncated JSON,
    random bytes, binary frames and oversized messages, over many short connections, for S
    seconds. Reports counts. With ``--check realtime`` a normal session must work afterwards:
    ``session.created``, then ``session.updated`` for a normal update.

Bounded in time and count; talks only to the URL given (loopback in the tests).
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import json
import math
import random
import sys
import time

import websockets


def real_events(rng: random.Random) -> list[dict]:
    """One of each client event shape, as captiontap, the SDK and other clients send them."""
    pcm = bytes(rng.getrandbits(8) for _ in range(4800))
    audio = base64.b64encode(pcm).decode()
    return [
        {"type": "session.update", "session": {
            "type": "realtime", "output_modalities": ["text"], "instructions": "Transcribe.",
            "audio": {"input": {"format": {"type": "audio/pcm", "rate": 24000},
                                "turn_detection": {"type": "server_vad", "threshold": 0.6,
                                                   "prefix_padding_ms": 300, "silence_duration_ms": 800,
                                                   "create_response": False, "interrupt_response": False},
                                "transcription": {"model": "gpt-4o-transcribe", "language": "en"}}}}},
        {"type": "input_audio_buffer.append", "event_id": "e1", "audio": audio},
        {"type": "input_audio_buffer.commit", "event_id": "e2"},
        {"type": "input_audio_buffer.clear"},
        {"type": "response.create", "event_id": "e3", "response": {
            "conversation": "none", "output_modalities": ["text"], "instructions": "Transcribe.",
            "metadata": {"purpose": "caption", "item_id": "item_1"},
            "input": [{"type": "item_reference", "id": "item_1"}], "max_output_tokens": 4096}},
        {"type": "response.create", "response": {"input": [
            {"type": "message", "role": "user", "content": [{"type": "input_audio", "audio": audio},
                                                            {"type": "input_text", "text": "hi"}]}]}},
        {"type": "response.cancel", "response_id": "resp_1"},
        {"type": "conversation.item.create", "item": {
            "id": "item_x", "type": "message", "role": "user",
            "content": [{"type": "input_audio", "audio": audio}]}},
        {"type": "conversation.item.delete", "item_id": "item_1"},
        {"type": "conversation.item.retrieve", "item_id": "item_1"},
    ]


ODD_NUMBERS = [0, -1, 1, 0.5, -0.0, 1e300, -1e300, 1e15, 9.3e18, 2 ** 63, -(2 ** 63) - 1, 10 ** 40, 1e-300]
ODD_STRINGS = ["", " ", "\u0000", "\ud7ff\ue000", "é" * 1000, "x" * 100_000, "null", "NaN", "{", "\\u0000",
               "gpt-realtime", "semantic_vad", "audio/pcm", "none", "auto"]


def mutate_value(value, rng: random.Random, depth: int = 0):
    """A hostile replacement for one JSON value, often of another type."""
    choice = rng.random()
    if choice < 0.3:
        return rng.choice(ODD_NUMBERS)
    if choice < 0.5:
        return rng.choice(ODD_STRINGS)
    if choice < 0.6:
        return None
    if choice < 0.7:
        return [value] * rng.randint(0, 3)
    if choice < 0.8:
        return {"x": value}
    if choice < 0.9 and depth < 3:
        return nest(rng.randint(1, 200))
    return rng.choice([True, False])


def nest(levels: int):
    value = 1
    for _ in range(levels):
        value = [value]
    return value


def mutate(event, rng: random.Random, depth: int = 0):
    """Walks the event and mutates some fields, drops some keys, adds some."""
    if isinstance(event, dict):
        out = {}
        for key, value in event.items():
            r = rng.random()
            if r < 0.1 and key != "type":
                continue  # dropped key
            if r < 0.35:
                out[key] = mutate_value(value, rng, depth)
            else:
                out[key] = mutate(value, rng, depth + 1)
        if rng.random() < 0.1:
            out[rng.choice(["extra", "type", "event_id", "session"])] = mutate_value(None, rng, depth)
        return out
    if isinstance(event, list):
        items = [mutate(v, rng, depth + 1) for v in event]
        if rng.random() < 0.1:
            items = items * rng.randint(2, 50)
        return items
    if rng.random() < 0.2:
        return mutate_value(event, rng, depth)
    return event


def garbage_frame(rng: random.Random, events: list[dict]):
    """Something that is not a valid event at all."""
    r = rng.random()
    if r < 0.25:
        text = json.dumps(rng.choice(events))
        return text[: rng.randint(0, len(text))]
    if r < 0.45:
        return bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 2048)))  # binary frame
    if r < 0.6:
        n = rng.randint(100, 200_000)
        return "[" * n + "1" + "]" * n
    if r < 0.7:
        return json.dumps({"type": "input_audio_buffer.append", "audio": "!!not base64!!" * rng.randint(1, 100)})
    if r < 0.8:
        return json.dumps(rng.choice([1, "x", None, [], True, 1e300]))
    if r < 0.9:
        return "NaN" if rng.random() < 0.5 else '{"type": "session.update", "session": {"audio": NaN}}'
    return "\udcff".encode("utf-8", "surrogatepass")  # invalid UTF-8 in a "text" payload, as bytes


async def fuzz(url: str, seconds: float, seed: int, max_bytes: int) -> dict:
    rng = random.Random(seed)
    events = real_events(rng)
    deadline = time.monotonic() + seconds
    stats = {"connections": 0, "frames": 0, "mutated": 0, "garbage": 0, "oversize": 0, "refused": 0, "closed_by_server": 0}
    while time.monotonic() < deadline:
        try:
            async with websockets.connect(url, max_size=None, open_timeout=5, close_timeout=1) as ws:
                stats["connections"] += 1
                for _ in range(rng.randint(1, 60)):
                    if time.monotonic() >= deadline:
                        break
                    r = rng.random()
                    if r < 0.7:
                        frame = json.dumps(mutate(rng.choice(events), rng), allow_nan=True)
                        stats["mutated"] += 1
                    elif r < 0.98:
                        frame = garbage_frame(rng, events)
                        stats["garbage"] += 1
                    else:
                        frame = "x" * (max_bytes + 1)
                        stats["oversize"] += 1
                    await ws.send(frame)
                    stats["frames"] += 1
                    # Read whatever the server says, without waiting long.
                    try:
                        while True:
                            await asyncio.wait_for(ws.recv(), timeout=0.001)
                    except (asyncio.TimeoutError, TimeoutError):
                        pass
        except websockets.exceptions.InvalidStatus:
            stats["refused"] += 1
        except (websockets.exceptions.ConnectionClosed, ConnectionResetError, BrokenPipeError):
            stats["closed_by_server"] += 1
        except OSError as e:
            # The server is gone: that is the failure this tool looks for.
            stats["error"] = f"{type(e).__name__}: {e}"
            return stats
    return stats


async def check_realtime(url: str) -> dict:
    async with websockets.connect(url, open_timeout=10) as ws:
        first = json.loads(await asyncio.wait_for(ws.recv(), 10))
        await ws.send(json.dumps({"type": "session.update", "session": {"type": "realtime", "output_modalities": ["text"]}}))
        while True:
            event = json.loads(await asyncio.wait_for(ws.recv(), 10))
            if event["type"] == "session.updated":
                return {"first": first["type"], "updated": True}
            if event["type"] == "error":
                return {"first": first["type"], "updated": False, "error": event["error"]}


async def origin(url: str, value: str, host_header: str | None = None) -> dict:
    """The handshake's HTTP status, read off the wire (lws answers refusals as HTTP/1.0)."""
    rest = url.split("://", 1)[1]
    hostport, _, path = rest.partition("/")
    host, _, port = hostport.partition(":")
    reader, writer = await asyncio.open_connection(host, int(port or 80))
    key = base64.b64encode(random.randbytes(16)).decode()
    request = (f"GET /{path} HTTP/1.1\r\nHost: {host_header or hostport}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n")
    if value:
        request += f"Origin: {value}\r\n"
    writer.write((request + "\r\n").encode())
    await writer.drain()
    line = await asyncio.wait_for(reader.readline(), 10)
    writer.close()
    parts = line.decode(errors="replace").split()
    return {"status": int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None, "line": line.decode(errors="replace").strip()}


async def oversize(url: str, size: int) -> dict:
    sent = 0
    chunk = 64 << 10
    try:
        async with websockets.connect(url, max_size=None, open_timeout=5, close_timeout=5) as ws:
            async def fragments():
                nonlocal sent
                while sent < size:
                    n = min(chunk, size - sent)
                    sent += n
                    yield "x" * n
            try:
                await ws.send(fragments())
                while True:  # events the server sent before (session.created), then the close
                    await asyncio.wait_for(ws.recv(), 10)
            except websockets.exceptions.ConnectionClosed as e:
                return {"close_code": e.rcvd.code if e.rcvd else None, "sent": sent}
            except (asyncio.TimeoutError, TimeoutError):
                return {"close_code": None, "sent": sent, "still_open": True}
    except (ConnectionResetError, BrokenPipeError) as e:
        return {"close_code": None, "sent": sent, "reset": str(e)}


async def huge_length(url: str) -> dict:
    """A text fragment, then a continuation frame announcing 2^63-1 bytes with 8 KiB of them:
    the server must close (1009 or a hang-up), not crash; then a new connection must still open."""
    rest = url.split("://", 1)[1]
    hostport, _, path = rest.partition("/")
    host, _, port = hostport.partition(":")

    def masked(opcode_byte: int, payload: bytes, announced: int) -> bytes:
        mask = random.randbytes(4)
        if announced < 126:
            header = bytes([opcode_byte, 0x80 | announced])
        elif announced < 1 << 16:
            header = bytes([opcode_byte, 0x80 | 126]) + announced.to_bytes(2, "big")
        else:
            header = bytes([opcode_byte, 0x80 | 127]) + announced.to_bytes(8, "big")
        return header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))

    async def handshake():
        reader, writer = await asyncio.open_connection(host, int(port))
        key = base64.b64encode(random.randbytes(16)).decode()
        writer.write((f"GET /{path} HTTP/1.1\r\nHost: {hostport}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        await writer.drain()
        status = (await asyncio.wait_for(reader.readline(), 10)).decode(errors="replace")
        while (await asyncio.wait_for(reader.readline(), 10)) not in (b"\r\n", b""):
            pass
        return reader, writer, status

    reader, writer, status = await handshake()
    result = {"status": status.split()[1] if len(status.split()) > 1 else None}
    writer.write(masked(0x01, b"0123456789", 10))  # text, not final
    writer.write(masked(0x80, b"x" * 8192, (1 << 63) - 1))  # continuation, final, "2^63-1 bytes"
    try:
        await writer.drain()
        while True:  # what the server sends until it hangs up (its events, then a close frame)
            chunk = await asyncio.wait_for(reader.read(65536), 10)
            if not chunk:
                break
        result["closed"] = True
    except (asyncio.TimeoutError, TimeoutError):
        result["closed"] = False
    except (ConnectionResetError, BrokenPipeError):
        result["closed"] = True
    writer.close()
    try:
        _, again, status = await handshake()
        result["after"] = status.split()[1] if len(status.split()) > 1 else None
        again.close()
    except OSError as e:
        result["after"] = f"{type(e).__name__}: {e}"
    return result


async def http_fuzz(url: str, seconds: float, seed: int) -> dict:
    """Malformed HTTP requests at a page listener (methods, paths, headers, sizes), then a GET /."""
    rng = random.Random(seed)
    hostport = url.split("://", 1)[1].split("/", 1)[0]
    host, _, port = hostport.partition(":")
    deadline = time.monotonic() + seconds
    stats = {"requests": 0, "answered": 0}
    methods = ["GET", "POST", "PUT", "DELETE", "OPTIONS", "BREW", "G\x00T", "GET" * 100, ""]
    paths = ["/", "/index.html", "/captions", "/../../etc/passwd", "/%00", "/" + "a" * 70_000, "*", "", "/?" + "x=" * 5000]
    while time.monotonic() < deadline:
        try:
            reader, writer = await asyncio.open_connection(host, int(port))
            lines = [f"{rng.choice(methods)} {rng.choice(paths)} HTTP/{rng.choice(['1.1', '1.0', '2', '9.9', 'x'])}"]
            for _ in range(rng.randint(0, 40)):
                name = rng.choice(["Host", "Upgrade", "Connection", "Origin", "Content-Length", "X" * rng.randint(1, 9000)])
                lines.append(f"{name}: {rng.choice(ODD_STRINGS[:10] + ['websocket', '-1', '99999999999', hostport])}")
            payload = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "surrogatepass")
            if rng.random() < 0.2:
                payload = payload[: rng.randint(0, len(payload))]
            writer.write(payload)
            await writer.drain()
            stats["requests"] += 1
            try:
                if await asyncio.wait_for(reader.read(1024), 0.5):
                    stats["answered"] += 1
            except (asyncio.TimeoutError, TimeoutError):
                pass
            writer.close()
        except (ConnectionResetError, BrokenPipeError):
            pass
        except OSError as e:
            stats["error"] = f"{type(e).__name__}: {e}"
            return stats
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(f"GET / HTTP/1.1\r\nHost: {hostport}\r\n\r\n".encode())
    await writer.drain()
    stats["after"] = (await asyncio.wait_for(reader.readline(), 10)).decode(errors="replace").strip()
    writer.close()
    return stats


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="mode", required=True)
    o = sub.add_parser("origin"); o.add_argument("url"); o.add_argument("origin"); o.add_argument("host", nargs="?")
    s = sub.add_parser("oversize"); s.add_argument("url"); s.add_argument("bytes", type=int)
    g = sub.add_parser("hugelength"); g.add_argument("url")
    f = sub.add_parser("fuzz"); f.add_argument("url")
    f.add_argument("--seconds", type=float, default=20); f.add_argument("--seed", type=int, default=1)
    f.add_argument("--max-bytes", type=int, default=16 << 20)
    f.add_argument("--check", choices=["realtime", "none"], default="none")
    h = sub.add_parser("httpfuzz"); h.add_argument("url")
    h.add_argument("--seconds", type=float, default=10); h.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    if args.mode == "origin":
        result = asyncio.run(origin(args.url, args.origin, args.host))
    elif args.mode == "hugelength":
        result = asyncio.run(huge_length(args.url))
    elif args.mode == "oversize":
        result = asyncio.run(oversize(args.url, args.bytes))
    elif args.mode == "httpfuzz":
        result = asyncio.run(http_fuzz(args.url, min(args.seconds, 120), args.seed))
    else:
        result = asyncio.run(fuzz(args.url, min(args.seconds, 120), args.seed, args.max_bytes))
        if args.check == "realtime" and "error" not in result:
            result["after"] = asyncio.run(check_realtime(args.url))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
