"""``ensemble_text``: the average of several linear heads over the same texts.

Heads: logistic regression over TF-IDF word and character n-grams (as ``tfidf_linear``); the
same features with Naive-Bayes weighting, one binary model per class (NBSVM, Wang & Manning
2012); and, when the ``encoder`` extra is installed, logistic regression over the pretrained
sentence embedding. Their errors differ (the NB head leans on rare class-specific n-grams, the
encoder on meaning), so the mean of their logits beats each one: on Davidson et al.'s tweets
it lifts the rare hate-speech class most (``benchmarks/text_classifiers.py``). One TF-IDF
pass feeds both sparse heads; calibration and thresholds are shared, like every classifier's.

The artifact is ``tfidf_linear``'s files plus ``heads.npz`` (the other heads' weights) and,
when the encoder head is there, ``encoder.json`` (its name and weights' sha256, checked on
load as ``encoder_text`` does). When a GPU is there the encoder is first fine-tuned on the
training texts (``fine_tune_encoder``); the tuned copy is saved under ``tuned_encoder/``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from entertainai.analytics.encoder import DEFAULT_ENCODER, check_recorded, encoder_installed
from entertainai.analytics.encoder_tuning import (
    FineTuneConfig,
    check_mode,
    fine_tune,
    load_tuned,
    save_tuned,
    should_fine_tune,
)
from entertainai.analytics.tfidf_linear import TfidfClassifier, TfidfConfig, fit_linear
from entertainai.model import load_arrays, save_arrays

log = logging.getLogger(__name__)

HEADS_FILE = "heads.npz"
ENCODER_FILE = "encoder.json"
TUNED_DIR = "tuned_encoder"


@dataclass(frozen=True)
class EnsembleTextConfig(TfidfConfig):
    nb_head: bool = True  # the NB-weighted one-vs-rest head beside the softmax one
    # The encoder head, when the extra is installed (without it the ensemble is the two
    # sparse heads; the artifact records which heads it has).
    encoder_head: bool = True
    encoder: str = DEFAULT_ENCODER
    encoder_C: float = 1.0  # the 384 dense inputs need more regularisation than the n-grams
    # Fine-tune (a copy of) the encoder on the training texts first: auto = when a CUDA GPU is
    # present, always, never (encoder_tuning.py). The tuned weights travel in the artifact.
    fine_tune_encoder: str = "auto"
    fine_tune_epochs: int = 1


class EnsembleText(TfidfClassifier[EnsembleTextConfig]):
    """Mean logits of a softmax TF-IDF head, an NB-weighted head and an encoder head."""

    kind = "ensemble_text"
    Config = EnsembleTextConfig

    def __init__(self, config: EnsembleTextConfig | None = None) -> None:
        super().__init__(config)
        check_mode(self.config.fine_tune_encoder)  # before any fitting (or a Ray job) starts
        self.nb_coef_: np.ndarray | None = None
        self.nb_intercept_: np.ndarray | None = None
        self.encoder_: Any = None
        self.encoder_coef_: np.ndarray | None = None
        self.encoder_intercept_: np.ndarray | None = None

    def _fit_heads(self, X: Any, Y: np.ndarray, texts: list[str]) -> None:
        super()._fit_heads(X, Y, texts)  # the softmax head, over the one TF-IDF pass
        c = self.config
        self.nb_coef_ = self.nb_intercept_ = None
        if c.nb_head:
            self.nb_coef_, self.nb_intercept_ = fit_linear(
                X, Y, self.multi_label_, c.C, c.class_weight, nb_weighting=True
            )
        self.encoder_ = None
        tune = should_fine_tune(c.fine_tune_encoder)
        if c.encoder_head and encoder_installed():
            from entertainai.analytics.encoder import load_encoder

            self.encoder_ = load_encoder(c.encoder)
            if tune:
                settings = FineTuneConfig(epochs=c.fine_tune_epochs, seed=c.seed)
                self.encoder_ = fine_tune(self.encoder_, texts, Y, self.multi_label_, settings)
            E = self.encoder_.encode(texts)
            self.encoder_coef_, self.encoder_intercept_ = fit_linear(
                E, Y, self.multi_label_, c.encoder_C, c.class_weight
            )

    def _head_logits(self, X: Any, texts: list[str]) -> np.ndarray:
        heads = [super()._head_logits(X, texts)]
        if self.nb_coef_ is not None and self.nb_intercept_ is not None:
            heads.append(np.asarray(X @ self.nb_coef_.T, np.float64) + self.nb_intercept_)
        if self.encoder_ is not None and self.encoder_coef_ is not None:
            E = self.encoder_.encode(texts).astype(np.float64)
            heads.append(E @ self.encoder_coef_.T.astype(np.float64) + self.encoder_intercept_)
        return np.mean(heads, axis=0)

    @property
    def heads(self) -> tuple[str, ...]:
        """The heads this model averages (``softmax``, ``nb``, ``encoder``)."""
        return (
            ("softmax",)
            + (("nb",) if self.nb_coef_ is not None else ())
            + (("encoder",) if self.encoder_ is not None else ())
        )

    def _save_state(self, directory: Path) -> None:
        super()._save_state(directory)
        arrays: dict[str, np.ndarray] = {}
        if self.nb_coef_ is not None and self.nb_intercept_ is not None:
            arrays.update(nb_coef=self.nb_coef_, nb_intercept=self.nb_intercept_)
        if self.encoder_ is not None:
            assert self.encoder_coef_ is not None and self.encoder_intercept_ is not None
            arrays.update(
                encoder_coef=self.encoder_coef_, encoder_intercept=self.encoder_intercept_
            )
            if self.encoder_.tuned:
                save_tuned(self.encoder_, directory / TUNED_DIR)
            record = {
                "name": self.encoder_.name,
                "sha256": self.encoder_.sha256,
                "tuned": self.encoder_.tuned,
            }
            (directory / ENCODER_FILE).write_text(json.dumps(record, indent=2))
        save_arrays(directory / HEADS_FILE, **arrays)

    def _load_state(self, directory: Path) -> None:
        super()._load_state(directory)
        arrays = load_arrays(directory / HEADS_FILE)
        self.nb_coef_, self.nb_intercept_ = arrays.get("nb_coef"), arrays.get("nb_intercept")
        if self.nb_coef_ is not None and self.nb_coef_.shape != self.coef_.shape:
            raise ValueError(f"NB head of shape {self.nb_coef_.shape} does not fit the vocabulary")
        self.encoder_ = None
        if "encoder_coef" in arrays:
            record = json.loads((directory / ENCODER_FILE).read_text())
            # Raises EncoderUnavailable (an ArtifactError) naming the missing/different encoder.
            if record.get("tuned"):
                self.encoder_ = load_tuned(directory / TUNED_DIR, record["name"], record["sha256"])
            else:
                self.encoder_ = check_recorded(record["name"], record["sha256"])
            self.encoder_coef_ = arrays["encoder_coef"]
            self.encoder_intercept_ = arrays["encoder_intercept"]
            if self.encoder_coef_.shape != (len(self.classes_), self.encoder_.dim):
                raise ValueError("encoder head does not fit the installed encoder")
