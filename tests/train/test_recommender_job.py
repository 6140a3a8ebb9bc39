"""train.recommender on a local Ray: a Ray task for CPU models, TorchTrainer for torch ones."""

from __future__ import annotations

from pathlib import Path

from entertainai.model import load_model
from entertainai.registry import Registry
from train import recommender


def test_cpu_model_trains_as_ray_task(ray_session, demo_dir: Path, tmp_path: Path, capsys):
    rc = recommender.main(
        [
            "--data",
            str(demo_dir),
            "--model",
            "ease",
            "--registry",
            str(tmp_path / "reg"),
            "--name",
            "ease-x",
        ]
    )
    assert rc == 0
    assert "registered ease-x@1" in capsys.readouterr().out
    registry = Registry(str(tmp_path / "reg"))
    mv = registry.get("ease-x")
    assert mv.kind == "ease" and mv.metrics["ndcg"] > 0
    assert mv.metadata["trained_on"].startswith("all interactions")
    assert_never_recommends_history(load_model(registry.local_path("ease-x")), demo_dir)


def assert_never_recommends_history(model, demo_dir: Path) -> None:
    """The registered model knows every interaction: none comes back as a recommendation."""
    from entertainai.data.dataset import Dataset

    interactions = Dataset.open(str(demo_dir)).interactions
    history: dict[str, set[str]] = {}
    for u, i in zip(
        interactions.column("user_id").to_pylist(),
        interactions.column("item_id").to_pylist(),
        strict=True,
    ):
        history.setdefault(str(u), set()).add(str(i))
    users = sorted(history)
    recs = model.recommend(users, k=10)
    repeats = sum(len({i for i, _ in recs.row(r)} & history[u]) for r, u in enumerate(users))
    assert repeats == 0


def test_bad_arguments_are_clear(tmp_path: Path, demo_dir: Path, capsys):
    assert (
        recommender.main(["--data", str(demo_dir), "--model", "nope", "--registry", str(tmp_path)])
        == 2
    )
    assert "unknown recommender 'nope'" in capsys.readouterr().err
    assert recommender.main(["--data", str(tmp_path / "missing"), "--model", "ease"]) == 2
