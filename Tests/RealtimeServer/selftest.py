#!/usr/bin/env python3
"""Self-test of fake_realtime.py and cookbook_client.py.

Run with the venv python (``setup-venv.sh DIR`` first)::

    DIR/bin/python selftest.py [-k SUBSTRING]

Each test starts its own server (``--port 0 --strict``) as a subprocess and
stops it with SIGTERM, checking its exit code and stats line.  Prints one
PASS/FAIL line per test and ends with ``N passed, N failed``; exits 1 on any
failure.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import wave
from typing import Any, Optional

import numpy as np
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER = os.path.join(HERE, "fake_realtime.py")
COOKBOOK = os.path.join(HERE, "cookbook_client.py")
SR = 24000
TIMEOUT = 10.0

TEXT_VAD = {"type": "server_vad", "threshold": 0.6, "prefix_padding_ms": 300,
            "silence_duration_ms": 800, "create_response": False, "interrupt_response": False}


# ---------------------------------------------------------------------------
# Audio helpers
# ---------------------------------------------------------------------------


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(round(seconds * SR)))


def tone(freq: float, seconds: float, amplitude: float = 0.3) -> np.ndarray:
    t = np.arange(int(round(seconds * SR))) / SR
    return amplitude * np.sin(2 * np.pi * freq * t)


def pcm16(*parts: np.ndarray) -> bytes:
    """Concatenate float signals (-1..1) into PCM16 LE bytes."""
    signal_ = np.concatenate(parts)
    return (np.clip(signal_, -1, 1) * 32767).astype("<i2").tobytes()


def write_wav(path: str, pcm: bytes) -> None:
    with wave.open(path, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(SR)
        wav.writeframes(pcm)


def three_tone_pcm() -> bytes:
    """1 s silence, then 300/500/700 Hz bursts of 1 s separated by 1.5 s silence."""
    return pcm16(silence(1.0), tone(300, 1.0), silence(1.5), tone(500, 1.0),
                 silence(1.5), tone(700, 1.0))


# ---------------------------------------------------------------------------
# Server process and WebSocket client helpers
# ---------------------------------------------------------------------------


class ServerProcess:
    """fake_realtime.py as a subprocess on an ephemeral port."""

    def __init__(self, *flags: str, strict: bool = True):
        self.stderr = tempfile.TemporaryFile(mode="w+")
        args = [sys.executable, SERVER, "--port", "0"] + (["--strict"] if strict else []) + list(flags)
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self.stderr, text=True)
        line = self.proc.stdout.readline().strip()
        if not line.startswith("LISTENING "):
            self.proc.kill()
            raise AssertionError(f"server did not start: {line!r} {self.read_stderr()}")
        self.port = int(line.split()[1])
        self.url = f"ws://127.0.0.1:{self.port}/v1/realtime?model=gpt-realtime"

    def read_stderr(self) -> str:
        self.stderr.seek(0)
        return self.stderr.read()

    def stop(self) -> tuple[int, dict]:
        """SIGTERM the server; return (exit code, stats dict)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise AssertionError("server did not stop on SIGTERM")
        stats = {}
        for line in self.read_stderr().splitlines():
            if line.startswith("{") and "fake_realtime_stats" in line:
                stats = json.loads(line)
        return rc, stats

    def __enter__(self) -> "ServerProcess":
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class Client:
    """Minimal asyncio Realtime client that records every frame it receives."""

    def __init__(self, ws: Any):
        self.ws = ws
        self.events: list[dict] = []
        self.raw: list[Any] = []  # every frame in arrival order (str or bytes)

    @classmethod
    async def connect(cls, url: str, headers: Optional[dict] = None) -> "Client":
        ws = await websockets.connect(url, additional_headers=headers or {}, max_size=None)
        client = cls(ws)
        created = await client.wait_for("session.created")
        assert created["session"]["type"] == "realtime", created
        return client

    async def send(self, event: dict) -> None:
        await self.ws.send(json.dumps(event))

    async def next_event(self, timeout: float = TIMEOUT) -> dict:
        """Next JSON event; non-JSON and binary frames are only recorded in ``raw``."""
        while True:
            frame = await asyncio.wait_for(self.ws.recv(), timeout)
            self.raw.append(frame)
            if isinstance(frame, bytes):
                continue
            try:
                event = json.loads(frame)
            except json.JSONDecodeError:
                continue
            self.events.append(event)
            return event

    async def wait_for(self, etype: str, timeout: float = TIMEOUT, **match: Any) -> dict:
        """Wait for the next event of ``etype`` whose fields equal ``match``."""
        deadline = time.monotonic() + timeout
        while True:
            event = await self.next_event(max(0.01, deadline - time.monotonic()))
            if event["type"] == etype and all(event.get(k) == v for k, v in match.items()):
                return event
            if event["type"] == "error" and etype != "error":
                raise AssertionError(f"unexpected error while waiting for {etype}: {event}")

    async def configure(self, turn_detection: Optional[dict] = TEXT_VAD) -> dict:
        await self.send({"type": "session.update", "session": {
            "type": "realtime", "output_modalities": ["text"],
            "audio": {"input": {"format": {"type": "audio/pcm", "rate": 24000},
                                "turn_detection": turn_detection}}}})
        return await self.wait_for("session.updated")

    async def append(self, pcm: bytes, chunk: int = 4800) -> None:
        for offset in range(0, len(pcm), chunk):
            await self.send({"type": "input_audio_buffer.append",
                             "audio": base64.b64encode(pcm[offset: offset + chunk]).decode()})

    async def commit_tone(self, freq: float) -> str:
        """Append silence/tone/silence; return the item id once its item events are in."""
        await self.append(pcm16(silence(0.5), tone(freq, 0.5), silence(1.0)))
        item_id = (await self.wait_for("input_audio_buffer.committed"))["item_id"]
        await self.wait_for("conversation.item.done")
        return item_id

    async def collect_responses(self, count: int, timeout: float = TIMEOUT) -> list[tuple[str, dict, list[dict]]]:
        """The next ``count`` responses, in order of completion: (text, response.done, events)."""
        per_response: dict[str, list[dict]] = {}
        finished = []
        while len(finished) < count:
            event = await self.next_event(timeout)
            rid = event.get("response_id") or (event.get("response") or {}).get("id")
            if event["type"] == "response.created":
                per_response[rid] = []
            if rid in per_response:
                per_response[rid].append(event)
            if event["type"] == "response.done" and rid in per_response:
                events = per_response.pop(rid)
                text = "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")
                finished.append((text, event, events))
            elif event["type"] == "error":
                raise AssertionError(f"error while collecting responses: {event}")
        return finished

    async def collect_response(self, timeout: float = TIMEOUT) -> tuple[str, dict, list[dict]]:
        """Events of the next complete response: (text, response.done, events)."""
        return (await self.collect_responses(1, timeout))[0]

    async def close(self) -> None:
        await self.ws.close()


def oob_request(item_id: Optional[str], event_id: Optional[str] = None, **extra: Any) -> dict:
    """An out-of-band response.create as captiontap sends it."""
    response = {"conversation": "none", "output_modalities": ["text"],
                "instructions": "Transcribe the last user turn verbatim.",
                "metadata": {"purpose": "caption", "item_id": str(item_id)}, **extra}
    if item_id is not None:
        response["input"] = [{"type": "item_reference", "id": item_id}]
    event = {"type": "response.create", "response": response}
    if event_id:
        event["event_id"] = event_id
    return event


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


def stop_clean(server: ServerProcess, **expected_stats: int) -> dict:
    """Stop the server, require exit 0 and the given stats values."""
    rc, stats = server.stop()
    expect(rc == 0, f"server exit code {rc}; stderr:\n{server.read_stderr()}")
    for key, value in expected_stats.items():
        expect(stats.get(key) == value, f"stats[{key}] = {stats.get(key)}, want {value}: {stats}")
    return stats


# ---------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------


def test_cookbook_three_tones() -> None:
    """The cookbook client transcribes three tone bursts; --log and --audio-out work."""
    with tempfile.TemporaryDirectory() as tmp:
        wav, log, audio_out = (os.path.join(tmp, n) for n in ("in.wav", "log.jsonl", "audio"))
        pcm = three_tone_pcm()
        write_wav(wav, pcm)
        with ServerProcess("--log", log, "--audio-out", audio_out) as server:
            run = subprocess.run([sys.executable, COOKBOOK, "--url", server.url, "--input", wav,
                                  "--timeout", "30"], capture_output=True, text=True, timeout=60)
            expect(run.returncode == 0, f"cookbook client failed: {run.stderr}")
            lines = run.stdout.splitlines()
            expect(lines == ["tone 300 hertz", "tone 500 hertz", "tone 700 hertz"], f"finals {lines}")
            stop_clean(server, commits=3, responses=3, validation_failures=0)
        records = [json.loads(line) for line in open(log)]
        appended = sum(r["audio"] for r in records if r["type"] == "input_audio_buffer.append")
        expect(appended == len(pcm), f"log counts {appended} audio bytes, sent {len(pcm)}")
        expect([r["type"] for r in records].count("response.create") == 3, "3 response.create logged")
        expect(open(audio_out + ".1", "rb").read() == pcm, "--audio-out content differs")


async def _protocol_sequence(server: ServerProcess) -> None:
    client = await Client.connect(server.url)
    session = client.events[0]["session"]
    td = session["audio"]["input"]["turn_detection"]
    expect(td["type"] == "server_vad" and td["threshold"] == 0.5 and td["create_response"], f"{td}")
    updated = await client.configure()
    expect(updated["session"]["audio"]["input"]["turn_detection"] == {**TEXT_VAD, "idle_timeout_ms": None},
           f"session.updated turn_detection {updated['session']['audio']['input']['turn_detection']}")
    expect(updated["session"]["output_modalities"] == ["text"], "output_modalities")
    # 1 s silence, 1 s 440 Hz, 1 s silence; 70 ms chunks to cross frame boundaries.
    await client.append(pcm16(silence(1.0), tone(440, 1.0), silence(1.0)), chunk=3360)
    started = await client.wait_for("input_audio_buffer.speech_started")
    stopped = await client.wait_for("input_audio_buffer.speech_stopped")
    committed = await client.wait_for("input_audio_buffer.committed")
    added = await client.wait_for("conversation.item.added")
    done = await client.wait_for("conversation.item.done")
    item_id = started["item_id"]
    expect(started["audio_start_ms"] == 700, f"audio_start_ms {started['audio_start_ms']}")
    expect(stopped["audio_end_ms"] == 2800, f"audio_end_ms {stopped['audio_end_ms']}")
    expect(stopped["item_id"] == committed["item_id"] == added["item"]["id"] == done["item"]["id"] == item_id,
           "item ids differ")
    expect(committed["previous_item_id"] is None, "previous_item_id of first item")
    expect(added["item"]["content"] == [{"type": "input_audio", "transcript": None}], f"{added}")
    # Two OOB responses in flight: one with a text message before the reference, one without input.
    text_item = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "context"}]}
    first = oob_request(item_id, "evt_a")
    first["response"]["input"].insert(0, text_item)
    second = oob_request(None, "evt_b")
    second["response"]["metadata"]["item_id"] = "implicit"
    mark = len(client.events)
    await client.send(first)
    await client.send(second)
    results = {done["response"]["metadata"]["item_id"]: (text, events)
               for text, done, events in await client.collect_responses(2)}
    for key in (item_id, "implicit"):
        text, events = results[key]
        expect(text == "tone 440 hertz", f"response for {key}: {text!r}")
        kinds = [e["type"] for e in events]
        want = ["response.created", "response.output_item.added", "response.content_part.added",
                "response.output_text.delta", "response.output_text.delta", "response.output_text.delta",
                "response.output_text.done", "response.content_part.done", "response.output_item.done",
                "response.done"]
        expect(kinds == want, f"sequence {kinds}")
        expect(events[0]["response"]["conversation_id"] is None, "OOB conversation_id")
        expect(events[-1]["response"]["usage"]["total_tokens"] > 0, "usage")
    later = [e["type"] for e in client.events[mark:]]
    expect(later.count("rate_limits.updated") == 2, f"rate_limits.updated count in {later}")
    expect(not any(t.startswith("conversation.item") for t in later), f"OOB wrote items: {later}")
    # Errors: unknown item, empty commit; clear works.
    await client.send(oob_request("item_nope", "evt_c"))
    error = await client.wait_for("error")
    expect(error["error"]["event_id"] == "evt_c" and error["error"]["type"] == "invalid_request_error", f"{error}")
    # 200 ms of silence follow the commit: clear them, then a commit is empty.
    await client.send({"type": "input_audio_buffer.clear"})
    await client.wait_for("input_audio_buffer.cleared")
    await client.send({"type": "input_audio_buffer.commit", "event_id": "evt_d"})
    error = await client.wait_for("error")
    expect(error["error"]["code"] == "input_audio_buffer_commit_empty"
           and error["error"]["event_id"] == "evt_d", f"{error}")
    await client.send({"type": "response.cancel", "event_id": "evt_e", "response_id": "resp_nope"})
    error = await client.wait_for("error")
    expect(error["error"]["code"] == "response_cancel_not_active", f"{error}")
    ids = [e["event_id"] for e in client.events]
    expect(len(ids) == len(set(ids)), "event_id values are not unique")
    # A second turn reports previous_item_id and ms offsets from session start.
    await client.append(pcm16(tone(600, 0.5), silence(1.0)))
    started2 = await client.wait_for("input_audio_buffer.speech_started")
    expect(started2["audio_start_ms"] == 3000, f"second audio_start_ms {started2['audio_start_ms']}")
    committed2 = await client.wait_for("input_audio_buffer.committed")
    expect(committed2["previous_item_id"] == item_id, f"{committed2}")
    await client.close()


def test_protocol_sequence() -> None:
    """VAD events, item events, concurrent OOB responses and error paths."""
    with ServerProcess() as server:
        asyncio.run(_protocol_sequence(server))
        stop_clean(server, validation_failures=0, responses=2, commits=2)


async def _manual_and_auto(server: ServerProcess) -> None:
    # turn_detection null: no VAD events, manual commit.
    client = await Client.connect(server.url)
    await client.configure(turn_detection=None)
    await client.append(pcm16(silence(0.2), tone(250, 0.5), silence(0.2)))
    await client.send({"type": "input_audio_buffer.commit"})
    committed = await client.wait_for("input_audio_buffer.committed")
    expect(not any(e["type"].startswith("input_audio_buffer.speech") for e in client.events), "VAD ran")
    await client.send(oob_request(committed["item_id"]))
    text, _, _ = await client.collect_response()
    expect(text == "tone 250 hertz", text)
    # A commit during an open VAD turn closes it at once.
    await client.configure(turn_detection=TEXT_VAD)
    await client.append(pcm16(tone(350, 0.5)))
    await client.wait_for("input_audio_buffer.speech_started")
    await client.send({"type": "input_audio_buffer.commit"})
    stopped = await client.wait_for("input_audio_buffer.speech_stopped")
    expect(stopped["audio_end_ms"] == 1400, f"audio_end_ms {stopped['audio_end_ms']}")
    await client.wait_for("input_audio_buffer.committed")
    await client.wait_for("conversation.item.done")
    # Items created by the client: reference, retrieve, delete.
    audio = base64.b64encode(pcm16(tone(1000, 0.3))).decode()
    await client.send({"type": "conversation.item.create", "item": {
        "id": "my_item", "type": "message", "role": "user",
        "content": [{"type": "input_audio", "audio": audio}]}})
    added = await client.wait_for("conversation.item.added")
    expect(added["item"]["id"] == "my_item" and "audio" not in added["item"]["content"][0], f"{added}")
    await client.send(oob_request("my_item"))
    text, _, _ = await client.collect_response()
    expect(text == "tone 1000 hertz", text)
    await client.send({"type": "conversation.item.retrieve", "item_id": "my_item"})
    retrieved = await client.wait_for("conversation.item.retrieved")
    expect(retrieved["item"]["content"][0]["audio"] == audio, "retrieved audio")
    await client.send({"type": "conversation.item.delete", "item_id": "my_item"})
    await client.wait_for("conversation.item.deleted", item_id="my_item")
    await client.close()
    # Default session: create_response true, audio output, in-band response.
    client = await Client.connect(server.url)
    await client.append(pcm16(silence(0.5), tone(800, 0.5), silence(1.0)))
    await client.wait_for("input_audio_buffer.committed")
    created = await client.wait_for("response.created")
    expect(created["response"]["conversation_id"] is not None, "in-band conversation_id")
    done = await client.wait_for("response.done")
    transcript = done["response"]["output"][0]["content"][0]["transcript"]
    expect(transcript == "tone 800 hertz", transcript)
    kinds = [e["type"] for e in client.events]
    expect("response.output_audio.delta" in kinds and "conversation.item.done" in kinds, f"{kinds}")
    await client.close()


def test_manual_commit_and_auto_response() -> None:
    """turn_detection null + manual commit; commit closes an open turn; default auto audio response."""
    with ServerProcess() as server:
        asyncio.run(_manual_and_auto(server))
        stop_clean(server, validation_failures=0, responses=3)


async def _invalid_events(server: ServerProcess) -> None:
    client = await Client.connect(server.url)
    await client.send({"type": "session.update", "event_id": "bad1",
                       "session": {"type": "realtime", "modalities": ["text"]}})  # beta field
    error = await client.wait_for("error")
    expect(error["error"]["code"] == "unknown_parameter" and error["error"]["event_id"] == "bad1"
           and error["error"]["param"] == "session.modalities", f"{error}")
    await client.send({"type": "response.create", "event_id": "bad2",
                       "response": {"input": [{"type": "item_reference", "id": 5}]}})
    error = await client.wait_for("error")
    expect(error["error"]["event_id"] == "bad2", f"{error}")
    await client.ws.send("not json")
    await client.wait_for("error")
    await client.send({"type": "transcription_session.update", "session": {}})
    error = await client.wait_for("error")
    expect(error["error"]["param"] == "type", f"{error}")
    await client.send({"type": "session.update", "session": {"type": "realtime", "audio": {
        "input": {"turn_detection": {"type": "server_vad", "threshold": "high"}}}}})
    error = await client.wait_for("error")
    expect(error["error"]["param"] == "session.audio.input.turn_detection.threshold", f"{error}")
    await client.close()


def test_validation_failures_strict() -> None:
    """Invalid client events give error events, _validation_error log lines and exit 1 with --strict."""
    with tempfile.TemporaryDirectory() as tmp:
        log = os.path.join(tmp, "log.jsonl")
        with ServerProcess("--log", log) as server:
            asyncio.run(_invalid_events(server))
            rc, stats = server.stop()
        expect(rc == 1, f"--strict exit code {rc}")
        expect(stats["validation_failures"] == 5, f"{stats}")
        flagged = [json.loads(line) for line in open(log) if "_validation_error" in line]
        expect(len(flagged) == 5, f"{len(flagged)} flagged log lines")


async def _drop(server: ServerProcess) -> None:
    client = await Client.connect(server.url)
    await client.configure()
    first = await client.commit_tone(300)
    await client.send(oob_request(first))
    text, _, _ = await client.collect_response()
    expect(text == "tone 300 hertz", text)
    second = await client.commit_tone(400)
    await client.send(oob_request(second))
    try:
        while True:
            event = await client.next_event()
            expect(event["type"] != "response.created", "response answered despite drop")
    except ConnectionClosed as exc:
        expect(exc.rcvd is None, f"expected an abrupt close, got close frame {exc.rcvd}")
    # Reconnect and replay: the fault applies to session 1 only.
    client = await Client.connect(server.url)
    await client.configure()
    replay = await client.commit_tone(400)
    expect(replay != second, "item ids must be new in a new session")
    await client.send(oob_request(replay))
    text, _, _ = await client.collect_response()
    expect(text == "tone 400 hertz", text)
    await client.close()


def test_drop_after_commits() -> None:
    """--drop-after-commits 2 aborts the TCP connection before answering turn 2."""
    with ServerProcess("--drop-after-commits", "2") as server:
        asyncio.run(_drop(server))
        stop_clean(server, injected_drops=1, sessions=2, responses=2)


async def _error_first(server: ServerProcess) -> None:
    client = await Client.connect(server.url)
    await client.configure()
    item = await client.commit_tone(500)
    await client.send(oob_request(item, "evt_first"))
    error = await client.next_event()
    expect(error["type"] == "error" and error["error"]["event_id"] == "evt_first"
           and error["error"]["type"] == "server_error" and error["error"]["code"] == "server_error",
           f"{error}")
    await client.send(oob_request(item, "evt_retry"))
    text, _, _ = await client.collect_response()
    expect(text == "tone 500 hertz", text)
    await client.close()


def test_error_first_responses() -> None:
    """--error-first-responses 1: server_error echoing the client's event_id, then normal."""
    with ServerProcess("--error-first-responses", "1") as server:
        asyncio.run(_error_first(server))
        stop_clean(server, injected_errors=1, responses=1)


async def _rate_limit(server: ServerProcess) -> None:
    client = await Client.connect(server.url)
    await client.configure()
    item = await client.commit_tone(600)
    await client.send(oob_request(item, "evt_rl"))
    limits = await client.next_event()
    expect(limits["type"] == "rate_limits.updated", f"{limits}")
    requests = [r for r in limits["rate_limits"] if r["name"] == "requests"][0]
    expect(requests["remaining"] == 0 and requests["reset_seconds"] == 0.5, f"{limits}")
    error = await client.next_event()
    expect(error["type"] == "error" and error["error"]["code"] == "rate_limit_exceeded"
           and error["error"]["event_id"] == "evt_rl", f"{error}")
    await client.send(oob_request(item, "evt_rl2"))
    text, _, _ = await client.collect_response()
    expect(text == "tone 600 hertz", text)
    await client.close()


def test_rate_limit_first() -> None:
    """--rate-limit-first 1: rate_limits.updated (remaining 0) + error rate_limit_exceeded."""
    with ServerProcess("--rate-limit-first", "1") as server:
        asyncio.run(_rate_limit(server))
        stop_clean(server, injected_rate_limits=1, responses=1)


async def _garbage(server: ServerProcess) -> None:
    client = await Client.connect(server.url)
    await client.configure()
    item = await client.commit_tone(700)
    mark = len(client.raw)
    await client.send(oob_request(item))
    text, _, events = await client.collect_response()
    expect(text == "tone 700 hertz", text)
    frames = client.raw[mark:]
    created_at = next(i for i, f in enumerate(frames) if isinstance(f, str) and '"response.created"' in f)
    before = frames[:created_at]
    expect(any(isinstance(f, bytes) for f in before), "no binary frame before response.created")
    expect(any(isinstance(f, str) and not f.startswith("{") for f in before), "no non-JSON frame")
    expect(any(isinstance(f, str) and '"x.unknown"' in f for f in before), "no unknown event type")
    deltas = [e for e in events if e["type"] == "response.output_text.delta"]
    expect(all("x_unknown_field" in e for e in deltas), "delta without extra field")
    await client.close()


def test_garbage() -> None:
    """--garbage: junk frames before response.created and an extra field on deltas."""
    with ServerProcess("--garbage") as server:
        asyncio.run(_garbage(server))
        stop_clean(server, responses=1, server_validation_failures=0)


async def _session_max(server: ServerProcess) -> None:
    client = await Client.connect(server.url)
    started = time.monotonic()
    error = await client.wait_for("error", timeout=5)
    expect(error["error"]["code"] == "session_expired"
           and error["error"]["message"] == "Your session hit the maximum duration of 1 seconds.",
           f"{error}")
    try:
        await client.next_event(timeout=5)
        raise AssertionError("connection still open after session_expired")
    except ConnectionClosed as exc:
        expect(exc.rcvd is not None and exc.rcvd.code == 1001, f"close frame {exc.rcvd}")
    expect(0.9 < time.monotonic() - started < 3, "expiry timing")


def test_session_max_seconds() -> None:
    """--session-max-seconds 1: error session_expired, then close code 1001."""
    with ServerProcess("--session-max-seconds", "1") as server:
        asyncio.run(_session_max(server))
        stop_clean(server, sessions_expired=1)


async def _auth(server: ServerProcess) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        try:
            await websockets.connect(server.url, additional_headers=headers)
            raise AssertionError(f"handshake accepted with {headers}")
        except InvalidStatus as exc:
            expect(exc.response.status_code == 401, f"status {exc.response.status_code}")
            body = json.loads(exc.response.body)
            expect(body["error"]["code"] == "invalid_api_key", f"{body}")
    client = await Client.connect(server.url, {"Authorization": "Bearer sk-test"})
    await client.close()


def test_api_key() -> None:
    """--api-key: HTTP 401 without/with a wrong bearer token, upgrade with the right one."""
    with ServerProcess("--api-key", "sk-test") as server:
        asyncio.run(_auth(server))
        stop_clean(server, handshakes_rejected=2, sessions=1)


async def _reverse(server: ServerProcess) -> None:
    client = await Client.connect(server.url)
    await client.configure()
    first = await client.commit_tone(300)
    second = await client.commit_tone(900)
    await client.send(oob_request(first))
    await client.send(oob_request(second))
    order = [done["response"]["metadata"]["item_id"] for _, done, _ in await client.collect_responses(2)]
    expect(order == [second, first], f"order {order}")
    started = time.monotonic()
    await client.send(oob_request(first))
    await client.collect_response()
    expect(0.9 < time.monotonic() - started < 2.5, "a lone held response is flushed after 1 s")
    await client.close()


def test_reverse_responses() -> None:
    """--reverse-responses: two pending responses are answered newest first."""
    with ServerProcess("--reverse-responses") as server:
        asyncio.run(_reverse(server))
        stop_clean(server, responses=3)


async def _delay(server: ServerProcess) -> None:
    client = await Client.connect(server.url)
    await client.configure()
    item = await client.commit_tone(440)
    started = time.monotonic()
    await client.send(oob_request(item))
    await client.wait_for("response.created")
    expect(time.monotonic() - started >= 0.3, "response came before --response-delay-ms")
    await client.close()


def test_response_delay() -> None:
    """--response-delay-ms 300 delays response.created."""
    with ServerProcess("--response-delay-ms", "300") as server:
        asyncio.run(_delay(server))
        stop_clean(server)


def test_cookbook_real_speech() -> None:
    """Real speech (the shipped fixture jfk.wav) gives several non-empty finals."""
    wav = os.path.join(HERE, "..", "Fixtures", "speech", "jfk.wav")
    expect(os.path.exists(wav), f"missing fixture {wav}")
    with ServerProcess() as server:
        run = subprocess.run([sys.executable, COOKBOOK, "--url", server.url, "--input", wav,
                              "--silence-ms", "500", "--timeout", "30"],
                             capture_output=True, text=True, timeout=60)
        expect(run.returncode == 0, f"cookbook client failed: {run.stderr}")
        lines = run.stdout.splitlines()
        expect(len(lines) >= 2 and all(line.startswith("tone ") for line in lines), f"finals {lines}")
        stop_clean(server, validation_failures=0)


def test_vad_level_mapping() -> None:
    """A -40 dBFS tone is silence at threshold 0.5; a -30 dBFS one is speech."""
    sys.path.insert(0, HERE)
    sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
    import fake_realtime as fr
    expect(abs(fr.vad_level(0.5) - 0.02) < 1e-12, "vad_level(0.5)")
    quiet = pcm16(tone(440, 0.5, amplitude=0.01 * np.sqrt(2)))
    loud = pcm16(tone(440, 0.5, amplitude=0.0316 * np.sqrt(2)))
    expect(fr.recognize(quiet, fr.vad_level(0.5)) == "", "quiet tone recognized")
    expect(fr.recognize(loud, fr.vad_level(0.5)) == "tone 440 hertz", "loud tone not recognized")
    expect(fr.split_words("tone 440 hertz") == ["tone", " 440", " hertz"], "split_words")


TESTS = [obj for name, obj in sorted(globals().items()) if name.startswith("test_")]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-k", default="", help="run only tests whose name contains this")
    args = parser.parse_args()
    passed = failed = 0
    for test in TESTS:
        if args.k not in test.__name__:
            continue
        started = time.monotonic()
        try:
            test()
        except Exception:  # noqa: BLE001 - report every failure and go on
            failed += 1
            print(f"FAIL {test.__name__}\n{traceback.format_exc()}", flush=True)
        else:
            passed += 1
            print(f"PASS {test.__name__} ({time.monotonic() - started:.1f}s)", flush=True)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
