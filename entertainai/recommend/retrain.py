"""Retrain on live events, and promote only a model at least as good as production's.

    python -m train.retrain --base data/current --events ./runs/events    # the Ray job around it

One run: export the event logs into a new dataset (:mod:`entertainai.serving.export`) or take
an exported one → split it → fit the candidate and production's configuration on the same
train split → evaluate both on the same test split → promote when
``candidate >= production - tolerance`` (register through :func:`training.register`, the
check ``entertainai models promote`` makes, then move ``NAME@production``) → report.

**Why the gate compares configurations, not the served artifact.** The served production model
was refit on all interactions of an older dataset, which overlap the new held-out split: the
base rows of the test split are in its history. Evaluation excludes what a model has seen, so
those test items could never be hits for it and it would lose for a reason that is not its
quality (with exclusion off it would win by memory instead). So both *configurations* — the
candidate's, and production's kind and hyperparameters from its registry metadata — are refit
on the same train split and scored on the same test split, same k, same sampled users. The gate
answers "is the candidate configuration at least as good as production's on today's data".
When the candidate has production's configuration (the scheduled retrain) one fit scores both,
the gate passes, and promotion refreshes the model with the new data; a changed kind or
hyperparameters must earn its place.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from entertainai.errors import InputError, NotFoundError
from entertainai.fs import resolve
from entertainai.recommend.base import Recommender, create
from entertainai.recommend.evaluation import RANKING_METRICS, EvaluationResult
from entertainai.recommend.training import Prepared, TrainSpec, fit_and_evaluate, prepare, register
from entertainai.registry import ModelVersion, Registry
from entertainai.serving.export import DEFAULT_EVENTS_ROOT, Reader, export_events, read_events

log = logging.getLogger(__name__)

PRODUCTION = "production"
DEFAULT_KIND = "hybrid"  # as train.pipeline and train.recommender serve it

FitMany = Callable[[Prepared, Sequence[TrainSpec]], list[tuple[Recommender, EvaluationResult]]]


def fit_each(
    prepared: Prepared, specs: Sequence[TrainSpec]
) -> list[tuple[Recommender, EvaluationResult]]:
    """Fit and evaluate one spec after the other, in this process."""
    return [fit_and_evaluate(prepared, spec) for spec in specs]


@dataclass(frozen=True)
class RetrainConfig:
    registry: str
    out: str  # the report (and the exported dataset, under out/dataset) go here
    base: str | None = None  # dataset the events are added to
    events: str = DEFAULT_EVENTS_ROOT  # event log root
    dataset: str | None = None  # an already exported dataset: no export step
    name: str = DEFAULT_KIND  # registry name whose production alias is gated
    model: str | None = None  # candidate kind; default production's kind (else the hybrid)
    params: dict[str, Any] = field(default_factory=dict)  # over production's when same kind
    split: str = "random:0.2:42"
    k: int = 10
    eval_users: int | None = 2000
    metric: str = "ndcg"
    tolerance: float = 0.01  # absolute, in units of the metric
    promote: bool = True  # False: evaluate and report only (register nothing)
    catalogue_root: str | None = None

    def __post_init__(self) -> None:
        if self.metric not in RANKING_METRICS:
            raise InputError(f"must be one of {', '.join(RANKING_METRICS)}", location="--metric")
        if not self.tolerance >= 0:  # also refuses NaN
            raise InputError("must be a number >= 0", location="--tolerance")
        if self.k < 1:
            raise InputError("must be at least 1", location="--k")
        if self.dataset and self.base:
            raise InputError("--dataset is an exported dataset already; drop --base")


@dataclass
class Side:
    """One side of the comparison: what was fitted and how it scored on the test split."""

    kind: str
    params: dict[str, Any]
    metrics: dict[str, float]
    ref: str | None = None  # production: the version it stands for; candidate: once registered


@dataclass
class RetrainReport:
    created: str
    name: str
    decision: str  # promoted | gated | refused | dry-run
    reason: str
    metric: str
    k: int
    tolerance: float
    split: str
    eval_users: int
    dataset: dict[str, Any]
    candidate: Side
    production: Side | None
    same_config: bool
    production_before: int | None
    production_after: int | None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def summary(self) -> str:
        return f"{self.decision}: {self.reason}"

    def to_markdown(self) -> str:
        name = f"{self.metric}@{self.k}"
        prod = self.production
        rows = [
            "| | production configuration | candidate |",
            "|---|---|---|",
            f"| model | {f'{prod.kind} (as {prod.ref}, refit)' if prod else '—'} "
            f"| {self.candidate.kind}{f' (registered {self.candidate.ref})' if self.candidate.ref else ''} |",
        ]
        for metric in (self.metric, *(m for m in RANKING_METRICS if m != self.metric)):
            shown = f"**{metric}@{self.k}**" if metric == self.metric else f"{metric}@{self.k}"
            left = f"{prod.metrics[metric]:.4f}" if prod and metric in prod.metrics else "—"
            right = f"{self.candidate.metrics.get(metric, float('nan')):.4f}"
            rows.append(f"| {shown} | {left} | {right} |")
        export = self.dataset.get("export")
        lines = [
            f"# Retrain {self.name}: {self.decision}",
            "",
            f"**Decision: {self.decision}.** {self.reason}",
            "",
            f"Gate: candidate {name} >= production {name} - {self.tolerance}. Both "
            "configurations were fitted on the same train split and scored on the same test "
            f"split ({self.split}, {self.eval_users} users, full ranking)"
            + (
                "; the candidate has production's configuration, so one fit scores both."
                if self.same_config
                else "."
            ),
            "",
            *rows,
            "",
            f"`{self.name}@production`: version {self.production_before} → {self.production_after}",
            "",
            f"Dataset: `{self.dataset['uri']}` (hash `{self.dataset['content_hash'][:12]}`, "
            f"{self.dataset['counts'].get('interactions', 0)} interactions)",
        ]
        if export:
            lines.append(
                f"Export: {export['added']} new events from {export['logs']} logs "
                f"({export['events_read']} read, {export['duplicates']} duplicates, "
                f"{export['already_in_base']} already in the base, {export['erased']} erased "
                "rows left out)"
            )
        lines.append(f"\nCreated {self.created}.")
        return "\n".join(lines) + "\n"


def retrain(
    config: RetrainConfig,
    *,
    fit_many: FitMany = fit_each,
    read: Reader = read_events,
    serving: Any = None,
) -> RetrainReport:
    """Run the loop once (see the module docstring); never raises for a gated candidate.

    ``fit_many`` fits the specs (the Ray job passes one that runs them as Ray tasks), ``read``
    reads the event logs, ``serving`` is the :class:`ServiceConfig` the promotion check uses
    (default: the shipped Serve config's defaults).
    """
    from entertainai.serving.service import ServiceConfig

    registry = Registry(config.registry)
    production = _production(registry, config.name)
    candidate = _candidate_spec(config, production)
    baseline = (
        TrainSpec(
            production.kind,
            dict(production.metadata.get("config", {})),
            config.split,
            config.k,
            config.eval_users,
            config.name,
        )
        if production
        else None
    )
    same = baseline is not None and _same_config(candidate, baseline)

    export = None
    if config.dataset:
        dataset_uri = config.dataset
    else:
        dataset_uri = str(resolve(config.out).join("dataset"))
        export = export_events(
            dataset_uri,
            config.events,
            registry=config.registry,
            base=config.base,
            catalogue_root=config.catalogue_root,
            read=read,
        )
        log.info("retrain: %s", export.summary())
    prepared = prepare(dataset_uri, config.split)
    if not prepared.split.test.num_rows:
        raise InputError(f"{dataset_uri}: the held-out split ({config.split}) is empty")

    specs = [candidate] if same or baseline is None else [candidate, baseline]
    log.info("retrain: fitting %s", ", ".join(f"{s.kind}" for s in specs))
    fitted = fit_many(prepared, specs)
    cand_model, cand_result = fitted[0]
    prod_result = fitted[0][1] if same else (fitted[1][1] if baseline else None)

    metric, tol = config.metric, config.tolerance
    cand_score = cand_result.metrics[metric]
    name_k = f"{metric}@{config.k}"
    before = production.version if production else None
    if production is None or prod_result is None:
        passes = True
        reason = (
            f"no {config.name}@{PRODUCTION} yet: the candidate ({name_k} {cand_score:.4f}) "
            "becomes it"
        )
    else:
        prod_score = prod_result.metrics[metric]
        passes = cand_score >= prod_score - tol
        relation = ">=" if passes else "<"
        reason = (
            f"candidate {name_k} {cand_score:.4f} {relation} production {prod_score:.4f} - "
            f"tolerance {tol:g} (= {prod_score - tol:.4f})"
        )
        if not passes:
            reason += f": {production.ref} stays in production"

    decision, after, registered = ("gated" if not passes else "dry-run"), before, None
    if passes and not config.promote:
        reason += "; not promoted (--no-promote): nothing registered"
    elif passes:
        # promote=False: the alias moves below, only after the serving check.
        mv = register(registry, cand_model, cand_result, prepared, candidate, promote=False)
        refusal = _refusal(registry, config.name, mv, before, serving or ServiceConfig())
        if refusal:
            registry.delete(config.name, mv.version)  # unaliased: it must not become `latest`
            decision, reason = "refused", f"{reason}, but {refusal}"
        else:
            registry.set_alias(config.name, PRODUCTION, mv.version)
            decision, after, registered = "promoted", mv.version, mv.ref
            reason += f": {mv.ref} (refit on all interactions) is now {config.name}@{PRODUCTION}"

    report = RetrainReport(
        created=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        name=config.name,
        decision=decision,
        reason=reason,
        metric=metric,
        k=config.k,
        tolerance=tol,
        split=prepared.split.description,
        eval_users=cand_result.n_users,
        dataset={
            "uri": dataset_uri,
            "content_hash": prepared.dataset.manifest.content_hash,
            "counts": prepared.dataset.manifest.counts,
            "export": export.to_dict() if export else None,
        },
        candidate=Side(candidate.kind, candidate.params, cand_result.metrics, registered),
        production=(
            Side(baseline.kind, baseline.params, prod_result.metrics, production.ref)
            if production and baseline and prod_result
            else None
        ),
        same_config=same,
        production_before=before,
        production_after=after,
    )
    write_report(report, config.out)
    log.info("retrain: %s", report.summary())
    return report


def write_report(report: RetrainReport, out: str) -> dict[str, str]:
    """``report.json`` and ``report.md`` under ``out`` (a local path or URI)."""
    root = resolve(out)
    root.fs.create_dir(root.path, recursive=True)
    paths = {"json": root.join("report.json"), "markdown": root.join("report.md")}
    paths["json"].write_bytes(json.dumps(report.to_dict(), indent=2, sort_keys=True).encode())
    paths["markdown"].write_bytes(report.to_markdown().encode())
    return {key: str(loc) for key, loc in paths.items()}


def _refusal(
    registry: Registry, name: str, mv: ModelVersion, before: int | None, serving: Any
) -> str | None:
    """Why ``mv`` must not become production after all (the check ``models promote`` makes)."""
    from entertainai.serving.promotion import check_promotion

    current = registry.aliases(name).get(PRODUCTION)
    if current != before:
        return f"{name}@{PRODUCTION} moved to version {current} during this run; rerun"
    try:
        check_promotion(registry, name, mv.version, PRODUCTION, serving)
    except InputError as exc:
        return str(exc)
    return None


def _production(registry: Registry, name: str) -> ModelVersion | None:
    try:
        return registry.get(f"{name}@{PRODUCTION}")
    except NotFoundError:
        return None


def _candidate_spec(config: RetrainConfig, production: ModelVersion | None) -> TrainSpec:
    """The configured kind; production's hyperparameters under ``config.params`` if same kind."""
    kind = config.model or (production.kind if production else DEFAULT_KIND)
    params = dict(config.params)
    if production is not None and production.kind == kind:
        params = {**production.metadata.get("config", {}), **params}
    try:
        create(kind, **params)  # unknown kinds or parameters fail here, before any work
    except InputError:
        raise
    except ValueError as exc:  # config_from_dict: unknown or invalid hyperparameters
        raise InputError(str(exc), location=f"{kind} parameters") from None
    return TrainSpec(kind, params, config.split, config.k, config.eval_users, config.name)


def _same_config(a: TrainSpec, b: TrainSpec) -> bool:
    return (
        a.kind == b.kind and create(a.kind, **a.params).config == create(b.kind, **b.params).config
    )
