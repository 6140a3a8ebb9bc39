"""Time series in and out: ``ds,y[,unique_id]`` files and play counts built from a dataset.

A :class:`Series` is a regular grid (daily or hourly) of float values. Files are read with
strict rules so a forecast never silently runs on garbage:

* ``ds`` must parse as a date or timestamp (UTC when no zone is given), ``y`` must be a
  finite number; the message names the file, row (1-based, as in a spreadsheet with a header
  row: the first data row is row 2) and column.
* a ``(unique_id, ds)`` pair may occur once.
* the frequency is inferred per series: ``D`` when every timestamp is at midnight and steps are
  whole days, else ``h`` when they are whole hours; anything else is refused.
* gaps (missing steps on that grid) follow ``gaps``: ``"error"`` (the default: name the first
  missing timestamp), ``"zero"`` (count data: nothing happened) or ``"interpolate"`` (linear).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from entertainai.errors import InputError

log = logging.getLogger(__name__)

Freq = Literal["D", "h"]
Gaps = Literal["error", "zero", "interpolate"]
Level = Literal["platform", "genre", "item"]

STEP: dict[str, np.timedelta64] = {"D": np.timedelta64(1, "D"), "h": np.timedelta64(1, "h")}
SEASON: dict[str, int] = {"D": 7, "h": 24}  # the planted and usual seasonality of each grid
PLATFORM = "platform"


@dataclass(frozen=True)
class Series:
    """One regular series: ``values[i]`` is the value at ``start + i * step``."""

    uid: str
    start: np.datetime64  # datetime64[s], UTC
    freq: Freq
    values: np.ndarray  # float64

    def __len__(self) -> int:
        return len(self.values)

    @property
    def step(self) -> np.timedelta64:
        return STEP[self.freq]

    @property
    def season(self) -> int:
        return SEASON[self.freq]

    @property
    def index(self) -> np.ndarray:
        return self.start + np.arange(len(self.values)) * self.step

    def future(self, horizon: int) -> np.ndarray:
        """Timestamps of the ``horizon`` steps after the last observation."""
        return self.start + (len(self.values) + np.arange(horizon)) * self.step

    def head(self, n: int) -> Series:
        return Series(self.uid, self.start, self.freq, self.values[:n])


def _read_table(path: Path) -> pa.Table:
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    if not path.is_file():
        raise InputError("no such file", location=str(path))
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            return pq.read_table(path)
        if suffix in (".csv", ".txt"):
            # Everything as text: parsing errors are ours to report, with the row.
            convert = pacsv.ConvertOptions(
                column_types={"ds": pa.string(), "y": pa.string(), "unique_id": pa.string()}
            )
            return pacsv.read_csv(path, convert_options=convert)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(f"unreadable: {exc}", location=str(path)) from None
    raise InputError("expected a .csv or .parquet file", location=str(path))


def _row(where: str, i: int) -> str:
    # Files: spreadsheet rows (header = row 1); payloads (where ends in ']'): list positions.
    return f"{where}[{i}]" if where.endswith("ds") or where.endswith("y") else f"{where}:{i + 2}"


def _parse_dates(column: pa.ChunkedArray, where: str) -> np.ndarray:
    """datetime64[s] (UTC) from a timestamp, date or string column; errors name the row."""
    if pa.types.is_timestamp(column.type):
        if column.type.tz is None:
            column = pc.assume_timezone(column, "UTC")
        values = pc.cast(column, pa.timestamp("s", tz="UTC"), safe=False)
        return values.to_numpy(zero_copy_only=False).astype("datetime64[s]")
    if pa.types.is_date(column.type):
        return column.cast(pa.date32()).to_numpy(zero_copy_only=False).astype("datetime64[s]")
    texts = column.cast(pa.string()).to_pylist()
    out = np.empty(len(texts), dtype="datetime64[s]")
    for i, text in enumerate(texts):
        try:
            if text is None:
                raise ValueError
            text = text.strip().replace(" ", "T")
            if text.endswith("Z"):
                text = text[:-1]
            elif len(text) > 19 and text[-6] in "+-" and text[-3] == ":":
                offset = np.timedelta64(
                    int(text[-6] + "1") * (int(text[-5:-3]) * 60 + int(text[-2:])), "m"
                )
                out[i] = np.datetime64(text[:-6], "s") - offset
                continue
            out[i] = np.datetime64(text, "s")
        except ValueError:
            raise InputError(
                f"column 'ds': not a date or timestamp: {text!r}", location=_row(where, i)
            ) from None
    return out


def _parse_values(column: pa.ChunkedArray, where: str) -> np.ndarray:
    texts = column.to_pylist()
    out = np.empty(len(texts), dtype=np.float64)
    for i, value in enumerate(texts):
        try:
            out[i] = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            out[i] = np.nan
        if not np.isfinite(out[i]):
            raise InputError(f"column 'y': not a finite number: {value!r}", location=_row(where, i))
    return out


def _infer_freq(ds: np.ndarray, uid: str, where: str) -> Freq:
    if len(ds) < 2:
        raise InputError(f"series {uid!r} has {len(ds)} point(s); need at least 2", location=where)
    steps = np.diff(ds).astype(np.int64)
    midnight = (ds.astype(np.int64) % 86_400 == 0).all()
    if midnight and (steps % 86_400 == 0).all():
        return "D"
    if (ds.astype(np.int64) % 3600 == 0).all() and (steps % 3600 == 0).all():
        return "h"
    raise InputError(
        f"series {uid!r}: timestamps are neither daily (midnight) nor on whole hours",
        location=where,
    )


def regularize(
    uid: str, ds: np.ndarray, y: np.ndarray, *, gaps: Gaps = "error", where: str = "series"
) -> Series:
    """A :class:`Series` from sorted, unique timestamps, applying the ``gaps`` rule."""
    freq = _infer_freq(ds, uid, where)
    step = STEP[freq]
    position = ((ds - ds[0]) // step).astype(np.int64)
    n = int(position[-1]) + 1
    if n > len(ds):
        if gaps == "error":
            first = int(np.flatnonzero(np.diff(position) > 1)[0])
            missing = ds[0] + (position[first] + 1) * step
            raise InputError(
                f"series {uid!r} has {n - len(ds)} missing step(s) on its {freq!r} grid, "
                f"first at {missing}; fill them or pass gaps='zero' or 'interpolate'",
                location=where,
            )
        values = np.zeros(n) if gaps == "zero" else np.interp(np.arange(n), position, y)
        values[position] = y
    else:
        values = y.astype(np.float64)
    return Series(uid, ds[0], freq, values)


def load_series(
    path: str | Path, *, gaps: Gaps = "error", max_points: int | None = None
) -> list[Series]:
    """Read a ``ds,y[,unique_id]`` CSV or Parquet file: one :class:`Series` per unique_id.

    Series come in the order of their first row; rows may be in any order within a series.
    """
    path = Path(path)
    table = _read_table(path)
    where = str(path)
    for column in ("ds", "y"):
        if column not in table.column_names:
            raise InputError(
                f"missing column {column!r}; expected ds,y[,unique_id], got {table.column_names}",
                location=where,
            )
    if table.num_rows == 0:
        raise InputError("no rows", location=where)
    if max_points is not None and table.num_rows > max_points:
        raise InputError(f"{table.num_rows} rows; at most {max_points} allowed", location=where)
    ds = _parse_dates(table.column("ds"), where)
    y = _parse_values(table.column("y"), where)
    if "unique_id" in table.column_names:
        uids = np.array(
            [str(u) if u is not None else "" for u in table.column("unique_id").to_pylist()]
        )
        blank = np.flatnonzero(uids == "")
        if len(blank):
            raise InputError("column 'unique_id': empty", location=f"{where}:{blank[0] + 2}")
    else:
        uids = np.full(table.num_rows, PLATFORM)
    return build_series(uids, ds, y, gaps=gaps, where=where)


def build_series(
    uids: np.ndarray, ds: np.ndarray, y: np.ndarray, *, gaps: Gaps = "error", where: str = "series"
) -> list[Series]:
    """Group rows into series (first-appearance order); duplicates name both rows."""
    _, first_row = np.unique(uids, return_index=True)
    order = uids[np.sort(first_row)]
    result = []
    for uid in order:
        rows = np.flatnonzero(uids == uid)
        rows = rows[np.argsort(ds[rows], kind="stable")]
        dup = np.flatnonzero(np.diff(ds[rows]) == np.timedelta64(0, "s"))
        if len(dup):
            a, b = sorted((rows[dup[0]], rows[dup[0] + 1]))
            raise InputError(
                f"duplicate ds {ds[a]} for series {uid!r} (also at row {a + 2})",
                location=f"{where}:{b + 2}",
            )
        result.append(regularize(str(uid), ds[rows], y[rows], gaps=gaps, where=where))
    return result


def series_from_interactions(
    interactions: pa.Table,
    items: pa.Table | None = None,
    *,
    level: Level = "platform",
    freq: Freq = "D",
    event_types: tuple[str, ...] = (),
) -> list[Series]:
    """Event counts per step for the whole platform, each primary genre or each item.

    Every series spans the same range (first to last step of the whole log), with zeros where
    nothing happened; an item counts towards its primary (first listed) genre only, so genre
    series add up to the platform's.
    """
    if level not in ("platform", "genre", "item"):
        raise InputError(f"unknown level {level!r}; expected platform, genre or item")
    if event_types:
        interactions = interactions.filter(
            pc.is_in(interactions.column("event_type"), pa.array(list(event_types)))
        )
    if interactions.num_rows == 0:
        raise InputError("no interactions to build series from", location="interactions")
    ts = interactions.column("timestamp").cast(pa.timestamp("ms", tz="UTC"))
    seconds = ts.to_numpy(zero_copy_only=False).astype("datetime64[ms]").astype("datetime64[s]")
    unit = STEP[freq].astype("timedelta64[s]")
    bucket = (seconds - np.datetime64(0, "s")) // unit
    first, n = int(bucket.min()), int(bucket.max() - bucket.min()) + 1
    start = np.datetime64(0, "s") + first * unit
    position = (bucket - first).astype(np.int64)

    if level == "platform":
        keys = np.zeros(len(position), dtype=np.int64)
        names = np.array([PLATFORM])
    else:
        item_ids = interactions.column("item_id").to_numpy(zero_copy_only=False).astype(str)
        if level == "item":
            names, keys = np.unique(item_ids, return_inverse=True)
        else:
            if items is None:
                raise InputError("genre series need the items table", location="items")
            genre_of = {
                i: (g[0] if g else "(none)")
                for i, g in zip(
                    items.column("item_id").to_pylist(),
                    items.column("genres").to_pylist(),
                    strict=True,
                )
            }
            genres = np.array([genre_of.get(i, "(unknown)") for i in item_ids])
            names, keys = np.unique(genres, return_inverse=True)
    counts = np.zeros((len(names), n))
    np.add.at(counts, (keys, position), 1.0)
    return [Series(str(name), start, freq, counts[k]) for k, name in enumerate(names)]


def series_from_payload(payload: list[dict], *, gaps: Gaps = "error") -> list[Series]:
    """Series from ``[{"unique_id": ..., "ds": [...], "y": [...]}, ...]`` (the HTTP body);
    errors name the position, e.g. ``series[1].ds[3]``."""
    result = []
    seen: set[str] = set()
    for n, entry in enumerate(payload):
        where = f"series[{n}]"
        uid = str(entry.get("unique_id") or PLATFORM)
        if uid in seen:
            raise InputError(f"duplicate unique_id {uid!r}", location=where)
        seen.add(uid)
        ds_list, y_list = list(entry.get("ds", [])), list(entry.get("y", []))
        if len(ds_list) != len(y_list):
            raise InputError(f"{len(ds_list)} ds but {len(y_list)} y values", location=where)
        ds = _parse_dates(pa.chunked_array([pa.array(ds_list, pa.string())]), f"{where}.ds")
        y = _parse_values(pa.chunked_array([pa.array(y_list, pa.float64())]), f"{where}.y")
        result += build_series(np.full(len(ds), uid), ds, y, gaps=gaps, where=where)
    return result


def series_table(series: list[Series]) -> pa.Table:
    """Long ``unique_id, ds, y`` table (the file format :func:`load_series` reads)."""
    return pa.table(
        {
            "unique_id": [s.uid for s in series for _ in range(len(s))],
            "ds": pa.array(np.concatenate([s.index for s in series]), pa.timestamp("s", tz="UTC")),
            "y": np.concatenate([s.values for s in series]),
        }
    )


def series_from_path(
    path: str, *, level: Level = "platform", freq: Freq = "D", gaps: Gaps = "error"
) -> list[Series]:
    """A ``ds,y[,unique_id]`` file, or a dataset directory's play counts at ``level``."""
    if Path(path).is_dir() or "://" in path:
        from entertainai.data.dataset import Dataset

        ds = Dataset.open(path)
        return series_from_interactions(ds.interactions, ds.items, level=level, freq=freq)
    return load_series(path, gaps=gaps)
