"""One pipeline behind ``entertainai train sentiment|emotion|textclass|moderation``, the Ray
jobs and the Tune search: load labelled texts, split, fit, evaluate on the held-out split,
register; and batch prediction from a file to a file, one row per input row, in order.

Without ``--model`` (``model="auto"``) the pipeline fits every candidate family in
:data:`AUTO_CANDIDATES` (the encoder one only when the ``encoder`` extra is installed) and keeps
the one with the best macro-F1 on the validation split that each model holds out of the train
part (the same seeded rows for all): the test split never takes part in the choice. The
candidates' validation scores are recorded in the registry metrics.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from entertainai.analytics.lexicon import LexiconSentiment
from entertainai.analytics.text_data import (
    MULTI_LABEL_TASKS,
    TASKS,
    LabelledTexts,
    load_task_data,
    load_texts,
)
from entertainai.analytics.text_metrics import classification_report
from entertainai.analytics.text_models import (
    TextClassifier,
    TextPredictions,
    indicator_matrix,
)
from entertainai.errors import InputError
from entertainai.model import model_class
from entertainai.registry import ModelVersion, Registry

log = logging.getLogger(__name__)

# --model choices -> kinds ("auto": chosen on validation among AUTO_CANDIDATES)
MODEL_CHOICES = {
    "neural": "neural_text",
    "tfidf": "tfidf_linear",
    "lexicon": "lexicon_sentiment",
    "encoder": "encoder_text",
    "ensemble": "ensemble_text",
}
AUTO = "auto"
# The neural family is not a candidate: on the shared real data (benchmarks/text_classifiers.py)
# it never beat the TF-IDF model on validation, and it costs 10-50x the fit time. Nor is
# encoder_text: the encoder, when installed, is a head of the ensemble, which beat it on all
# three real sets.
AUTO_CANDIDATES = ("tfidf", "ensemble")
SMOKE_PARAMS: dict[str, dict[str, Any]] = {
    "neural_text": {"epochs": 2, "embedding_dim": 16, "filters": 16, "hidden": 16},
    "tfidf_linear": {},
    "lexicon_sentiment": {},
    "encoder_text": {},
    "ensemble_text": {},
}

# Word + character n-grams, balanced class weights, (single-label) per-class thresholds for
# macro-F1, calibrated on 5-fold out-of-fold predictions (the auto candidates share the folds,
# so their validation scores compare): the settings benchmarks/text_classifiers.py measured.
_STRONG_TFIDF: dict[str, Any] = {
    "char_ngram_max": 5,
    "C": 4.0,
    "class_thresholds": True,
    "calibration_folds": 5,
}

# Per-task defaults under the user's --param values.
TASK_DEFAULTS: dict[str, dict[str, dict[str, Any]]] = {
    task: {
        "tfidf_linear": dict(_STRONG_TFIDF),
        "encoder_text": {**_STRONG_TFIDF, "encoder_weight": 2.0},
        "ensemble_text": dict(_STRONG_TFIDF),
    }
    for task in TASKS
}
# Sentiment: VADER's scores as extra inputs of every family (benchmarks/text_classifiers.py:
# tfidf 0.542 -> 0.564 macro-F1 on the movie snippets).
for _kind in ("tfidf_linear", "encoder_text", "ensemble_text", "neural_text"):
    TASK_DEFAULTS["sentiment"].setdefault(_kind, {})["lexicon_features"] = True


def task_params(task: str, kind: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    return {**TASK_DEFAULTS.get(task, {}).get(kind, {}), **(params or {})}


def auto_candidates() -> tuple[str, ...]:
    """The families ``model="auto"`` chooses among (the ensemble gains its encoder head when
    the extra is installed; ``encoder_text`` stays available as ``--model encoder``)."""
    return AUTO_CANDIDATES


@dataclass(frozen=True)
class TextTrainSpec:
    """What to train: task, data, columns, model family, parameters, split and name."""

    task: str
    data: str
    model: str = AUTO
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
        if self.model != AUTO and self.model not in MODEL_CHOICES:
            known = sorted([*MODEL_CHOICES, AUTO])
            raise InputError(f"unknown --model {self.model!r}; known: {known}")
        if self.model == AUTO and self.params:
            raise InputError("--param needs an explicit --model (auto picks its own settings)")
        if self.model == "lexicon" and self.task != "sentiment":
            raise InputError("the lexicon model does sentiment only")
        if not 0.0 < self.test_fraction < 1.0:
            raise InputError(f"test fraction must be in (0, 1), got {self.test_fraction}")

    @property
    def kind(self) -> str:
        """The kind trained (``auto``: the first candidate; the choice is made in the fit)."""
        return MODEL_CHOICES[auto_candidates()[0] if self.model == AUTO else self.model]

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


def create(spec: TextTrainSpec, family: str | None = None) -> TextClassifier:
    kind = MODEL_CHOICES[family] if family else spec.kind
    try:
        params = task_params(spec.task, kind, spec.params)
        return model_class(kind).from_params(**params)  # type: ignore[return-value]
    except (TypeError, ValueError) as exc:
        raise InputError(f"bad --param for {kind}: {exc}") from None


def fit_candidates(spec: TextTrainSpec, train: LabelledTexts) -> dict[str, TextClassifier]:
    """Fit ``spec.model``, or under ``auto`` every candidate family: {family: fitted model}."""
    families = auto_candidates() if spec.model == AUTO else (spec.model,)
    models: dict[str, TextClassifier] = {}
    for family in families:
        model = create(spec, family)
        log.info("%s: fitting %s on %d texts", spec.task, model.kind, len(train))
        models[family] = model.fit(train)
        log.info(
            "%s: %s validation macro-F1 %.4f", spec.task, model.kind, model.validation_macro_f1_
        )
    return models


def choose(models: dict[str, TextClassifier]) -> tuple[TextClassifier, dict[str, float]]:
    """The model with the best validation macro-F1, and every candidate's score
    (``val_macro_f1_<family>``). Ties and NaN (no validation split) keep the earlier,
    cheaper candidate."""
    best: TextClassifier | None = None
    scores: dict[str, float] = {}
    for family, model in models.items():
        score = float(model.validation_macro_f1_)
        scores[f"val_macro_f1_{family}"] = score
        if best is None or score > float(best.validation_macro_f1_) + 1e-9:
            best = model
    if best is None:
        raise InputError("no candidate model to choose from")
    return best, scores


def fit_selected(
    spec: TextTrainSpec, train: LabelledTexts
) -> tuple[TextClassifier, dict[str, float]]:
    """Fit the candidates and keep the best on validation (see :func:`choose`)."""
    return choose(fit_candidates(spec, train))


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
    start = time.perf_counter()
    model, selection = fit_selected(spec, train)
    seconds = time.perf_counter() - start
    metrics = evaluate(model, test)
    metrics["fit_seconds"] = seconds
    metrics.update(selection)
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
    """Save and register (``Registry.register_model``); it also becomes ``production`` when
    the name has none yet (or ``promote``), so the Serve graph picks a first model up."""
    return registry.register_model(
        model,
        spec.registry_name,
        metrics={k: float(v) for k, v in result.metrics.items()},
        dataset_hash=dataset_hash(data),
        extra={
            "task": spec.task,
            "classes": list(result.classes),
            "text_col": spec.text_col,
            "label_col": spec.label_col,
            "split": f"random:{spec.test_fraction}:{spec.seed}",
            "trained_on": f"train split ({result.n_train} texts), scored on {result.n_test}",
            "model_choice": spec.model,
            "trainer": trainer,
        },
        promote=True if promote else None,
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
