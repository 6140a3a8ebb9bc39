"""Document similarity search: TF-IDF vectors, or learned word vectors (LSA), cosine top-k.

``method="tfidf"`` compares sparse TF-IDF vectors (exact words and bigrams).
``method="lsa"`` learns ``dim``-dimensional word vectors from the corpus (truncated SVD of the
TF-IDF term-document matrix) and embeds a document as the TF-IDF-weighted sum of its words'
vectors, so documents sharing related words - not only the same ones - come out similar.
``method="encoder"`` embeds documents and queries with the pretrained sentence encoder (the
``encoder`` extra, :mod:`entertainai.analytics.encoder`): paraphrases match without shared
words; the artifact records the encoder's name and sha256 and refuses to load without it.
Saved as a vocabulary JSON and ``.npz`` arrays (idf, word vectors, document matrix, ids).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import numpy as np

from entertainai.analytics.text_models import validate_texts
from entertainai.analytics.tfidf_linear import load_vectorizer, save_vectorizer, tfidf_vectorizer
from entertainai.errors import InputError, NotFoundError
from entertainai.model import Model, load_arrays, save_arrays

METHODS = ("tfidf", "lsa", "encoder")
ENCODER_FILE = "encoder.json"


@dataclass(frozen=True)
class SimilarityConfig:
    method: str = "lsa"
    dim: int = 64  # word-vector size (lsa)
    ngram_max: int = 1
    min_df: int = 1
    max_features: int = 50_000
    seed: int = 0
    encoder: str = "all-MiniLM-L6-v2"  # method "encoder" only


@dataclass(frozen=True)
class Neighbours:
    """Top-k documents per query: ids and cosine similarities, best first."""

    ids: list[list[str]]
    scores: list[list[float]]


def _normalise(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.maximum(norms, 1e-12)


class TextSimilarity(Model[SimilarityConfig]):
    """Fit on a corpus of (id, text); query with texts or find documents similar to an id."""

    kind = "text_similarity"
    Config = SimilarityConfig

    def fit(self, texts: Sequence[str], ids: Sequence[str]) -> Self:
        texts = validate_texts(texts)
        ids = [str(i) for i in ids]
        if len(texts) != len(ids):
            raise InputError(f"{len(texts)} texts but {len(ids)} ids")
        if len(set(ids)) != len(ids):
            raise InputError("document ids must be unique")
        if len(texts) < 2:
            raise InputError("need at least two documents")
        c = self.config
        if c.method not in METHODS:
            raise InputError(f"unknown similarity method {c.method!r}; known: {list(METHODS)}")
        self.ids_ = ids
        if c.method == "encoder":
            from entertainai.analytics.encoder import load_encoder

            self.encoder_ = load_encoder(c.encoder)
            self.word_vectors_ = np.zeros((0, 0))
            self.documents_: Any = self.encoder_.encode(texts)  # dense here, sparse for tfidf
            self.fitted_ = True
            return self
        self.vectorizer_ = tfidf_vectorizer(c.ngram_max, c.min_df, c.max_features)
        X = self.vectorizer_.fit_transform(texts)
        if c.method == "lsa":
            from scipy.sparse.linalg import svds

            k = max(1, min(c.dim, min(X.shape) - 1))
            # ARPACK's start vector is seeded, so the same corpus gives the same vectors.
            v0 = np.random.default_rng(c.seed).random(min(X.shape))
            _, s, vt = svds(X.astype(np.float64), k=k, v0=v0)
            order = np.argsort(-s)
            s, vt = s[order], vt[order]
            signs = np.sign(vt[np.arange(k), np.abs(vt).argmax(axis=1)])  # fix SVD sign freedom
            self.word_vectors_ = (vt * signs[:, None]).T * s[None, :]  # (terms, k)
        else:
            self.word_vectors_ = np.zeros((0, 0))
        self.documents_ = self._embed_matrix(X)
        self.fitted_ = True
        return self

    def _embed_matrix(self, X: Any) -> Any:
        if self.config.method == "lsa":
            return _normalise(np.asarray(X @ self.word_vectors_, np.float32))
        return X.astype(np.float32)  # TF-IDF rows are already L2-normalised

    def embed(self, texts: Sequence[str]) -> Any:
        self.check_fitted()
        if self.config.method == "encoder":
            return self.encoder_.encode(validate_texts(texts))
        return self._embed_matrix(self.vectorizer_.transform(validate_texts(texts)))

    def _top_k(self, sims: np.ndarray, k: int, exclude: list[int | None]) -> Neighbours:
        if k < 1:
            raise InputError(f"k must be >= 1, got {k}")
        ids, scores = [], []
        for row, skip in zip(sims, exclude, strict=True):
            row = np.asarray(row, float).ravel().copy()
            if skip is not None:
                row[skip] = -np.inf
            kk = min(k, len(row) - (skip is not None))
            top = np.argsort(-row, kind="stable")[:kk]
            ids.append([self.ids_[j] for j in top])
            scores.append([round(float(row[j]), 6) for j in top])
        return Neighbours(ids, scores)

    def _similarities(self, queries: Any) -> np.ndarray:
        sims = queries @ self.documents_.T
        return sims.toarray() if hasattr(sims, "toarray") else np.asarray(sims)

    def query(self, texts: Sequence[str], k: int = 10) -> Neighbours:
        """The k documents most similar to each query text."""
        queries = self.embed(texts)
        return self._top_k(self._similarities(queries), k, [None] * queries.shape[0])

    def similar(self, doc_ids: Sequence[str], k: int = 10) -> Neighbours:
        """The k documents most similar to each known document (itself excluded)."""
        self.check_fitted()
        index = {d: i for i, d in enumerate(self.ids_)}
        rows = []
        for d in doc_ids:
            if d not in index:
                raise NotFoundError(f"unknown document id {d!r}")
            rows.append(index[d])
        return self._top_k(self._similarities(self.documents_[rows]), k, list(rows))

    def word_neighbours(self, word: str, k: int = 5) -> list[str]:
        """Nearest words by learned vector (lsa only): a check that the vectors mean something."""
        self.check_fitted()
        if self.config.method != "lsa":
            raise InputError("word vectors exist for method 'lsa' only")
        vocabulary = self.vectorizer_.vocabulary_
        if word not in vocabulary:
            raise NotFoundError(f"{word!r} is not in the vocabulary")
        vectors = _normalise(self.word_vectors_)
        sims = vectors @ vectors[vocabulary[word]]
        terms = {i: t for t, i in vocabulary.items()}
        return [terms[int(j)] for j in np.argsort(-sims) if terms[int(j)] != word][:k]

    def _save_state(self, directory: Path) -> None:
        (directory / "ids.json").write_text(json.dumps(self.ids_))
        if self.config.method == "encoder":
            record = {"name": self.encoder_.name, "sha256": self.encoder_.sha256}
            (directory / ENCODER_FILE).write_text(json.dumps(record, indent=2))
            save_arrays(directory / "documents.npz", dense=self.documents_.astype(np.float32))
            return
        save_vectorizer(self.vectorizer_, directory, "similarity")
        docs = self.documents_
        if self.config.method == "tfidf":
            docs = docs.tocsr()
            save_arrays(
                directory / "documents.npz",
                data=docs.data,
                indices=docs.indices,
                indptr=docs.indptr,
                shape=np.array(docs.shape),
            )
        else:
            save_arrays(
                directory / "documents.npz",
                dense=docs,
                word_vectors=self.word_vectors_.astype(np.float32),
            )

    def _load_state(self, directory: Path) -> None:
        from scipy.sparse import csr_matrix

        c = self.config
        self.ids_ = json.loads((directory / "ids.json").read_text())
        arrays = load_arrays(directory / "documents.npz")
        if c.method == "encoder":
            from entertainai.analytics.encoder import check_recorded

            record = json.loads((directory / ENCODER_FILE).read_text())
            self.encoder_ = check_recorded(record["name"], record["sha256"])
            self.documents_, self.word_vectors_ = arrays["dense"], np.zeros((0, 0))
            if self.documents_.shape[0] != len(self.ids_):
                raise ValueError("document matrix and ids differ in length")
            return
        self.vectorizer_ = load_vectorizer(directory, "similarity", c.ngram_max, True)
        if c.method == "tfidf":
            self.documents_ = csr_matrix(
                (arrays["data"], arrays["indices"], arrays["indptr"]), shape=tuple(arrays["shape"])
            )
            self.word_vectors_ = np.zeros((0, 0))
        else:
            self.documents_, self.word_vectors_ = arrays["dense"], arrays["word_vectors"]
        if self.documents_.shape[0] != len(self.ids_):
            raise ValueError("document matrix and ids differ in length")
