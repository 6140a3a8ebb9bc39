"""CLI commands of the insights capability: forecasts, segments, topics and the analyst report.

entertainai forecast --series FILE|DATASET --horizon 7 [--level genre] --out forecast.csv
entertainai segments fit --data DIR | predict --model REF --data DIR --out FILE | profile
entertainai train topics|segments --data DIR
entertainai analyze topics --model REF --input FILE --out FILE
entertainai report --data DIR --out report.html
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from entertainai.data.rows import write_rows
from entertainai.errors import InputError
from entertainai.registry import Registry, default_root


def read_texts(path: str) -> list[str]:
    """Texts from a ``.txt`` (one per line), ``.csv``/``.parquet`` (column ``text``) or
    ``.jsonl`` (field ``text``) file, in file order."""
    p = Path(path)
    if not p.is_file():
        raise InputError("no such file", location=path)
    suffix = p.suffix.lower()
    if suffix == ".txt":
        return p.read_text().splitlines()
    if suffix == ".jsonl":
        texts = []
        for n, line in enumerate(p.read_text().splitlines(), 1):
            try:
                texts.append(str(json.loads(line)["text"]))
            except (ValueError, KeyError, TypeError):
                raise InputError(
                    "expected a JSON object with 'text'", location=f"{path}:{n}"
                ) from None
        return texts
    if suffix in (".csv", ".parquet"):
        import pyarrow.csv as pacsv
        import pyarrow.parquet as pq

        table = pq.read_table(p) if suffix == ".parquet" else pacsv.read_csv(p)
        if "text" not in table.column_names:
            raise InputError(f"no 'text' column (got {table.column_names})", location=path)
        texts = table.column("text").to_pylist()
        for n, t in enumerate(texts):
            if t is None:
                raise InputError("empty 'text'", location=f"{path}:{n + 2}")
        return [str(t) for t in texts]
    raise InputError("expected .txt, .csv, .parquet or .jsonl", location=path)


def register(
    commands: argparse._SubParsersAction,
    *,
    train: argparse._SubParsersAction,
    generate: argparse._SubParsersAction,
    analyze: argparse._SubParsersAction,
) -> None:
    """Add this capability's commands: top-level ones to ``commands``, tasks to the groups."""
    registry_help = f"registry root (default {default_root()!r})"

    fc = commands.add_parser(
        "forecast",
        help="forecast series with intervals; the model is chosen by a rolling-origin backtest",
    )
    fc.add_argument("--series", required=True, help="ds,y[,unique_id] CSV/Parquet or a dataset")
    fc.add_argument("--horizon", type=int, default=7, help="steps to forecast")
    fc.add_argument("--level", default="platform", choices=["platform", "genre", "item"])
    fc.add_argument("--freq", default="D", choices=["D", "h"], help="grid for a dataset")
    fc.add_argument(
        "--gaps",
        default="error",
        choices=["error", "zero", "interpolate", "missing"],
        help="missing days: refuse, count as 0, interpolate, or leave missing (fitted around)",
    )
    fc.add_argument(
        "--log",
        action="store_true",
        help="fit on log(1 + y) (page views, heavy-tailed counts): multiplicative intervals",
    )
    fc.add_argument("--interval", type=float, default=0.9, help="nominal interval coverage")
    fc.add_argument(
        "--yearly",
        default="auto",
        choices=["auto", "on", "off"],
        help="yearly seasonality (auto: daily series with a year of history before each origin)",
    )
    fc.add_argument("--out", required=True, help="forecast rows (.csv/.parquet/.jsonl)")
    fc.add_argument("--report", help="backtest report JSON (default: OUT with .backtest.json)")
    fc.set_defaults(handler=run_forecast)

    seg = commands.add_parser("segments", help="user segments: fit, predict, profile")
    seg_sub = seg.add_subparsers(dest="segments_command", required=True, metavar="ACTION")
    fit = seg_sub.add_parser("fit", help="segment a dataset's users (k chosen) and register")
    _segment_fit_args(fit, registry_help)
    pred = seg_sub.add_parser("predict", help="segment of every user of a dataset, in order")
    pred.add_argument("--model", default="segments@production")
    pred.add_argument("--data", required=True)
    pred.add_argument("--out", required=True, help="user_id,segment,name rows")
    pred.add_argument("--registry", default=None, help=registry_help)
    pred.set_defaults(handler=run_segments_predict)
    prof = seg_sub.add_parser("profile", help="print the segment profiles of a model (JSON)")
    prof.add_argument("--model", default="segments@production")
    prof.add_argument("--registry", default=None, help=registry_help)
    prof.set_defaults(handler=run_segments_profile)

    ts = train.add_parser("segments", help="segment users and register (same as segments fit)")
    _segment_fit_args(ts, registry_help)
    tt = train.add_parser("topics", help="fit an NMF/LDA topic model and register it")
    tt.add_argument("--data", required=True, help="dataset directory")
    tt.add_argument("--source", default="texts", choices=["texts", "descriptions"])
    tt.add_argument("--method", default="nmf", choices=["nmf", "lda"])
    tt.add_argument("--n-topics", type=int, default=10)
    tt.add_argument("--max-docs", type=int, default=20_000)
    tt.add_argument("--seed", type=int, default=0)
    tt.add_argument("--name", default="topics")
    tt.add_argument("--registry", default=None, help=registry_help)
    tt.set_defaults(handler=run_train_topics)

    at = analyze.add_parser("topics", help="topic shares of texts, one row per input text")
    at.add_argument("--model", default="topics@production")
    at.add_argument("--input", required=True, help=".txt lines, .csv/.parquet/.jsonl 'text'")
    at.add_argument("--out", required=True, help="rows: index, top_topic, label, shares")
    at.add_argument("--registry", default=None, help=registry_help)
    at.set_defaults(handler=run_analyze_topics)

    rep = commands.add_parser("report", help="analyst report (HTML with PNG charts)")
    rep.add_argument("--data", required=True, help="dataset directory")
    rep.add_argument("--out", required=True, help="report.html")
    rep.add_argument("--horizon", type=int, default=7)
    rep.add_argument("--segments-model", help="registry ref; default: fit segments here")
    rep.add_argument("--registry", default=None, help=registry_help)
    rep.set_defaults(handler=run_report)


def _segment_fit_args(parser: argparse.ArgumentParser, registry_help: str) -> None:
    parser.add_argument("--data", required=True, help="dataset directory")
    parser.add_argument("--method", default="kmeans", choices=["kmeans", "ward"])
    parser.add_argument("--k", type=int, default=None, help="fixed k (default: chosen)")
    parser.add_argument("--k-min", type=int, default=2)
    parser.add_argument("--k-max", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--name", default="segments")
    parser.add_argument("--registry", default=None, help=registry_help)
    parser.set_defaults(handler=run_segments_fit)


def run_forecast(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from entertainai.analytics.forecast import (
        YEARLY_CHOICES,
        ForecastConfig,
        describe,
        forecast,
        summary,
    )
    from entertainai.analytics.series import series_from_path

    series = series_from_path(args.series, level=args.level, freq=args.freq, gaps=args.gaps)
    config = ForecastConfig(
        horizon=args.horizon,
        level=args.interval,
        yearly=YEARLY_CHOICES[args.yearly],
        log=args.log,
    )
    results = []
    for s in tqdm(series, desc="series", unit="series", disable=len(series) < 5):
        try:
            results.append(forecast(s, config))
        except InputError as exc:
            raise InputError(f"{args.series}: series {s.uid!r}: {exc}") from None
    out = write_rows([row for r in results for row in r.rows()], args.out)
    report_path = Path(args.report or str(out.with_suffix("")) + ".backtest.json")
    overall = summary(results)
    report = {"summary": overall, "series": [r.report() for r in results]}
    report_path.write_text(json.dumps(report, indent=2))
    print(
        f"{len(results)} series, horizon {args.horizon}: {describe(overall)}; "
        f"wrote {out} and {report_path}"
    )
    return 0


def run_segments_fit(args: argparse.Namespace) -> int:
    from entertainai.analytics.segments import SegmentsConfig, fit_dataset, metrics_of

    config = SegmentsConfig(
        method=args.method, k=args.k, k_min=args.k_min, k_max=args.k_max, seed=args.seed
    )
    model = fit_dataset(args.data, config)
    metrics = metrics_of(model, args.data)
    from entertainai.data.dataset import Dataset

    dataset_hash = Dataset.open(args.data).manifest.content_hash
    mv = Registry(args.registry).register_model(
        model, args.name, metrics=metrics, dataset_hash=dataset_hash
    )
    print(f"registered {mv.ref} (segments): " + json.dumps(metrics))
    for p in model.profiles_:
        print(f"  {p['segment']}: {p['name']} ({p['size']} users, {p['share']:.0%})")
    return 0


def _load(ref: str, registry: str | None, kind: str) -> Any:
    from entertainai.model import load_model

    model = load_model(Registry(registry).local_path(ref))
    if model.kind != kind:
        raise InputError(f"{ref} is a {model.kind} model, not {kind}")
    return model


def run_segments_predict(args: argparse.Namespace) -> int:
    from entertainai.analytics.segments import user_features
    from entertainai.data.dataset import Dataset

    model = _load(args.model, args.registry, "segments")
    ds = Dataset.open(args.data)
    features = user_features(ds.interactions, ds.items)
    labels = model.predict(features)
    rows = [
        {"user_id": str(u), "segment": int(c), "name": model.profiles_[int(c)]["name"]}
        for u, c in zip(features.user_ids, labels, strict=True)
    ]
    print(f"{len(rows)} users segmented; wrote {write_rows(rows, args.out)}")
    return 0


def run_segments_profile(args: argparse.Namespace) -> int:
    model = _load(args.model, args.registry, "segments")
    print(json.dumps({"k": model.k_, "segments": model.profiles_}, indent=2))
    return 0


def run_train_topics(args: argparse.Namespace) -> int:
    from entertainai.analytics.topics import TopicsConfig, train

    config = TopicsConfig(method=args.method, n_topics=args.n_topics, seed=args.seed)
    model, metrics, dataset_hash = train(args.data, config, args.source, args.max_docs)
    mv = Registry(args.registry).register_model(
        model, args.name, metrics=metrics, dataset_hash=dataset_hash
    )
    print(f"registered {mv.ref} (topics): " + json.dumps(metrics))
    for topic in model.describe():
        print(f"  {topic['topic']}: {' '.join(topic['top_words'])}")
    return 0


def run_analyze_topics(args: argparse.Namespace) -> int:
    model = _load(args.model, args.registry, "topics")
    texts = read_texts(args.input)
    shares = model.transform(texts)
    labels = [t["label"] for t in model.describe()]
    rows = [
        {
            "index": i,
            "top_topic": int(row.argmax()) if row.any() else -1,
            "label": labels[int(row.argmax())] if row.any() else "",
            "shares": json.dumps([round(float(v), 6) for v in row]),
        }
        for i, row in enumerate(shares)
    ]
    print(f"{len(rows)} texts; wrote {write_rows(rows, args.out)}")
    return 0


def run_report(args: argparse.Namespace) -> int:
    from entertainai.analytics.report import ReportConfig, build_report

    segments = (
        _load(args.segments_model, args.registry, "segments") if args.segments_model else None
    )
    path = build_report(args.data, args.out, ReportConfig(horizon=args.horizon), segments=segments)
    print(f"wrote {path}")
    return 0
