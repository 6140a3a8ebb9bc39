"""Batch recommendations through Ray Data match the single-process core function."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from entertainai.cli.main import main as cli
from entertainai.model import load_model
from entertainai.recommend.batch import recommend_rows
from train import batch_recommend


def test_ray_data_batch_equals_single_process(ray_session, demo_dir: Path, tmp_path: Path):
    reg = str(tmp_path / "reg")
    assert (
        cli(["train", "recommender", "--data", str(demo_dir), "--model", "ease", "--registry", reg])
        == 0
    )
    out = tmp_path / "recs.parquet"
    assert (
        cli(
            [
                "recommend",
                "--registry",
                reg,
                "--model",
                "ease",
                "--users",
                "all",
                "--k",
                "5",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    rows = pq.read_table(out).sort_by([("user_id", "ascending"), ("rank", "ascending")])
    model = load_model(Path(reg) / "ease" / "1")
    expected = recommend_rows(model, model.user_ids_.astype(str), 5).sort_by(
        [("user_id", "ascending"), ("rank", "ascending")]
    )
    assert rows.num_rows == len(model.user_ids_) * 5
    assert rows.column("item_id").to_pylist() == expected.column("item_id").to_pylist()
    np.testing.assert_allclose(
        rows.column("score").to_numpy(), expected.column("score").to_numpy(), rtol=1e-5
    )


def test_users_file_and_csv_output(ray_session, demo_dir: Path, tmp_path: Path, capsys):
    reg = str(tmp_path / "reg")
    assert (
        cli(
            [
                "train",
                "recommender",
                "--data",
                str(demo_dir),
                "--model",
                "popularity",
                "--registry",
                reg,
            ]
        )
        == 0
    )
    users = tmp_path / "users.txt"
    users.write_text("u00001\nnobody\n\n")
    out = tmp_path / "recs.csv"
    argv = [
        "--registry",
        reg,
        "--model",
        "popularity",
        "--users",
        str(users),
        "--k",
        "3",
        "--out",
        str(out),
    ]
    assert batch_recommend.main(argv) == 0
    table = pacsv.read_csv(out)
    assert table.num_rows == 6 and set(table.column("user_id").to_pylist()) == {"u00001", "nobody"}
    assert batch_recommend.main([*argv[:-1], str(tmp_path / "x.txt")]) == 2
    assert ".parquet or .csv" in capsys.readouterr().err
