"""Similarity search: genre neighbours on the demo catalogue, save/load, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from entertainai.analytics.encoder import encoder_installed
from entertainai.analytics.similarity import TextSimilarity
from entertainai.data.dataset import Dataset
from entertainai.errors import InputError, NotFittedError, NotFoundError
from entertainai.model import load_model


@pytest.fixture(scope="module")
def catalogue(demo_dir: Path) -> tuple[list[str], list[str], dict[str, str]]:
    rows = Dataset.open(str(demo_dir)).items.to_pylist()
    rows = [r for r in rows if r["description"]]
    genre = {r["item_id"]: r["genres"][0] for r in rows}
    return [r["item_id"] for r in rows], [r["description"] for r in rows], genre


def genre_precision(model: TextSimilarity, ids: list[str], genre: dict[str, str]) -> float:
    found = model.similar(ids, k=5).ids
    return float(
        np.mean([genre[n] == genre[i] for i, row in zip(ids, found, strict=True) for n in row])
    )


@pytest.mark.parametrize("method", ["tfidf", "lsa"])
def test_neighbours_share_the_genre(catalogue, method: str, tmp_path: Path):
    ids, texts, genre = catalogue
    model = TextSimilarity.from_params(method=method, dim=24).fit(texts, ids)
    precision = genre_precision(model, ids, genre)
    chance = max(np.mean([g == h for g in genre.values()]) for h in set(genre.values()))
    assert precision > 0.6 > chance
    hits = model.query([texts[0]], k=3)
    assert hits.ids[0][0] == ids[0] and hits.scores[0][0] == pytest.approx(1.0, abs=1e-4)
    model.save(tmp_path / method)
    loaded = load_model(tmp_path / method)
    assert loaded.similar(ids[:5], k=4) == model.similar(ids[:5], k=4)
    again = TextSimilarity.from_params(method=method, dim=24).fit(texts, ids)
    assert again.similar(ids[:5], k=4) == model.similar(ids[:5], k=4)


def test_word_vectors_group_genre_words(catalogue):
    ids, texts, _ = catalogue
    model = TextSimilarity.from_params(method="lsa", dim=24).fit(texts, ids)
    assert model.word_vectors_.shape[1] == 24
    neighbours = model.word_neighbours("whodunit", k=5)
    assert (
        len({"suspect", "clue", "puzzle", "secret", "sleuth", "alibi", "riddle"} & set(neighbours))
        >= 3
    )


def test_errors():
    with pytest.raises(NotFittedError):
        TextSimilarity().query(["x"])
    with pytest.raises(InputError, match="unique"):
        TextSimilarity().fit(["a b", "c d"], ["1", "1"])
    with pytest.raises(InputError, match="method"):
        TextSimilarity.from_params(method="bert").fit(["a b", "c d"], ["1", "2"])
    model = TextSimilarity.from_params(method="tfidf").fit(["a b", "c d", "a c"], ["1", "2", "3"])
    with pytest.raises(NotFoundError):
        model.similar(["9"])
    with pytest.raises(InputError, match="k must"):
        model.query(["a"], k=0)


@pytest.mark.skipif(not encoder_installed(), reason="the encoder extra is not installed")
def test_encoder_method_matches_paraphrases_and_records_its_encoder(tmp_path: Path):
    texts = [
        "a detective solves a murder in a small town",
        "astronauts travel to a distant galaxy",
        "two people fall in love in Paris",
    ]
    model = TextSimilarity.from_params(method="encoder").fit(texts, ["crime", "space", "love"])
    # No word in common with the documents: TF-IDF would have nothing to go on.
    assert model.query(["an inspector investigates a killing"], k=1).ids == [["crime"]]
    assert model.query(["a romantic couple"], k=1).ids == [["love"]]
    model.save(tmp_path / "enc")
    assert (tmp_path / "enc" / "encoder.json").exists()
    assert load_model(tmp_path / "enc").similar(["space"], k=2) == model.similar(["space"], k=2)
