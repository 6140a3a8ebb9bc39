"""Hyperparameter search spaces per recommender family (keys are the models' Config fields)."""

from __future__ import annotations

from typing import Any

from ray import tune

SPACES: dict[str, dict[str, Any]] = {
    "popularity": {"half_life_days": tune.choice([None, 1.0, 7.0, 30.0])},
    "item_knn": {
        "neighbors": tune.choice([20, 50, 100, 200, 400]),
        "shrinkage": tune.loguniform(0.1, 200.0),
    },
    "user_knn": {
        "neighbors": tune.choice([20, 50, 100, 200, 400]),
        "shrinkage": tune.loguniform(0.1, 200.0),
    },
    "ease": {"l2": tune.loguniform(10.0, 5000.0)},
    "als": {
        "factors": tune.choice([32, 64, 128]),
        "regularization": tune.loguniform(0.01, 50.0),
        "alpha": tune.loguniform(1.0, 100.0),
        "iterations": tune.choice([10, 15, 20]),
    },
    "bpr": {
        "factors": tune.choice([32, 64, 128]),
        "lr": tune.loguniform(1e-3, 5e-2),
        "weight_decay": tune.loguniform(1e-5, 1e-2),
        "epochs": 30,
    },
    "two_tower": {
        "dim": tune.choice([32, 64, 128]),
        "lr": tune.loguniform(1e-3, 3e-2),
        "temperature": tune.loguniform(0.03, 0.5),
        "epochs": 30,
    },
    "content": {
        "ngram_max": tune.choice([1, 2]),
        "max_df": tune.uniform(0.3, 1.0),
        "sublinear_tf": tune.choice([True, False]),
    },
}

# Few epochs for --smoke-test, so a search finishes in seconds.
SMOKE_OVERRIDES: dict[str, dict[str, Any]] = {
    "bpr": {"epochs": 2},
    "two_tower": {"epochs": 2},
    "als": {"iterations": 2},
}


def space_for(kind: str, smoke_test: bool = False) -> dict[str, Any]:
    if kind not in SPACES:
        raise KeyError(kind)
    return {**SPACES[kind], **(SMOKE_OVERRIDES.get(kind, {}) if smoke_test else {})}
