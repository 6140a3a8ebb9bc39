"""Toxicity/spam moderation of comments and generated text over a multi-label text classifier.

A moderation model is any multi-label :class:`~entertainai.analytics.text_models.TextClassifier`
trained on categories such as ``toxic`` and ``spam`` (``entertainai train moderation``). Each
category has a threshold: the one tuned on validation when the model was trained, unless the
caller overrides it. A text is flagged when any category's score reaches its threshold.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from entertainai.analytics.text_models import TextClassifier, validate_texts
from entertainai.errors import ContentRefused, InputError

# Categories that never flag (e.g. an explicit "clean" or "neutral" class in the label set).
BENIGN = frozenset({"clean", "ok", "neutral", "none", "ham", "safe"})


@dataclass(frozen=True)
class Verdict:
    flagged: bool
    reasons: list[str]
    scores: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"flagged": self.flagged, "reasons": list(self.reasons), "scores": dict(self.scores)}


class TextModerator:
    """Per-category scores and thresholds over one trained classifier."""

    def __init__(
        self, model: TextClassifier, thresholds: Mapping[str, float] | None = None
    ) -> None:
        model.check_fitted()
        self.model = model
        self.categories = tuple(model.classes_)
        trained = dict(zip(self.categories, np.asarray(model.thresholds_, float), strict=True))
        if not model.multi_label_:
            trained = dict.fromkeys(self.categories, 0.5)
        for name, value in (thresholds or {}).items():
            if name not in trained:
                raise InputError(
                    f"unknown moderation category {name!r}; known: {list(self.categories)}"
                )
            if not 0.0 < float(value) <= 1.0:
                raise InputError(f"threshold for {name!r} must be in (0, 1], got {value}")
            trained[name] = float(value)
        self.thresholds = trained

    def check_texts(self, texts: Sequence[str]) -> list[Verdict]:
        """One verdict per text, in order; blank texts are never flagged."""
        texts = validate_texts(texts)
        live = [i for i, t in enumerate(texts) if t.strip()]
        verdicts = [Verdict(False, [], dict.fromkeys(self.categories, 0.0)) for _ in texts]
        if not live:
            return verdicts
        probs = self.model.predict_proba([texts[i] for i in live])
        for row, i in enumerate(live):
            scores = {
                c: round(float(p), 6) for c, p in zip(self.categories, probs[row], strict=True)
            }
            reasons = [
                f"{c}: score {scores[c]:.2f} >= threshold {self.thresholds[c]:.2f}"
                for c in self.categories
                if c.lower() not in BENIGN and scores[c] >= self.thresholds[c]
            ]
            verdicts[i] = Verdict(bool(reasons), reasons, scores)
        return verdicts


def check_texts(
    model: TextClassifier, texts: Sequence[str], thresholds: Mapping[str, float] | None = None
) -> list[Verdict]:
    """Shortcut: ``TextModerator(model, thresholds).check_texts(texts)``."""
    return TextModerator(model, thresholds).check_texts(texts)


def refuse_flagged(verdicts: Sequence[Mapping[str, Any]], what: str = "generated text") -> None:
    """Raise :class:`ContentRefused` naming the reasons when any verdict is flagged.

    Takes the plain dicts ``Moderator.check_texts`` returns, so a generation deployment can
    refuse its output with one call: ``refuse_flagged(await moderator.check_texts.remote(t))``.
    """
    for i, verdict in enumerate(verdicts):
        if verdict.get("flagged"):
            where = f"{what} [{i}]" if len(verdicts) > 1 else what
            reasons = "; ".join(verdict.get("reasons") or ["flagged"])
            raise ContentRefused(f"{where} refused by moderation: {reasons}")
