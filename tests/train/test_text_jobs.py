"""The text generation Ray jobs end to end on a tiny corpus (``--smoke-test``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from entertainai.model import load_model
from entertainai.registry import Registry

CORPUS = "the cat sat on the mat. the dog sat on the log.\n" * 30


@pytest.fixture()
def corpus(tmp_path: Path) -> Path:
    path = tmp_path / "corpus.txt"
    path.write_text(CORPUS)
    return path


def test_transformer_job_registers_a_loadable_model(ray_session, corpus: Path, tmp_path: Path):
    from train.text_transformer import main

    registry = tmp_path / "registry"
    argv = ["--data", str(corpus), "--registry", str(registry), "--smoke-test"]
    argv += ["--storage-path", str(tmp_path / "runs"), "--alias", "production"]
    assert main(argv) == 0
    mv = Registry(str(registry)).get("text_transformer@production")
    assert mv.kind == "text_transformer" and mv.metrics["step"] == 20
    assert 0 < mv.metrics["val_nats_per_char"] < 4.0
    model = load_model(Registry(str(registry)).local_path(mv.ref))
    assert len(model("the ", max_new_tokens=10, seed=0).texts[0]) == 10


def test_job_errors_are_one_line(corpus: Path, tmp_path: Path, capsys):
    from train.text_transformer import main

    assert main(["--data", str(tmp_path / "nope.txt"), "--registry", str(tmp_path)]) == 2
    assert "nope.txt: no such file" in capsys.readouterr().err
    assert main(["--data", str(corpus), "--param", "n_layers=2"]) == 2
    assert "unknown TextTransformerConfig parameters ['n_layers']" in capsys.readouterr().err


@pytest.mark.slow
def test_lstm_job_through_tensorflow_trainer(ray_session, corpus: Path, tmp_path: Path):
    from train.text_lstm import main

    registry = tmp_path / "registry"
    argv = ["--data", str(corpus), "--registry", str(registry), "--smoke-test"]
    assert main(argv + ["--storage-path", str(tmp_path / "runs")]) == 0
    mv = Registry(str(registry)).get("text_lstm")
    assert mv.kind == "text_lstm" and mv.metrics["step"] == 10
    model = load_model(Registry(str(registry)).local_path(mv.ref))
    assert len(model("the ", max_new_tokens=10, seed=0).texts[0]) == 10
