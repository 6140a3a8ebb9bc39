"""Content-based recommender: TF-IDF over item texts, users as weighted means of their items.

Texts are ``Catalogue.texts`` (title, description, genres, tags). The fitted vocabulary, idf
and the L2-normalised item matrix are saved as plain arrays and the vectoriser is rebuilt from
them on load (never pickled), so ``add_items`` vectorises a new title with the same vocabulary
and it is recommendable at once — before anybody has watched it.

``features="encoder"`` replaces the TF-IDF rows with the pretrained sentence encoder's
(the ``encoder`` extra): items and cold-start preferences that share meaning but not words
come out close. The artifact records the encoder's name and sha256 and refuses to load
without the same encoder.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Self

import numpy as np
import pyarrow as pa
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize

from entertainai.errors import InputError
from entertainai.recommend.base import Recommender
from entertainai.recommend.catalogue import Catalogue
from entertainai.recommend.extend import extend_items
from entertainai.recommend.interactions import InteractionData


@dataclass(frozen=True)
class ContentConfig:
    min_df: int = 1  # a term must appear in this many items
    max_df: float = 0.9  # terms in more than this share of items say nothing about taste
    max_features: int | None = 50_000
    ngram_max: int = 1  # 2 adds bigrams ("science fiction")
    sublinear_tf: bool = True
    stop_words: str | None = "english"
    features: str = "tfidf"  # or "encoder": pretrained sentence embeddings of the item texts
    encoder: str = "all-MiniLM-L6-v2"


class Content(Recommender[ContentConfig]):
    """score(u, i) = cosine(profile(u), x_i), profile(u) = sum_j w_uj x_j (rating, else count)."""

    kind = "content"
    Config = ContentConfig
    needs_catalogue_text = True
    config: ContentConfig

    def _vectorizer(
        self, vocabulary: dict[str, int] | None = None, prune: bool = True
    ) -> TfidfVectorizer:
        c = self.config
        prune = prune and vocabulary is None  # a fixed vocabulary is already pruned
        return TfidfVectorizer(
            vocabulary=vocabulary,
            min_df=c.min_df if prune else 1,
            max_df=float(c.max_df) if prune else 1.0,  # an int max_df would mean "documents"
            max_features=c.max_features if prune else None,
            ngram_range=(1, c.ngram_max),
            sublinear_tf=c.sublinear_tf,
            stop_words=c.stop_words,
            dtype=np.float32,
        )

    def _fit(self, data: InteractionData) -> None:
        texts = data.catalogue.texts.tolist()
        if self.config.features not in ("tfidf", "encoder"):
            raise InputError(f"features must be 'tfidf' or 'encoder', got {self.config.features!r}")
        if self.config.features == "encoder":
            from entertainai.analytics.encoder import load_encoder

            self._encoder_ = load_encoder(self.config.encoder)
            self.terms_, self.idf_ = np.zeros(0, dtype=str), np.zeros(0, np.float32)
            self.items_ = self.vectorize(texts)
        else:
            self._fit_tfidf(texts)
        # A rating says how much the user liked it; a count is all implicit feedback has.
        ratings = data.ratings.tocsr()
        self.feedback_ = data.matrix.tocsr().astype(np.float32)
        self.feedback_ = (self.feedback_ - self.feedback_.multiply(ratings > 0) + ratings).tocsr()
        self.feedback_.eliminate_zeros()

    def _fit_tfidf(self, texts: list[str]) -> None:
        vectorizer = self._vectorizer()
        try:
            self.items_ = vectorizer.fit_transform(texts).tocsr()
        except ValueError:
            # Tiny or repetitive catalogues can lose every term to min_df/max_df: keep them all.
            vectorizer = self._vectorizer(prune=False)
            try:
                self.items_ = vectorizer.fit_transform(texts).tocsr()
            except ValueError:
                raise InputError("the catalogue texts hold no usable words") from None
        terms = vectorizer.get_feature_names_out()
        self.terms_ = np.asarray(terms, dtype=str)
        self.idf_ = vectorizer.idf_.astype(np.float32)
        self._vectorizer_ = self._rebuilt()

    def _rebuilt(self) -> TfidfVectorizer:
        vectorizer = self._vectorizer({t: j for j, t in enumerate(self.terms_.tolist())})
        vectorizer.idf_ = self.idf_
        return vectorizer

    def vectorize(self, texts: Sequence[str]) -> sp.csr_matrix:
        """L2-normalised TF-IDF rows of ``texts`` in the fitted vocabulary (unknown terms drop)."""
        if self.config.features == "encoder":  # unit-length embedding rows, kept sparse-typed
            return sp.csr_matrix(self._encoder_.encode(list(texts)))
        self.check_fitted()
        return self._vectorizer_.transform(list(texts)).astype(np.float32).tocsr()

    # ---- scoring ---------------------------------------------------------------------------

    def _user_scores(self, users: np.ndarray) -> np.ndarray:
        return self.profile_scores(self._profiles(users))

    def _profiles(self, users: np.ndarray) -> sp.csr_matrix:
        return normalize(self.feedback_[users] @ self.items_).tocsr()

    def profile_scores(self, profiles: sp.csr_matrix) -> np.ndarray:
        """Cosine of each profile row (unit norm, term space) with every item: (n, n_items)."""
        return np.asarray((profiles @ self.items_.T).toarray(), np.float32)

    def _similar_scores(self, items: np.ndarray) -> np.ndarray:
        return (self.items_[items] @ self.items_.T).toarray()

    def profile_from_preferences(
        self, genres: Sequence[str] = (), liked_item_ids: Sequence[str] = ()
    ) -> sp.csr_matrix:
        """A new user's profile (1, n_terms) from stated genres and liked items, equally mixed."""
        self.check_fitted()
        if not genres and not liked_item_ids:
            raise InputError("state at least one genre or liked item")
        parts = []
        if genres:
            parts.append(self.vectorize([" ".join(genres)]))
        if liked_item_ids:
            items = self.item_indices(liked_item_ids)
            unknown = [str(i) for i, x in zip(liked_item_ids, items, strict=True) if x < 0]
            if unknown:
                raise InputError(f"unknown liked item ids {unknown[:5]}")
            parts.append(normalize(sp.csr_matrix(self.items_[items].mean(axis=0))))
        return normalize(sp.csr_matrix(sum(p.toarray() for p in parts))).astype(np.float32)

    # ---- growing the catalogue -------------------------------------------------------------

    def add_items(self, items: pa.Table) -> Self:
        """Vectorise new catalogue items (or refresh changed ones) so they rank at once."""
        self.check_fitted()
        new = Catalogue.from_table(items)
        n_old = len(self.item_ids_)
        positions = extend_items(self, new)
        take = np.arange(len(self.item_ids_))
        take[positions] = n_old + np.arange(len(new))  # replaced and appended rows alike
        self.items_ = sp.vstack([self.items_, self.vectorize(new.texts.tolist())]).tocsr()[take]
        w = self.feedback_
        self.feedback_ = sp.csr_matrix(
            (w.data, w.indices, w.indptr), shape=(w.shape[0], len(self.item_ids_))
        )
        return self

    # ---- persistence -----------------------------------------------------------------------

    def _state(self) -> dict[str, np.ndarray]:
        x, w = self.items_, self.feedback_.tocoo()
        return {
            "terms": self.terms_,
            "idf": self.idf_,
            "items_data": x.data,
            "items_indices": x.indices,
            "items_indptr": x.indptr,
            "weights_rows": w.row.astype(np.int32),
            "weights_cols": w.col.astype(np.int32),
            "weights_vals": w.data,
            **self._encoder_record(),
        }

    def _encoder_record(self) -> dict[str, np.ndarray]:
        if self.config.features != "encoder":
            return {}
        return {"encoder": np.array([self._encoder_.name, self._encoder_.sha256], dtype=str)}

    def _set_state(self, arrays: dict[str, np.ndarray]) -> None:
        self.terms_, self.idf_ = arrays["terms"], arrays["idf"]
        n_items, n_users = len(self.item_ids_), len(self.user_ids_)
        width = len(self.terms_)
        if self.config.features == "encoder":
            from entertainai.analytics.encoder import check_recorded

            if "encoder" not in arrays:
                raise ValueError("no encoder record in an encoder-features artifact")
            name, sha256 = (str(v) for v in arrays["encoder"])
            self._encoder_ = check_recorded(name, sha256)
            width = self._encoder_.dim
        self.items_ = sp.csr_matrix(
            (arrays["items_data"], arrays["items_indices"], arrays["items_indptr"]),
            shape=(n_items, width),
        )
        self.feedback_ = sp.csr_matrix(
            (arrays["weights_vals"], (arrays["weights_rows"], arrays["weights_cols"])),
            shape=(n_users, n_items),
        )
        if self.config.features != "encoder":
            self._vectorizer_ = self._rebuilt()
