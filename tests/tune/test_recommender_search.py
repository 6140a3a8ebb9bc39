"""A small ASHA search end to end: trials on the validation split, best refit and registered."""

from __future__ import annotations

from pathlib import Path

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


def test_every_tunable_space_names_real_parameters():
    import dataclasses

    from entertainai.model import model_class

    for kind, space in SPACES.items():
        fields = {f.name for f in dataclasses.fields(model_class(kind).Config)}
        assert set(space) <= fields, kind
