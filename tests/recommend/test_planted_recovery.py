"""On the demo data, models recover the planted structure (model-free ground truth beside it)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.compute as pc
import pytest

from entertainai.data.dataset import Dataset
from entertainai.data.synthetic import DemoConfig, generate
from entertainai.recommend.interactions import InteractionData
from entertainai.recommend.training import TrainSpec, fit_and_evaluate, prepare
from entertainai.recommend.trending import Trending


def test_trending_finds_the_planted_bursts(tmp_path: Path):
    # The default demo size: with a few hundred users a burst is only a handful of plays.
    generate(str(tmp_path / "demo"), DemoConfig())
    ds = Dataset.open(str(tmp_path / "demo"))
    interactions, items = ds.interactions, ds.items
    available = set(pc.filter(items.column("item_id"), items.column("available")).to_pylist())
    bursts = [
        b for b in json.loads(ds.extra("ground_truth/bursts.json")) if b["item_id"] in available
    ]
    found = 0
    for burst in bursts:
        # Everything up to the end of the burst window, as a live system would have seen it.
        seen = interactions.filter(
            pc.less(pc.cast(interactions.column("timestamp"), "int64"), burst["end_ms"])
        )
        model = Trending().fit(InteractionData.from_tables(seen, items))
        top = [item for item, _ in model.trending(k=5, window="1d", now=burst["end_ms"] / 1000)]
        found += burst["item_id"] in top
    # By chance a given item lands in the top 5 of 500 about 1% of the time.
    assert found >= len(bursts) - 1, (
        f"found {found} of {len(bursts)} planted bursts in the 1d top-5"
    )


@pytest.mark.parametrize("kind", ["ease", "hybrid"])
def test_best_models_far_above_popularity(demo_dir: Path, kind: str):
    prepared = prepare(str(demo_dir), "random:0.2:42")
    _, pop = fit_and_evaluate(prepared, TrainSpec("popularity"))
    _, model = fit_and_evaluate(prepared, TrainSpec(kind))
    assert model.metrics["ndcg"] > 1.3 * pop.metrics["ndcg"]
