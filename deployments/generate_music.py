"""Music generation deployment: a thin Serve class over the melody and WaveNet pipelines."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from ray import serve

from deployments.capability import ModelSlots, ServesModels, knobs_within_budget
from deployments.settings import AppArgs
from entertainai.errors import InputError

DEFAULT_REFS = {"melody": "melody_lstm@production", "audio": "wavenet@production"}
MELODY_KNOBS = (
    "primer", "length_steps", "temperature", "top_k", "key", "tempo_bpm", "program", "seed",
    "wav", "max_time_s",
)  # fmt: skip
AUDIO_KNOBS = ("seconds", "temperature", "top_k", "seed", "max_time_s")


@serve.deployment(name="MusicGenerator")
class MusicGenerator(ServesModels):
    """``melody(request)`` -> MIDI (+ WAV) bytes; ``audio(request)`` -> WAV bytes.

    ``request`` holds the pipeline's keyword arguments (``MELODY_KNOBS``/``AUDIO_KNOBS``);
    a generation over ``max_time_s`` fails with LimitExceeded (HTTP 422).
    """

    def __init__(self, args: dict[str, Any]) -> None:
        settings = AppArgs(**args)
        self.models = ModelSlots(
            settings.registry,
            {**DEFAULT_REFS, **settings.capability_models},
            reload_interval_s=settings.reload_interval_s,
        )

    def _model(self, role: str, kind: str) -> Any:
        model = self.models.get(role)
        if model.kind != kind:  # kind, not isinstance: the ingress need not import torch
            raise InputError(f"the {role!r} role serves a {model.kind} model, not {kind}")
        return model

    def melody(self, request: dict[str, Any]) -> dict[str, Any]:
        model = self._model("melody", "melody_lstm")
        started = time.monotonic()
        out = model(**knobs_within_budget(request, MELODY_KNOBS, "max_time_s"))
        return {
            "model": self.models.versions().get("melody"),
            "midi": out.midi,
            "wav": out.wav,
            "notes": [dataclasses.asdict(n) for n in out.notes],
            "key": out.key,
            "tempo_bpm": out.tempo_bpm,
            "steps": len(out.tokens),
            "primer_steps": out.primer_steps,
            "elapsed_s": time.monotonic() - started,
        }

    def audio(self, request: dict[str, Any]) -> dict[str, Any]:
        model = self._model("audio", "wavenet")
        started = time.monotonic()
        out = model(**knobs_within_budget(request, AUDIO_KNOBS, "max_time_s"))
        return {
            "model": self.models.versions().get("audio"),
            "wav": out.wav,
            "sample_rate": out.sample_rate,
            "samples": len(out.samples),
            "elapsed_s": time.monotonic() - started,
        }
