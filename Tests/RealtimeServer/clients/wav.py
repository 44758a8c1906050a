"""Reads the speech fixtures for the client scripts (16-bit WAV, no audio devices)."""
import json
import wave

import numpy as np


def read_int16(path: str, rate: int | None = None) -> tuple[np.ndarray, int]:
    """Mono int16 samples and their rate; linearly resampled to `rate` when given."""
    with wave.open(path, "rb") as w:
        if w.getsampwidth() != 2:
            raise SystemExit(f"{path}: need 16-bit PCM")
        have, channels = w.getframerate(), w.getnchannels()
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    if channels > 1:
        pcm = pcm.reshape(-1, channels).mean(axis=1).astype(np.int16)
    if rate and rate != have:
        n = int(round(len(pcm) * rate / have))
        pcm = np.interp(np.linspace(0, len(pcm) - 1, n), np.arange(len(pcm)), pcm.astype(np.float64)).astype(np.int16)
        have = rate
    return pcm.astype(np.int16), have


def report(turns: list[str], errors: list[str]) -> int:
    """The scripts' one line of output: the turns transcribed and any error the library saw."""
    print(json.dumps({"turns": turns, "errors": errors}), flush=True)
    return 0 if turns and not errors else 1
