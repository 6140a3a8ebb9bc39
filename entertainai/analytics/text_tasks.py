"""One pipeline behind ``entertainai train sentiment|emotion|textclass|moderation``, the Ray
jobs and the Tune search: load labelled texts, split, fit, evaluate on the held-out split,
register; and batch prediction from a file to a file, one row per input row, in order.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from entertainai.analytics.text_data import (
    MULTI_LABEL_TASKS,
    TASKS,
    LabelledTexts,
    load_task_data,
    load_texts,
)
from entertainai.analytics.text_metrics import classification_report
from entertainai.analytics.text_models import (
    LexiconSentiment,
    TextClassifier,
    TextPredictions,
    indicator_matrix,
)
from entertainai.errors import InputError
from entertainai.model import model_class
from entertainai.registry import ModelVersion, Registry

log = logging.getLogger(__name__)

# --model choices -> kinds
MODEL_CHOICES = {"neural": "neural_text", "tfidf": "tfidf_linear", "lexicon": "lexicon_sentiment"}
SMOKE_PARAMS: dict[str, dict[str, Any]] = {
    "neural_text": {"epochs": 2, "embedding_dim": 16, "filters": 16, "hidden": 16},
    "tfidf_linear": {},
    "lexicon_sentiment": {},
}


# Per-task defaults under the user's --param values: sentiment's neural model reads VADER
# scores as extra inputs (benchmarks/text_analytics.py: +3-5 points macro-F1 on real reviews).
TASK_DEFAULTS: dict[str, dict[str, dict[str, Any]]] = {
    "sentiment": {"neural_text": {"lexicon_features": True}},
}


def task_params(task: str, kind: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    return {**TASK_DEFAULTS.get(task, {}).get(kind, {}), **(params or {})}


@dataclass(frozen=True)
class TextTrainSpec:
    """What to train: task, data, columns, model family, parameters, split and name."""

    task: str
    data: str
    model: str = "neural"
    params: dict[str, Any] = field(default_factory=dict)
    text_col: str | None = None
    label_col: str | None = None
    delimiter: str = "|"
    test_fraction: float = 0.2
    seed: int = 0
    name: str | None = None
    max_rows: int | None = None  # smoke tests: the first N rows of a seeded shuffle

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise InputError(f"unknown task {self.task!r}; known: {list(TASKS)}")
        if self.model not in MODEL_CHOICES:
            raise InputError(f"unknown --model {self.model!r}; known: {sorted(MODEL_CHOICES)}")
        if self.model == "lexicon" and self.task != "sentiment":
            raise InputError("the lexicon model does sentiment only")
        if not 0.0 < self.test_fraction < 1.0:
            raise InputError(f"test fraction must be in (0, 1), got {self.test_fraction}")

    @property
    def kind(self) -> str:
        return MODEL_CHOICES[self.model]

    @property
    def registry_name(self) -> str:
        return self.name or self.task


@dataclass(frozen=True)
class TextTrainResult:
    metrics: dict[str, float]
    classes: tuple[str, ...]
    n_train: int
    n_test: int
    seconds: float


def load_spec_data(spec: TextTrainSpec) -> LabelledTexts:
    data = load_task_data(
        spec.data,
        spec.task,
        text_col=spec.text_col,
        label_col=spec.label_col,
        delimiter=spec.delimiter,
    )
    if data.multi_label != (spec.task in MULTI_LABEL_TASKS):  # pragma: no cover - by design
        raise InputError(
            f"{spec.task} data must be {'multi' if spec.task in MULTI_LABEL_TASKS else 'single'}-label"
        )
    if spec.max_rows is not None and len(data) > spec.max_rows:
        rows = np.random.default_rng(spec.seed).permutation(len(data))[: spec.max_rows]
        data = data.subset(np.sort(rows))
    return data


def create(spec: TextTrainSpec) -> TextClassifier:
    try:
        params = task_params(spec.task, spec.kind, spec.params)
        return model_class(spec.kind).from_params(**params)  # type: ignore[return-value]
    except (TypeError, ValueError) as exc:
        raise InputError(f"bad --param for {spec.kind}: {exc}") from None


def evaluate(model: TextClassifier, data: LabelledTexts) -> dict[str, float]:
    predictions = model.predict(data.texts)
    Y = indicator_matrix(data.labels, predictions.classes)
    return classification_report(
        Y,
        predictions.indicators(),
        predictions.probabilities,
        predictions.classes,
        multi_label=predictions.multi_label,
    )


def fit_and_evaluate(
    spec: TextTrainSpec, data: LabelledTexts | None = None
) -> tuple[TextClassifier, TextTrainResult]:
    """Fit on the train split (which holds out its own validation) and score the test split."""
    data = data if data is not None else load_spec_data(spec)
    train, test = data.split(spec.test_fraction, spec.seed)
    model = create(spec)
    start = time.perf_counter()
    log.info(
        "%s: fitting %s on %d texts (%d classes)",
        spec.task,
        spec.kind,
        len(train),
        len(data.classes),
    )
    model.fit(train)
    seconds = time.perf_counter() - start
    metrics = evaluate(model, test)
    metrics["fit_seconds"] = seconds
    log.info(
        "%s: test macro-F1 %.4f, accuracy %.4f", spec.task, metrics["macro_f1"], metrics["accuracy"]
    )
    return model, TextTrainResult(metrics, model.classes_, len(train), len(test), seconds)


def dataset_hash(data: LabelledTexts) -> str:
    digest = hashlib.sha256()
    for text, labels in zip(data.texts, data.labels, strict=True):
        digest.update(text.encode())
        digest.update(b"\x1f" + "|".join(labels).encode() + b"\x1e")
    return digest.hexdigest()[:16]


def register(
    registry: Registry,
    model: TextClassifier,
    result: TextTrainResult,
    spec: TextTrainSpec,
    data: LabelledTexts,
    *,
    trainer: str = "in-process",
    promote: bool = False,
) -> ModelVersion:
    """Save and register; it also becomes ``production`` when the name has none yet (or
    ``promote``), so the Serve graph picks a first model up without a manual step."""
    name = spec.registry_name
    first = "production" not in registry.aliases(name)
    with tempfile.TemporaryDirectory() as tmp:
        model.save(tmp)
        return registry.register(
            name,
            tmp,
            kind=model.kind,
            config=dataclasses.asdict(model.config),
            metrics={k: float(v) for k, v in result.metrics.items()},
            dataset_hash=dataset_hash(data),
            extra={
                "task": spec.task,
                "classes": list(result.classes),
                "text_col": spec.text_col,
                "label_col": spec.label_col,
                "split": f"random:{spec.test_fraction}:{spec.seed}",
                "trained_on": f"train split ({result.n_train} texts), scored on {result.n_test}",
                "trainer": trainer,
            },
            aliases=("production",) if (first or promote) else (),
        )


# ---- batch prediction ----------------------------------------------------------------------


def load_classifier(ref: str, registry: Registry | None = None) -> TextClassifier:
    """A text classifier by registry ref or directory; ``lexicon`` needs no artifact."""
    from entertainai.model import load_model

    if ref == "lexicon":
        return LexiconSentiment.default()
    path = ref if os.path.isdir(ref) else str((registry or Registry()).local_path(ref))
    model = load_model(path)
    if not isinstance(model, TextClassifier):
        raise InputError(f"{ref} is a {model.kind} model, not a text classifier")
    return model


def predictions_table(predictions: TextPredictions, texts: list[str] | None = None) -> pa.Table:
    """One row per text: label, labels (multi-label), compound (sentiment), p_<class> columns."""
    columns: dict[str, Any] = {}
    if texts is not None:
        columns["text"] = texts
    rows = predictions.rows()
    columns["label"] = [r["label"] for r in rows]
    compound = predictions.compound
    if compound is not None:
        columns["compound"] = compound.astype(np.float32)
    for j, name in enumerate(predictions.classes):
        columns[f"p_{name}"] = predictions.probabilities[:, j]
    return pa.table(columns)


def predict_file(
    model: TextClassifier,
    input_path: str,
    out_path: str,
    *,
    text_col: str = "text",
    batch_size: int = 512,
    progress: Any = None,
) -> int:
    """Predict every row of a CSV/Parquet file into ``out_path`` (.csv or .parquet), in order."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    suffix = Path(out_path).suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise InputError("--out must end in .csv or .parquet", location=out_path)
    texts = load_texts(input_path, text_col)
    parts = []
    for start in range(0, len(texts), batch_size):
        batch = texts[start : start + batch_size]
        parts.append(predictions_table(model.predict(batch), batch))
        if progress is not None:
            progress(len(batch))
    table = pa.concat_tables(parts) if parts else predictions_table(model.predict([]), [])
    Path(out_path).parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        pacsv.write_csv(table, out_path)
    else:
        pq.write_table(table, out_path)
    return table.num_rows
