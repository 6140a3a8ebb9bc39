"""train.image_gan on the test session's Ray: classifier task + one tiny TorchTrainer run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from entertainai.generate.dcgan import DCGAN
from entertainai.model import load_model
from entertainai.registry import Registry
from train import image_gan


@pytest.mark.slow
def test_smoke_run_registers_gan_and_features(ray_session, tmp_path: Path, capsys) -> None:
    registry = tmp_path / "reg"
    rc = image_gan.main(
        [
            "--data",
            "digits",
            "--smoke-test",
            "--limit",
            "200",
            "--eval-samples",
            "40",
            "--registry",
            str(registry),
            "--storage-path",
            str(tmp_path / "runs"),
            "--promote",
        ]
    )
    assert rc == 0
    assert "registered dcgan@1 (dcgan): frechet=" in capsys.readouterr().out
    reg = Registry(str(registry))
    gan, features = reg.get("dcgan@production"), reg.get("image_features@production")
    assert gan.kind == "dcgan" and features.kind == "image_features"
    assert gan.metrics["epoch"] == 2 and gan.metrics["frechet"] >= 0
    assert gan.metrics["baseline_frechet"] > gan.metrics["real_frechet"]
    assert 0 <= gan.metrics["classes_present"] <= 10
    model = load_model(reg.local_path("dcgan@production"))
    assert (
        isinstance(model, DCGAN) and not (reg.local_path("dcgan@1") / "trainer_state.pt").exists()
    )
    assert model.sample(3, seed=0).shape == (3, 8, 8, 1)
    assert np.array_equal(model.sample(3, seed=0), model.sample(3, seed=0))


def test_bad_data_is_one_line_error(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.npz"
    np.savez(bad, pixels=np.zeros((3, 8, 8)))
    rc = image_gan.main(["--data", str(bad), "--registry", str(tmp_path / "reg")])
    err = capsys.readouterr().err
    assert rc == 2 and "bad.npz: no 'images' array" in err and "Traceback" not in err
