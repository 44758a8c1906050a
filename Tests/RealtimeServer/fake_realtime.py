#!/usr/bin/env python3
"""Loopback fake of the OpenAI Realtime API (GA WebSocket protocol) for tests.

Run with the venv made by ``setup-venv.sh``::

    DIR/bin/python fake_realtime.py --port 0 [options]

It binds 127.0.0.1 only, serves ``/v1/realtime`` (any query string; ``model=``
is echoed in the session), prints exactly one line ``LISTENING <port>`` to
stdout once ready and runs until SIGTERM/SIGINT, when it prints one JSON line
of statistics to stderr.  Event names and shapes follow
docs/PROTOCOL.md (GA, openai-python 3.57.0 types).

Behaviour in short
------------------
* ``session.created`` on connect, ``session.update`` -> ``session.updated``
  with the full effective session (defaults as the real server: server_vad,
  threshold 0.5, prefix 300 ms, silence 500 ms, both auto flags true).
* Server VAD on the appended PCM16/24 kHz audio, in 10 ms frames (480 bytes).
  A frame is *voiced* when its RMS, as a fraction of full scale (0..1), is
  above ``vad_level(threshold) = 0.04 * threshold`` (0.02 = -34 dBFS at the
  default threshold 0.5, 0.024 at 0.6, 0.04 at 1.0).  The first voiced frame
  opens a turn (``speech_started``, ``audio_start_ms`` = frame start minus
  ``prefix_padding_ms``, clamped to 0 and to the end of the previous commit);
  ``silence_duration_ms`` of consecutive unvoiced frames closes it
  (``speech_stopped``, ``audio_end_ms`` = end of the last of those silent
  frames) and commits the item (``committed``, ``conversation.item.added``,
  ``conversation.item.done``).  ms = bytes / 48, counted from the first byte
  appended in the session (``clear`` does not reset the clock).
* The fake "recognizer": the dominant frequency (Hann-windowed FFT peak) of
  the voiced frames of the item's audio, rounded to the nearest 10 Hz, gives
  the text ``tone <f> hertz``; an item without voiced frames gives ``""``
  (and then no ``output_text.delta`` at all, only the ``done`` events).
* ``response.create`` (OOB ``conversation:"none"`` with ``item_reference``
  input, ``metadata`` echo, text or audio output) answers with the full GA
  event sequence; ``conversation:"auto"`` responses also write to the
  conversation and are limited to one at a time.
* Every client event is validated with ``TypeAdapter(RealtimeClientEvent)``
  (``item_reference`` entries of ``response.input`` are checked separately,
  see protocol doc section 5) *plus* an unknown-field check (the SDK models
  accept extra keys, the real server answers ``unknown_parameter``).  Every
  server event is validated with ``TypeAdapter(RealtimeServerEvent)``; a
  failure there is a bug in this fake and raises.

Choices where the real API's behaviour is unknown or not modelled
-----------------------------------------------------------------
* ``input_audio_buffer.commit`` with an open turn emits ``speech_stopped``
  (``audio_end_ms`` = all audio so far) before ``committed``; without an open
  turn it commits whatever was appended since the last commit/clear (even
  silence); only 0 bytes gives ``input_audio_buffer_commit_empty``.
* ``clear`` silently drops an open turn and does not reset the ms clock.
* Error codes chosen here: unknown item -> ``item_not_found``; known but
  unimplemented events (``conversation.item.truncate``,
  ``output_audio_buffer.clear``) -> ``unsupported_event``; bad JSON / binary
  frames -> ``invalid_json``; unknown type -> ``invalid_value`` (param
  ``type``).
* ``semantic_vad`` runs the same energy VAD with the server_vad defaults;
  ``idle_timeout_ms`` is accepted but never fires.
* Built-in transcription (``audio.input.transcription``) events come right
  after ``conversation.item.done`` and use the same recognizer.
* ``--log`` lines carry an extra ``_session`` field (session number).
* Only ``audio/pcm`` input is accepted (``session.update`` error otherwise).

See ``--help`` for logging and fault-injection options.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import contextlib
import dataclasses
import http
import itertools
import json
import math
import re
import signal
import ssl
import sys
import time
import typing
import urllib.parse
from collections import Counter
from typing import Any, Optional

import numpy as np
import pydantic
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from openai.types.realtime import RealtimeClientEvent, RealtimeServerEvent

# ---------------------------------------------------------------------------
# Audio constants and the fake recognizer
# ---------------------------------------------------------------------------

SAMPLE_RATE = 24000
BYTES_PER_MS = 48  # 24 samples/ms * 2 bytes
FRAME_BYTES = 10 * BYTES_PER_MS  # 10 ms VAD frame
SILENT_PCM_PER_WORD = b"\x00\x00" * 2400  # 100 ms of audio output per word


def vad_level(threshold: float) -> float:
    """Map the API's VAD ``threshold`` (0..1) to an RMS level (fraction of full scale).

    Linear: 0.5 (the API default) -> 0.02 (about -34 dBFS); 1.0 -> 0.04.
    """
    return 0.04 * threshold


def frame_rms(pcm: bytes) -> np.ndarray:
    """RMS (0..1 of full scale) of each complete 10 ms frame of PCM16 LE audio."""
    n = len(pcm) // FRAME_BYTES
    if n == 0:
        return np.zeros(0)
    samples = np.frombuffer(pcm, dtype="<i2", count=n * FRAME_BYTES // 2)
    frames = samples.astype(np.float64).reshape(n, FRAME_BYTES // 2) / 32768.0
    return np.sqrt(np.mean(frames * frames, axis=1))


def recognize(pcm: Optional[bytes], level: float) -> str:
    """The fake's speech recognizer.

    Takes the voiced 10 ms frames (RMS > ``level``) of ``pcm``, finds the
    dominant frequency with a Hann-windowed, zero-padded FFT and returns
    ``"tone <f> hertz"`` with f rounded to the nearest 10 Hz, or ``""`` if the
    audio has no voiced frame.
    """
    if not pcm:
        return ""
    rms = frame_rms(pcm)
    voiced = np.nonzero(rms > level)[0]
    if voiced.size == 0:
        return ""
    samples = np.frombuffer(pcm, dtype="<i2", count=len(pcm) // 2).astype(np.float64)
    per_frame = FRAME_BYTES // 2
    frames = samples[: rms.size * per_frame].reshape(rms.size, per_frame)
    signal_ = frames[voiced].reshape(-1)[: 30 * SAMPLE_RATE]
    nfft = 1 << max(16, math.ceil(math.log2(signal_.size * 2)))
    spectrum = np.abs(np.fft.rfft(signal_ * np.hanning(signal_.size), nfft))
    freqs = np.fft.rfftfreq(nfft, 1.0 / SAMPLE_RATE)
    spectrum[freqs < 20.0] = 0.0
    peak = float(freqs[int(np.argmax(spectrum))])
    return f"tone {int(round(peak / 10.0)) * 10} hertz"


def split_words(text: str) -> list[str]:
    """Split text into word-sized deltas (``"tone", " 440", " hertz"``)."""
    return re.findall(r"\s*\S+", text)


# ---------------------------------------------------------------------------
# Configuration, ids, statistics
# ---------------------------------------------------------------------------


@dataclasses.dataclass
class Config:
    """Command-line configuration (see ``parse_args``)."""

    port: int = 0
    api_key: Optional[str] = None
    log: Optional[str] = None
    audio_out: Optional[str] = None
    strict: bool = False
    verbose: bool = False
    drop_after_commits: int = 0
    hang_after_commits: int = 0
    fault_every: int = 0
    error_first_responses: int = 0
    text_suffix: str = ""
    rate_limit_first: int = 0
    garbage: bool = False
    reverse_responses: bool = False
    session_max_seconds: float = 0.0
    response_delay_ms: int = 0
    tls_cert: Optional[str] = None
    tls_key: Optional[str] = None


class Ids:
    """Server-wide unique, deterministic ids (``event_000001`` ...)."""

    def __init__(self) -> None:
        self._counters: dict[str, itertools.count] = {}

    def new(self, prefix: str) -> str:
        counter = self._counters.setdefault(prefix, itertools.count(1))
        return f"{prefix}_{next(counter):06d}"


@dataclasses.dataclass
class Stats:
    """Counters reported as one JSON line on shutdown."""

    sessions: int = 0
    handshakes_rejected: int = 0
    client_events: Counter = dataclasses.field(default_factory=Counter)
    validation_failures: int = 0
    server_validation_failures: int = 0
    commits: int = 0
    responses: int = 0
    responses_cancelled: int = 0
    response_creates: int = 0
    injected_errors: int = 0
    injected_rate_limits: int = 0
    injected_drops: int = 0
    injected_hangs: int = 0
    periodic_faults: dict = dataclasses.field(default_factory=dict)
    sessions_expired: int = 0
    audio_bytes: int = 0
    #: Milliseconds from receiving each response.create to sending its response.done.
    response_ms: list = dataclasses.field(default_factory=list)

    def as_json(self) -> str:
        data = dataclasses.asdict(self)
        times = sorted(self.response_ms)
        data["response_ms"] = {"count": len(times), "median": times[len(times) // 2] if times else None,
                               "max": times[-1] if times else None}
        data["client_events"] = dict(sorted(self.client_events.items()))
        return json.dumps({"kind": "fake_realtime_stats", **data}, sort_keys=False)


# ---------------------------------------------------------------------------
# Validation against the official SDK types
# ---------------------------------------------------------------------------


@dataclasses.dataclass
class Problem:
    """A client error to report in an ``error`` event."""

    message: str
    code: Optional[str] = None
    param: Optional[str] = None
    type: str = "invalid_request_error"


def _union_members(alias: Any) -> dict[str, type]:
    """Map ``type`` literal -> model class for an SDK discriminated union alias."""
    union = typing.get_args(alias)[0]
    members = {}
    for cls in typing.get_args(union):
        literal = cls.model_fields["type"].annotation
        members[typing.get_args(literal)[0]] = cls
    return members


def collect_extras(value: Any, path: str = "") -> list[str]:
    """Dotted paths of keys that the SDK models accepted only as *extra* fields."""
    found: list[str] = []
    if isinstance(value, pydantic.BaseModel):
        for key in (value.model_extra or {}):
            found.append(f"{path}{key}")
        for name in type(value).model_fields:
            found += collect_extras(getattr(value, name), f"{path}{name}.")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += collect_extras(item, f"{path.rstrip('.')}[{i}].")
    return found


def _loc_to_param(loc: tuple) -> str:
    """Turn a pydantic error location into the API's ``param`` notation."""
    parts: list[str] = []
    for element in loc:
        if isinstance(element, int):
            parts.append(f"[{element}]")
        elif element and (element[0].isupper() or element.startswith(("literal[", "function-"))):
            continue  # union member tag, not a field
        else:
            parts.append(("." if parts else "") + element)
    return "".join(parts)


class Validator:
    """Validates client and server events with the SDK's pydantic types."""

    ALLOWED_SERVER_EXTRAS = {"session.id", "session.object", "session.expires_at"}

    def __init__(self) -> None:
        self.client_adapter = pydantic.TypeAdapter(RealtimeClientEvent)
        self.server_adapter = pydantic.TypeAdapter(RealtimeServerEvent)
        self.client_members = _union_members(RealtimeClientEvent)
        self.server_members = _union_members(RealtimeServerEvent)
        self._member_adapters = {
            t: pydantic.TypeAdapter(cls) for t, cls in self.client_members.items()
        }

    def check_client(self, obj: Any) -> Optional[Problem]:
        """Return a Problem if ``obj`` is not a valid GA client event."""
        if not isinstance(obj, dict):
            return Problem("The event must be a JSON object.", "invalid_type", None)
        etype = obj.get("type")
        if etype not in self.client_members:
            supported = ", ".join(f"'{t}'" for t in sorted(self.client_members))
            return Problem(f"Invalid value: {etype!r}. Supported values are: {supported}.",
                           "invalid_value", "type")
        candidate = obj
        if etype == "response.create":
            candidate, problem = self._strip_item_references(obj)
            if problem:
                return problem
        try:
            model = self.client_adapter.validate_python(candidate)
        except pydantic.ValidationError:
            return self._detail(etype, candidate)
        extras = collect_extras(model)
        if extras:
            return Problem(f"Unknown parameter: '{extras[0]}'.", "unknown_parameter", extras[0])
        return None

    @staticmethod
    def _strip_item_references(obj: dict) -> tuple[dict, Optional[Problem]]:
        """Remove ``item_reference`` input items (SDK caveat) after checking their shape."""
        response = obj.get("response")
        if not isinstance(response, dict) or not isinstance(response.get("input"), list):
            return obj, None
        kept = []
        for i, item in enumerate(response["input"]):
            if isinstance(item, dict) and item.get("type") == "item_reference":
                if set(item) != {"type", "id"} or not isinstance(item.get("id"), str):
                    return obj, Problem(
                        "An item_reference must have exactly the keys 'type' and 'id' (string).",
                        "invalid_value", f"response.input[{i}]")
            else:
                kept.append(item)
        return {**obj, "response": {**response, "input": kept}}, None

    def _detail(self, etype: str, obj: dict) -> Problem:
        """Describe the most relevant pydantic error for event type ``etype``."""
        try:
            self._member_adapters[etype].validate_python(obj)
        except pydantic.ValidationError as exc:
            def rank(err: dict) -> tuple:
                is_branch_miss = err["type"] == "literal_error" and err["loc"][-1:] == ("type",)
                return (is_branch_miss, -len(err["loc"]))
            err = sorted(exc.errors(), key=rank)[0]
            param = _loc_to_param(err["loc"])
            if err["type"] == "missing":
                return Problem(f"Missing required parameter: '{param}'.",
                               "missing_required_parameter", param)
            code = "invalid_type" if err["type"].endswith("_type") else "invalid_value"
            return Problem(f"Invalid '{param}': {err['msg']}.", code, param)
        return Problem("Invalid event.", "invalid_value", None)

    def check_server(self, event: dict) -> Optional[str]:
        """Return an error text if ``event`` is not a valid GA server event."""
        try:
            model = self.server_adapter.validate_python(event)
        except pydantic.ValidationError as exc:
            return str(exc)
        extras = [p for p in collect_extras(model) if p not in self.ALLOWED_SERVER_EXTRAS]
        return f"unexpected fields {extras}" if extras else None


# ---------------------------------------------------------------------------
# Session defaults and session.update
# ---------------------------------------------------------------------------

DEFAULT_INSTRUCTIONS = "You are a helpful, witty, and friendly AI."


def default_turn_detection(kind: str = "server_vad") -> dict:
    """Turn detection object with the real server's defaults filled in."""
    if kind == "semantic_vad":
        return {"type": "semantic_vad", "eagerness": "auto",
                "create_response": True, "interrupt_response": True}
    return {"type": "server_vad", "threshold": 0.5, "prefix_padding_ms": 300,
            "silence_duration_ms": 500, "idle_timeout_ms": None,
            "create_response": True, "interrupt_response": True}


def default_session(session_id: str, model: str, max_seconds: float) -> dict:
    """The full session object sent in ``session.created``."""
    return {
        "type": "realtime",
        "object": "realtime.session",
        "id": session_id,
        "model": model,
        "output_modalities": ["audio"],
        "instructions": DEFAULT_INSTRUCTIONS,
        "tools": [],
        "tool_choice": "auto",
        "max_output_tokens": "inf",
        "tracing": None,
        "truncation": "auto",
        "prompt": None,
        "include": None,
        "expires_at": int(time.time() + (max_seconds or 3600)),
        "audio": {
            "input": {
                "format": {"type": "audio/pcm", "rate": SAMPLE_RATE},
                "transcription": None,
                "noise_reduction": None,
                "turn_detection": default_turn_detection(),
            },
            "output": {
                "format": {"type": "audio/pcm", "rate": SAMPLE_RATE},
                "voice": "marin",
                "speed": 1.0,
            },
        },
    }


def deep_merge(base: dict, update: dict) -> dict:
    """Recursively merge ``update`` into a copy of ``base`` (lists and null replace)."""
    merged = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def apply_session_update(current: dict, update: dict) -> tuple[Optional[dict], Optional[Problem]]:
    """Return the new effective session, or a Problem (session left unchanged)."""
    # A null `audio`, `audio.input` or `audio.output` changes nothing.
    audio = {k: v for k, v in (update.get("audio") or {}).items() if v is not None}
    update = {**update, "audio": audio}
    if update.get("type") != current["type"]:
        return None, Problem("Cannot change the session type.", "invalid_value", "session.type")
    modalities = update.get("output_modalities")
    if modalities is not None and len(modalities) != 1:
        return None, Problem("output_modalities must be ['text'] or ['audio'].",
                             "invalid_value", "session.output_modalities")
    audio_in = ((update.get("audio") or {}).get("input") or {})
    fmt = audio_in.get("format")
    if fmt and fmt.get("type", "audio/pcm") != "audio/pcm":
        return None, Problem("fake_realtime only supports audio/pcm input.",
                             "invalid_value", "session.audio.input.format.type")
    merged = deep_merge(current, update)
    if "turn_detection" in audio_in:
        td = audio_in["turn_detection"]
        if td is not None:
            full = {**default_turn_detection(td["type"]), **{k: v for k, v in td.items() if v is not None}}
            if full["type"] == "server_vad":
                if not 0.0 <= float(full["threshold"]) <= 1.0:
                    return None, Problem("threshold must be between 0 and 1.", "invalid_value",
                                         "session.audio.input.turn_detection.threshold")
                for key in ("prefix_padding_ms", "silence_duration_ms"):
                    if full[key] < 0:
                        return None, Problem(f"{key} must not be negative.", "invalid_value",
                                             f"session.audio.input.turn_detection.{key}")
            td = full
        merged["audio"]["input"]["turn_detection"] = td
    return merged, None


# ---------------------------------------------------------------------------
# Per-connection session
# ---------------------------------------------------------------------------


@dataclasses.dataclass
class Turn:
    """An open VAD turn (speech started, not yet stopped)."""

    item_id: str
    start: int  # byte offset incl. prefix padding
    silent_bytes: int = 0


@dataclasses.dataclass
class ResponseRequest:
    """Everything needed to produce one response."""

    conversation: str  # "auto" or "none"
    modalities: list
    metadata: Optional[dict]
    instructions: str
    audio: Optional[bytes]  # audio the recognizer listens to
    text_tokens: int
    max_output_tokens: Any = "inf"
    cancelled: Optional[str] = None  # reason once cancelled
    response_id: Optional[str] = None


class AudioStore:
    """The session's appended audio from byte offset ``base`` onwards."""

    def __init__(self) -> None:
        self.buf = bytearray()
        self.base = 0

    @property
    def end(self) -> int:
        return self.base + len(self.buf)

    def extend(self, data: bytes) -> None:
        self.buf.extend(data)

    def slice(self, start: int, end: int) -> bytes:
        start = max(start, self.base)
        return bytes(self.buf[start - self.base: end - self.base])

    def trim(self, upto: int) -> None:
        drop = upto - self.base
        if drop > 0:
            del self.buf[:drop]
            self.base = upto


class RealtimeSession:
    """One WebSocket connection speaking the GA Realtime protocol."""

    def __init__(self, server: "FakeRealtimeServer", ws: ServerConnection, number: int, model: str):
        self.server = server
        self.cfg = server.cfg
        self.ws = ws
        self.number = number
        self.ids = server.ids
        self.session = default_session(self.ids.new("sess"), model, self.cfg.session_max_seconds)
        self.conversation_id = self.ids.new("conv")
        self.items: dict[str, dict] = {}  # id -> item (conversation order = dict order)
        self.item_audio: dict[str, bytes] = {}
        self.audio = AudioStore()
        self.total_bytes = 0  # all bytes appended in this session
        self.pending_frame = bytearray()
        self.vad_pos = 0  # byte offset of the next VAD frame
        self.buffer_start = 0  # end of last commit / clear
        self.turn: Optional[Turn] = None
        self.commits = 0
        self.drop_item: Optional[str] = None
        self.hung = False
        self.error_items: set = set()
        self.active_auto: Optional[ResponseRequest] = None
        self.in_progress: dict[str, ResponseRequest] = {}
        self.held: list[ResponseRequest] = []
        self.held_timer: Optional[asyncio.Task] = None
        self.tasks: set[asyncio.Task] = set()
        self.audio_file = None
        if self.cfg.audio_out:
            self.audio_file = open(f"{self.cfg.audio_out}.{number}", "wb")

    # -- plumbing ----------------------------------------------------------

    def spawn(self, coro) -> asyncio.Task:
        """Run ``coro`` as a task owned by this session."""
        task = asyncio.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def send(self, etype: str, injected: bool = False, **fields: Any) -> dict:
        """Send one server event (validated unless ``injected`` by a fault)."""
        event = {"type": etype, "event_id": self.ids.new("event"), **fields}
        if self.hung:
            return event  # --hang-after-commits: the connection stays open, nothing is answered
        if not injected:
            error = self.server.validator.check_server(event)
            if error:
                self.server.stats.server_validation_failures += 1
                print(f"fake_realtime: BUG: invalid server event {etype}: {error}", file=sys.stderr)
                raise AssertionError(f"invalid server event {etype}")
        await self.ws.send(json.dumps(event))
        return event

    async def send_error(self, problem: Problem, client_event_id: Optional[str]) -> None:
        """Send an ``error`` event for a failing client event."""
        await self.send("error", error={
            "type": problem.type, "code": problem.code, "message": problem.message,
            "param": problem.param, "event_id": client_event_id})

    def log(self, record: dict) -> None:
        self.server.log({**record, "_session": self.number})

    @property
    def turn_detection(self) -> Optional[dict]:
        return self.session["audio"]["input"]["turn_detection"]

    @property
    def level(self) -> float:
        td = self.turn_detection or {}
        return vad_level(float(td.get("threshold", 0.5)))

    def last_item_id(self) -> Optional[str]:
        return next(reversed(self.items), None)

    # -- main loop ---------------------------------------------------------

    async def run(self) -> None:
        """Serve the connection until it closes."""
        expiry = self.spawn(self.expire_after()) if self.cfg.session_max_seconds > 0 else None
        try:
            await self.send("session.created", session=self.session)
            async for message in self.ws:
                await self.handle_frame(message)
        except ConnectionClosed:
            pass
        finally:
            if expiry:
                expiry.cancel()
            for task in list(self.tasks):
                task.cancel()
            if self.audio_file:
                self.audio_file.close()

    async def handle_frame(self, message: Any) -> None:
        """Parse, validate, log and dispatch one client frame."""
        self.frame_received_at = time.monotonic()
        stats = self.server.stats
        if isinstance(message, bytes):
            stats.client_events["<binary>"] += 1
            problem = Problem("Binary frames are not supported; send JSON text.", "invalid_json")
            self.log({"_binary": len(message), "_validation_error": problem.message})
            return await self.reject(problem, None)
        try:
            obj = json.loads(message)
        except json.JSONDecodeError as exc:
            stats.client_events["<invalid json>"] += 1
            problem = Problem(f"The server failed to parse the event: {exc}.", "invalid_json")
            self.log({"_raw": message[:200], "_validation_error": problem.message})
            return await self.reject(problem, None)
        etype = obj.get("type") if isinstance(obj, dict) else None
        client_event_id = obj.get("event_id") if isinstance(obj, dict) else None
        if not isinstance(client_event_id, str):
            client_event_id = None
        stats.client_events[str(etype)] += 1
        record = dict(obj) if isinstance(obj, dict) else {"_raw": obj}
        audio = None
        if etype == "input_audio_buffer.append" and isinstance(obj.get("audio"), str):
            try:
                audio = base64.b64decode(obj["audio"], validate=True)
                record["audio"] = len(audio)
            except (binascii.Error, ValueError):
                record["audio"] = f"<invalid base64, {len(obj['audio'])} chars>"
        problem = self.server.validator.check_client(obj)
        if problem is None and etype == "input_audio_buffer.append" and audio is None:
            problem = Problem("Invalid 'audio': not valid base64.", "invalid_value", "audio")
        if problem:
            record["_validation_error"] = problem.message
            self.log(record)
            return await self.reject(problem, client_event_id)
        self.log(record)
        if etype == "input_audio_buffer.append":
            return await self.on_append(audio)
        handler = {
            "session.update": self.on_session_update,
            "input_audio_buffer.commit": self.on_commit,
            "input_audio_buffer.clear": self.on_clear,
            "response.create": self.on_response_create,
            "response.cancel": self.on_response_cancel,
            "conversation.item.create": self.on_item_create,
            "conversation.item.delete": self.on_item_delete,
            "conversation.item.retrieve": self.on_item_retrieve,
        }.get(etype, self.on_unsupported)
        await handler(obj)

    async def reject(self, problem: Problem, client_event_id: Optional[str]) -> None:
        """Count a validation failure and answer it with an ``error`` event."""
        self.server.stats.validation_failures += 1
        print(f"fake_realtime: session {self.number}: invalid client event: "
              f"{problem.code}: {problem.message}", file=sys.stderr)
        await self.send_error(problem, client_event_id)

    # -- session -----------------------------------------------------------

    async def on_session_update(self, event: dict) -> None:
        merged, problem = apply_session_update(self.session, event["session"])
        if problem:
            return await self.send_error(problem, event.get("event_id"))
        self.session = merged
        await self.send("session.updated", session=self.session)

    async def expire_after(self) -> None:
        """Fault: end the session after ``--session-max-seconds``."""
        seconds = self.cfg.session_max_seconds
        await asyncio.sleep(seconds)
        self.server.stats.sessions_expired += 1
        with contextlib.suppress(ConnectionClosed):
            await self.send_error(Problem(
                f"Your session hit the maximum duration of {seconds:g} seconds.",
                "session_expired"), None)
            await self.ws.close(1001, "session expired")

    async def on_unsupported(self, event: dict) -> None:
        await self.send_error(Problem(
            f"fake_realtime does not support '{event['type']}' on a WebSocket session.",
            "unsupported_event", "type"), event.get("event_id"))

    # -- audio buffer and VAD ----------------------------------------------

    async def on_append(self, data: bytes) -> None:
        """Store appended PCM and run the energy VAD over complete 10 ms frames."""
        self.server.stats.audio_bytes += len(data)
        if self.audio_file:
            self.audio_file.write(data)
            self.audio_file.flush()
        self.audio.extend(data)
        self.total_bytes += len(data)
        self.pending_frame.extend(data)
        complete = len(self.pending_frame) // FRAME_BYTES * FRAME_BYTES
        levels = frame_rms(bytes(self.pending_frame[:complete]))
        del self.pending_frame[:complete]
        td = self.turn_detection
        level = self.level
        prefix = int(td.get("prefix_padding_ms", 300)) * BYTES_PER_MS if td else 0
        silence = int(td.get("silence_duration_ms", 500)) * BYTES_PER_MS if td else 0
        for rms in levels:
            frame_start = self.vad_pos
            self.vad_pos += FRAME_BYTES
            if td is None:
                continue
            voiced = rms > level
            if self.turn is None:
                if voiced:
                    await self.start_turn(max(0, self.buffer_start, frame_start - prefix))
            elif voiced:
                self.turn.silent_bytes = 0
            else:
                self.turn.silent_bytes += FRAME_BYTES
                if self.turn.silent_bytes >= silence:
                    await self.stop_and_commit(self.vad_pos)
        if td is not None and self.turn is None:
            # No turn open: only the prefix window can still become item audio.
            keep = max(self.buffer_start, self.vad_pos - prefix - FRAME_BYTES)
            self.audio.trim(keep)

    async def start_turn(self, start: int) -> None:
        """VAD detected speech: emit ``speech_started`` and maybe interrupt."""
        self.turn = Turn(self.ids.new("item"), start)
        await self.send("input_audio_buffer.speech_started",
                        audio_start_ms=start // BYTES_PER_MS, item_id=self.turn.item_id)
        td = self.turn_detection or {}
        if td.get("interrupt_response") and self.active_auto is not None:
            self.active_auto.cancelled = "turn_detected"

    async def stop_and_commit(self, end: int) -> None:
        """Close the open turn at byte ``end`` and commit it."""
        turn, self.turn = self.turn, None
        await self.send("input_audio_buffer.speech_stopped",
                        audio_end_ms=end // BYTES_PER_MS, item_id=turn.item_id)
        await self.commit(turn.item_id, turn.start, end)

    async def commit(self, item_id: str, start: int, end: int) -> None:
        """Commit audio [start, end) as a user item and emit the item events."""
        pcm = self.audio.slice(start, end)
        self.buffer_start = end
        self.audio.trim(end)
        previous = self.last_item_id()
        item = {"id": item_id, "type": "message", "object": "realtime.item", "status": "completed",
                "role": "user", "content": [{"type": "input_audio", "transcript": None}]}
        self.items[item_id] = item
        self.item_audio[item_id] = pcm
        if self.hung:
            return  # a hung session does nothing, and counts nothing
        self.commits += 1
        self.server.stats.commits += 1
        if self.number == 1 and self.commits == self.cfg.drop_after_commits:
            self.drop_item = item_id
        if self.cfg.fault_every and not self.hung and self.server.stats.commits % self.cfg.fault_every == 0:
            await self.periodic_fault(item_id)
        if self.number == 1 and self.commits == self.cfg.hang_after_commits:
            self.server.stats.injected_hangs += 1
            print(f"fake_realtime: session {self.number}: hanging (fault)", file=sys.stderr)
            self.hung = True
        await self.send("input_audio_buffer.committed", item_id=item_id, previous_item_id=previous)
        await self.send("conversation.item.added", previous_item_id=previous, item=item)
        await self.send("conversation.item.done", previous_item_id=previous, item=item)
        await self.transcribe_input(item_id, pcm)
        td = self.turn_detection or {}
        if td.get("create_response") and self.active_auto is None:
            request = self.build_request({}, pcm)
            self.active_auto = request
            self.spawn(self.emit_response(request))

    async def transcribe_input(self, item_id: str, pcm: bytes) -> None:
        """Built-in input transcription events, if ``audio.input.transcription`` is set."""
        if not self.session["audio"]["input"].get("transcription"):
            return
        text = recognize(pcm, self.level)
        for delta in split_words(text):
            await self.send("conversation.item.input_audio_transcription.delta",
                            item_id=item_id, content_index=0, delta=delta)
        await self.send("conversation.item.input_audio_transcription.completed",
                        item_id=item_id, content_index=0, transcript=text,
                        usage={"type": "duration", "seconds": round(len(pcm) / (BYTES_PER_MS * 1000), 3)})

    async def on_commit(self, event: dict) -> None:
        """Client commit: close an open turn now, else commit the raw buffer, else error."""
        if self.turn is not None:
            return await self.stop_and_commit(self.total_bytes)
        start = max(self.buffer_start, self.audio.base)
        if self.total_bytes > self.buffer_start:
            return await self.commit(self.ids.new("item"), start, self.total_bytes)
        await self.send_error(Problem(
            "Error committing input audio buffer: buffer too small. Expected at least 100ms "
            "of audio, but buffer only has 0.00ms of audio.", "input_audio_buffer_commit_empty"),
            event.get("event_id"))

    async def on_clear(self, event: dict) -> None:
        """Drop uncommitted audio (and an open turn, silently)."""
        self.turn = None
        self.buffer_start = self.total_bytes
        self.audio.trim(self.total_bytes)
        await self.send("input_audio_buffer.cleared")

    # -- conversation items ------------------------------------------------

    async def on_item_create(self, event: dict) -> None:
        item = dict(event["item"])
        item.setdefault("id", self.ids.new("item"))
        if item["id"] in self.items:
            return await self.send_error(Problem(f"Item with id '{item['id']}' already exists.",
                                                 "item_already_exists", "item.id"), event.get("event_id"))
        audio = b""
        content = []
        for part in item.get("content") or []:
            part = dict(part)
            if part.get("audio"):
                try:
                    audio += base64.b64decode(part.pop("audio"), validate=True)
                except (binascii.Error, ValueError):
                    return await self.send_error(Problem("Invalid 'audio': not valid base64.",
                                                         "invalid_value", "item.content"),
                                                 event.get("event_id"))
            content.append(part)
        if "content" in item:
            item["content"] = content
        item.setdefault("status", "completed")
        previous = self.last_item_id()
        self.items[item["id"]] = item
        if audio:
            self.item_audio[item["id"]] = audio
        await self.send("conversation.item.added", previous_item_id=previous, item=item)
        await self.send("conversation.item.done", previous_item_id=previous, item=item)

    async def on_item_delete(self, event: dict) -> None:
        item_id = event["item_id"]
        if self.items.pop(item_id, None) is None:
            return await self.send_error(Problem(f"Item with id '{item_id}' not found.",
                                                 "item_not_found", "item_id"), event.get("event_id"))
        self.item_audio.pop(item_id, None)
        await self.send("conversation.item.deleted", item_id=item_id)

    async def on_item_retrieve(self, event: dict) -> None:
        item_id = event["item_id"]
        item = self.items.get(item_id)
        if item is None:
            return await self.send_error(Problem(f"Item with id '{item_id}' not found.",
                                                 "item_not_found", "item_id"), event.get("event_id"))
        item = json.loads(json.dumps(item))
        if item_id in self.item_audio and item.get("content"):
            item["content"][0]["audio"] = base64.b64encode(self.item_audio[item_id]).decode()
        await self.send("conversation.item.retrieved", item=item)

    # -- responses ---------------------------------------------------------

    def build_request(self, params: dict, audio: Optional[bytes], text_tokens: int = 0) -> ResponseRequest:
        """A ResponseRequest from ``response.create`` params and the resolved audio."""
        instructions = params.get("instructions") or self.session.get("instructions") or ""
        return ResponseRequest(
            conversation=params.get("conversation") or "auto",
            modalities=params.get("output_modalities") or self.session["output_modalities"],
            metadata=params.get("metadata"),
            instructions=instructions,
            audio=audio,
            text_tokens=text_tokens + len(instructions) // 4 + 4,
            max_output_tokens=params.get("max_output_tokens") or self.session.get("max_output_tokens", "inf"),
        )

    def resolve_input(self, params: dict) -> tuple[Optional[bytes], int, Optional[str], Optional[Problem]]:
        """Find the audio a response listens to.

        Returns (audio, text_tokens, referenced_item_id, problem).  With
        ``input`` omitted: the last user item with audio in the conversation.
        With a list: the last ``item_reference`` (or inline input_audio) in it.
        """
        if "input" not in params or params["input"] is None:
            for item_id in reversed(self.items):
                if item_id in self.item_audio and self.items[item_id].get("role") == "user":
                    return self.item_audio[item_id], 0, item_id, None
            return None, 0, None, None
        audio, ref, text_tokens = None, None, 0
        for i, item in enumerate(params["input"]):
            if item.get("type") == "item_reference":
                if item["id"] not in self.items:
                    return None, 0, None, Problem(f"Item with id '{item['id']}' not found.",
                                                  "item_not_found", f"response.input[{i}].id")
                ref = item["id"]
                audio = self.item_audio.get(ref, audio)
            else:
                for part in item.get("content") or []:
                    if part.get("audio"):
                        audio = base64.b64decode(part["audio"])
                    text_tokens += len(part.get("text") or "") // 4 + 1
        return audio, text_tokens, ref, None

    async def on_response_create(self, event: dict) -> None:
        """Handle ``response.create``: faults first, then schedule the response."""
        params = event.get("response") or {}
        client_event_id = event.get("event_id")
        conversation = params.get("conversation") or "auto"
        if conversation not in ("auto", "none"):
            return await self.send_error(Problem(
                f"Invalid value: '{conversation}'. Supported values are: 'auto' and 'none'.",
                "invalid_value", "response.conversation"), client_event_id)
        modalities = params.get("output_modalities")
        if modalities is not None and len(modalities) != 1:
            return await self.send_error(Problem(
                "output_modalities must be ['text'] or ['audio'].", "invalid_value",
                "response.output_modalities"), client_event_id)
        audio, text_tokens, ref, problem = self.resolve_input(params)
        if problem:
            return await self.send_error(problem, client_event_id)
        if ref is not None and ref in self.error_items:
            self.error_items.discard(ref)
            self.server.stats.injected_errors += 1
            return await self.send_error(Problem("The server had an error while processing your request. "
                                                 "Sorry about that!", "server_error", type="server_error"),
                                         client_event_id)
        if ref is not None and ref == self.drop_item:
            self.server.stats.injected_drops += 1
            print(f"fake_realtime: session {self.number}: dropping connection (fault)", file=sys.stderr)
            self.ws.transport.abort()
            return
        index = self.server.stats.response_creates
        self.server.stats.response_creates += 1
        if await self.inject_response_fault(index, client_event_id):
            return
        if conversation == "auto" and self.active_auto is not None:
            return await self.send_error(Problem(
                "Conversation already has an active response in progress: "
                f"{self.active_auto.response_id}. Wait until the response is finished "
                "before creating a new one.", "conversation_already_has_active_response"),
                client_event_id)
        request = self.build_request(params, audio, text_tokens)
        # For the benchmark: the server's own share of commit-to-final latency.
        request.received_at = self.frame_received_at
        if conversation == "auto":
            self.active_auto = request
        self.spawn(self.deliver(request))

    async def inject_response_fault(self, index: int, client_event_id: Optional[str]) -> bool:
        """Apply --error-first-responses / --rate-limit-first; True if the request was eaten."""
        n_err, n_rate = self.cfg.error_first_responses, self.cfg.rate_limit_first
        if index < n_err:
            self.server.stats.injected_errors += 1
            await self.send_error(Problem("The server had an error while processing your request. "
                                          "Sorry about that!", "server_error", type="server_error"),
                                  client_event_id)
            return True
        if index < n_err + n_rate:
            self.server.stats.injected_rate_limits += 1
            await self.send("rate_limits.updated", rate_limits=[
                {"name": "requests", "limit": 5000, "remaining": 0, "reset_seconds": 0.5},
                {"name": "tokens", "limit": 40000, "remaining": 40000, "reset_seconds": 0.0}])
            await self.send_error(Problem("Rate limit reached for requests. Please try again in 500ms.",
                                          "rate_limit_exceeded"), client_event_id)
            return True
        return False

    async def deliver(self, request: ResponseRequest) -> None:
        """Apply --response-delay-ms and --reverse-responses, then emit."""
        if self.cfg.response_delay_ms:
            await asyncio.sleep(self.cfg.response_delay_ms / 1000.0)
        if not self.cfg.reverse_responses:
            return await self.emit_response(request)
        self.held.append(request)
        if len(self.held) >= 2:
            if self.held_timer:
                self.held_timer.cancel()
                self.held_timer = None
            await self.flush_held()
        elif self.held_timer is None:
            self.held_timer = self.spawn(self.flush_held_later())

    async def flush_held_later(self) -> None:
        await asyncio.sleep(1.0)
        self.held_timer = None
        await self.flush_held()

    async def flush_held(self) -> None:
        """Emit held responses, newest first."""
        batch, self.held = self.held[::-1], []
        for request in batch:
            await self.emit_response(request)

    async def on_response_cancel(self, event: dict) -> None:
        response_id = event.get("response_id")
        target = self.in_progress.get(response_id) if response_id else self.active_auto
        if target is None or target.response_id is None:
            return await self.send_error(Problem("Cancellation failed: no active response found.",
                                                 "response_cancel_not_active"), event.get("event_id"))
        target.cancelled = "client_cancelled"

    async def emit_response(self, req: ResponseRequest) -> None:
        """Send the full GA event sequence for one response (text or audio output)."""
        try:
            await self._emit_response(req)
        except ConnectionClosed:
            pass
        finally:
            if self.active_auto is req:
                self.active_auto = None
            if req.response_id:
                self.in_progress.pop(req.response_id, None)

    async def _emit_response(self, req: ResponseRequest) -> None:
        resp_id = req.response_id = self.ids.new("resp")
        self.in_progress[resp_id] = req
        out_id = self.ids.new("item")
        audio_out = req.modalities == ["audio"]
        in_band = req.conversation == "auto"
        text = recognize(req.audio, self.level)
        if text and self.cfg.text_suffix:
            text += " " + self.cfg.text_suffix
        words = split_words(text)
        base = {
            "id": resp_id, "object": "realtime.response", "status": "in_progress",
            "status_details": None, "conversation_id": self.conversation_id if in_band else None,
            "output_modalities": req.modalities, "max_output_tokens": req.max_output_tokens,
            "metadata": req.metadata,
            "audio": {"output": {"format": {"type": "audio/pcm", "rate": SAMPLE_RATE},
                                 "voice": self.session["audio"]["output"].get("voice", "marin")}},
        }
        await self.send("rate_limits.updated", rate_limits=[
            {"name": "requests", "limit": 5000, "remaining": 4999, "reset_seconds": 0.012},
            {"name": "tokens", "limit": 40000, "remaining": 40000 - req.text_tokens, "reset_seconds": 0.6}])
        if self.cfg.garbage:
            await self.send_garbage()
        await self.send("response.created", response={**base, "output": [], "usage": None})
        item = {"id": out_id, "object": "realtime.item", "type": "message", "status": "in_progress",
                "role": "assistant", "content": []}
        await self.send("response.output_item.added", response_id=resp_id, output_index=0, item=item)
        previous = self.last_item_id()
        if in_band:
            await self.send("conversation.item.added", previous_item_id=previous, item=item)
        ids = {"response_id": resp_id, "item_id": out_id, "output_index": 0, "content_index": 0}
        part_type, text_key = ("audio", "transcript") if audio_out else ("text", "text")
        await self.send("response.content_part.added", **ids, part={"type": part_type, text_key: ""})
        sent = ""
        for word in words:
            await asyncio.sleep(0)  # let other responses and cancels interleave
            if req.cancelled:
                break
            if audio_out:
                await self.send("response.output_audio.delta", **ids,
                                delta=base64.b64encode(SILENT_PCM_PER_WORD).decode())
                await self.send("response.output_audio_transcript.delta", **ids, delta=word)
            elif self.cfg.garbage:
                await self.send("response.output_text.delta", injected=True, **ids, delta=word,
                                x_unknown_field={"garbage": True})
            else:
                await self.send("response.output_text.delta", **ids, delta=word)
            sent += word
        await asyncio.sleep(0)
        status = "cancelled" if req.cancelled else "completed"
        if audio_out:
            await self.send("response.output_audio.done", **ids)
            await self.send("response.output_audio_transcript.done", **ids, transcript=sent)
            final_part = {"type": "output_audio", "transcript": sent}
        else:
            await self.send("response.output_text.done", **ids, text=sent)
            final_part = {"type": "output_text", "text": sent}
        await self.send("response.content_part.done", **ids, part={"type": part_type, text_key: sent})
        item = {**item, "status": "completed" if status == "completed" else "incomplete",
                "content": [final_part]}
        await self.send("response.output_item.done", response_id=resp_id, output_index=0, item=item)
        if in_band:
            self.items[out_id] = item
            await self.send("conversation.item.done", previous_item_id=previous, item=item)
        audio_tokens = math.ceil(len(req.audio or b"") / (BYTES_PER_MS * 100))
        output_tokens = len(words) + 1
        usage = {
            "total_tokens": req.text_tokens + audio_tokens + output_tokens,
            "input_tokens": req.text_tokens + audio_tokens,
            "output_tokens": output_tokens,
            "input_token_details": {"text_tokens": req.text_tokens, "audio_tokens": audio_tokens,
                                    "image_tokens": 0, "cached_tokens": 0,
                                    "cached_tokens_details": {"text_tokens": 0, "audio_tokens": 0,
                                                              "image_tokens": 0}},
            "output_token_details": {"text_tokens": output_tokens if not audio_out else 0,
                                     "audio_tokens": len(words) * 10 if audio_out else 0},
        }
        details = {"type": "cancelled", "reason": req.cancelled} if req.cancelled else None
        await self.send("response.done", response={**base, "status": status, "status_details": details,
                                                   "output": [item], "usage": usage})
        if req.cancelled:
            self.server.stats.responses_cancelled += 1
        else:
            self.server.stats.responses += 1
        received_at = getattr(req, "received_at", None)
        if received_at is not None:
            self.server.stats.response_ms.append((time.monotonic() - received_at) * 1000)

    async def periodic_fault(self, item_id: str) -> None:
        """--fault-every: the next fault in turn: a dropped connection, an error answer, garbage
        frames, a hang (open connection, nothing answered)."""
        kind = ("drop", "error", "garbage", "hang")[(self.server.stats.commits // self.cfg.fault_every - 1) % 4]
        self.server.stats.periodic_faults[kind] = self.server.stats.periodic_faults.get(kind, 0) + 1
        print(f"fake_realtime: session {self.number}: periodic fault {kind}", file=sys.stderr)
        if kind == "drop":
            self.drop_item = item_id
        elif kind == "error":
            self.error_items.add(item_id)
        elif kind == "garbage":
            await self.send_garbage()
        else:
            self.hung = True

    async def send_garbage(self) -> None:
        """Fault --garbage: non-JSON text, a binary frame and an unknown event type."""
        await self.ws.send("this is not JSON {")
        await self.ws.send(b"\x00\x01binary-garbage\xff")
        await self.send("x.unknown", injected=True, detail="fake_realtime garbage")


# ---------------------------------------------------------------------------
# Server
# ---------------------------------------------------------------------------


class FakeRealtimeServer:
    """Owns configuration, shared counters, the log file and the listener."""

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.ids = Ids()
        self.stats = Stats()
        self.validator = Validator()
        self.log_file = open(cfg.log, "w", encoding="utf-8") if cfg.log else None
        self._warm_up()

    def _warm_up(self) -> None:
        """Build the pydantic validators now rather than on the first event."""
        self.validator.check_client({"type": "input_audio_buffer.append", "audio": ""})
        self.validator.check_server({"type": "error", "event_id": "e",
                                     "error": {"type": "t", "message": "m"}})

    def log(self, record: dict) -> None:
        if self.log_file:
            self.log_file.write(json.dumps(record) + "\n")
            self.log_file.flush()

    def process_request(self, connection: ServerConnection, request: Any) -> Any:
        """Handshake check: path ``/v1/realtime`` and, with --api-key, the bearer token."""
        path = urllib.parse.urlsplit(request.path).path
        if path != "/v1/realtime":
            self.stats.handshakes_rejected += 1
            return self._json_response(connection, http.HTTPStatus.NOT_FOUND, "invalid_request_error",
                                       None, f"Invalid URL (GET {path})")
        if self.cfg.api_key is not None:
            auth = request.headers.get("Authorization")
            if auth != f"Bearer {self.cfg.api_key}":
                self.stats.handshakes_rejected += 1
                message = ("You didn't provide an API key." if not auth
                           else "Incorrect API key provided.")
                return self._json_response(connection, http.HTTPStatus.UNAUTHORIZED,
                                           "invalid_request_error", "invalid_api_key", message)
        return None

    @staticmethod
    def _json_response(connection: ServerConnection, status: http.HTTPStatus, etype: str,
                       code: Optional[str], message: str) -> Any:
        body = json.dumps({"error": {"message": message, "type": etype, "param": None, "code": code}})
        response = connection.respond(status, body + "\n")
        del response.headers["Content-Type"]
        response.headers["Content-Type"] = "application/json"
        return response

    async def handler(self, ws: ServerConnection) -> None:
        """Serve one accepted WebSocket connection."""
        self.stats.sessions += 1
        number = self.stats.sessions
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(ws.request.path).query)
        model = query.get("model", ["gpt-realtime"])[0]
        if self.cfg.verbose:
            print(f"fake_realtime: session {number} connected ({ws.request.path})", file=sys.stderr)
        session = RealtimeSession(self, ws, number, model)
        await session.run()
        if self.cfg.verbose:
            print(f"fake_realtime: session {number} closed", file=sys.stderr)

    async def serve_forever(self) -> int:
        """Listen until SIGTERM/SIGINT; return the process exit code."""
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        tls = None
        if self.cfg.tls_cert:
            # wss:// for testing the client's certificate verification.
            tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            tls.load_cert_chain(self.cfg.tls_cert, self.cfg.tls_key)
        async with serve(self.handler, "127.0.0.1", self.cfg.port, max_size=None,
                         process_request=self.process_request, ssl=tls) as server:
            port = server.sockets[0].getsockname()[1]
            print(f"LISTENING {port}", flush=True)
            await stop.wait()
            server.close()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(server.wait_closed(), 5)
        if self.log_file:
            self.log_file.close()
        print(self.stats.as_json(), file=sys.stderr, flush=True)
        failed = self.stats.validation_failures + self.stats.server_validation_failures
        return 1 if self.cfg.strict and failed else 0


def parse_args(argv: Optional[list[str]] = None) -> Config:
    """Parse the command line into a Config."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0 = ephemeral)")
    p.add_argument("--api-key", help="require 'Authorization: Bearer KEY' (else HTTP 401)")
    p.add_argument("--log", metavar="FILE", help="JSON line per received client event "
                   "(audio replaced by its byte length; _session, _validation_error added)")
    p.add_argument("--audio-out", metavar="FILE", help="write each session's received PCM to FILE.<n>")
    p.add_argument("--strict", action="store_true",
                   help="exit 1 at shutdown if any client (or server) event failed validation")
    p.add_argument("--verbose", action="store_true", help="log connections to stderr")
    p.add_argument("--tls-cert", metavar="PEM", help="serve wss:// with this certificate")
    p.add_argument("--tls-key", metavar="PEM", help="the certificate's private key")
    g = p.add_argument_group("fault injection")
    g.add_argument("--drop-after-commits", type=int, default=0, metavar="N",
                   help="session 1 only: abort the TCP connection when the response.create "
                        "for the Nth committed item arrives")
    g.add_argument("--hang-after-commits", type=int, default=0, metavar="N",
                   help="session 1 only: after the Nth commit, keep the connection open (pings are "
                        "still answered) but never send another event")
    g.add_argument("--fault-every", type=int, default=0, metavar="N",
                   help="every Nth commit (server-wide) brings the next fault in turn: drop the "
                        "connection at its response.create, answer it with server_error, send garbage "
                        "frames, hang (the connection stays open, nothing is answered)")
    g.add_argument("--error-first-responses", type=int, default=0, metavar="N",
                   help="answer the first N response.create (server-wide) with error server_error")
    g.add_argument("--rate-limit-first", type=int, default=0, metavar="N",
                   help="answer the next N response.create with rate_limits.updated (remaining 0) "
                        "+ error rate_limit_exceeded (after any --error-first-responses ones)")
    g.add_argument("--garbage", action="store_true",
                   help="before each response.created send non-JSON text, a binary frame and an "
                        "unknown event type; add an unknown field to output_text.delta")
    g.add_argument("--reverse-responses", action="store_true",
                   help="hold responses until two are pending, send them newest first "
                        "(a lone one is sent after 1 s)")
    g.add_argument("--session-max-seconds", type=float, default=0.0, metavar="S",
                   help="after S seconds send error session_expired and close with 1001")
    g.add_argument("--text-suffix", default="", metavar="TEXT",
                   help="append TEXT to every non-empty response transcript (long captions)")
    g.add_argument("--response-delay-ms", type=int, default=0, metavar="MS",
                   help="delay before answering each response.create")
    args = p.parse_args(argv)
    return Config(**{f.name: getattr(args, f.name) for f in dataclasses.fields(Config)})


def main(argv: Optional[list[str]] = None) -> int:
    cfg = parse_args(argv)
    server = FakeRealtimeServer(cfg)
    return asyncio.run(server.serve_forever())


if __name__ == "__main__":
    sys.exit(main())
