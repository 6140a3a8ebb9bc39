"""Ranking quality and fit time of every recommender, beside the item-kNN and popularity baselines.

    python -m benchmarks.recommenders                                  # demo data, 2000 users
    python -m benchmarks.recommenders --data movielens:/data/ml-100k   # the real MovieLens 100K
    python -m benchmarks.recommenders --models ease,bpr --param ease.l2=300 --param bpr.epochs=20

Protocol: per-user random 75/25 split with seed 42 (random:0.25:42); every interaction (every
rating, whatever its value) is implicit feedback; each test user gets a full ranking of the
catalogue with their train items excluded and no business filters; top 10. Printed per model:
NDCG@10, precision@10, recall@10, MAP@10, catalogue coverage, fit seconds, and NDCG as a ratio
to item-kNN (the baseline) and to popularity; both baselines always run.

Recall@k and MAP@k divide by min(k, |test items|) (as in Liang et al. 2018), Microsoft
Recommenders by |test items|: on ML-100K only NDCG@10 and precision@10 compare with the published
figures printed beside the table, and only loosely: those were not measured on a per-user split
(see ``PUBLISHED_ML100K``).
"""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import asdict, dataclass
from typing import Any

from benchmarks.common import (
    SMOKE,
    TUNED,
    add_common_args,
    configure_logging,
    data_source,
    dataset,
    limit_torch_threads,
    machine,
    machine_line,
    markdown_table,
    ratio,
    timed,
    write_results,
)
from entertainai.errors import EntertainAIError, InputError
from entertainai.params import parse_params
from entertainai.recommend.base import Recommender, create
from entertainai.recommend.evaluation import evaluate
from entertainai.recommend.training import Prepared, prepare

log = logging.getLogger("benchmarks.recommenders")

KINDS = (
    "popularity",
    "trending",
    "item_knn",
    "user_knn",
    "ease",
    "als",
    "bpr",
    "two_tower",
    "content",
    "hybrid",
)
BASELINE, POPULARITY = "item_knn", "popularity"
SPLIT = "random:0.25:42"
METRICS = ("ndcg", "precision", "recall", "map", "coverage")

# Microsoft Recommenders, README benchmark table: MovieLens 100K, k=10
# (github.com/recommenders-team/recommenders). (MAP, NDCG@10, precision@10, recall@10)
# Not our protocol: the benchmark notebook (examples/06_benchmarks/movielens.ipynb) splits 75/25
# stratified per *item*, the BPR and BiVAE notebooks 75/25 globally at random. Of the project's
# per-user splits, the LightGCN notebook reports NDCG@10 0.453 and the SAR notebook 0.380.
PUBLISHED_ML100K: dict[str, tuple[float, float, float, float]] = {
    "BiVAE": (0.146126, 0.475077, 0.411771, 0.219145),
    "BPR": (0.132478, 0.441997, 0.388229, 0.212522),
    "LightGCN": (0.088526, 0.419846, 0.379626, 0.144336),
    "SAR": (0.110591, 0.382461, 0.330753, 0.176385),
}
ML100K_USERS, ML100K_ITEMS = 943, 1682


@dataclass(frozen=True)
class Row:
    kind: str
    params: dict[str, Any]
    metrics: dict[str, float]
    fit_seconds: float
    eval_seconds: float
    ndcg_vs_item_knn: float = float("nan")
    ndcg_vs_popularity: float = float("nan")


# ---- choosing models and settings ---------------------------------------------------------


def parse_models(text: str) -> list[str]:
    """``all`` or a comma list; the two baselines are always added (first), for the ratios."""
    kinds = list(KINDS) if text == "all" else [k.strip() for k in text.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise InputError(f"--models: unknown {unknown}; known: {', '.join(KINDS)}")
    return list(dict.fromkeys([POPULARITY, BASELINE, *kinds]))


def parse_overrides(pairs: list[str]) -> dict[str, dict[str, Any]]:
    """``kind.key=value`` pairs (values parsed as JSON where possible) -> {kind: {key: value}}."""
    overrides: dict[str, dict[str, Any]] = {}
    for pair in pairs:
        kind, dot, rest = pair.partition(".")
        if not dot or kind not in KINDS:
            raise InputError(
                f"--param {pair!r}: expected KIND.KEY=VALUE with KIND one of {', '.join(KINDS)}"
            )
        overrides.setdefault(kind, {}).update(parse_params([rest]))
    return overrides


def model_params(
    kinds: list[str], preset: str, overrides: dict[str, dict[str, Any]], smoke: bool
) -> dict[str, dict[str, Any]]:
    """Per kind: the preset (``tuned`` or the model defaults), smoke cuts, then --param overrides."""
    params = {}
    for kind in kinds:
        base = dict(TUNED[kind]) if preset == "tuned" else {}
        if smoke:
            base.update(SMOKE.get(kind, {}))
        params[kind] = {**base, **overrides.get(kind, {})}
        create(kind, **params[kind])  # a bad key or value fails now, not after minutes of fitting
    return params


# ---- measuring ----------------------------------------------------------------------------


def fit(prepared: Prepared, kind: str, params: dict[str, Any]) -> Recommender:
    return create(kind, **params).fit(prepared.train)


def run_model(
    prepared: Prepared, kind: str, params: dict[str, Any], k: int, eval_users: int | None
) -> Row:
    model, fit_seconds = timed(fit, prepared, kind, params)
    result, eval_seconds = timed(evaluate, model, prepared.split.test, k, max_users=eval_users)
    metrics = {name: result.metrics[name] for name in METRICS}
    log.info("%s: fit %.1fs, ndcg@%d %.4f", kind, fit_seconds, k, metrics["ndcg"])
    return Row(kind, params, metrics, fit_seconds, eval_seconds)


def with_ratios(rows: list[Row]) -> list[Row]:
    by_kind = {r.kind: r.metrics["ndcg"] for r in rows}
    return [
        Row(
            **{
                **asdict(r),
                "ndcg_vs_item_knn": ratio(r.metrics["ndcg"], by_kind[BASELINE]),
                "ndcg_vs_popularity": ratio(r.metrics["ndcg"], by_kind[POPULARITY]),
            }
        )
        for r in rows
    ]


# ---- reporting ----------------------------------------------------------------------------


def results_table(rows: list[Row], k: int) -> str:
    header = [
        "model",
        f"NDCG@{k}",
        f"P@{k}",
        f"R@{k}",
        f"MAP@{k}",
        "coverage",
        "fit s",
        "eval s",
        "NDCG / item_knn",
        "NDCG / popularity",
    ]
    return markdown_table(
        header,
        [
            [
                r.kind + (" (baseline)" if r.kind == BASELINE else ""),
                *(r.metrics[m] for m in METRICS),
                f"{r.fit_seconds:.2f}",
                f"{r.eval_seconds:.2f}",
                f"{r.ndcg_vs_item_knn:.2f}x",
                f"{r.ndcg_vs_popularity:.2f}x",
            ]
            for r in rows
        ],
    )


def is_ml100k(counts: dict[str, int]) -> bool:
    return counts.get("users") == ML100K_USERS and counts.get("items") == ML100K_ITEMS


def published_table(rows: list[Row], comparable: bool) -> str:
    best = max(rows, key=lambda r: r.metrics["ndcg"])
    column = f"best here ({best.kind}) NDCG / it"
    return markdown_table(
        ["published (ML-100K)", "MAP", "NDCG@10", "P@10", "R@10", column],
        [
            [
                name,
                *values,
                f"{ratio(best.metrics['ndcg'], values[1]):.2f}x" if comparable else "n/a",
            ]
            for name, values in PUBLISHED_ML100K.items()
        ],
    )


def report(rows: list[Row], facts: dict[str, Any], data: dict[str, Any], k: int) -> str:
    params = "\n".join(f"- `{r.kind}`: `{r.params}`" for r in rows)
    comparable = is_ml100k(data["counts"])
    comparison = (
        "This run is on ML-100K: NDCG@10 and P@10 compare loosely (the published splits are "
        "per item or global, not per user); recall and MAP are normalised differently (see the "
        "script's docstring)."
        if comparable
        else "Not comparable with this run: it is not on ML-100K (943 users, 1682 items)."
    )
    return f"""# Recommenders: offline ranking quality

{machine_line(facts)}

Data: `{data["source"]}` ({data["counts"]}); split `{data["split"]}`, {data["test_users"]} test
users, full ranking with train items excluded, k={k}. Fit seconds exclude evaluation; eval
seconds (ranking every test user) show where lazy models such as user_knn spend their time.

{results_table(rows, k)}

Published figures on MovieLens 100K (Microsoft Recommenders README, k=10; 75/25 split
stratified per item, or globally at random for BPR and BiVAE, not per user as here).
{comparison}

{published_table(rows, comparable)}

Settings:
{params}
"""


# ---- main ---------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_common_args(parser, "runs/benchmarks/recommenders")
    parser.add_argument(
        "--models", default="all", help=f"comma list or 'all' (default): {', '.join(KINDS)}"
    )
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KIND.KEY=VALUE",
        help="override one hyperparameter, e.g. ease.l2=300 or als.factors=128 (repeatable)",
    )
    parser.add_argument(
        "--preset",
        choices=("tuned", "default"),
        default="tuned",
        help="tuned: the settings in benchmarks/common.py TUNED (default); default: model defaults",
    )
    parser.add_argument(
        "--split", default=SPLIT, help=f"split spec (default {SPLIT}, the protocol's)"
    )
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument(
        "--eval-users", type=int, default=None, help="evaluate on a seeded sample (default: all)"
    )
    parser.add_argument(
        "--torch-threads", type=int, default=1, help="torch intra-op threads (default 1)"
    )
    args = parser.parse_args(argv)
    configure_logging()
    try:
        return run(args)
    except (EntertainAIError, ValueError) as exc:
        print(f"benchmarks.recommenders: error: {exc}", file=sys.stderr)
        return 2


def run(args: argparse.Namespace) -> int:
    kinds = parse_models(args.models)
    params = model_params(kinds, args.preset, parse_overrides(args.param), args.smoke_test)
    limit_torch_threads(args.torch_threads)
    facts = machine()
    source = data_source(args)
    with dataset(source) as path:
        prepared = prepare(path, args.split)
        rows = []
        for n, kind in enumerate(kinds, 1):
            log.info("[%d/%d] %s %s", n, len(kinds), kind, params[kind])
            rows.append(run_model(prepared, kind, params[kind], args.k, args.eval_users))
    rows = with_ratios(rows)
    data = {
        "source": source,
        "counts": prepared.dataset.manifest.counts,
        "split": prepared.split.description,
        "test_users": len(set(prepared.split.test.column("user_id").to_pylist())),
    }
    markdown = report(rows, facts, data, args.k)
    payload = {
        "benchmark": "recommenders",
        "machine": facts,
        "data": data,
        "k": args.k,
        "preset": args.preset,
        "torch_threads": args.torch_threads,
        "baseline": BASELINE,
        "results": [asdict(r) for r in rows],
        "published_ml100k": {
            name: dict(zip(("map", "ndcg", "precision", "recall"), v, strict=True))
            for name, v in PUBLISHED_ML100K.items()
        },
    }
    out = write_results(args.out, payload, markdown)
    print(markdown)
    print(f"wrote {out}/results.json and results.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
