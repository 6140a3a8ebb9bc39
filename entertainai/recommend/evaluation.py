"""Honest offline evaluation: full ranking over every item, never sampled negatives.

Test items a model could not have learned (absent from train) still count as relevant, so a
model is never credited for a catalogue it did not see; users absent from train are reported
as cold-start users and ranked through the model's cold-start path.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from entertainai.recommend import metrics as m
from entertainai.recommend.base import Recommender
from entertainai.recommend.filters import Filters

log = logging.getLogger(__name__)

RANKING_METRICS = ("precision", "recall", "ndcg", "map", "hit_rate", "mrr")


@dataclass
class EvaluationResult:
    model: str
    k: int
    metrics: dict[str, float]
    n_users: int
    extra: dict[str, Any] = field(default_factory=dict)


def evaluate(
    model: Recommender,
    test: pa.Table,
    k: int = 10,
    *,
    name: str | None = None,
    batch_size: int = 512,
    max_users: int | None = None,
    seed: int = 0,
) -> EvaluationResult:
    """Rank all items for every test user (excluding their train items) and score the top k."""
    model.check_fitted()
    users = pc.cast(test.column("user_id"), pa.string()).to_numpy(zero_copy_only=False)
    items = pc.cast(test.column("item_id"), pa.string()).to_numpy(zero_copy_only=False)
    test_users = np.unique(users)
    if max_users is not None and len(test_users) > max_users:
        test_users = np.sort(
            np.random.default_rng(seed).choice(test_users, max_users, replace=False)
        )
    relevant: dict[str, set[str]] = {}
    for u, i in zip(users.tolist(), items.tolist(), strict=True):
        relevant.setdefault(u, set()).add(i)

    all_hits: list[np.ndarray] = []
    all_tops: list[np.ndarray] = []
    n_rel: list[int] = []
    for start in range(0, len(test_users), batch_size):
        batch = test_users[start : start + batch_size]
        # Full ranking over the whole catalogue: no business filters in offline evaluation.
        recs = model.recommend(
            batch.tolist(), k=k, exclude_seen=True, filters=Filters(available_only=False)
        )
        hits = np.array(
            [
                [item in relevant[u] for item in row]
                for u, row in zip(batch, recs.item_ids, strict=True)
            ],
            dtype=bool,
        )
        all_hits.append(hits)
        all_tops.append(
            model.item_indices(recs.item_ids.ravel().tolist()).reshape(recs.item_ids.shape)
        )
        n_rel.extend(len(relevant[u]) for u in batch)
    hits = np.concatenate(all_hits) if all_hits else np.zeros((0, k), bool)
    tops = np.concatenate(all_tops) if all_tops else np.zeros((0, k), np.int64)
    n_relevant = np.asarray(n_rel, np.int64)

    result = {
        "precision": m.precision_at_k(hits, k),
        "recall": m.recall_at_k(hits, n_relevant, k),
        "ndcg": m.ndcg_at_k(hits, n_relevant, k),
        "map": m.map_at_k(hits, n_relevant, k),
        "hit_rate": m.hit_rate_at_k(hits, k),
        "mrr": m.mrr_at_k(hits, k),
        "coverage": m.coverage(tops, len(model.item_ids_)),
        "novelty": m.novelty(tops, model.popularity_),
        "diversity": m.intra_list_diversity(tops, model.catalogue_.genres),
    }
    if model.predicts_ratings:
        is_rating = pc.equal(test.column("event_type"), "rating").to_numpy(zero_copy_only=False)
        if is_rating.any():
            truth = pc.fill_null(test.column("value"), 0).to_numpy(zero_copy_only=False)[is_rating]
            pred = model.score(users[is_rating].tolist(), items[is_rating].tolist())
            ok = np.isfinite(pred)
            result["rmse"] = m.rmse(pred[ok], truth[ok])
            result["mae"] = m.mae(pred[ok], truth[ok])
    cold = int((model.user_indices(test_users.tolist()) < 0).sum())
    return EvaluationResult(
        name or model.kind, k, result, len(test_users), {"cold_start_users": cold}
    )


def to_markdown(results: Iterable[EvaluationResult]) -> str:
    results = list(results)
    if not results:
        return ""
    k = results[0].k
    columns = list(dict.fromkeys(c for r in results for c in r.metrics))
    header = (
        "| model | " + " | ".join(f"{c}@{k}" if c in RANKING_METRICS else c for c in columns) + " |"
    )
    lines = [header, "|" + "---|" * (len(columns) + 1)]
    for r in results:
        cells = [f"{r.metrics[c]:.4f}" if c in r.metrics else "" for c in columns]
        lines.append(f"| {r.model} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_report(
    results: list[EvaluationResult], out_dir: Path, title: str = ""
) -> dict[str, Path]:
    """Write ``results.json``, ``results.md`` and ``results.png`` (a grouped bar chart)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "json": out_dir / "results.json",
        "markdown": out_dir / "results.md",
        "chart": out_dir / "results.png",
    }
    paths["json"].write_text(json.dumps([r.__dict__ for r in results], indent=2, sort_keys=True))
    paths["markdown"].write_text((f"# {title}\n\n" if title else "") + to_markdown(results) + "\n")
    _chart(results, paths["chart"], title)
    return paths


def _chart(results: list[EvaluationResult], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [
        c
        for c in ("precision", "recall", "ndcg", "map", "hit_rate", "coverage")
        if c in results[0].metrics
    ]
    x = np.arange(len(shown))
    width = 0.8 / max(len(results), 1)
    fig, ax = plt.subplots(figsize=(9, 4.5))
    for j, r in enumerate(results):
        ax.bar(x + j * width, [r.metrics[c] for c in shown], width, label=r.model)
    ax.set_xticks(x + width * (len(results) - 1) / 2, [f"{c}@{results[0].k}" for c in shown])
    ax.set_ylabel("score")
    ax.set_title(title or "Recommender evaluation (full ranking)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
