"""Series loading: strict rows, the gap rule, and series built from interactions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from entertainai.analytics.series import (
    DemoSeriesConfig,
    demo_daily_series,
    load_series,
    series_from_interactions,
    series_table,
)
from entertainai.data.dataset import Dataset
from entertainai.errors import InputError


def write(tmp_path: Path, text: str, name: str = "s.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_many_series_in_first_appearance_order(tmp_path: Path):
    path = write(
        tmp_path,
        "unique_id,ds,y\nb,2026-01-02,2\na,2026-01-01,5\nb,2026-01-01,1\na,2026-01-02,6\n",
    )
    series = load_series(path)
    assert [s.uid for s in series] == ["b", "a"]
    assert series[0].freq == "D" and series[0].values.tolist() == [1.0, 2.0]
    assert str(series[1].future(2)[1]) == "2026-01-04T00:00:00"


def test_hourly_and_platform_default(tmp_path: Path):
    path = write(tmp_path, "ds,y\n2026-01-01 00:00,1\n2026-01-01T01:00:00Z,2\n2026-01-01 02:00,3\n")
    (series,) = load_series(path)
    assert series.uid == "platform" and series.freq == "h" and series.season == 24


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ds,y\n2026-01-01,1\nnot-a-date,2\n", "s.csv:3: column 'ds'"),
        ("ds,y\n2026-01-01,1\n2026-01-02,abc\n", "s.csv:3: column 'y'"),
        ("ds,y\n2026-01-01,1\n2026-01-02,nan\n", "s.csv:3: column 'y'"),
        ("ds,y\n2026-01-01,1\n2026-01-01,2\n", "s.csv:3: duplicate ds"),
        ("ds,value\n2026-01-01,1\n", "missing column 'y'"),
        ("ds,y\n2026-01-01,1\n2026-01-03,2\n", "first at 2026-01-02"),
        ("ds,y\n2026-01-01 00:17,1\n2026-01-01 00:18,2\n", "neither daily"),
    ],
)
def test_bad_rows_name_file_row_and_column(tmp_path: Path, text: str, message: str):
    with pytest.raises(InputError, match=message):
        load_series(write(tmp_path, text))


def test_gap_rules(tmp_path: Path):
    path = write(tmp_path, "ds,y\n2026-01-01,1\n2026-01-04,4\n")
    assert load_series(path, gaps="zero")[0].values.tolist() == [1, 0, 0, 4]
    assert load_series(path, gaps="interpolate")[0].values.tolist() == [1, 2, 3, 4]
    (kept,) = load_series(path, gaps="missing")
    np.testing.assert_array_equal(kept.values, [1, np.nan, np.nan, 4])
    # Written back, the missing days are left out again, so the file reads back the same.
    assert series_table([kept]).column("y").to_pylist() == [1.0, 4.0]


def test_parquet_roundtrip_and_limits(tmp_path: Path):
    import pyarrow.parquet as pq

    path = write(tmp_path, "unique_id,ds,y\nx,2026-01-01,1\nx,2026-01-02,2\n")
    pq.write_table(series_table(load_series(path)), tmp_path / "s.parquet")
    (back,) = load_series(tmp_path / "s.parquet")
    assert back.uid == "x" and back.values.tolist() == [1.0, 2.0]
    with pytest.raises(InputError, match="at most 1"):
        load_series(path, max_points=1)
    with pytest.raises(InputError, match="no such file"):
        load_series(tmp_path / "missing.csv")


def test_series_from_interactions_add_up(demo_dir: Path):
    ds = Dataset.open(str(demo_dir))
    (platform,) = series_from_interactions(ds.interactions, level="platform")
    genres = series_from_interactions(ds.interactions, ds.items, level="genre")
    items = series_from_interactions(ds.interactions, level="item", freq="h")
    assert (
        platform.values.sum()
        == ds.interactions.num_rows
        == len(platform) * 0 + sum(g.values.sum() for g in genres)
    )
    np.testing.assert_array_equal(platform.values, np.sum([g.values for g in genres], axis=0))
    assert len(platform) == 60 and items[0].freq == "h" and len(items[0]) == 24 * 60


def test_demo_daily_series_plants_weekly_and_yearly_seasonality():
    series, signal = demo_daily_series(DemoSeriesConfig(years=4, gap_share=0.05))
    y = series.values
    assert len(series) == 1461 and series.freq == "D"
    assert str(series.index[0]) == "2022-01-01T00:00:00"
    missing = np.isnan(y)
    assert 0.03 < missing.mean() < 0.07 and not missing[0] and not missing[-1]
    assert np.convolve(missing, np.ones(7), "valid").max() == 7  # a week-long outage
    # Model-free: the busiest weekday is the planted Saturday, ...
    weekday = (series.index.astype("datetime64[D]").astype(np.int64) + 3) % 7
    by_day = [np.nanmean(y[weekday == d]) for d in range(7)]
    assert int(np.argmax(by_day)) == 5
    # ... a year back (52 weeks) predicts far better than half a year back, ...
    assert np.nanmean(np.abs(y[364:] - y[:-364])) < 0.5 * np.nanmean(np.abs(y[182:] - y[:-182]))
    # ... and the noise around the signal is the planted 4% of the level.
    assert np.nanstd(y - signal) == pytest.approx(40, rel=0.1)
    again, _ = demo_daily_series(DemoSeriesConfig(years=4, gap_share=0.05))
    np.testing.assert_array_equal(again.values, y)


def test_realistic_demo_series_has_a_season_heavy_tails_and_gaps():
    series, signal = demo_daily_series(DemoSeriesConfig(kind="realistic", years=3, seed=1))
    months = series.index.astype("datetime64[M]").astype(np.int64) % 12 + 1
    in_season = np.isin(months, [10, 11, 12, 1])
    y = series.values
    assert 4 < np.nanmin(y) and np.nanmax(y) < 14  # log page views
    assert np.nanmean(y[in_season]) - np.nanmean(y[np.isin(months, [5, 6, 7])]) > 0.4
    # Like page views: day-to-day changes far from Gaussian (kurtosis 3), news spikes that
    # multiply the day's views by e^2 or more, and missing days.
    change = np.diff(y)[np.isfinite(np.diff(y))]
    assert ((change - change.mean()) ** 4).mean() / change.var() ** 2 > 10
    assert np.nanmax(y - signal) > 2
    assert 0.01 < np.isnan(y).mean() < 0.05
    with pytest.raises(InputError, match="years"):
        DemoSeriesConfig(years=0)
