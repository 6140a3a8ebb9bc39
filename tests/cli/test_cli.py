"""The `entertainai` command: happy paths and one-line errors with exit status 2."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from entertainai.cli.main import main


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "demo"
    assert main(["data", "load", "demo:200", "--out", str(out)]) == 0
    return out


def command_paths(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()):
    """Every command path of the parser, walked (so a new command cannot be forgotten)."""
    yield prefix
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from command_paths(sub, (*prefix, name))


def test_every_command_has_help(capsys):
    from entertainai.cli.main import build_parser

    paths = list(command_paths(build_parser()))
    assert len(paths) > 30 and ("models", "promote") in paths and ("serve",) in paths
    for argv in paths:
        with pytest.raises(SystemExit) as exit_info:
            main([*argv, "--help"])
        assert exit_info.value.code == 0, argv
        out = capsys.readouterr().out
        assert out.startswith("usage: entertainai") and len(out.splitlines()) > 2, argv


def test_data_load_and_describe(demo: Path, capsys):
    assert main(["data", "describe", str(demo), "--verify"]) == 0
    out = capsys.readouterr().out
    assert "interactions" in out and "source    demo" in out


def test_train_promote_rollback_recommend(demo: Path, tmp_path: Path, capsys):
    reg = str(tmp_path / "reg")
    for _ in range(2):
        assert (
            main(
                [
                    "train",
                    "recommender",
                    "--data",
                    str(demo),
                    "--model",
                    "item_knn",
                    "--registry",
                    reg,
                ]
            )
            == 0
        )
    assert main(["models", "--registry", reg, "promote", "item_knn", "1"]) == 0
    assert main(["models", "--registry", reg, "promote", "item_knn", "2"]) == 0
    assert main(["models", "--registry", reg, "rollback", "item_knn"]) == 0
    capsys.readouterr()
    assert main(["models", "--registry", reg, "show", "item_knn@production"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["version"] == 1 and shown["kind"] == "item_knn" and "ndcg" in shown["metrics"]
    assert main(["models", "--registry", reg, "list"]) == 0
    listing = capsys.readouterr().out
    assert "latest" in listing and "production" in listing
    assert (
        main(
            [
                "recommend",
                "--registry",
                reg,
                "--model",
                "item_knn@production",
                "--users",
                "u00001,nobody",
                "--k",
                "3",
            ]
        )
        == 0
    )
    lines = capsys.readouterr().out.strip().splitlines()
    assert (
        lines[0].startswith("u00001: ")
        and lines[1].startswith("nobody: ")
        and lines[0].count("(") == 3
    )


def test_evaluate_writes_json_markdown_png(demo: Path, tmp_path: Path, capsys):
    out = tmp_path / "eval"
    argv = [
        "evaluate",
        "recommenders",
        "--data",
        str(demo),
        "--models",
        "popularity,item_knn",
        "--split",
        "temporal:0.2",
        "--out",
        str(out),
    ]
    assert main(argv) == 0
    results = json.loads((out / "results.json").read_text())
    assert [r["model"] for r in results] == ["popularity", "item_knn"]
    assert "| item_knn |" in (out / "results.md").read_text()
    assert (out / "results.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["data", "describe", "/no/such/dir"], "no such dataset"),
        (["data", "load", "ftp:x", "--out", "/tmp/x"], "movielens:PATH"),
        (["models", "--registry", "/tmp/empty-reg", "show", "nothing"], "no model named"),
        (["models", "promote", "Bad Name", "1"], "invalid model name"),
    ],
)
def test_errors_are_one_line_with_status_2(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.startswith("entertainai: error:")


def test_bad_split_and_model_names(demo: Path, tmp_path: Path, capsys):
    assert (
        main(
            [
                "evaluate",
                "recommenders",
                "--data",
                str(demo),
                "--models",
                "nope",
                "--out",
                str(tmp_path),
            ]
        )
        == 2
    )
    assert "unknown recommender" in capsys.readouterr().err
    assert (
        main(
            [
                "evaluate",
                "recommenders",
                "--data",
                str(demo),
                "--split",
                "weird",
                "--out",
                str(tmp_path),
            ]
        )
        == 2
    )
    assert "unknown split" in capsys.readouterr().err


def test_promote_refuses_what_serving_cannot_use(demo: Path, tmp_path: Path, capsys):
    reg = str(tmp_path / "reg")
    train = ["train", "recommender", "--data", str(demo), "--registry", reg, "--name", "hybrid"]
    assert main([*train, "--model", "hybrid", "--param", "weights=1,1,1"]) == 0
    assert main([*train, "--model", "popularity"]) == 0  # hybrid@2: no trending component
    assert main(["models", "--registry", reg, "promote", "hybrid", "1"]) == 0
    capsys.readouterr()
    assert main(["models", "--registry", reg, "promote", "hybrid", "2"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no trending component" in err
    assert "refusing to promote hybrid@2" in err
    assert main(["models", "--registry", reg, "show", "hybrid@production"]) == 0
    assert json.loads(capsys.readouterr().out)["version"] == 1  # the alias did not move
    assert main(["models", "--registry", reg, "promote", "hybrid", "2", "--force"]) == 0
