#!/usr/bin/env python3
"""openai-agents' voice pipeline (agents.voice) transcribing a WAV through a Realtime server.

usage: openai_agents_client.py BASE_URL WAV [--speed X]

BASE_URL is what a user sets as the base URL (http://127.0.0.1:PORT/v1); the library derives
ws://…/v1/realtime?intent=transcription. Library defaults throughout: the default STT model
("gpt-transcribe"), semantic_vad, 24 kHz PCM. A VoicePipeline runs with a workflow that only
records what it hears (it answers nothing, so no speech synthesis is asked for). The library
takes 24 kHz audio as given, so the WAV is read at 24 kHz. Prints {"turns": [...], "errors": [...]}.
"""
import argparse
import asyncio
import os
import sys
import time

from agents import set_tracing_disabled
from agents.voice import OpenAIVoiceModelProvider, StreamedAudioInput, VoicePipeline, VoicePipelineConfig, VoiceWorkflowBase

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wav import read_int16, report  # noqa: E402

RATE = 24000


class Recorder(VoiceWorkflowBase):
    """A workflow that keeps each transcribed turn and says nothing back."""

    def __init__(self) -> None:
        self.turns: list[str] = []

    async def run(self, transcription: str):
        self.turns.append(transcription)
        return
        yield  # an async generator that yields no text


async def feed(audio: StreamedAudioInput, pcm, speed: float) -> None:
    chunk = RATE // 10
    start = time.monotonic()
    for i in range(0, len(pcm), chunk):
        await audio.add_audio(pcm[i:i + chunk])
        if speed > 0:
            await asyncio.sleep(max(0.0, start + (i + chunk) / RATE / speed - time.monotonic()))
    await audio.add_audio(None)  # end of input: the library commits and clears


async def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("base_url")
    p.add_argument("wav")
    p.add_argument("--speed", type=float, default=1.0, help="times real time; 0: as fast as possible")
    a = p.parse_args()
    set_tracing_disabled(True)  # nothing goes to api.openai.com
    pcm, _ = read_int16(a.wav, RATE)
    workflow = Recorder()
    provider = OpenAIVoiceModelProvider(api_key="any-key-works-locally", base_url=a.base_url)
    pipeline = VoicePipeline(workflow=workflow, config=VoicePipelineConfig(model_provider=provider))
    audio = StreamedAudioInput()
    errors: list[str] = []
    try:
        result = await pipeline.run(audio)
        feeder = asyncio.create_task(feed(audio, pcm, a.speed))
        async for event in result.stream():
            if event.type == "voice_stream_event_error":
                errors.append(repr(event.error))
        await feeder
    except Exception as exc:  # the library raises on any server error event
        errors.append(repr(exc))
    return report(workflow.turns, errors)


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
