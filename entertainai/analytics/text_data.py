"""Labelled texts from any CSV or Parquet file, and the demo dataset's reviews and comments.

``load_labelled(path, text_col=..., label_col=...)`` reads one text column and one label
column. Single-label tasks take the label as a string; multi-label tasks take a delimited
string (``"anger|disgust"``), a Parquet ``list<string>`` column or, for a label column that is
boolean (``toxic``), the column name itself when true. Every error names the file, the row
(CSV: the line, counting the header as line 1) and the column, so a bad file can be fixed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from entertainai.errors import InputError, NotFoundError

# Tasks the train/analyze commands know; each fixes whether labels are single or multiple.
MULTI_LABEL_TASKS = frozenset({"emotion", "moderation"})
TASKS = ("sentiment", "emotion", "textclass", "moderation")
NO_LABEL = "neutral"  # the emotion a demo text without one carries
MAX_TEXT_CHARS = 20_000


@dataclass(frozen=True)
class LabelledTexts:
    """Texts with their labels: one string per text, or a tuple of strings when multi-label."""

    texts: list[str]
    labels: list[tuple[str, ...]]
    multi_label: bool
    source: str = ""

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def classes(self) -> tuple[str, ...]:
        return tuple(sorted({label for row in self.labels for label in row}))

    def subset(self, rows: np.ndarray) -> LabelledTexts:
        return LabelledTexts(
            [self.texts[i] for i in rows],
            [self.labels[i] for i in rows],
            self.multi_label,
            self.source,
        )

    def split(self, test_fraction: float, seed: int) -> tuple[LabelledTexts, LabelledTexts]:
        """A seeded random (train, test) split; stratified by first label so rare ones appear."""
        rng = np.random.default_rng(seed)
        keys = np.array([row[0] if row else "" for row in self.labels])
        train: list[int] = []
        test: list[int] = []
        for key in sorted(set(keys.tolist())):
            rows = np.flatnonzero(keys == key)
            rng.shuffle(rows)
            n_test = int(round(len(rows) * test_fraction))
            if len(rows) > 1:
                n_test = min(max(n_test, 1), len(rows) - 1)
            test.extend(rows[:n_test].tolist())
            train.extend(rows[n_test:].tolist())
        return self.subset(np.sort(np.array(train, int))), self.subset(np.sort(np.array(test, int)))

    def folds(self, k: int, seed: int) -> list[np.ndarray]:
        """``k`` seeded disjoint row sets covering every row, stratified by first label (each
        label's rows are dealt round-robin, so every fold gets its share of a rare one)."""
        if k < 2 or k > len(self):
            raise InputError(f"need 2 <= folds <= {len(self)} rows, got {k}")
        rng = np.random.default_rng(seed)
        keys = np.array([row[0] if row else "" for row in self.labels])
        fold_of = np.empty(len(self), int)
        dealt = 0
        for key in sorted(set(keys.tolist())):
            rows = np.flatnonzero(keys == key)
            rng.shuffle(rows)
            fold_of[rows] = (dealt + np.arange(len(rows))) % k
            dealt += len(rows)
        return [np.flatnonzero(fold_of == f) for f in range(k)]


def read_table(path: str | os.PathLike[str]) -> tuple[pa.Table, int]:
    """A CSV or Parquet file as a table, and the line offset of row 0 (CSV header = line 1)."""
    p = Path(path)
    if not p.exists():
        raise NotFoundError(f"{p}: no such file")
    try:
        if p.is_dir() or p.suffix.lower() in (".parquet", ".pq"):
            return pq.read_table(p), 0
        if p.suffix.lower() in (".csv", ".tsv", ".txt"):
            options = pacsv.ParseOptions(delimiter="\t" if p.suffix.lower() == ".tsv" else ",")
            # Every column as a string: labels like "1" must not silently become numbers.
            probe = pacsv.read_csv(p, parse_options=options)
            convert = pacsv.ConvertOptions(
                column_types={name: pa.string() for name in probe.column_names}
            )
            return pacsv.read_csv(p, parse_options=options, convert_options=convert), 2
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(f"cannot read: {str(exc).splitlines()[0]}", location=str(p)) from None
    raise InputError("expected a .csv, .tsv or .parquet file", location=str(p))


def _column(table: pa.Table, name: str, path: str) -> pa.ChunkedArray:
    if name not in table.column_names:
        raise InputError(
            f"no column {name!r}; columns are {table.column_names}", location=f"{path}"
        )
    return table.column(name)


def _row_location(path: str, row: int, offset: int, column: str) -> str:
    where = f"line {row + offset}" if offset else f"row {row}"
    return f"{path}:{where}, column {column!r}"


def texts_from(table: pa.Table, text_col: str, path: str, offset: int = 0) -> list[str]:
    column = _column(table, text_col, path)
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        raise InputError(f"column {text_col!r} is {column.type}, not text", location=path)
    texts = column.to_pylist()
    for row, text in enumerate(texts):
        if text is None or not text.strip():
            raise InputError("empty text", location=_row_location(path, row, offset, text_col))
        if len(text) > MAX_TEXT_CHARS:
            raise InputError(
                f"text of {len(text)} characters; at most {MAX_TEXT_CHARS}",
                location=_row_location(path, row, offset, text_col),
            )
    return texts


def load_texts(path: str | os.PathLike[str], text_col: str = "text") -> list[str]:
    """The texts of one column, in file order (for batch inference)."""
    table, offset = read_table(path)
    return texts_from(table, text_col, str(path), offset)


def load_labelled(
    path: str | os.PathLike[str],
    *,
    text_col: str = "text",
    label_col: str = "label",
    multi_label: bool = False,
    delimiter: str = "|",
) -> LabelledTexts:
    """Labelled texts from a CSV/TSV/Parquet file (see the module docstring for label forms)."""
    table, offset = read_table(path)
    where = str(path)
    texts = texts_from(table, text_col, where, offset)
    labels = parse_labels(_column(table, label_col, where), label_col, multi_label, delimiter)
    for row, value in enumerate(labels):
        if value is None:
            raise InputError("missing label", location=_row_location(where, row, offset, label_col))
        if not multi_label and len(value) != 1:
            raise InputError(
                f"expected one label, got {list(value)}",
                location=_row_location(where, row, offset, label_col),
            )
    result = LabelledTexts(texts, [v for v in labels if v is not None], multi_label, where)
    if not result.classes:
        raise InputError(f"column {label_col!r} holds no labels", location=where)
    if not multi_label and len(result.classes) < 2:
        raise InputError(
            f"column {label_col!r} holds one class {result.classes}; need at least two",
            location=where,
        )
    return result


def parse_labels(
    column: pa.ChunkedArray, name: str, multi_label: bool, delimiter: str
) -> list[tuple[str, ...] | None]:
    """Label tuples of one column; ``None`` where the value is missing."""
    kind = column.type
    if pa.types.is_boolean(kind):
        if not multi_label:
            return [None if v is None else (str(v).lower(),) for v in column.to_pylist()]
        return [None if v is None else ((name,) if v else ()) for v in column.to_pylist()]
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        values = column.to_pylist()
        return [None if v is None else tuple(sorted({str(x) for x in v})) for v in values]
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        column = pc.cast(column, pa.string())
    out: list[tuple[str, ...] | None] = []
    for value in column.to_pylist():
        if value is None:
            out.append(None)
        elif multi_label:
            out.append(tuple(sorted({p.strip() for p in value.split(delimiter) if p.strip()})))
        else:
            out.append((value.strip(),) if value.strip() else None)
    return out


def demo_labelled(dataset_dir: str | os.PathLike[str], task: str) -> LabelledTexts:
    """The demo dataset's labelled texts for a task (textclass: item descriptions by genre)."""
    from entertainai.data.dataset import Dataset

    dataset = Dataset.open(str(dataset_dir))
    where = f"{dataset_dir} (demo {task})"
    if task == "textclass":
        items = dataset.items.select(["description", "genres"]).to_pylist()
        rows = [r for r in items if r["description"] and r["genres"]]
        return LabelledTexts(
            [r["description"] for r in rows], [(r["genres"][0],) for r in rows], False, where
        )
    rows = dataset.texts.select(["text", "sentiment", "emotions", "toxic", "spam"]).to_pylist()
    if task == "sentiment":
        return LabelledTexts(
            [r["text"] for r in rows], [(r["sentiment"],) for r in rows], False, where
        )
    if task == "emotion":
        rows = [r for r in rows if not r["spam"]]  # spam carries no emotion at all
        return LabelledTexts(
            [r["text"] for r in rows],
            [tuple(sorted(r["emotions"] or [])) or (NO_LABEL,) for r in rows],
            True,
            where,
        )
    if task == "moderation":
        labels = [tuple(name for name in ("spam", "toxic") if r[name]) for r in rows]
        return LabelledTexts([r["text"] for r in rows], labels, True, where)
    raise InputError(f"unknown task {task!r}; known: {list(TASKS)}")


def load_task_data(
    path: str | os.PathLike[str],
    task: str,
    *,
    text_col: str | None = None,
    label_col: str | None = None,
    delimiter: str = "|",
) -> LabelledTexts:
    """A task's training data: a demo dataset directory (no columns given) or a labelled file."""
    if task not in TASKS:
        raise InputError(f"unknown task {task!r}; known: {list(TASKS)}")
    p = Path(path)
    if p.is_dir() and (p / "manifest.json").exists() and label_col is None:
        return demo_labelled(p, task)
    return load_labelled(
        p,
        text_col=text_col or "text",
        label_col=label_col or "label",
        multi_label=task in MULTI_LABEL_TASKS,
        delimiter=delimiter,
    )
