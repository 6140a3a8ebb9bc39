"""The MovieLens-100K-like stand-in: ML-100K's files, loaded by our MovieLens loader."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pytest

from benchmarks.movielens_like import ML100K_LIKE, write_movielens
from entertainai.data.dataset import Dataset
from entertainai.data.loaders import load
from entertainai.data.loaders.movielens import GENRES_100K
from entertainai.data.synthetic import _STREAM_NICHES, DemoConfig, _rng, generate
from entertainai.errors import InputError


def test_written_files_load_as_movielens_with_its_shape(tmp_path: Path) -> None:
    config = dataclasses.replace(ML100K_LIKE, n_users=250, n_items=400)
    generate(str(tmp_path / "demo"), config)
    counts = write_movielens(Dataset.open(str(tmp_path / "demo")), tmp_path / "ml")
    assert {p.name for p in (tmp_path / "ml").iterdir()} == {"u.data", "u.item", "u.user"}
    manifest = load(f"movielens:{tmp_path / 'ml'}", str(tmp_path / "ds"))
    assert manifest.counts["users"] == counts["users"] == 250
    assert manifest.counts["items"] == counts["items"] == 400
    ds = Dataset.open(str(tmp_path / "ds"))
    inter = ds.interactions
    assert inter.num_rows == counts["ratings"]
    assert set(inter["event_type"].to_pylist()) == {"rating"}
    ratings = inter["value"].to_numpy()
    assert set(np.unique(ratings)) <= {1.0, 2.0, 3.0, 4.0, 5.0}
    assert 3.3 < ratings.mean() < 3.8  # skewed to 4-5, as ML-100K's 3.53
    per_user = pc.value_counts(inter["user_id"]).field("counts").to_numpy()
    assert per_user.min() >= 20 and per_user.max() > 3 * np.median(per_user)
    genres = set(pc.list_flatten(ds.items["genres"]).to_pylist())
    assert genres <= set(GENRES_100K) and "Family" not in genres
    assert pc.max(ds.items["year"]).as_py() <= 1998


def test_new_knobs_are_checked() -> None:
    for field, value in [
        ("min_interactions", 0),
        ("events", "clicks"),
        ("n_niches", -1),
        ("niche_share", 1.5),
        ("niche_concentration", 0.0),
        ("activity_sigma", -0.1),
        ("popularity_offset", -1.0),
    ]:
        with pytest.raises(InputError, match=field):
            DemoConfig(**{field: value})


def test_niches_concentrate_each_user_on_a_few_latent_clusters(tmp_path: Path) -> None:
    # The niche of each item, from the generator's own stream (it is not in the metadata).
    n_items, n_niches = 300, 20
    niche = _rng(0, _STREAM_NICHES).integers(0, n_niches, n_items)

    def top_niches_share(config: DemoConfig) -> float:
        """Mean share of a user's items that fall in their 3 most frequent niches."""
        out = str(tmp_path / str(config.n_niches))
        generate(out, config)
        inter = Dataset.open(out).interactions
        u = np.array([int(s[1:]) for s in inter["user_id"].to_pylist()])
        i = np.array([int(s[1:]) for s in inter["item_id"].to_pylist()])
        counts = np.zeros((config.n_users, n_niches))
        np.add.at(counts, (u, niche[i]), 1)
        top = np.sort(counts, axis=1)[:, -3:].sum(1)
        return float(np.mean(top / np.maximum(counts.sum(1), 1)))

    base = DemoConfig(n_users=300, n_items=n_items, interactions_per_user=40.0)
    with_niches = dataclasses.replace(base, n_niches=n_niches, niche_share=0.5)
    # Without niches the labels are arbitrary (popular items make the share ~0.34); with them
    # half of each user's draws go to the few niches their sparse taste favours.
    assert top_niches_share(with_niches) > top_niches_share(base) + 0.1
