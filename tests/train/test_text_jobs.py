"""The text generation Ray jobs end to end on a tiny corpus (``--smoke-test``)."""

from __future__ import annotations

from pathlib import Path

import pytest

CORPUS = "the cat sat on the mat. the dog sat on the log.\n" * 30


@pytest.fixture()
def corpus(tmp_path: Path) -> Path:
    path = tmp_path / "corpus.txt"
    path.write_text(CORPUS)
    return path


def test_job_errors_are_one_line(corpus: Path, tmp_path: Path, capsys):
    from train.text_transformer import main

    assert main(["--data", str(tmp_path / "nope.txt"), "--registry", str(tmp_path)]) == 2
    assert "nope.txt: no such file" in capsys.readouterr().err
    assert main(["--data", str(corpus), "--param", "n_layers=2"]) == 2
    assert "unknown TextTransformerConfig parameters ['n_layers']" in capsys.readouterr().err
