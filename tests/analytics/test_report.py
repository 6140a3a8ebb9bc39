"""The analyst report renders every section from a demo dataset; missing inputs are clear."""

from __future__ import annotations

from pathlib import Path

import pytest

from entertainai.analytics.report import ReportConfig, build_report
from entertainai.cli.main import main
from entertainai.errors import NotFoundError


def test_report_sections(demo_dir: Path, tmp_path: Path):
    path = build_report(
        str(demo_dir), tmp_path / "r" / "report.html", ReportConfig(top_genres=1, k_max=4)
    )
    page = path.read_text()
    for title in ("Trends and forecasts", "User segments", "Sentiment", "Topics", "moderation"):
        assert title in page
    assert page.count("data:image/png;base64,") == 4
    assert "seasonal naive" in page.lower()


def test_missing_dataset(tmp_path: Path, capsys):
    with pytest.raises(NotFoundError):
        build_report(str(tmp_path / "none"), tmp_path / "r.html")
    assert main(["report", "--data", str(tmp_path / "none"), "--out", "x.html"]) == 2
    assert "no such dataset" in capsys.readouterr().err
