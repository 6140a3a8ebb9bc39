"""Topics recover the planted genre vocabularies; deterministic; save/load equal; bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from entertainai.analytics.topics import (
    Topics,
    TopicsConfig,
    coherence,
    shares_over_time,
    stability,
)
from entertainai.data.dataset import Dataset
from entertainai.data.synthetic import GENRE_WORDS
from entertainai.errors import InputError, NotFittedError
from entertainai.model import load_model


@pytest.fixture(scope="module")
def descriptions(demo_dir: Path) -> list[str]:
    return Dataset.open(str(demo_dir)).items.column("description").to_pylist()


def purity(model: Topics) -> float:
    """Share of top-5 words that come from the topic's majority genre vocabulary."""
    genre_of = {w: g for g, words in GENRE_WORDS.items() for w in words}
    scores = []
    for words in model.top_words(5):
        genres = [genre_of.get(w) for w in words]
        best = max(set(genres), key=genres.count)
        scores.append(genres.count(best) / len(words) if best else 0.0)
    return float(np.mean(scores))


@pytest.mark.parametrize("method", ["nmf", "lda"])
def test_topics_find_genres_and_roundtrip(method: str, descriptions, tmp_path: Path):
    config = TopicsConfig(method=method, n_topics=8, max_iter=200)
    model = Topics(config).fit(descriptions)
    # Random word lists score ~0.25; LDA mixes more genres per topic on 120 short texts.
    assert purity(model) >= {"nmf": 0.8, "lda": 0.45}[method]
    shares = model.transform(descriptions[:20] + ["", "zzz unknownword"])
    assert shares.shape == (22, 8)
    np.testing.assert_allclose(shares[:20].sum(axis=1), 1.0)
    assert shares[20:].sum() == 0.0
    loaded = load_model(model.save(tmp_path / method))
    np.testing.assert_array_equal(loaded.transform(descriptions[:20]), shares[:20])
    assert loaded.top_words() == model.top_words()
    again = Topics(config).fit(descriptions)
    np.testing.assert_array_equal(again.components_, model.components_)


def test_coherence_stability_and_time(descriptions):
    config = TopicsConfig(n_topics=8)
    model = Topics(config).fit(descriptions)
    good = coherence(model, descriptions)
    shuffled = Topics(config).fit(descriptions)
    rng = np.random.default_rng(0)
    shuffled.components_ = rng.permuted(shuffled.components_, axis=1)  # random word lists
    assert good["npmi"] > coherence(shuffled, descriptions)["npmi"] + 0.2
    assert stability(descriptions, config) > 0.8
    ts = np.array(["2026-01-05T10:00", "2026-01-06T10:00", "2026-01-12T00:00"], "datetime64[s]")
    periods, mean = shares_over_time(np.eye(3)[:, :2], ts)
    assert str(periods[0]) == "2026-01-05" and mean.tolist() == [[0.5, 0.5], [0.0, 0.0]]


def test_bad_input():
    with pytest.raises(InputError, match="texts\\[1\\]"):
        Topics(TopicsConfig(n_topics=2)).fit(["a text", 3, "more"])
    with pytest.raises(InputError, match="n_topics"):
        TopicsConfig(n_topics=1)
    with pytest.raises(InputError, match="no words"):
        Topics(TopicsConfig(n_topics=2)).fit(["the and", "of the"])
    with pytest.raises(NotFittedError):
        Topics().transform(["x"])
