"""train.capabilities: every capability's job run in-process, registered and promoted."""

from __future__ import annotations

from pathlib import Path

from entertainai.model import load_model
from entertainai.registry import Registry
from train import capabilities


def test_trains_registers_and_promotes(ray_session, demo_dir: Path, tmp_path: Path, capsys):
    root = tmp_path / "registry"
    argv = ["--data", str(demo_dir), "--registry", str(root), "--smoke-test"]
    # Two jobs without Ray Train (every capability, Ray Train jobs included, trains once in
    # tests/train/test_resume.py).
    argv += ["--only", "segments,topics"]
    assert capabilities.main(argv) == 0
    out = capsys.readouterr().out
    assert "segments: registered segments@1 (production) planted_ari=" in out
    assert "topics: registered topics@1 (production) npmi=" in out
    assert "| **total** | 2 ok, 0 failed |" in out
    registry = Registry(str(root))
    assert sorted(registry.names()) == ["segments", "topics"]
    assert load_model(registry.local_path("segments@production")).kind == "segments"
    assert load_model(registry.local_path("topics@production")).kind == "topics"

    # A rerun registers new versions and leaves production where it was.
    assert capabilities.main(argv[:-2] + ["--only", "topics"]) == 0
    assert registry.aliases("topics")["latest"] == 2
    assert "topics: registered topics@2" in capsys.readouterr().out


def test_a_failure_is_one_line_with_its_rerun_and_the_rest_go_on(
    ray_session, demo_dir: Path, tmp_path: Path, monkeypatch, capsys
):
    from train import topics

    def broken(argv: list[str]) -> int:
        raise RuntimeError("out of ideas\nsecond line")

    monkeypatch.setattr(topics, "main", broken)
    root = tmp_path / "registry"
    argv = ["--data", str(demo_dir), "--registry", str(root), "--smoke-test"]
    assert capabilities.main(argv + ["--only", "topics,segments"]) == 1
    out = capsys.readouterr().out
    assert (
        "topics: FAILED after 0s: RuntimeError: out of ideas; rerun: python -m train.topics "
        f"--data {demo_dir} --registry {root} --smoke-test\n"
    ) in out
    assert "segments: registered segments@1 (production)" in out
    assert Registry(str(root)).names() == ["segments"]


def test_outcomes_of_jobs_that_fail_or_register_nothing(tmp_path: Path):
    capability = capabilities.CAPABILITIES["topics"]
    root = str(tmp_path / "registry")
    failed = capabilities.train_one(capability, "/data", root, main=lambda argv: 2)
    assert not failed.ok and failed.error == "exit status 2 (its error is above)"
    assert failed.rerun == "python -m train.topics --data /data --registry " + root
    nothing = capabilities.train_one(capability, "/data", root, main=lambda argv: 0)
    assert nothing.error == "the job registered no new topics version"
    fast = capabilities.CAPABILITIES["dcgan"].argv("/d", root, "fast", smoke_test=False)
    assert fast[:2] == ["--data", "digits"] and "--epochs" in fast
    assert "--epochs" not in capabilities.CAPABILITIES["dcgan"].argv("/d", root, "full", False)


def test_bad_arguments_fail_before_ray(tmp_path: Path, capsys):
    assert capabilities.main(["--data", str(tmp_path), "--only", "topics,nope"]) == 2
    assert "unknown capabilities ['nope']" in capsys.readouterr().err
    assert capabilities.main(["--data", str(tmp_path / "none")]) == 2
    assert "no such dataset" in capsys.readouterr().err
