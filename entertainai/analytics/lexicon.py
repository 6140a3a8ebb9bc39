"""``lexicon_sentiment``: VADER's rule-based compound score as sentiment probabilities.

Needs no training (``fit`` only adapts it to a label set without "neutral"); it is the
zero-training fallback (``analyze sentiment --model lexicon``) and a baseline.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import numpy as np

from entertainai.analytics.text_data import LabelledTexts
from entertainai.analytics.text_memo import TextRowMemo
from entertainai.analytics.text_models import SENTIMENT_CLASSES, TextClassifier
from entertainai.errors import InputError


@dataclass(frozen=True)
class LexiconConfig:
    threshold: float = 0.05  # VADER's own neutral band on the compound score
    sharpness: float = 6.0  # how fast probabilities leave the band


_VADER: Any = None


def _vader() -> Any:
    global _VADER
    if _VADER is None:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        _VADER = SentimentIntensityAnalyzer()
    return _VADER


_MEMO = TextRowMemo(100_000)  # rows of 4 floats: ~20 MB at most
_KEYS = ("compound", "pos", "neu", "neg")


def lexicon_scores(texts: Sequence[str]) -> np.ndarray:
    """(n, 4) VADER compound, pos, neu, neg of each text.

    Recent texts' rows are memoised (VADER costs ~1.5 ms a text): a cross-fitted classifier
    scores each training text once, not once per fold.
    """
    if len(texts) == 0:
        return np.zeros((0, 4), np.float32)
    return _MEMO.lookup(texts, _vader_rows)


def _vader_rows(texts: list[str]) -> np.ndarray:
    analyzer = _vader()
    return np.array(
        [[scores[k] for k in _KEYS] for scores in map(analyzer.polarity_scores, texts)],
        np.float32,
    )


class LexiconSentiment(TextClassifier[LexiconConfig]):
    """VADER compound score as sentiment probabilities: a zero-training fallback.

    Logits ``k·[-c, t, c]`` make the argmax VADER's rule (negative below -t, positive above t)
    and the probabilities a smooth function of the compound score c.
    """

    kind = "lexicon_sentiment"
    Config = LexiconConfig
    calibrated = False

    @classmethod
    def default(cls) -> LexiconSentiment:
        """Ready to predict negative/neutral/positive without any data."""
        model = cls()
        model.classes_ = SENTIMENT_CLASSES
        model.thresholds_ = np.full(3, 0.5)
        model.fitted_ = True
        return model

    def fit(self, data: LabelledTexts) -> Self:
        """Adapt to the data's label set (a subset of negative/neutral/positive); no learning."""
        unknown = sorted(set(data.classes) - set(SENTIMENT_CLASSES))
        if data.multi_label or unknown:
            raise InputError(
                f"the lexicon model predicts {list(SENTIMENT_CLASSES)} only; "
                f"the data has {unknown or 'multi-label'} labels"
            )
        self.classes_ = tuple(c for c in SENTIMENT_CLASSES if c in data.classes)
        self.multi_label_ = False
        self.thresholds_ = np.full(len(self.classes_), 0.5)
        self.fitted_ = True
        return self

    def compound(self, texts: list[str]) -> np.ndarray:
        analyzer = _vader()
        return np.array([analyzer.polarity_scores(t)["compound"] for t in texts], float)

    def _logits(self, texts: list[str]) -> np.ndarray:
        c = self.compound(texts)
        k, t = self.config.sharpness, self.config.threshold
        full = {"negative": -k * c, "neutral": np.full_like(c, k * t), "positive": k * c}
        return np.stack([full[name] for name in self.classes_], axis=1)

    def _save_state(self, directory: Path) -> None:
        self._save_labels(directory)

    def _load_state(self, directory: Path) -> None:
        self._load_labels(directory)
