"""CLI commands of the text analytics capability.

    entertainai train sentiment --data reviews.csv --text-col review --label-col stars
    entertainai train emotion --data comments.parquet --label-col emotions [--model tfidf]
    entertainai analyze sentiment --model sentiment@production --input in.csv --out out.csv

Training runs in this process; ``python -m train.sentiment`` (etc.) runs the same pipeline on
Ray. A demo dataset directory as ``--data`` (no ``--label-col``) trains on its labelled texts.
"""

from __future__ import annotations

import argparse
from typing import Any

from entertainai.registry import default_root

TASK_HELP = {
    "sentiment": "negative/neutral/positive (any label set) of reviews and comments",
    "emotion": "multi-label emotions (anger, joy, ...) with per-label thresholds",
    "textclass": "a category classifier for articles and descriptions (any label set)",
    "moderation": "multi-label toxicity/spam (any categories) for comments and generated text",
}


def add_train_task(train: argparse._SubParsersAction, task: str) -> None:
    """``train <task>``: the same flags for every text classification task."""
    p = train.add_parser(task, help=f"train a text classifier: {TASK_HELP[task]}")
    p.add_argument(
        "--data", required=True, help="CSV/TSV/Parquet of labelled texts, or a demo dataset dir"
    )
    p.add_argument("--text-col", default=None, help="column of texts (default 'text')")
    p.add_argument(
        "--label-col",
        default=None,
        help="column of labels (default 'label'); multi-label tasks: a delimited string, "
        "a list column or a boolean column",
    )
    p.add_argument("--delimiter", default="|", help="separator of multi-label values")
    choices = ["auto", "tfidf", "ensemble", "neural", "encoder"] + (
        ["lexicon"] if task == "sentiment" else []
    )
    p.add_argument(
        "--model",
        choices=choices,
        default="auto",
        help="model family; auto (default): the better on out-of-fold validation of tfidf "
        "and ensemble (TF-IDF, NB-weighted TF-IDF and, when the encoder extra is installed, "
        "MiniLM embeddings; the mean of their logits)",
    )
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--name", help=f"registry name (default {task!r})")
    p.add_argument("--test-fraction", type=float, default=0.2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--promote", action="store_true", help="make this version 'production'")
    p.add_argument("--registry", default=None, help=f"registry root (default {default_root()!r})")
    p.set_defaults(handler=run_train, task=task)


def run_train(args: argparse.Namespace) -> int:
    from entertainai.analytics.text_tasks import (
        TextTrainSpec,
        fit_and_evaluate,
        load_spec_data,
        register,
    )
    from entertainai.params import parse_params
    from entertainai.registry import Registry

    spec = TextTrainSpec(
        args.task,
        args.data,
        args.model,
        parse_params(args.param),
        text_col=args.text_col,
        label_col=args.label_col,
        delimiter=args.delimiter,
        test_fraction=args.test_fraction,
        seed=args.seed,
        name=args.name,
    )
    data = load_spec_data(spec)
    print(f"{args.task}: {len(data)} texts, classes {list(data.classes)}; training {spec.model}")
    model, result = fit_and_evaluate(spec, data)
    mv = register(Registry(args.registry), model, result, spec, data, promote=args.promote)
    m = result.metrics
    chosen = {k[len("val_macro_f1_") :]: v for k, v in m.items() if k.startswith("val_macro_f1_")}
    if len(chosen) > 1:
        print("validation macro-F1: " + ", ".join(f"{k} {v:.4f}" for k, v in chosen.items()))
    print(
        f"registered {mv.ref} ({model.kind}): macro_f1={m['macro_f1']:.4f} "
        f"accuracy={m['accuracy']:.4f} ece={m['ece']:.4f} on {result.n_test} held-out texts"
    )
    return 0


def add_analyze_task(analyze: argparse._SubParsersAction, name: str, help_text: str) -> None:
    p = analyze.add_parser(name, help=help_text)
    p.add_argument(
        "--model",
        required=True,
        help="NAME[@VERSION|@ALIAS], a model directory"
        + (", or 'lexicon' (VADER, no training)" if name == "sentiment" else ""),
    )
    p.add_argument("--input", required=True, help="CSV/TSV/Parquet file with a text column")
    p.add_argument("--text-col", default="text")
    p.add_argument(
        "--out", required=True, help="FILE.csv or FILE.parquet: one row per input row, in order"
    )
    p.add_argument("--batch-size", type=int, default=512)
    p.add_argument("--registry", default=None)
    p.set_defaults(handler=run_analyze)


def run_analyze(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from entertainai.analytics.text_data import load_texts
    from entertainai.analytics.text_tasks import load_classifier, predict_file
    from entertainai.errors import InputError
    from entertainai.registry import Registry

    if args.batch_size < 1:
        raise InputError(f"--batch-size must be >= 1, got {args.batch_size}")
    model = load_classifier(args.model, Registry(args.registry))
    total = len(load_texts(args.input, args.text_col))
    with tqdm(total=total, desc=f"{args.analyze_command}", unit="text") as bar:
        n = predict_file(
            model,
            args.input,
            args.out,
            text_col=args.text_col,
            batch_size=args.batch_size,
            progress=bar.update,
        )
    print(f"wrote {n} rows to {args.out} ({model.kind}, classes {list(model.classes_)})")
    return 0


def add_similarity(train: argparse._SubParsersAction, analyze: argparse._SubParsersAction) -> None:
    p = train.add_parser("similarity", help="index documents for similarity search")
    p.add_argument("--data", required=True, help="CSV/Parquet of documents, or a demo dataset dir")
    p.add_argument("--text-col", default="text")
    p.add_argument("--id-col", default="id")
    p.add_argument(
        "--method",
        choices=["tfidf", "lsa", "encoder"],
        default="lsa",
        help="lsa: learned word vectors; encoder: pretrained MiniLM (the encoder extra)",
    )
    p.add_argument("--dim", type=int, default=64)
    p.add_argument("--name", default="similarity")
    p.add_argument("--registry", default=None)
    p.set_defaults(handler=run_train_similarity)

    q = analyze.add_parser("similar", help="documents most similar to query texts")
    q.add_argument("--model", default="similarity@latest")
    q.add_argument("--query", action="append", required=True, help="a query text (repeatable)")
    q.add_argument("--k", type=int, default=5)
    q.add_argument("--registry", default=None)
    q.set_defaults(handler=run_similar)


def _documents(args: argparse.Namespace) -> tuple[list[str], list[Any]]:
    from pathlib import Path

    from entertainai.analytics.text_data import read_table, texts_from

    path = Path(args.data)
    if path.is_dir() and (path / "manifest.json").exists():  # a dataset: its item descriptions
        from entertainai.data.dataset import Dataset

        rows = Dataset.open(str(path)).items.select(["item_id", "description"]).to_pylist()
        rows = [r for r in rows if r["description"]]
        return [r["description"] for r in rows], [r["item_id"] for r in rows]
    table, offset = read_table(path)
    texts = texts_from(table, args.text_col, str(path), offset)
    if args.id_col not in table.column_names:
        from entertainai.errors import InputError

        raise InputError(
            f"no column {args.id_col!r}; columns are {table.column_names}", location=str(path)
        )
    return texts, table.column(args.id_col).to_pylist()


def run_train_similarity(args: argparse.Namespace) -> int:
    from entertainai.analytics.similarity import TextSimilarity
    from entertainai.registry import Registry

    texts, ids = _documents(args)
    model = TextSimilarity.from_params(method=args.method, dim=args.dim).fit(texts, ids)
    mv = Registry(args.registry).register_model(
        model, args.name, metrics={"documents": float(len(texts))}, promote=False
    )
    print(f"registered {mv.ref} (text_similarity, {args.method}): {len(texts)} documents")
    return 0


def run_similar(args: argparse.Namespace) -> int:
    from entertainai.analytics.similarity import TextSimilarity
    from entertainai.errors import InputError
    from entertainai.model import load_model
    from entertainai.registry import Registry

    model = load_model(Registry(args.registry).local_path(args.model))
    if not isinstance(model, TextSimilarity):
        raise InputError(f"{args.model} is a {model.kind} model, not text_similarity")
    found = model.query(args.query, k=args.k)
    for query, ids, scores in zip(args.query, found.ids, found.scores, strict=True):
        print(
            f"{query!r}: " + ", ".join(f"{i} ({s:.3f})" for i, s in zip(ids, scores, strict=True))
        )
    return 0


def register(
    commands: argparse._SubParsersAction,
    *,
    train: argparse._SubParsersAction,
    generate: argparse._SubParsersAction,
    analyze: argparse._SubParsersAction,
) -> None:
    """Add this capability's commands: top-level ones to ``commands``, tasks to the groups."""
    for task in ("sentiment", "emotion", "textclass"):
        add_train_task(train, task)
    add_analyze_task(analyze, "sentiment", "sentiment of each text: label, probabilities, compound")
    add_analyze_task(analyze, "emotion", "emotions of each text: labels over per-label thresholds")
    add_analyze_task(analyze, "classify", "category of each text with a textclass (any) model")
    add_similarity(train, analyze)
