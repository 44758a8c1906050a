#!/usr/bin/env python3
"""Soak: captiontap under hours of audio and periodic faults, memory watched.

Part 1, ``run``: MINUTES of tone turns (1 s tone, 1.5 s gap; the loopback test server
transcribes each as "tone F hertz") streamed fast through ``captiontap run`` against the test
server started with ``--fault-every K``: every Kth commit brings the next fault in turn (a dropped
connection, an error answer, garbage frames, a hang). captiontap's RSS is sampled every second.
Checks: every turn captioned exactly once, in order; RSS after warm-up (the first fifth) grows
by less than the tolerance.

Part 2, ``serve``: ``captiontap serve`` while clients connect, stream speech and vanish mid-turn
(the official SDK's conformance client in --churn mode), RSS after each batch. Checks: every
session freed; RSS after the first batch grows by less than the tolerance.

Prints a line per sample and a JSON summary last; exits 1 if a check fails. Everything runs on
loopback and stops by itself.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import wave

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FREQUENCIES = list(range(300, 3100, 100))  # 28 distinct tones, cycled


def rss_mib(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def write_turns(path: str, minutes: float) -> list[str]:
    rate, tone_s, gap_s = 24000, 1.0, 1.5
    turns = int(minutes * 60 / (tone_s + gap_s))
    t = np.arange(int(tone_s * rate)) / rate
    gap = np.zeros(int(gap_s * rate), dtype=np.int16)
    expected = []
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(gap.tobytes())
        for i in range(turns):
            f = FREQUENCIES[i % len(FREQUENCIES)]
            expected.append(f"tone {f} hertz")
            w.writeframes((0.3 * 32767 * np.sin(2 * np.pi * f * t)).astype(np.int16).tobytes())
            w.writeframes(gap.tobytes())
    return expected


def start_fake(python: str, flags: list[str]) -> tuple[subprocess.Popen, int]:
    fake = subprocess.Popen([python, os.path.join(ROOT, "Tests/RealtimeServer/fake_realtime.py"), "--port", "0", *flags],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = fake.stdout.readline()
    if not line.startswith("LISTENING "):
        raise SystemExit(f"soak: the test server did not start: {fake.stderr.read()}")
    return fake, int(line.split()[1])


def growth(samples: list[float], warmup_fraction: float) -> tuple[float, float, float]:
    """RSS after warm-up: (first, max, growth) in MiB."""
    start = int(len(samples) * warmup_fraction)
    after = samples[start:] or samples
    return after[0], max(after), max(after) - after[0]


def soak_run(args, python: str) -> dict:
    tmp = tempfile.mkdtemp(prefix="captiontap-soak-")
    wav = os.path.join(tmp, "turns.wav")
    expected = write_turns(wav, args.minutes)
    fake, port = start_fake(python, ["--fault-every", str(args.fault_every)])
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    started = time.monotonic()
    proc = subprocess.Popen([args.captiontap, "run", "--input", wav, "--url", f"ws://127.0.0.1:{port}/v1/realtime",
                             "--format", "jsonl", "--idle-timeout", "4", "--drain-timeout", "120", "--no-failover"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    out: list[str] = []
    reader = threading.Thread(target=lambda: out.extend(proc.stdout), daemon=True)
    reader.start()
    err: list[str] = []
    err_reader = threading.Thread(target=lambda: err.extend(proc.stderr), daemon=True)
    err_reader.start()
    samples = []
    while proc.poll() is None and time.monotonic() - started < args.timeout:
        rss = rss_mib(proc.pid)
        if rss is not None:
            samples.append(rss)
            if len(samples) % args.every == 0:
                print(f"run  t={time.monotonic() - started:6.1f} s  RSS {rss:6.1f} MiB  captions {len(out)}", flush=True)
        time.sleep(1)
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    reader.join(5)
    err_reader.join(5)
    fake.terminate()
    fake_err = fake.communicate(timeout=10)[1]
    stats = next((json.loads(l) for l in fake_err.splitlines() if '"fake_realtime_stats"' in l), {})
    finals = [json.loads(l)["text"] for l in out if l.startswith("{") and json.loads(l).get("final")]
    first, peak, grew = growth(samples, 0.2)
    return {
        "audio_minutes": args.minutes, "wall_seconds": round(time.monotonic() - started, 1), "exit": proc.returncode,
        "turns_expected": len(expected), "captions": len(finals), "exactly_once_in_order": finals == expected,
        "missing": len([t for t in expected if t not in finals]) if finals != expected else 0,
        "faults": stats.get("periodic_faults", {}), "sessions": stats.get("sessions", stats.get("connections")),
        "rss_after_warmup_mib": round(first, 1), "rss_peak_mib": round(peak, 1), "rss_growth_mib": round(grew, 1),
        "stalled_replaced": sum("is stalled" in l for l in err), "stderr_tail": err[-3:],
    }


def soak_serve(args, python: str) -> dict:
    proc = subprocess.Popen([args.captiontap, "serve", "--port", "0", "--max-sessions", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = proc.stdout.readline().strip()
    err: list[str] = []
    threading.Thread(target=lambda: err.extend(proc.stderr), daemon=True).start()
    sessions, samples = 0, []
    for batch in range(args.churn_batches):
        subprocess.run([python, os.path.join(ROOT, "Tests/RealtimeServer/sdk_conformance.py"), "--url", url,
                        "--churn", str(args.churn), "--input", os.path.join(ROOT, "Tests/Fixtures/speech/jfk.wav")],
                       capture_output=True, timeout=600)
        sessions += args.churn + 1
        time.sleep(1)
        rss = rss_mib(proc.pid) or 0
        samples.append(rss)
        print(f"serve after {sessions:4d} sessions  RSS {rss:6.1f} MiB", flush=True)
    proc.send_signal(2)
    proc.wait(timeout=30)
    time.sleep(0.2)
    freed = sum("closed and freed" in l for l in err)
    first, peak, grew = growth(samples, 1 / max(1, len(samples)))
    return {"sessions": sessions, "freed": freed, "rss_after_first_batch_mib": round(first, 1),
            "rss_peak_mib": round(peak, 1), "rss_growth_mib": round(grew, 1), "exit": proc.returncode}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--captiontap", required=True)
    p.add_argument("--minutes", type=float, default=60, help="minutes of audio through run (fast pace)")
    p.add_argument("--fault-every", type=int, default=40, help="a fault every N commits")
    p.add_argument("--churn", type=int, default=20, help="clients per serve batch")
    p.add_argument("--churn-batches", type=int, default=6)
    p.add_argument("--tolerance-mib", type=float, default=8, help="RSS growth allowed after warm-up")
    p.add_argument("--every", type=int, default=10, help="print a sample every N seconds")
    p.add_argument("--timeout", type=float, default=3600)
    args = p.parse_args()
    python = sys.executable
    run = soak_run(args, python)
    serve = soak_serve(args, python)
    ok = (run["exit"] == 0 and run["exactly_once_in_order"] and run["rss_growth_mib"] < args.tolerance_mib
          and serve["freed"] == serve["sessions"] and serve["rss_growth_mib"] < args.tolerance_mib)
    print(json.dumps({"ok": ok, "run": run, "serve": serve}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
