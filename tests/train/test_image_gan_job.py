"""train.image_gan on the test session's Ray: classifier task + one tiny TorchTrainer run."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from train import image_gan


def test_bad_data_is_one_line_error(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.npz"
    np.savez(bad, pixels=np.zeros((3, 8, 8)))
    rc = image_gan.main(["--data", str(bad), "--registry", str(tmp_path / "reg")])
    err = capsys.readouterr().err
    assert rc == 2 and "bad.npz: no 'images' array" in err and "Traceback" not in err
