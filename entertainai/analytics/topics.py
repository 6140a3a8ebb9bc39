"""Topic models of reviews and descriptions: NMF (TF-IDF) or LDA (counts) from scikit-learn.

Fitted state is plain arrays — the topic-word matrix, the IDF weights and the vocabulary — so
an artifact is ``topics.npz`` + ``vocabulary.json`` and loads without pickle. Inference on new
texts is implemented here on those arrays (NMF: multiplicative updates of the document
weights with the topics fixed; LDA: the variational E-step), which is also what scikit-learn
does, so saved and loaded models give identical shares.

Quality: :func:`coherence` (UMass and NPMI of each topic's top words on a corpus) and
:func:`stability` (topics of two seeds matched one-to-one, mean cosine similarity).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from entertainai.errors import InputError
from entertainai.model import Model, load_arrays, save_arrays

log = logging.getLogger(__name__)

TOKEN_PATTERN = r"(?u)\b[a-zA-Z][a-zA-Z-]+\b"  # words of 2+ letters; no numbers or ids


@dataclass(frozen=True)
class TopicsConfig:
    method: str = "nmf"  # nmf | lda
    n_topics: int = 10
    max_features: int = 5000
    min_df: int = 2
    max_df: float = 0.5  # drop words in more than half the documents (filler)
    max_iter: int = 300
    top_n: int = 10
    seed: int = 0

    def __post_init__(self) -> None:
        if self.method not in ("nmf", "lda"):
            raise InputError(f"method must be 'nmf' or 'lda', got {self.method!r}")
        if self.n_topics < 2:
            raise InputError(f"n_topics must be >= 2, got {self.n_topics}")


def _vectorizer(vocabulary: Sequence[str] | None = None, **kwargs: Any) -> Any:
    from sklearn.feature_extraction.text import CountVectorizer

    return CountVectorizer(
        lowercase=True,
        token_pattern=TOKEN_PATTERN,
        stop_words="english",
        vocabulary=vocabulary,
        **kwargs,
    )


def _check_texts(texts: Sequence[str]) -> list[str]:
    out = []
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise InputError(
                f"expected a string, got {type(text).__name__}", location=f"texts[{i}]"
            )
        out.append(text)
    return out


class Topics(Model[TopicsConfig]):
    """``fit(texts)``; ``transform(texts)`` → (n, n_topics) shares summing to 1 (0 for empty)."""

    kind = "topics"
    Config = TopicsConfig

    def fit(self, texts: Sequence[str]) -> Topics:
        from sklearn.decomposition import NMF, LatentDirichletAllocation

        texts = _check_texts(texts)
        c = self.config
        if len(texts) < c.n_topics:
            raise InputError(f"{len(texts)} texts; need at least n_topics={c.n_topics}")
        min_df = c.min_df if len(texts) >= 10 * c.min_df else 1
        vectorizer = _vectorizer(max_features=c.max_features, min_df=min_df, max_df=c.max_df)
        try:
            counts = vectorizer.fit_transform(texts)
        except ValueError:
            raise InputError("no words left after removing stop words and rare words") from None
        self.vocabulary_ = np.array(vectorizer.get_feature_names_out())
        n_docs = counts.shape[0]
        df = np.asarray((counts > 0).sum(axis=0)).ravel()
        self.idf_ = np.log((1 + n_docs) / (1 + df)) + 1.0
        if c.method == "nmf":
            nmf = NMF(
                c.n_topics, init="nndsvdar", max_iter=c.max_iter, random_state=c.seed, tol=1e-4
            )
            nmf.fit(self._tfidf(counts))
            self.components_ = nmf.components_
            self.doc_topic_prior_ = 0.0
        else:
            lda = LatentDirichletAllocation(
                c.n_topics,
                learning_method="batch",
                max_iter=min(c.max_iter, 50),
                random_state=c.seed,
            )
            lda.fit(counts)
            self.components_ = lda.components_
            self.doc_topic_prior_ = float(lda.doc_topic_prior_)
        self.fitted_ = True
        return self

    # ---- inference ---------------------------------------------------------------------------

    def _tfidf(self, counts: Any) -> Any:
        from sklearn.preprocessing import normalize

        return normalize(counts.multiply(self.idf_).tocsr())

    def counts(self, texts: Sequence[str]) -> Any:
        return _vectorizer(list(self.vocabulary_)).transform(_check_texts(texts))

    def transform(self, texts: Sequence[str]) -> np.ndarray:
        """Topic shares per text (rows sum to 1; a text with no known word is all zeros)."""
        self.check_fitted()
        counts = self.counts(texts)
        if self.config.method == "nmf":
            weights = _nmf_weights(self._tfidf(counts), self.components_)
        else:
            weights = np.vstack(
                [
                    _lda_gamma(counts[i : i + 1000], self.components_, self.doc_topic_prior_)
                    for i in range(0, max(counts.shape[0], 1), 1000)
                ]
            )[: counts.shape[0]]
            weights[np.asarray(counts.sum(axis=1)).ravel() == 0] = 0.0
        total = weights.sum(axis=1, keepdims=True)
        return np.divide(weights, total, out=np.zeros_like(weights), where=total > 0)

    def top_words(self, n: int | None = None) -> list[list[str]]:
        self.check_fitted()
        n = n or self.config.top_n
        order = np.argsort(-self.components_, axis=1, kind="stable")[:, :n]
        return [self.vocabulary_[row].tolist() for row in order]

    def describe(self) -> list[dict[str, Any]]:
        return [
            {"topic": k, "label": " / ".join(words[:3]), "top_words": words}
            for k, words in enumerate(self.top_words())
        ]

    # ---- persistence ---------------------------------------------------------------------------

    def _save_state(self, directory: Path) -> None:
        save_arrays(
            directory / "topics.npz",
            components=self.components_,
            idf=self.idf_,
            doc_topic_prior=np.array(self.doc_topic_prior_),
        )
        (directory / "vocabulary.json").write_text(json.dumps(self.vocabulary_.tolist()))

    def _load_state(self, directory: Path) -> None:
        arrays = load_arrays(directory / "topics.npz")
        self.components_ = arrays["components"]
        self.idf_ = arrays["idf"]
        self.doc_topic_prior_ = float(arrays["doc_topic_prior"])
        self.vocabulary_ = np.array(json.loads((directory / "vocabulary.json").read_text()))
        if self.components_.shape != (self.config.n_topics, len(self.vocabulary_)):
            raise ValueError("topic matrix does not match the vocabulary")


def _nmf_weights(x: Any, components: np.ndarray, iterations: int = 200) -> np.ndarray:
    """Document weights W >= 0 minimising ||X - W H||² with H fixed (multiplicative updates)."""
    hht = components @ components.T
    xht = np.asarray(x @ components.T)
    w = np.full((x.shape[0], components.shape[0]), 0.1)
    for _ in range(iterations):
        w *= xht / np.maximum(w @ hht, 1e-12)
    return w


def _lda_gamma(
    counts: Any, components: np.ndarray, alpha: float, iterations: int = 100
) -> np.ndarray:
    """Variational document-topic parameters with the topics fixed (Hoffman et al.'s E-step)."""
    from scipy.special import psi

    def expected_log(a: np.ndarray) -> np.ndarray:
        return psi(a) - psi(a.sum(axis=1, keepdims=True))

    beta = np.exp(expected_log(components))
    gamma = np.ones((counts.shape[0], components.shape[0]))
    for _ in range(iterations):
        theta = np.exp(expected_log(gamma))
        norm = theta @ beta + 1e-100  # dense (docs x vocabulary); callers pass batches
        ratio = counts.multiply(1.0 / norm).tocsr()
        new = alpha + theta * np.asarray(ratio @ beta.T)
        if np.abs(new - gamma).mean() < 1e-4:
            return new
        gamma = new
    return gamma


# ---- analysis ---------------------------------------------------------------------------------


def shares_over_time(
    shares: np.ndarray, timestamps: np.ndarray, freq: str = "W"
) -> tuple[np.ndarray, np.ndarray]:
    """Mean topic shares per period (``D`` or ``W``, weeks starting Monday): (periods, shares)."""
    days = timestamps.astype("datetime64[D]")
    if freq == "W":
        # numpy weeks start on Thursdays (1970-01-01); shift by 4 days to start on Mondays.
        days = (days - np.timedelta64(4, "D")).astype("datetime64[W]").astype(
            "datetime64[D]"
        ) + np.timedelta64(4, "D")
    elif freq != "D":
        raise InputError(f"freq must be 'D' or 'W', got {freq!r}")
    periods, index = np.unique(days, return_inverse=True)
    totals = np.zeros((len(periods), shares.shape[1]))
    np.add.at(totals, index, shares)
    n = np.bincount(index, minlength=len(periods))[:, None]
    return periods, totals / np.maximum(n, 1)


def coherence(model: Topics, texts: Sequence[str], n: int = 10) -> dict[str, Any]:
    """UMass and NPMI coherence of each topic's top ``n`` words on ``texts`` (higher = better)."""
    present = (model.counts(texts) > 0).astype(np.float64).tocsc()
    n_docs = max(present.shape[0], 1)
    index = {w: i for i, w in enumerate(model.vocabulary_)}
    umass, npmi = [], []
    for words in model.top_words(n):
        cols = [index[w] for w in words]
        sub = present[:, cols]
        together = np.asarray((sub.T @ sub).todense())
        single = np.diag(together)
        u, p = [], []
        for i in range(1, len(cols)):
            for j in range(i):
                u.append(np.log((together[i, j] + 1) / max(single[j], 1)))
                pij = together[i, j] / n_docs
                pi, pj = single[i] / n_docs, single[j] / n_docs
                if pij == 0 or pi == 0 or pj == 0:
                    p.append(-1.0)
                else:
                    p.append(np.log(pij / (pi * pj)) / -np.log(pij) if pij < 1 else 1.0)
        umass.append(float(np.mean(u)))
        npmi.append(float(np.mean(p)))
    return {
        "umass": float(np.mean(umass)),
        "npmi": float(np.mean(npmi)),
        "umass_per_topic": umass,
        "npmi_per_topic": npmi,
    }


def match_topics(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One-to-one matching of two topic-word matrices (same vocabulary): (order, cosine)."""
    from scipy.optimize import linear_sum_assignment

    na = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    nb = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    similarity = na @ nb.T
    rows, cols = linear_sum_assignment(-similarity)
    return cols[np.argsort(rows)], similarity[rows, cols][np.argsort(rows)]


def stability(texts: Sequence[str], config: TopicsConfig, seeds: tuple[int, int] = (0, 1)) -> float:
    """Mean cosine similarity of matched topics fitted with two seeds (1 = identical topics)."""
    from dataclasses import replace

    a = Topics(replace(config, seed=seeds[0])).fit(texts)
    b = Topics(replace(config, seed=seeds[1])).fit(texts)
    _, similarity = match_topics(a.components_, b.components_)
    return float(similarity.mean())


def corpus(
    dataset_uri: str, source: str = "texts", max_docs: int | None = None
) -> tuple[list[str], np.ndarray, str]:
    """(texts, timestamps, dataset hash) of a dataset's reviews/comments or item descriptions;
    ``max_docs`` keeps a seeded sample (in dataset order)."""
    from entertainai.data.dataset import Dataset

    ds = Dataset.open(dataset_uri)
    if source == "texts":
        table = ds.table("texts", ["text", "timestamp"])
        texts = table.column("text").to_pylist()
        ts = table.column("timestamp").to_numpy(zero_copy_only=False).astype("datetime64[s]")
    elif source == "descriptions":
        texts = [t or "" for t in ds.items.column("description").to_pylist()]
        ts = np.full(len(texts), np.datetime64("NaT"), "datetime64[s]")
    else:
        raise InputError(f"unknown source {source!r}; expected texts or descriptions")
    if not texts:
        raise InputError(f"no {source} in {dataset_uri}")
    if max_docs is not None and len(texts) > max_docs:
        keep = np.sort(np.random.default_rng(0).choice(len(texts), max_docs, replace=False))
        texts, ts = [texts[i] for i in keep], ts[keep]
    return texts, ts, ds.manifest.content_hash


def train(
    dataset_uri: str, config: TopicsConfig, source: str = "texts", max_docs: int | None = 20_000
) -> tuple[Topics, dict[str, Any], str]:
    """Fit on a dataset's corpus; metrics are the coherence on that corpus."""
    texts, _, dataset_hash = corpus(dataset_uri, source, max_docs)
    model = Topics(config).fit(texts)
    scores = coherence(model, texts)
    metrics = {"umass": scores["umass"], "npmi": scores["npmi"], "n_docs": len(texts)}
    return model, metrics, dataset_hash
