"""`entertainai events export`: the served event logs as a new dataset, from the shell."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from entertainai.cli.main import main
from entertainai.data.dataset import Dataset
from entertainai.serving.event_log import EventLog
from entertainai.serving.event_validation import Event


def test_events_export_writes_a_dataset_and_is_idempotent(tmp_path: Path, capsys) -> None:
    base = tmp_path / "demo"
    assert main(["data", "load", "demo:50", "--out", str(base)]) == 0
    now = time.time()
    with EventLog(tmp_path / "events" / "gateway-1", fsync=False) as log:
        log.append(
            [Event("u00001", "i00002", "play", 1.0, now), Event("new", "i00003", "like", 1.0, now)]
        )
        argv = ["events", "export", "--events", str(tmp_path / "events"), "--base", str(base)]
        argv += ["--registry", str(tmp_path / "reg")]
        capsys.readouterr()
        assert main([*argv, "--out", str(tmp_path / "v1"), "--json"]) == 0
        first = json.loads(capsys.readouterr().out)
        assert main([*argv, "--out", str(tmp_path / "v2"), "--base", str(tmp_path / "v1")]) == 0
    assert first["added"] == 2 and first["logs"] == 1
    assert "0 new events from 1 logs" in capsys.readouterr().out
    v1, v2 = Dataset.open(str(tmp_path / "v1")), Dataset.open(str(tmp_path / "v2"))
    assert v1.manifest.content_hash == v2.manifest.content_hash == first["content_hash"]
    base_rows = Dataset.open(str(base)).manifest.counts["interactions"]
    assert v1.manifest.counts["interactions"] == base_rows + 2


def test_events_export_errors_are_one_line(tmp_path: Path, capsys) -> None:
    rc = main(["events", "export", "--out", str(tmp_path / "o"), "--events", str(tmp_path / "x")])
    err = capsys.readouterr().err
    assert rc == 2 and "no such event log directory" in err and err.count("\n") == 1


@pytest.mark.parametrize("argv", [["events"], ["events", "export"]])
def test_events_help(argv: list[str], capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([*argv, "--help"])
    assert exit_info.value.code == 0
    assert "usage: entertainai events" in capsys.readouterr().out
