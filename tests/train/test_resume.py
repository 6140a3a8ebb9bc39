"""Every Ray Train job resumes from its last checkpoint after a worker failure.

``make run`` trains every capability through ``train.capabilities``. Here that run happens once,
at smoke size, with ``ENTERTAINAI_FAIL_ONCE=1:DIR``: every Ray Train job's worker (torch jobs
through ``train.torch_runner``; ``train.text_lstm`` is tf-keras) raises once right after
checkpointing epoch 1, ``FailureConfig`` restarts it, and the retry must continue at epoch 1
(``resumed_at``), not 0, and register a model that works. The recommender job is not a
capability: it runs on its own, with two DDP workers and its final fit on all interactions. One run serves both the resume check and
the check that every capability trains (the slowest part of the suite, so it runs once).
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from entertainai.model import load_model
from entertainai.registry import ModelVersion, Registry
from tests.train.test_recommender_job import assert_never_recommends_history
from train import capabilities, recommender
from train.torch_runner import FAIL_ONCE_ENV


@pytest.fixture(scope="module")
def every_capability(ray_session, demo_dir: Path, tmp_path_factory) -> tuple[Registry, Path]:
    """One smoke run of every capability in which each Ray Train job fails once."""
    tmp = tmp_path_factory.mktemp("capabilities")
    markers = tmp / "failed-once"
    markers.mkdir()
    root = tmp / "registry"
    argv = ["--data", str(demo_dir), "--registry", str(root), "--smoke-test"]
    report = io.StringIO()
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(report):
        patch.setenv(FAIL_ONCE_ENV, f"1:{markers}")
        assert capabilities.main(argv + ["--storage-path", str(tmp / "runs")]) == 0
    (tmp / "report.md").write_text(report.getvalue())
    return Registry(str(root)), markers


def test_every_capability_trains_and_is_promoted(every_capability) -> None:
    registry, markers = every_capability
    report = (markers.parent / "report.md").read_text()
    assert "melody_lstm: registered melody_lstm@1 (production) valid_nll=" in report
    assert f"| **total** | {len(capabilities.CAPABILITIES)} ok, 0 failed |" in report
    assert registry.get("melody_lstm@production").metadata["data"] == "demo"
    for name in capabilities.CAPABILITIES:
        assert load_model(registry.local_path(f"{name}@production")).kind
    assert registry.aliases("image_features")["production"] == 1


def _gan(registry: Registry, mv: ModelVersion, model: Any) -> None:
    assert registry.get("image_features@production").kind == "image_features"
    assert mv.metrics["frechet"] >= 0 and 0 <= mv.metrics["classes_present"] <= 10
    assert mv.metrics["baseline_frechet"] > mv.metrics["real_frechet"]
    assert not (registry.local_path(mv.ref) / "trainer_state.pt").exists()  # no trainer state
    assert np.array_equal(model.sample(3, seed=0), model.sample(3, seed=0))


def _writes(registry: Registry, mv: ModelVersion, model: Any) -> None:
    assert len(model("the ", max_new_tokens=10, seed=0).texts[0]) == 10


def _composes(registry: Registry, mv: ModelVersion, model: Any) -> None:
    assert 0 < mv.metrics["valid_nll"] < 10
    assert model(primer="60", length_steps=8, seed=1).midi.startswith(b"MThd")


def _sounds(registry: Registry, mv: ModelVersion, model: Any) -> None:
    assert len(model(num_samples=64, seed=0).samples) == 64


RAY_TRAIN_CAPABILITIES: dict[str, Callable[[Registry, ModelVersion, Any], None]] = {
    "dcgan": _gan,
    "text_transformer": _writes,
    "text_lstm": _writes,
    "melody_lstm": _composes,
    "wavenet": _sounds,
}


def test_the_parametrisation_covers_every_ray_train_capability() -> None:
    ray_train = {n for n, c in capabilities.CAPABILITIES.items() if c.ray_train}
    assert ray_train == set(RAY_TRAIN_CAPABILITIES)


@pytest.mark.parametrize("name", [*RAY_TRAIN_CAPABILITIES, "bpr"])
def test_worker_failure_resumes_from_the_last_checkpoint(
    name: str, every_capability, demo_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if name == "bpr":
        registry, markers = _recommender_job(demo_dir, tmp_path, monkeypatch)
    else:
        registry, markers = every_capability
    assert (markers / name).exists()  # the worker really failed once
    mv = registry.get(f"{name}@production")
    assert mv.metadata["trainer"] == (
        "TensorflowTrainer" if name == "text_lstm" else "TorchTrainer"
    )
    # The retry restored module, optimiser and epoch: it started at epoch 1, not 0.
    assert mv.metrics["resumed_at"] == 1
    model = load_model(registry.local_path(mv.ref))
    if name == "bpr":  # metrics of the split run; the registered model is the refit on all data
        assert mv.metrics["epoch"] == 3 and mv.metrics["ndcg"] > 0
        assert len(model.recommend(["u00000", "u00001"], k=5).row(0)) == 5
        assert "trainer_state.pt" not in mv.metadata["files"]
        assert mv.metadata["trained_on"].startswith("all interactions")
        assert_never_recommends_history(model, demo_dir)
    else:
        RAY_TRAIN_CAPABILITIES[name](registry, mv, model)


def _recommender_job(
    demo_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Registry, Path]:
    markers = tmp_path / "failed-once"
    markers.mkdir()
    monkeypatch.setenv(FAIL_ONCE_ENV, f"1:{markers}")
    root = tmp_path / "registry"
    argv = ["--data", str(demo_dir), "--model", "bpr", "--report-every", "1"]
    argv += ["--workers", "2", "--cpus-per-worker", "0.5", "--smoke-test"]
    argv += ["--registry", str(root), "--storage-path", str(tmp_path / "runs")]
    assert recommender.main(argv) == 0
    return Registry(str(root)), markers
