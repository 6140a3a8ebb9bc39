"""Batch recommendation rows (user_id, item_id, rank, score): one function for every runner.

Ray Data's ``map_batches`` (``train/batch_recommend.py``) and the single-process baseline both
call :func:`recommend_rows`, so they cannot drift apart.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from entertainai.errors import InputError
from entertainai.recommend.base import Recommender
from entertainai.recommend.filters import Filters

OUTPUT_SCHEMA = pa.schema(
    [
        pa.field("user_id", pa.string()),
        pa.field("item_id", pa.string()),
        pa.field("rank", pa.int32()),
        pa.field("score", pa.float32()),
    ]
)


# Scores one model call may hold: a users x items float32 matrix of at most 64 MB. Merged
# requests (64 x 1,000 users over a 10,000-item catalogue) were one 2.6 GB matrix.
MAX_SCORES_PER_CALL = 16_000_000


def users_per_call(n_items: int, max_scores: int = MAX_SCORES_PER_CALL) -> int:
    """How many users one model call may score within ``max_scores`` (at least one)."""
    return max(1, max_scores // max(1, n_items))


def recommend_rows(
    model: Recommender, user_ids: np.ndarray, k: int, filters: Filters | None = None
) -> pa.Table:
    recs = model.recommend(user_ids.tolist(), k=k, filters=filters)
    n = len(user_ids)
    users = np.repeat(np.asarray(user_ids, dtype=object), k)
    ranks = np.tile(np.arange(1, k + 1, dtype=np.int32), n)
    items = recs.item_ids.ravel()
    scores = recs.scores.ravel()
    keep = items != ""  # fewer than k candidates left after filters
    return pa.Table.from_arrays(
        [
            pa.array(users[keep].astype(str)),
            pa.array(items[keep].astype(str)),
            pa.array(ranks[keep]),
            pa.array(scores[keep], pa.float32()),
        ],
        schema=OUTPUT_SCHEMA,
    )


def read_users(spec: str, model: Recommender) -> np.ndarray:
    """``all`` (every user the model knows) or a file with one user id per line."""
    if spec == "all":
        return model.user_ids_.astype(str)
    path = Path(spec)
    if not path.is_file():
        raise InputError(f"--users {spec!r}: expected 'all' or a file with one user id per line")
    users = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    users = [u for u in users if u]
    if not users:
        raise InputError(f"{path}: no user ids in file")
    return np.asarray(users, dtype=str)


class RowWriter:
    """Streams row tables into one Parquet or CSV file, chosen by the extension."""

    def __init__(self, path: str) -> None:
        suffix = Path(path).suffix.lower()
        if suffix not in (".parquet", ".csv"):
            raise InputError(f"--out {path!r}: use a .parquet or .csv file name")
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.rows = 0
        self._tmp = f"{path}.tmp"
        self._writer: pq.ParquetWriter | pacsv.CSVWriter = (
            pq.ParquetWriter(self._tmp, OUTPUT_SCHEMA)
            if suffix == ".parquet"
            else pacsv.CSVWriter(self._tmp, OUTPUT_SCHEMA)
        )

    def write(self, table: pa.Table) -> None:
        self._writer.write_table(table.cast(OUTPUT_SCHEMA))
        self.rows += table.num_rows

    def close(self) -> None:
        self._writer.close()
        Path(self._tmp).replace(self.path)  # readers never see a half-written file
