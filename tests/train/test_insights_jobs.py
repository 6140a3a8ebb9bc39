"""The insights Ray jobs: segments scored per k as Ray tasks and registered; forecasts on Ray."""

from __future__ import annotations

import json
from pathlib import Path

from entertainai.model import load_model
from entertainai.registry import Registry
from train import forecast as forecast_job
from train import segments as segments_job


def test_segments_and_forecast_jobs(ray_session, demo_dir: Path, tmp_path: Path, capsys):
    root = tmp_path / "registry"
    argv = ["--data", str(demo_dir), "--registry", str(root), "--k-max", "6"]
    assert segments_job.main(argv) == 0
    mv = Registry(str(root)).get("segments@production")
    assert mv.kind == "segments" and 2 <= mv.metrics["k"] <= 6
    assert mv.metrics["planted_ari"] > 0.5
    model = load_model(Registry(str(root)).local_path("segments"))
    assert [s["k"] for s in model.selection_] == [2, 3, 4, 5, 6]

    out = tmp_path / "forecast"
    argv = ["--data", str(demo_dir), "--level", "genre", "--max-series", "3", "--out", str(out)]
    assert forecast_job.main(argv + ["--chunk-size", "2"]) == 0
    report = json.loads((out / "backtest.json").read_text())
    assert report["summary"]["n_series"] == 3 and len(report["series"]) == 3
    rows = (out / "forecasts.csv").read_text().splitlines()
    assert len(rows) == 1 + 3 * 7 and "yhat_lower" in rows[0]
    assert "series" in capsys.readouterr().out
    # A user error is one line and exit status 2.
    assert forecast_job.main(["--data", str(tmp_path / "none.csv"), "--out", str(out)]) == 2
