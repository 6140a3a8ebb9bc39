"""``encoder_text``: pretrained sentence embeddings beside TF-IDF n-grams, logistic regression.

Each text becomes ``[TF-IDF words (+ characters), w · MiniLM(text)]``: the sparse n-grams keep
the exact words a domain uses, the 384 dense dimensions bring what the encoder learnt from a
billion sentence pairs (paraphrases, negation, words never seen in training). One linear model
over both, calibrated and thresholded on validation like every text classifier.

Needs the ``encoder`` extra (:mod:`entertainai.analytics.encoder`). The artifact records the
encoder's name and weights' sha256 (``encoder.json``) and refuses to load without the same
encoder installed: the linear weights mean nothing over other embeddings.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from entertainai.analytics.encoder import DEFAULT_ENCODER, check_recorded, load_encoder
from entertainai.analytics.tfidf_linear import TfidfClassifier, TfidfConfig

ENCODER_FILE = "encoder.json"


@dataclass(frozen=True)
class EncoderTextConfig(TfidfConfig):
    encoder: str = DEFAULT_ENCODER
    # Scale of the unit-length embedding beside the TF-IDF block (whose rows are unit-length
    # too): larger values let the L2-regularised model lean on the encoder more.
    encoder_weight: float = 1.0
    tfidf: bool = True  # False: the embedding alone


class EncoderText(TfidfClassifier[EncoderTextConfig]):
    """Logistic regression over TF-IDF n-grams and a pretrained encoder's sentence embedding."""

    kind = "encoder_text"
    Config = EncoderTextConfig

    def _embed(self, texts: list[str]) -> Any:
        from scipy.sparse import csr_matrix

        rows = self.encoder_.encode(texts) * float(self.config.encoder_weight)
        return csr_matrix(rows.astype(np.float32))

    def _fit_features(self, texts: list[str]) -> Any:
        from scipy.sparse import hstack

        self.encoder_ = load_encoder(self.config.encoder)
        if not self.config.tfidf:
            self.vectorizer_ = self.char_vectorizer_ = None
            return self._with_lexicon(self._embed(texts), texts)
        X = super()._fit_features(texts)
        return hstack([X, self._embed(texts)]).tocsr()

    def _features(self, texts: list[str]) -> Any:
        from scipy.sparse import hstack

        if self.vectorizer_ is None:
            return self._with_lexicon(self._embed(texts), texts)
        return hstack([super()._features(texts), self._embed(texts)]).tocsr()

    def _n_features(self) -> int:
        if self.vectorizer_ is None:
            return self.encoder_.dim + 4 * bool(self.config.lexicon_features)
        return super()._n_features() + self.encoder_.dim

    def _save_state(self, directory: Path) -> None:
        record = {"name": self.encoder_.name, "sha256": self.encoder_.sha256}
        (directory / ENCODER_FILE).write_text(json.dumps(record, indent=2))
        if self.vectorizer_ is not None:
            super()._save_state(directory)
            return
        self._save_labels(directory)
        from entertainai.model import save_arrays

        save_arrays(directory / "linear.npz", coef=self.coef_, intercept=self.intercept_)

    def _load_state(self, directory: Path) -> None:
        record = json.loads((directory / ENCODER_FILE).read_text())
        # Raises EncoderUnavailable (an ArtifactError) naming the missing/different encoder.
        self.encoder_ = check_recorded(record["name"], record["sha256"])
        if self.config.tfidf:
            super()._load_state(directory)
            return
        from entertainai.model import load_arrays

        self._load_labels(directory)
        self.vectorizer_ = self.char_vectorizer_ = None
        arrays = load_arrays(directory / "linear.npz")
        self.coef_, self.intercept_ = arrays["coef"], arrays["intercept"]
        if self.coef_.shape != (len(self.classes_), self._n_features()):
            raise ValueError(f"coefficients of shape {self.coef_.shape} do not fit the encoder")
