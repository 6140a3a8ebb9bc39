"""Sentiment, emotion and toxicity on the shared real data: the default vs TF-IDF + LR.

    python -m benchmarks.text_classifiers [--tasks sentiment,toxicity,emotion] [--seeds 0]
        [--no-neural] [--no-encoder] [--encoder-text] [--out runs/bench/text_classifiers.json]

Data (``/work/shared/data``, see its README; never a run-time dependency): movie-review
snippets (3-class sentiment), Davidson et al.'s tweets (hate / offensive / neither) and
GoEmotions' Ekman labels (7, multi-label). Protocol: sentiment and toxicity — a seeded
stratified 80/20 split of the train part (the published test parts stay outside the project);
emotion — GoEmotions' train for training, its dev part for scoring. The models' calibration,
thresholds and the default's choice use their own training part only (the auto candidates:
the same seeded 5 folds, out-of-fold; ``neural``: a seeded 15%); the scored part never takes
part.

Printed per task: macro-F1 of

* ``baseline``: plain TF-IDF word 1-2 grams + scikit-learn ``LogisticRegression()``
  (one-vs-rest when multi-label), scikit-learn defaults;
* ``baseline-balanced``: the same with ``class_weight="balanced"`` (a stronger baseline);
* ``tfidf``: the project's ``tfidf_linear`` as ``entertainai train`` builds it;
* ``ensemble (no encoder)``: ``ensemble_text``'s two sparse heads (as without the extra);
* ``ensemble``: ``ensemble_text`` with its encoder head, when the extra is installed;
* ``encoder``: ``encoder_text`` (MiniLM embeddings + TF-IDF), with ``--encoder-text``;
* ``neural``: ``neural_text`` as ``entertainai train TASK --model neural`` builds it;
* ``default``: what ``entertainai train TASK`` picks (``auto``: best on validation among
  ``tfidf`` and ``ensemble``), with and without the encoder installed;

and each one's difference to both baselines. Embeddings are computed once per dataset and
cached under ``runs/bench/embeddings`` (``benchmarks/text_data_real.py``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.text_data_real import cached_embeddings, task_data
from entertainai.analytics.text_data import LabelledTexts
from entertainai.analytics.text_metrics import classification_report
from entertainai.analytics.text_models import indicator_matrix
from entertainai.analytics.text_tasks import (
    TextTrainSpec,
    choose,
    create,
    evaluate,
)

log = logging.getLogger("benchmarks.text_classifiers")

# benchmark task -> the project's task (toxicity is a single-label 3-class task here)
PROJECT_TASK = {"sentiment": "sentiment", "toxicity": "textclass", "emotion": "emotion"}


def baseline(train: LabelledTexts, test: LabelledTexts, balanced: bool) -> dict[str, float]:
    """Plain TF-IDF (word 1-2 grams) + logistic regression, scikit-learn defaults."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    classes = train.classes
    vectorizer = TfidfVectorizer(ngram_range=(1, 2))
    X, X_test = vectorizer.fit_transform(train.texts), vectorizer.transform(test.texts)
    Y, Y_test = indicator_matrix(train.labels, classes), indicator_matrix(test.labels, classes)
    weight = "balanced" if balanced else None
    if train.multi_label:
        probs = np.stack(
            [
                LogisticRegression(class_weight=weight, max_iter=2000)
                .fit(X, Y[:, j])
                .predict_proba(X_test)[:, 1]
                for j in range(len(classes))
            ],
            axis=1,
        )
        decided = (probs >= 0.5).astype(np.int8)
    else:
        lr = LogisticRegression(class_weight=weight, max_iter=2000).fit(X, Y.argmax(axis=1))
        probs = lr.predict_proba(X_test)
        decided = np.eye(len(classes), dtype=np.int8)[probs.argmax(axis=1)]
    return classification_report(Y_test, decided, probs, classes, multi_label=train.multi_label)


def use_cached_embeddings(*parts: LabelledTexts) -> None:
    """Serve the encoder's rows for these texts from the on-disk cache (one pass per dataset)."""
    from entertainai.analytics.encoder import load_encoder

    encoder = load_encoder()
    table: dict[str, np.ndarray] = {}
    for part in parts:
        rows = cached_embeddings(part.texts)
        table.update(zip(part.texts, rows, strict=True))
    original = type(encoder).encode.__get__(encoder)

    def encode(texts: Any) -> np.ndarray:
        missing = [t for t in texts if t not in table]
        if missing:
            table.update(zip(missing, original(missing), strict=True))
        return np.stack([table[t] for t in texts]).astype(np.float32)

    encoder.encode = encode  # type: ignore[method-assign]


def run_task(
    task: str, seed: int, neural: bool, encoder: bool, encoder_text: bool = False
) -> dict[str, Any]:
    data, held = task_data(task)
    train, test = (data, held) if held is not None else data.split(0.2, seed)
    if encoder:
        use_cached_embeddings(data, *([held] if held is not None else []))
    spec = TextTrainSpec(PROJECT_TASK[task], "-", seed=seed)
    out: dict[str, Any] = {"task": task, "seed": seed, "n_train": len(train), "n_test": len(test)}
    rows: dict[str, dict[str, float]] = {}
    for name, balanced in (("baseline", False), ("baseline-balanced", True)):
        start = time.perf_counter()
        rows[name] = baseline(train, test, balanced)
        rows[name]["fit_seconds"] = time.perf_counter() - start
        log.info("%s %s: macro-F1 %.4f", task, name, rows[name]["macro_f1"])
    families = (
        ["tfidf", "ensemble (no encoder)"]
        + (["ensemble"] if encoder else [])
        + (["encoder"] if encoder and encoder_text else [])
        + (["neural"] if neural else [])
    )
    fitted = {}
    for family in families:
        start = time.perf_counter()
        if family == "ensemble (no encoder)":  # as `--model ensemble` builds it without the extra
            no_encoder = dataclasses.replace(spec, model="ensemble", params={"encoder_head": False})
            model = create(no_encoder).fit(train)
        else:
            model = create(spec, family).fit(train)
        seconds = time.perf_counter() - start
        fitted[family] = model
        rows[family] = {
            **evaluate(model, test),
            "fit_seconds": seconds,
            "val_macro_f1": float(model.validation_macro_f1_),
        }
        log.info(
            "%s %s: macro-F1 %.4f (validation %.4f, %.0f s)",
            task,
            family,
            rows[family]["macro_f1"],
            model.validation_macro_f1_,
            seconds,
        )
    # The default: text_tasks.choose over the auto candidates, with and without the encoder.
    for name, candidates in (
        ("default (no encoder)", ["tfidf", "ensemble (no encoder)"]),
        ("default (encoder installed)", ["tfidf", "ensemble"] if encoder else []),
    ):
        if not candidates:
            continue
        best, scores = choose({f: fitted[f] for f in candidates})
        family = next(f for f in candidates if fitted[f] is best)
        rows[name] = {**rows[family], "chosen": family, **scores}  # type: ignore[dict-item]
    for row in rows.values():
        for base in ("baseline", "baseline-balanced"):
            row[f"diff_{base}"] = row["macro_f1"] - rows[base]["macro_f1"]
            row[f"ratio_{base}"] = row["macro_f1"] / max(rows[base]["macro_f1"], 1e-9)
    out["models"] = rows
    return out


def print_table(result: dict[str, Any]) -> None:
    print(
        f"\n{result['task']} (seed {result['seed']}): {result['n_train']} train, "
        f"{result['n_test']} scored"
    )
    print(
        f"{'model':30s} {'macro-F1':>8s} {'vs base':>8s} {'vs bal.':>8s} {'val':>7s} {'fit s':>6s}"
    )
    for name, row in result["models"].items():
        chosen = f"  [{row['chosen']}]" if "chosen" in row else ""
        val = row.get("val_macro_f1", float("nan"))
        print(
            f"{name:30s} {row['macro_f1']:8.4f} {row['diff_baseline']:+8.4f} "
            f"{row['diff_baseline-balanced']:+8.4f} {val:7.4f} {row['fit_seconds']:6.0f}{chosen}"
        )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tasks", default="sentiment,toxicity,emotion")
    p.add_argument("--seeds", default="0")
    p.add_argument("--no-neural", action="store_true", help="skip the (slow) neural model")
    p.add_argument("--no-encoder", action="store_true", help="as if the extra were missing")
    p.add_argument("--encoder-text", action="store_true", help="also score --model encoder")
    p.add_argument("--out", default="runs/bench/text_classifiers.json")
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    from entertainai.analytics.encoder import encoder_installed

    encoder = encoder_installed() and not args.no_encoder
    results = []
    for task in args.tasks.split(","):
        for seed in (int(s) for s in args.seeds.split(",")):
            result = run_task(task, seed, not args.no_neural, encoder, args.encoder_text)
            print_table(result)
            results.append(result)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2))
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
