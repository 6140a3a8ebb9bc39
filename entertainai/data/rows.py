"""Rows of results (forecasts, segments, scored texts) to a file, by its suffix."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from entertainai.errors import InputError


def write_rows(rows: list[dict[str, Any]], out: str) -> Path:
    """Rows to ``.csv``, ``.parquet`` or ``.jsonl`` (by suffix)."""
    import pyarrow as pa

    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
        return path
    table = pa.Table.from_pylist(rows)
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        pq.write_table(table, path)
    elif suffix == ".csv":
        import pyarrow.csv as pacsv

        pacsv.write_csv(table, path)
    else:
        raise InputError("expected .csv, .parquet or .jsonl", location=out)
    return path
