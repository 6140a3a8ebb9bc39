"""Moderation deployment: text verdicts (toxicity/spam), image safety and tags, curation.

``check_texts(texts) -> [{"flagged", "reasons", "scores"}]`` is what the generation
deployments call before returning generated text. ``curation(dataset_uri)`` is cached per
(dataset, model version): the ingress asks for it on every recommendation/trending request.
"""

from __future__ import annotations

import threading
from typing import Any

from ray import serve

from deployments.capability import ModelSlots, ServesModels
from deployments.settings import AppArgs
from entertainai.analytics.text_models import TextClassifier
from entertainai.errors import InputError
from entertainai.moderation.curation import curate_dataset
from entertainai.moderation.image import ImageClassifier
from entertainai.moderation.text import TextModerator

DEFAULT_REFS = {
    "moderation": "moderation@production",
    "image_moderation": "image_classifier@production",
}


@serve.deployment(name="Moderator")
class Moderator(ServesModels):
    def __init__(self, args: dict[str, Any]) -> None:
        settings = AppArgs(**args)
        self.models = ModelSlots(
            settings.registry,
            {**DEFAULT_REFS, **settings.capability_models},
            reload_interval_s=settings.reload_interval_s,
        )
        self._curations: dict[tuple[str, str], dict[str, Any]] = {}
        self._lock = threading.Lock()

    def _moderator(self, thresholds: dict[str, float] | None = None) -> tuple[TextModerator, str]:
        model = self.models.get("moderation")
        if not isinstance(model, TextClassifier):
            raise InputError(
                f"the moderation role serves a {model.kind} model, not a text classifier"
            )
        return TextModerator(model, thresholds), str(self.models.versions().get("moderation"))

    def check_texts(self, texts: list[str]) -> list[dict[str, Any]]:
        """One ``{"flagged", "reasons", "scores"}`` per text, in order."""
        moderator, _ = self._moderator()
        return [v.to_dict() for v in moderator.check_texts(texts)]

    def text_report(
        self, texts: list[str], thresholds: dict[str, float] | None = None
    ) -> dict[str, Any]:
        moderator, ref = self._moderator(thresholds)
        return {
            "model": ref,
            "thresholds": moderator.thresholds,
            "results": [v.to_dict() for v in moderator.check_texts(texts)],
        }

    def check_images(self, images: list[bytes], top_k: int = 3) -> dict[str, Any]:
        """Safety verdicts and the top-k tags of encoded images (PNG, JPEG, ...)."""
        model = self.models.get("image_moderation")
        if not isinstance(model, ImageClassifier):
            raise InputError(f"the image_moderation role serves a {model.kind} model")
        probs = model.predict_bytes(images)
        results = [
            {**verdict.to_dict(), "tags": [{"label": c, "score": p} for c, p in tags]}
            for verdict, tags in zip(
                model.check_images(probs), model.tags(probs, top_k), strict=True
            )
        ]
        return {"model": str(self.models.versions().get("image_moderation")), "results": results}

    def curation(self, dataset_uri: str) -> dict[str, Any]:
        """``{"blocked_items", "flagged_comments", "reasons"}`` of a dataset (cached)."""
        moderator, ref = self._moderator()
        key = (dataset_uri, ref)
        with self._lock:
            if key not in self._curations:
                result = curate_dataset(dataset_uri, moderator.check_texts).to_dict()
                self._curations = {key: {**result, "model": ref}}  # keep the latest only
            return self._curations[key]
