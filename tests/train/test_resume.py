"""Every torch Ray Train job resumes from its last checkpoint after a worker failure.

One parametrised test over every Ray Train job in ``train/`` (the torch ones run through
``train.torch_runner``; ``train.text_lstm`` is tf-keras):
each runs its own ``main`` at smoke size with ``ENTERTAINAI_FAIL_ONCE=1:MARKER``, so a worker
raises once right after checkpointing epoch 1; ``FailureConfig`` restarts it, and the retry must
continue at epoch 1 (``resumed_at``), not 0, and register a model that loads.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from entertainai.model import load_model
from entertainai.registry import Registry
from train.torch_runner import FAIL_ONCE_ENV

CORPUS = "the cat sat on the mat. the dog sat on the log.\n" * 30


def _recommender(kind: str) -> Callable[[Path, Path], list[str]]:
    def argv(tmp: Path, demo: Path) -> list[str]:
        # --no-refit: one fit (the split run) is enough to see the resume.
        return ["--data", str(demo), "--model", kind, "--report-every", "1", "--no-refit"]

    return argv


def _corpus(tmp: Path, demo: Path) -> list[str]:
    (tmp / "corpus.txt").write_text(CORPUS)
    return ["--data", str(tmp / "corpus.txt")]


JOBS: dict[str, tuple[str, Callable[[Path, Path], list[str]], str, int]] = {
    # job id: (module, argv, registry name, epochs at smoke size)
    "bpr": ("recommender", _recommender("bpr"), "bpr", 3),
    "two_tower": ("recommender", _recommender("two_tower"), "two_tower", 3),
    "melody": ("melody", lambda tmp, demo: ["--data", "demo"], "melody_lstm", 2),
    "wavenet": ("wavenet", lambda tmp, demo: ["--data", "demo"], "wavenet", 2),
    "image_gan": (
        "image_gan",
        lambda tmp, demo: ["--limit", "160", "--eval-samples", "32", "--report-every", "1"],
        "dcgan",
        2,
    ),
    "text_transformer": ("text_transformer", _corpus, "text_transformer", 2),
    # tf-keras under TensorflowTrainer, not torch; resumes the same way (slow, as its job test).
    "text_lstm": ("text_lstm", _corpus, "text_lstm", 2),
}
SLOW = {"text_lstm"}


@pytest.mark.parametrize(
    "job", [pytest.param(j, marks=pytest.mark.slow) if j in SLOW else j for j in JOBS]
)
def test_worker_failure_resumes_from_the_last_checkpoint(
    job: str, ray_session, demo_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib

    module_name, argv, name, epochs = JOBS[job]
    main = importlib.import_module(f"train.{module_name}").main
    marker = tmp_path / "failed-once"
    monkeypatch.setenv(FAIL_ONCE_ENV, f"1:{marker}")
    registry = tmp_path / "reg"
    rc = main(
        argv(tmp_path, demo_dir)
        + ["--smoke-test", "--max-failures", "1", "--registry", str(registry)]
        + ["--storage-path", str(tmp_path / "runs")]
    )
    assert rc == 0
    assert marker.exists()  # the worker really failed once
    mv = Registry(str(registry)).get(name)
    assert mv.metadata["trainer"] == ("TensorflowTrainer" if job == "text_lstm" else "TorchTrainer")
    # The retry restored module, optimiser and epoch: it started at epoch 1, not 0.
    assert mv.metrics["resumed_at"] == 1
    # The music jobs register their best validation checkpoint, the others their last.
    best_of = range(1, epochs + 1) if job in ("melody", "wavenet") else [epochs]
    assert mv.metrics["epoch"] in best_of
    assert load_model(Registry(str(registry)).local_path(name)).kind == mv.kind
