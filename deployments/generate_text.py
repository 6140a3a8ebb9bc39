"""Text generation deployment: a thin Serve class over the core text pipelines."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from typing import Any

from ray import serve

from deployments.capability import ModelSlots, ServesModels, knobs_within_budget
from deployments.settings import AppArgs
from entertainai.errors import InputError
from entertainai.generate import text_corpus

DEFAULT_REFS = {"text": "text_transformer@production", "text_lstm": "text_lstm@production"}
KNOBS = ("max_new_tokens", "temperature", "top_k", "top_p", "num_samples", "seed", "time_budget_s")


@serve.deployment(name="TextGenerator")
class TextGenerator(ServesModels):
    """``generate(request)`` -> samples; ``stream(request)`` -> text pieces of one sample.

    ``request``: ``prompt``, ``model`` (role "text" or "text_lstm"), ``stop`` and the knobs in
    ``KNOBS``; a generation over ``time_budget_s`` fails with LimitExceeded (HTTP 422).
    """

    def __init__(self, args: dict[str, Any]) -> None:
        settings = AppArgs(**args)
        self.models = ModelSlots(
            settings.registry,
            {**DEFAULT_REFS, **settings.capability_models},
            reload_interval_s=settings.reload_interval_s,
        )

    def _resolve(
        self, request: dict[str, Any]
    ) -> tuple[str, text_corpus.TextGenerator, text_corpus.GenerationArgs]:
        role = request.get("model", "text")
        if role not in DEFAULT_REFS:
            raise InputError(f"unknown text model {role!r}; use one of {sorted(DEFAULT_REFS)}")
        model = self.models.get(role)
        if not isinstance(model, text_corpus.TextGenerator):
            raise InputError(f"the {role!r} role serves a {model.kind} model, not text")
        knobs = knobs_within_budget(request, KNOBS, "time_budget_s")
        args = text_corpus.GenerationArgs(**knobs, stop=tuple(request.get("stop") or ()))
        model.tokenizer_.encode(request.get("prompt", ""), what="prompt")  # fail before streaming
        return role, model, args

    def check(self, request: dict[str, Any]) -> dict[str, Any]:
        """Validate a request (model, prompt characters, knobs); call before a stream starts."""
        role, _, _ = self._resolve(request)
        return {"model": self.models.versions().get(role)}

    def generate(self, request: dict[str, Any]) -> dict[str, Any]:
        role, model, args = self._resolve(request)
        started = time.monotonic()
        out = model(request.get("prompt", ""), **_call_kwargs(args))
        return {
            "model": self.models.versions().get(role),
            **dataclasses.asdict(out),
            "elapsed_s": time.monotonic() - started,
        }

    def stream(self, request: dict[str, Any]) -> Iterator[str]:
        _, model, args = self._resolve(request)
        kwargs = _call_kwargs(args)
        kwargs.pop("num_samples")
        yield from model.stream(request.get("prompt", ""), **kwargs)


def _call_kwargs(args: text_corpus.GenerationArgs) -> dict[str, Any]:
    return dataclasses.asdict(args)
