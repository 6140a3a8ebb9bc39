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
  missing timestamp), ``"zero"`` (count data: nothing happened), ``"interpolate"`` (linear) or
  ``"missing"`` (kept as NaN: the forecaster fits around them, which a multi-day outage needs:
  zeros would plant a fake dip and a straight line would erase the weekly shape).

:func:`demo_daily_series` makes multi-year daily series with planted weekly and yearly
seasonality, trend, noise and gaps, for tests and benchmarks.
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
Gaps = Literal["error", "zero", "interpolate", "missing"]
Level = Literal["platform", "genre", "item"]

STEP: dict[str, np.timedelta64] = {"D": np.timedelta64(1, "D"), "h": np.timedelta64(1, "h")}
SEASON: dict[str, int] = {"D": 7, "h": 24}  # the planted and usual seasonality of each grid
PLATFORM = "platform"


@dataclass(frozen=True)
class Series:
    """One regular series: ``values[i]`` is the value at ``start + i * step`` (NaN: missing)."""

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
            out[i] = float(value)
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
                f"first at {missing}; fill them or pass gaps='zero', 'interpolate' or 'missing'",
                location=where,
            )
        if gaps == "interpolate":
            values = np.interp(np.arange(n), position, y)
        else:
            values = np.zeros(n) if gaps == "zero" else np.full(n, np.nan)
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
    """Long ``unique_id, ds, y`` table (the file format :func:`load_series` reads); missing
    steps are left out, as in the file they came from (read back with ``gaps="missing"``)."""
    kept = [np.isfinite(s.values) for s in series]
    return pa.table(
        {
            "unique_id": [s.uid for s, k in zip(series, kept, strict=True) for _ in range(k.sum())],
            "ds": pa.array(
                np.concatenate([s.index[k] for s, k in zip(series, kept, strict=True)]),
                pa.timestamp("s", tz="UTC"),
            ),
            "y": np.concatenate([s.values[k] for s, k in zip(series, kept, strict=True)]),
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


# ---- demo series with planted seasonality ---------------------------------------------------

YEAR_DAYS = 365.25  # the period of yearly seasonality on a daily grid


@dataclass(frozen=True)
class DemoSeriesConfig:
    """A multi-year daily series with planted structure, for tests and benchmarks.

    ``"planted"``: ``level`` with a linear ``trend`` (share of level per year), a weekly pattern
    peaking on Saturday, a yearly shape of two harmonics (highs in late January and early
    June, a low in October) and Gaussian ``noise``; amplitudes are shares of ``level``.
    ``"realistic"``: log page views of a sports page (``level`` etc. unused): an in-season
    plateau from September to February with a late-January playoff spike whose size and date
    move from year to year, a trend whose slope changes on random days (about once a year),
    permanent level shifts (about one in three years), a wandering level, autocorrelated
    heavy-tailed (Student t) noise and news spikes of Pareto size (a few multiply the day's
    views by 20-50): a series on which last year's value is a strong forecast and a year's
    errors are dominated by levels nobody could know. Both lose ``gap_share`` of their days
    (NaN): half as single days, half as week-long outages.
    """

    years: float = 4.0
    kind: Literal["planted", "realistic"] = "planted"
    start: str = "2022-01-01"
    level: float = 1000.0
    trend: float = 0.08
    weekly: float = 0.1
    yearly: float = 0.25
    noise: float = 0.04
    gap_share: float = 0.02
    uid: str = "demo"
    seed: int = 0

    def __post_init__(self) -> None:
        if not 14 / YEAR_DAYS <= self.years <= 50:
            raise InputError(f"years must be in [0.04, 50], got {self.years}", location="years")
        if not 0 <= self.gap_share <= 0.5:
            raise InputError(f"gap_share must be in [0, 0.5], got {self.gap_share}")


def demo_daily_series(config: DemoSeriesConfig = DemoSeriesConfig()) -> tuple[Series, np.ndarray]:
    """(the series, NaN on its gap days; the noise-free planted signal on every day)."""
    rng = np.random.default_rng(config.seed)
    n = round(config.years * YEAR_DAYS)
    days = np.datetime64(config.start, "D") + np.arange(n)
    weekday = (days.astype(np.int64) + 3) % 7  # 0 = Monday: 1970-01-01 was a Thursday
    doy = (days - days.astype("datetime64[Y]").astype("datetime64[D]")).astype(np.int64)
    if config.kind == "planted":
        signal, noise = _planted(config, n, weekday, doy, rng)
    elif config.kind == "realistic":
        signal, noise = _realistic(n, days, weekday, doy, rng)
    else:
        raise InputError(f"unknown kind {config.kind!r}; expected planted or realistic")
    values = signal + noise
    k = round(config.gap_share * n)
    missing = np.zeros(n, dtype=bool)
    missing[rng.choice(np.arange(1, n - 1), min(k // 2, n - 2), replace=False)] = True
    for first in rng.integers(1, max(2, n - 8), size=round((k - k // 2) / 7)):
        missing[first : first + 7] = True
    missing[[0, -1]] = False  # the series starts and ends on an observed day
    values[missing] = np.nan
    return Series(config.uid, days[0].astype("datetime64[s]"), "D", values), signal


def _planted(
    c: DemoSeriesConfig, n: int, weekday: np.ndarray, doy: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    week = np.array([-0.4, -0.5, -0.4, -0.2, 0.2, 0.8, 0.5])
    phase = 2 * np.pi * doy / YEAR_DAYS
    shape = (
        1
        + c.trend * np.arange(n) / YEAR_DAYS
        + c.weekly * (week - week.mean())[weekday] / 0.5
        + c.yearly * (np.sin(phase) + 0.5 * np.cos(2 * phase))
    )
    return c.level * shape, c.level * c.noise * rng.normal(size=n)


def _realistic(
    n: int, days: np.ndarray, weekday: np.ndarray, doy: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    def sigmoid(x: np.ndarray) -> np.ndarray:
        return 1 / (1 + np.exp(-x))

    # The season runs over New Year: index it by the year it started in.
    season = days.astype("datetime64[Y]").astype(np.int64) - (doy < 183)
    season -= season.min()
    n_seasons = int(season.max()) + 1
    amplitude = 1.0 * (1 + 0.2 * rng.normal(size=n_seasons))
    in_season = np.where(doy >= 183, sigmoid((doy - 245) / 5), sigmoid((38 - doy) / 5))
    playoff_day = 28 + rng.integers(-4, 5, size=n_seasons)
    playoff_size = 0.9 * (1 + 0.3 * rng.normal(size=n_seasons))
    jan = np.where(doy < 183, doy, doy - 365)  # days after New Year of the season's end
    spikes = playoff_size[season] * np.exp(-0.5 * ((jan - playoff_day[season]) / 6) ** 2)
    spikes += 1.0 * np.exp(-0.5 * ((jan - playoff_day[season] - 9) / 1.5) ** 2)
    week = np.array([0.12, -0.02, -0.05, -0.05, -0.08, -0.1, 0.18])
    # The trend's slope changes at random days (about one a year), as interest drifts.
    changes = np.sort(rng.integers(0, n, size=rng.poisson(n / YEAR_DAYS)))
    slope = np.zeros(n)
    for day, value in zip(
        np.r_[0, changes], rng.normal(0.05, 0.25, size=len(changes) + 1), strict=True
    ):
        slope[day:] = value / YEAR_DAYS
    trend = np.cumsum(slope)
    # Permanent level shifts (a rename, a new link from a busy page): about one in three years.
    shifts = np.zeros(n)
    for day in rng.integers(0, n, size=rng.poisson(n / YEAR_DAYS / 3)):
        shifts[day:] += rng.normal(0, 0.25)
    signal = 8 + trend + amplitude[season] * in_season + spikes + (0.4 + in_season) * week[weekday]
    wander = np.cumsum(rng.normal(0, 0.008, size=n))
    # Day-to-day noise with heavy tails (Student t, 3 degrees of freedom), autocorrelated.
    ar = np.zeros(n)
    shocks = 0.1 * rng.standard_t(3, size=n)
    for t in range(1, n):
        ar[t] = 0.6 * ar[t - 1] + shocks[t]
    # News spikes: Pareto-sized (most small, a few multiply the views by 20-50), decaying in
    # a day or a week.
    news = np.zeros(n)
    for day in rng.integers(0, n, size=rng.poisson(6 * n / YEAR_DAYS)):
        size = min(4.0, 0.3 * (1 + rng.pareto(1.5)))
        news[day:] += size * np.exp(-np.arange(n - day) / rng.uniform(1, 7))
    return signal, shifts + wander + ar + news
