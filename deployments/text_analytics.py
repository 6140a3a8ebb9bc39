"""Text analytics deployment: sentiment, emotion and text classification over registry models.

Without a trained sentiment model the deployment answers with the VADER lexicon model and
says so in the response's ``model`` field; emotion and classification need their models
(503 naming the ref until trained).
"""

from __future__ import annotations

from typing import Any

from ray import serve

from deployments.capability import ModelSlots, ServesModels
from deployments.settings import AppArgs
from entertainai.analytics.text_models import LexiconSentiment, TextClassifier
from entertainai.errors import ArtifactError, InputError

DEFAULT_REFS = {
    "sentiment": "sentiment@production",
    "emotion": "emotion@production",
    "textclass": "textclass@production",
}


@serve.deployment(name="TextAnalyzer")
class TextAnalyzer(ServesModels):
    """``sentiment``/``emotion``/``classify(texts)`` -> ``{"model": ref, "results": [...]}``."""

    def __init__(self, args: dict[str, Any]) -> None:
        settings = AppArgs(**args)
        self.models = ModelSlots(
            settings.registry,
            {**DEFAULT_REFS, **settings.capability_models},
            reload_interval_s=settings.reload_interval_s,
        )
        self.lexicon = LexiconSentiment.default()

    def _classifier(self, role: str) -> tuple[TextClassifier, str]:
        model = self.models.get(role)
        if not isinstance(model, TextClassifier):
            raise InputError(
                f"the {role!r} role serves a {model.kind} model, not a text classifier"
            )
        return model, str(self.models.versions().get(role))

    def _run(self, role: str, texts: list[str]) -> dict[str, Any]:
        model, ref = self._classifier(role)
        return {"model": ref, "results": model.predict(texts).rows()}

    def sentiment(self, texts: list[str]) -> dict[str, Any]:
        try:
            return self._run("sentiment", texts)
        except ArtifactError:
            ref = self.models.refs["sentiment"]
            return {
                "model": f"lexicon_sentiment (fallback: {ref} is not trained)",
                "results": self.lexicon.predict(texts).rows(),
            }

    def emotion(self, texts: list[str]) -> dict[str, Any]:
        return self._run("emotion", texts)

    def classify(self, texts: list[str]) -> dict[str, Any]:
        return self._run("textclass", texts)
