"""train.melody / train.wavenet: one tiny TorchTrainer run on the test Ray, and clear errors."""

from __future__ import annotations

import json
from pathlib import Path

from entertainai.generate import music_data as md
from train import melody, wavenet


def jsb_file(path: Path) -> Path:
    vocab = md.Vocab()

    def chorale(tonic: int) -> list[list[int]]:
        return [[tonic + [0, 2, 4, 5, 7][i % 5], tonic - 12] for i in range(40) for _ in range(2)]

    corpus = {
        "train": [chorale(t) for t in range(60, 68)],
        "valid": [chorale(62)],
        "test": [chorale(64)],
    }
    path.write_text(json.dumps(corpus))
    assert md.load_corpus(path, "train", vocab)
    return path


def test_bad_data_and_params_fail_before_ray_with_one_line(tmp_path: Path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("{oops")
    assert melody.main(["--data", str(bad), "--registry", str(tmp_path)]) == 2
    assert "bad.json: not valid JSON" in capsys.readouterr().err
    data = jsb_file(tmp_path / "jsb.json")
    assert melody.main(["--data", str(data), "--param", "hiden=3"]) != 0
    assert "unknown MelodyConfig parameters ['hiden']" in capsys.readouterr().err
    assert wavenet.main(["--data", str(tmp_path / "nowhere"), "--registry", str(tmp_path)]) == 2
    assert "not a directory of WAV files" in capsys.readouterr().err
