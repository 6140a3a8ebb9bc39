"""Fit → evaluate → register, the one pipeline the CLI, Ray Train jobs and Tune trials share."""

from __future__ import annotations

import dataclasses
import functools
import logging
from dataclasses import dataclass
from typing import Any

from entertainai.data.dataset import Dataset
from entertainai.data.splits import Split, split
from entertainai.recommend.base import Recommender, create
from entertainai.recommend.evaluation import EvaluationResult, evaluate
from entertainai.recommend.interactions import InteractionData
from entertainai.registry import ModelVersion, Registry

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainSpec:
    kind: str
    params: dict[str, Any] = dataclasses.field(default_factory=dict)
    split: str = "random:0.2:42"
    k: int = 10
    eval_users: int | None = 2000  # evaluate on a seeded sample of test users (None: all)
    name: str | None = None  # registry name; defaults to the kind
    # Tuning evaluates on a validation split carved out of train, never on the test split.
    validation: str | None = None


@dataclass
class Prepared:
    """A dataset loaded once and split, reused by every model trained on it."""

    dataset: Dataset
    split: Split
    train: InteractionData
    full: InteractionData


def prepare(dataset_uri: str, split_spec: str, validation_spec: str | None = None) -> Prepared:
    """Load and split once.

    With ``validation_spec`` the train part is split again and its held-out part plays the
    role of the test split (tuning); ``full`` is then the outer train part, so the test split
    is never seen.
    """
    ds = Dataset.open(dataset_uri)
    interactions, items, users = ds.interactions, ds.items, ds.users
    parts = split(interactions, split_spec)
    if validation_spec:
        interactions = parts.train
        inner = split(parts.train, validation_spec)
        parts = Split(
            inner.train, inner.test, f"{parts.description}|validation {inner.description}"
        )
    return Prepared(
        dataset=ds,
        split=parts,
        train=InteractionData.from_tables(parts.train, items, users),
        full=InteractionData.from_tables(interactions, items, users),
    )


def fit_and_evaluate(prepared: Prepared, spec: TrainSpec) -> tuple[Recommender, EvaluationResult]:
    """Fit on the train split and evaluate on the test split (full ranking)."""
    model = create(spec.kind, **spec.params).fit(prepared.train)
    result = evaluate(
        model, prepared.split.test, spec.k, name=spec.name or spec.kind, max_users=spec.eval_users
    )
    return model, result


def register(
    registry: Registry,
    model: Recommender,
    result: EvaluationResult,
    prepared: Prepared,
    spec: TrainSpec,
    *,
    refit_on_full: bool = True,
    promote: bool | None = None,
) -> ModelVersion:
    """Register the model; by default refit on all interactions first (metrics from the split).

    ``promote``: the registry's one policy (``Registry.register_model``)."""
    final = create(spec.kind, **spec.params).fit(prepared.full) if refit_on_full else model
    return registry.register_model(
        final,
        spec.name or spec.kind,
        metrics={**result.metrics, "k": result.k},
        dataset_hash=prepared.dataset.manifest.content_hash,
        extra={
            "split": prepared.split.description,
            "eval_users": result.n_users,
            "trained_on": "all interactions (metrics from the split)"
            if refit_on_full
            else "train split",
        },
        promote=promote,
    )


@functools.lru_cache(maxsize=2)
def prepared_once(data: str, split: str, validation: str | None) -> Prepared:
    """Loaded and split once per process: a torch job's data loader and its evaluation share
    it. It lives here, not in the job module, so that Ray workers unpickle it by reference (a
    cached function of a ``python -m train.x`` job would be looked up in ``__main__``)."""
    return prepare(data, split, validation)


def load_interactions(
    data: str, split: str, validation: str | None, final_fit: bool, config: Any = None
) -> InteractionData:
    """The split's train part, or (the final fit) every interaction."""
    prepared = prepared_once(data, split, validation)
    return prepared.full if final_fit else prepared.train


@dataclass(frozen=True)
class SplitMetrics:
    """Ranking metrics of a fitted recommender on the split's test part (rank 0, per report)."""

    data: str
    spec: TrainSpec

    def __call__(self, fitted: Recommender, _train: Any) -> dict[str, float]:
        test = prepared_once(self.data, self.spec.split, self.spec.validation).split.test
        return evaluate(fitted, test, self.spec.k, max_users=self.spec.eval_users).metrics
