"""The CLI end to end in-process: train, analyze a file in order, moderate, one-line errors."""

from __future__ import annotations

import csv
from pathlib import Path

from entertainai.cli.main import main


def test_train_analyze_moderate(demo_dir: Path, tmp_path: Path, capsys):
    reg = str(tmp_path / "registry")
    assert (
        main(["train", "sentiment", "--data", str(demo_dir), "--model", "tfidf", "--registry", reg])
        == 0
    )
    assert "registered sentiment@1 (tfidf_linear)" in capsys.readouterr().out
    src = tmp_path / "in.csv"
    src.write_text("id,text\n1,loved it wonderful\n2,hated it awful\n3,so-so ordinary\n")
    out = tmp_path / "out.csv"
    argv = ["analyze", "sentiment", "--model", "sentiment@production", "--input", str(src)]
    assert main(argv + ["--out", str(out), "--registry", reg]) == 0
    rows = list(csv.DictReader(out.open()))
    assert [r["text"] for r in rows] == ["loved it wonderful", "hated it awful", "so-so ordinary"]
    assert [r["label"] for r in rows] == ["positive", "negative", "neutral"]
    assert {"compound", "p_negative", "p_neutral", "p_positive"} <= set(rows[0])

    assert (
        main(
            ["train", "moderation", "--data", str(demo_dir), "--model", "tfidf", "--registry", reg]
        )
        == 0
    )
    verdicts = tmp_path / "v.parquet"
    argv = ["moderate", "text", "--input", str(src), "--out", str(verdicts), "--registry", reg]
    assert main(argv) == 0 and verdicts.exists()


def test_user_errors_are_one_line(tmp_path: Path, capsys):
    src = tmp_path / "in.csv"
    src.write_text("id,body\n1,x\n")
    argv = ["analyze", "sentiment", "--model", "lexicon", "--input", str(src), "--out"]
    assert main(argv + [str(tmp_path / "o.csv")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("entertainai: error:") and "no column 'text'" in err and "\n" not in err
    assert main(argv + [str(tmp_path / "o.json"), "--text-col", "body"]) == 2
    assert "--out must end in .csv or .parquet" in capsys.readouterr().err
    bad = tmp_path / "bad.csv"
    bad.write_text("text,label\nok,a\n,b\n")
    assert main(["train", "emotion", "--data", str(bad), "--model", "tfidf"]) == 2
    assert "bad.csv:line 3, column 'text': empty text" in capsys.readouterr().err
    argv = ["analyze", "emotion", "--model", "nothing@production", "--input", str(src)]
    assert main(argv + ["--out", str(tmp_path / "o.csv"), "--registry", str(tmp_path)]) == 2
    assert "nothing" in capsys.readouterr().err
