"""HTTP routes of the music generation capability (composed through a DeploymentHandle)."""

from __future__ import annotations

import base64
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, ConfigDict, Field

from deployments.capability import MAX_TIME_BUDGET_S
from deployments.deps import Reader, capability

MAX_MELODY_STEPS = 512
MAX_AUDIO_SECONDS = 2.0  # CPU WaveNet sampling: a few seconds per second of audio


class MelodyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    primer: str = Field(
        "",
        max_length=1000,
        description="MIDI pitches, each PITCH[:STEPS] (16th steps, default 4) or r for a rest, "
        'e.g. "60,62,64:8"',
    )
    length_steps: int = Field(64, ge=1, le=MAX_MELODY_STEPS, description="16th-note steps")
    temperature: float = Field(1.0, ge=0.0, le=5.0, description="0 = greedy")
    top_k: int | None = Field(None, ge=1, le=100)
    key: str | None = Field(None, max_length=12, description="transpose to this key, e.g. G, F#m")
    tempo_bpm: float = Field(100.0, ge=20.0, le=300.0)
    program: int = Field(0, ge=0, le=127, description="General MIDI program")
    seed: int = Field(0, ge=0, le=2**32 - 1, description="same seed, same melody")
    format: Literal["midi", "wav", "json"] = Field(
        "midi", description="audio/midi bytes, audio/wav bytes, or JSON with base64 of both"
    )
    time_budget_s: float = Field(
        10.0, gt=0.0, le=MAX_TIME_BUDGET_S, description="per-request time limit"
    )


class Note(BaseModel):
    pitch: int
    start: int
    duration: int


class MelodyResponse(BaseModel):
    model: str | None
    key: str
    tempo_bpm: float
    steps: int
    primer_steps: int
    notes: list[Note]
    midi_base64: str
    wav_base64: str
    elapsed_s: float


class AudioRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seconds: float = Field(0.5, gt=0.0, le=MAX_AUDIO_SECONDS)
    temperature: float = Field(1.0, ge=0.0, le=5.0)
    top_k: int | None = Field(None, ge=1, le=256)
    seed: int = Field(0, ge=0, le=2**32 - 1, description="same seed, same audio")
    time_budget_s: float = Field(
        20.0, gt=0.0, le=MAX_TIME_BUDGET_S, description="per-request time limit"
    )


router = APIRouter(prefix="/v1", tags=["music generation"])

Music = Annotated[Any, Depends(capability("generate_music"))]


@router.post(
    "/generate/melody",
    response_model=MelodyResponse,
    responses={200: {"content": {"audio/midi": {}, "audio/wav": {}}}},
)
async def generate_melody(body: MelodyRequest, handle: Music, _: Reader) -> Any:
    """Continue a primer melody: MIDI, WAV or JSON (base64) by ``format``."""
    request = body.model_dump(exclude={"format", "time_budget_s"})
    request.update(wav=body.format != "midi", max_time_s=body.time_budget_s)
    out = await handle.melody.remote(request)
    headers = {"x-model": str(out["model"]), "x-key": out["key"]}
    if body.format == "midi":
        return Response(content=out["midi"], media_type="audio/midi", headers=headers)
    if body.format == "wav":
        return Response(content=out["wav"], media_type="audio/wav", headers=headers)
    return MelodyResponse(
        model=out["model"],
        key=out["key"],
        tempo_bpm=out["tempo_bpm"],
        steps=out["steps"],
        primer_steps=out["primer_steps"],
        notes=[Note(**n) for n in out["notes"]],
        midi_base64=base64.b64encode(out["midi"]).decode(),
        wav_base64=base64.b64encode(out["wav"]).decode(),
        elapsed_s=out["elapsed_s"],
    )


@router.post("/generate/audio", responses={200: {"content": {"audio/wav": {}}}})
async def generate_audio(body: AudioRequest, handle: Music, _: Reader) -> Response:
    """Generate speech-like audio with the WaveNet (audio/wav)."""
    request = body.model_dump(exclude={"time_budget_s"})
    request["max_time_s"] = body.time_budget_s
    out = await handle.audio.remote(request)
    return Response(
        content=out["wav"],
        media_type="audio/wav",
        headers={"x-model": str(out["model"]), "x-sample-rate": str(out["sample_rate"])},
    )
