#!/usr/bin/env python3
"""Pipecat's OpenAI Realtime speech-to-text service (a voice pipeline) transcribing a WAV through
a Realtime server, with no transport or audio device.

usage: pipecat_client.py ENDPOINT WAV [--speed X]

ENDPOINT is the service's base_url as a user sets it: the full ws://127.0.0.1:PORT/v1/realtime
(the library appends ?intent=transcription). Library defaults: model gpt-realtime-whisper,
English, turn detection off (it commits when its own Silero VAD hears the speaker stop), audio
upsampled from the pipeline's 16 kHz. The pipeline is VADProcessor(Silero) → STT → a collector;
the script ends it once no transcript has come for a few seconds after the input (pipecat's
EndFrame closes the socket at once). Prints {"turns": [...], "errors": [...]}.
"""
import argparse
import asyncio
import os
import sys
import time

import numpy as np
from loguru import logger
from pipecat.audio.vad.silero import SileroVADAnalyzer
from pipecat.frames.frames import EndFrame, ErrorFrame, Frame, InputAudioRawFrame, TranscriptionFrame
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.audio.vad_processor import VADProcessor
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.services.openai.stt import OpenAIRealtimeSTTService
from pipecat.workers.runner import WorkerRunner

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wav import read_int16, report  # noqa: E402

RATE = 16000  # the pipeline's default input rate (Silero takes 8 or 16 kHz)


class Collector(FrameProcessor):
    """Keeps transcripts and errors as they pass."""

    def __init__(self, turns: list[str], errors: list[str], changed: asyncio.Event) -> None:
        super().__init__()
        self.turns, self.errors, self.changed = turns, errors, changed

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, TranscriptionFrame):
            self.turns.append(frame.text)
            self.changed.set()
        elif isinstance(frame, ErrorFrame):
            self.errors.append(str(frame.error))
            self.changed.set()
        await self.push_frame(frame, direction)


async def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("endpoint")
    p.add_argument("wav")
    p.add_argument("--speed", type=float, default=1.0, help="times real time; 0: as fast as possible")
    p.add_argument("--quiet-seconds", type=float, default=3.0, help="no new transcript this long after the input: done")
    a = p.parse_args()
    logger.remove()
    logger.add(sys.stderr, level="WARNING")
    pcm, _ = read_int16(a.wav, RATE)
    pcm = np.concatenate([pcm, np.zeros(RATE, np.int16)])
    turns: list[str] = []
    errors: list[str] = []
    changed = asyncio.Event()
    service = OpenAIRealtimeSTTService(api_key="any-key-works-locally", base_url=a.endpoint)
    pipeline = Pipeline([VADProcessor(vad_analyzer=SileroVADAnalyzer()), service, Collector(turns, errors, changed)])
    worker = PipelineWorker(pipeline, params=PipelineParams(), cancel_on_idle_timeout=False)
    started = asyncio.Event()

    @worker.event_handler("on_pipeline_started")
    async def _started(_worker, _frame) -> None:
        started.set()

    async def drive() -> None:
        await asyncio.wait_for(started.wait(), 30)
        chunk = RATE // 50  # 20 ms, as a transport delivers
        start = time.monotonic()
        for i in range(0, len(pcm), chunk):
            await worker.queue_frame(InputAudioRawFrame(audio=pcm[i:i + chunk].tobytes(), sample_rate=RATE, num_channels=1))
            await asyncio.sleep(max(0.0, start + (i + chunk) / RATE / a.speed - time.monotonic()) if a.speed > 0 else 0.001)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            changed.clear()
            try:
                await asyncio.wait_for(changed.wait(), timeout=a.quiet_seconds)
            except asyncio.TimeoutError:
                break
        await worker.queue_frame(EndFrame())

    runner = WorkerRunner(handle_sigint=False)
    await runner.add_workers(worker)
    await asyncio.gather(runner.run(), drive())
    return report(turns, errors)


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
