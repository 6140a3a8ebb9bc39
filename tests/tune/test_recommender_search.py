"""A small ASHA search end to end: trials on the validation split, best refit and registered."""

from __future__ import annotations

from pathlib import Path

import pytest

from entertainai.registry import Registry
from tune import recommender
from tune.spaces import SPACES


def test_search_registers_the_best(ray_session, demo_dir: Path, tmp_path: Path, capsys):
    rc = recommender.main(
        [
            "--data",
            str(demo_dir),
            "--model",
            "item_knn",
            "--num-samples",
            "3",
            "--registry",
            str(tmp_path / "reg"),
            "--storage-path",
            str(tmp_path / "tune"),
            "--smoke-test",
        ]
    )
    assert rc == 0
    out = capsys.readouterr().out
    assert "config/neighbors" in out and "registered item_knn@1" in out
    mv = Registry(str(tmp_path / "reg")).get("item_knn")
    assert set(mv.metadata["config"]) >= {"neighbors", "shrinkage"}
    assert "validation" not in mv.metadata["split"]  # the registered metrics are test metrics
    # The trial table is printed best first: the registered config is that trial's.
    lines = out.splitlines()
    at = next(n for n, line in enumerate(lines) if "config/neighbors" in line)
    header, best = lines[at].split(), lines[at + 1].split()
    trials = [line.split() for line in lines[at + 1 : at + 4]]
    ndcg = header.index("ndcg")
    assert float(best[ndcg]) == max(float(t[ndcg]) for t in trials)
    for key in ("neighbors", "shrinkage"):
        printed = float(best[header.index(f"config/{key}")])  # printed to 6 places
        assert float(mv.metadata["config"][key]) == pytest.approx(printed, rel=1e-5)


def test_every_tunable_space_names_real_parameters():
    import dataclasses

    from entertainai.model import model_class

    for kind, space in SPACES.items():
        fields = {f.name for f in dataclasses.fields(model_class(kind).Config)}
        assert set(space) <= fields, kind
