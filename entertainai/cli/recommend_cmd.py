"""``entertainai train recommender``, ``evaluate recommenders`` and ``recommend``.

Training here runs in this process; ``python -m train.recommender`` runs the same pipeline
on Ray (``ray job submit``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from tqdm import tqdm

from entertainai.errors import InputError
from entertainai.params import parse_params
from entertainai.registry import Registry, default_root


def add_parsers(commands: argparse._SubParsersAction) -> argparse._SubParsersAction:
    """Add ``train``/``evaluate``/``recommend``; returns the ``train`` group for other tasks."""
    train = commands.add_parser("train", help="train a model in this process and register it")
    train_sub = train.add_subparsers(dest="train_command", required=True, metavar="TASK")
    rec = train_sub.add_parser("recommender", help="fit, evaluate and register one recommender")
    rec.add_argument("--data", required=True, help="dataset directory or URI")
    rec.add_argument("--model", required=True, help="recommender kind, e.g. item_knn, ease, bpr")
    rec.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")
    rec.add_argument("--name", help="registry name (default: the kind)")
    rec.add_argument("--split", default="random:0.2:42")
    rec.add_argument("--k", type=int, default=10)
    rec.add_argument("--registry", default=None, help=f"registry root (default {default_root()!r})")
    rec.set_defaults(handler=run_train)

    evaluate = commands.add_parser("evaluate", help="offline evaluation")
    eval_sub = evaluate.add_subparsers(dest="evaluate_command", required=True, metavar="TASK")
    recs = eval_sub.add_parser(
        "recommenders",
        help="compare recommenders on one split: JSON, Markdown table and PNG chart",
    )
    recs.add_argument("--data", required=True)
    recs.add_argument("--models", default="popularity,item_knn", help="comma-separated kinds")
    recs.add_argument(
        "--split", default="random:0.2:42", help="random:FRAC[:SEED] | temporal:FRAC|DATE | last:N"
    )
    recs.add_argument("--k", type=int, default=10)
    recs.add_argument("--eval-users", type=int, default=None, help="sample this many test users")
    recs.add_argument("--out", default="runs/evaluation", help="output directory")
    recs.set_defaults(handler=run_evaluate)

    recommend = commands.add_parser("recommend", help="recommendations from a registered model")
    recommend.add_argument(
        "--model", required=True, help="NAME, NAME@VERSION, NAME@ALIAS or a path"
    )
    recommend.add_argument(
        "--users",
        required=True,
        help="comma-separated user ids, or with --out: 'all' or a FILE of ids",
    )
    recommend.add_argument("--k", type=int, default=10)
    recommend.add_argument("--genre", action="append", default=[], help="only these genres")
    recommend.add_argument(
        "--out",
        help="FILE.parquet or FILE.csv: batch inference on Ray Data (user_id,item_id,rank,score)",
    )
    recommend.add_argument("--address", help="Ray cluster for --out (default: a local Ray)")
    recommend.add_argument("--registry", default=None)
    recommend.set_defaults(handler=run_recommend)
    return train_sub


def run_train(args: argparse.Namespace) -> int:
    from entertainai.recommend.training import TrainSpec, fit_and_evaluate, prepare, register

    spec = TrainSpec(args.model, parse_params(args.param), args.split, args.k, name=args.name)
    prepared = prepare(args.data, spec.split)
    model, result = fit_and_evaluate(prepared, spec)
    mv = register(Registry(args.registry), model, result, prepared, spec)
    metrics = ", ".join(f"{k}={v:.4f}" for k, v in result.metrics.items())
    print(f"registered {mv.ref} ({spec.kind}): {metrics}")
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    from entertainai.recommend.evaluation import to_markdown, write_report
    from entertainai.recommend.training import TrainSpec, fit_and_evaluate, prepare

    kinds = [k.strip() for k in args.models.split(",") if k.strip()]
    if not kinds:
        raise InputError("--models is empty")
    prepared = prepare(args.data, args.split)
    results = []
    for kind in tqdm(kinds, desc="models", unit="model"):
        _, result = fit_and_evaluate(
            prepared, TrainSpec(kind, split=args.split, k=args.k, eval_users=args.eval_users)
        )
        results.append(result)
    paths = write_report(results, Path(args.out), title=f"{prepared.dataset.uri} ({args.split})")
    print(to_markdown(results))
    print("wrote " + ", ".join(str(p) for p in paths.values()))
    return 0


def run_recommend(args: argparse.Namespace) -> int:
    from entertainai.model import load_model
    from entertainai.recommend.base import Recommender
    from entertainai.recommend.filters import Filters

    if args.out:
        # Batch inference runs on Ray; the core stays Ray-free, so the job lives in train/.
        from train.batch_recommend import main as batch_main

        argv = ["--model", args.model, "--users", args.users, "--k", str(args.k), "--out", args.out]
        argv += ["--registry", args.registry or default_root()]
        return batch_main(argv + (["--address", args.address] if args.address else []))
    model = load_model(Registry(args.registry).local_path(args.model))
    if not isinstance(model, Recommender):
        raise InputError(f"{args.model} is a {model.kind} model, not a recommender")
    users = [u.strip() for u in args.users.split(",") if u.strip()]
    recs = model.recommend(users, k=args.k, filters=Filters(include_genres=tuple(args.genre)))
    for i, user in enumerate(users):
        items = ", ".join(f"{item} ({score:.3f})" for item, score in recs.row(i))
        print(f"{user}: {items}")
    return 0
