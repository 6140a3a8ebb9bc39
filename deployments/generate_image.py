"""Image generation deployment: a thin Serve class over the DCGAN and style-transfer pipelines."""

from __future__ import annotations

import time
from typing import Any

from ray import serve

from deployments.capability import ModelSlots, ServesModels, knobs_within_budget
from deployments.settings import AppArgs
from entertainai.errors import ArtifactError, InputError, NotFoundError

DEFAULT_REFS = {"image": "dcgan@production", "style": "style_transfer@production"}
# Without a registered style model, style transfer uses its built-in encoder.
OPTIONAL_ROLES = frozenset({"style"})
IMAGE_KNOBS = ("num_images", "seed", "grid", "scale")
STYLE_KNOBS = (
    "size", "steps", "style_weight", "content_weight", "seed", "time_budget_s",
)  # fmt: skip
BUILTIN_STYLE = "builtin"
MAX_UPLOAD_PIXELS = 2048 * 2048


@serve.deployment(name="ImageGenerator")
class ImageGenerator(ServesModels):
    """``generate(request)`` -> PNG bytes; ``style_transfer(request)`` -> one PNG.

    ``request`` holds the pipeline's keyword arguments (``IMAGE_KNOBS``; for style transfer
    ``content`` and ``style`` image bytes plus ``STYLE_KNOBS``). Style transfer needs no
    trained weights: with no ``style_transfer`` artifact registered it serves the built-in
    random-feature pipeline.
    """

    def __init__(self, args: dict[str, Any]) -> None:
        settings = AppArgs(**args)
        self.models = ModelSlots(
            settings.registry,
            {**DEFAULT_REFS, **settings.capability_models},
            reload_interval_s=settings.reload_interval_s,
        )
        self._builtin_style: Any = None

    def _model(self, role: str, kind: str) -> Any:
        model = self.models.get(role)
        if model.kind != kind:  # kind, not isinstance: the ingress need not import torch
            raise InputError(f"the {role!r} role serves a {model.kind} model, not {kind}")
        return model

    def _style_model(self) -> tuple[Any, str]:
        try:
            return self._model("style", "style_transfer"), str(self.models.versions()["style"])
        except ArtifactError:
            try:
                self.models.registry.get(self.models.refs["style"])
            except NotFoundError:  # nothing registered: the seed-0 encoder is the default
                if self._builtin_style is None:
                    from entertainai.generate.style_transfer import StyleTransfer

                    self._builtin_style = StyleTransfer().build()
                return self._builtin_style, BUILTIN_STYLE
            raise  # registered but unloadable: say so (503), never silently substitute

    def generate(self, request: dict[str, Any]) -> dict[str, Any]:
        model = self._model("image", "dcgan")
        started = time.monotonic()
        out = model(**{k: request[k] for k in IMAGE_KNOBS if request.get(k) is not None})
        height, width, channels = out.images.shape[1:]
        return {
            "model": self.models.versions().get("image"),
            "seed": out.seed,
            "png": out.png,
            "grid_png": out.grid_png,
            "width": int(width),
            "height": int(height),
            "channels": int(channels),
            "elapsed_s": time.monotonic() - started,
        }

    def style_transfer(self, request: dict[str, Any]) -> dict[str, Any]:
        model, ref = self._style_model()
        started = time.monotonic()
        from entertainai.generate.images import decode_image

        # Pixel caps before decoding: a small compressed upload must not expand to gigabytes.
        content, style = (
            decode_image(request[k], name=k, max_pixels=MAX_UPLOAD_PIXELS)
            for k in ("content", "style")
        )
        knobs = knobs_within_budget(request, STYLE_KNOBS, "time_budget_s")
        out = model(content, style, **knobs)
        return {
            "model": ref,
            "png": out.png,
            "width": int(out.image.shape[1]),
            "height": int(out.image.shape[0]),
            "steps_run": out.steps_run,
            "stopped_early": out.stopped_early,
            "style_loss": out.style_loss,
            "content_loss": out.content_loss,
            "seed": out.seed,
            "elapsed_s": time.monotonic() - started,
        }
