"""The main job end to end on a local Ray: demo data → Ray tasks → registry → report."""

from __future__ import annotations

from pathlib import Path

from entertainai.registry import Registry
from train import pipeline


def test_pipeline_smoke(ray_session, tmp_path: Path, capsys):
    rc = pipeline.main(
        [
            "--data",
            str(tmp_path / "demo"),
            "--registry",
            str(tmp_path / "artifacts"),
            "--out",
            str(tmp_path / "runs"),
            "--models",
            "popularity,item_knn",
            "--smoke-test",
            "--capabilities",
            "none",  # tests/train/test_capabilities.py trains them
        ]
    )
    assert rc == 0
    out = capsys.readouterr().out
    assert "| popularity |" in out and "| item_knn |" in out
    registry = Registry(str(tmp_path / "artifacts"))
    assert registry.names() == ["item_knn", "popularity"]
    knn, pop = registry.get("item_knn@production"), registry.get("popularity@production")
    # The planted tastes make item-kNN beat the popularity baseline on the demo data.
    assert knn.metrics["ndcg"] > pop.metrics["ndcg"]
    assert (tmp_path / "runs" / "results.png").stat().st_size > 0


def test_pipeline_reports_missing_data_clearly(tmp_path: Path, capsys):
    rc = pipeline.main(["--data", str(tmp_path / "nope"), "--registry", str(tmp_path / "a")])
    assert rc == 2
    assert "no such dataset" in capsys.readouterr().err
