"""The text classifier Ray job end to end on the test session's Ray: train, evaluate, register."""

from __future__ import annotations

from pathlib import Path

import pytest

from entertainai.analytics.text_tasks import load_classifier
from entertainai.registry import Registry
from train import sentiment
from train.text_classifier import main


@pytest.mark.slow
def test_sentiment_job_registers_production(ray_session, demo_dir: Path, tmp_path: Path, capsys):
    registry = tmp_path / "registry"
    argv = ["--data", str(demo_dir), "--model", "tfidf", "--registry", str(registry)]
    assert sentiment.main(argv + ["--smoke-test"]) == 0
    assert "registered sentiment@1 (tfidf_linear)" in capsys.readouterr().out
    mv = Registry(str(registry)).get("sentiment@production")
    assert mv.version == 1 and mv.metadata["trainer"] == "ray task"
    assert mv.metrics["macro_f1"] > 0.6 and mv.metadata["classes"] == [
        "negative",
        "neutral",
        "positive",
    ]
    model = load_classifier("sentiment@production", Registry(str(registry)))
    assert model.predict(["loved it wonderful"]).labels() == [["positive"]]


def test_job_user_errors_are_one_line(tmp_path: Path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("text,label\nfine,pos\n,neg\n")
    assert main(["--task", "sentiment", "--data", str(bad), "--model", "tfidf"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "bad.csv:line 3, column 'text': empty text" in err
    assert main(["--task", "emotion", "--data", str(bad), "--model", "lexicon"]) == 2
    assert "lexicon model does sentiment only" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--task", "poetry", "--data", str(bad)])
