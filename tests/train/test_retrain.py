"""The loop closes: live events → dataset → retrain → gate → promote (and a worse one is not)."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from entertainai.data.dataset import Dataset
from entertainai.model import load_model
from entertainai.recommend.retrain import RetrainConfig, retrain
from entertainai.recommend.training import TrainSpec, fit_and_evaluate, prepare, register
from entertainai.registry import Registry
from entertainai.serving.event_log import EventLog
from entertainai.serving.event_validation import Event
from train import events_export
from train import retrain as retrain_job

RAYJOB = Path(__file__).resolve().parents[2] / "deployments" / "kuberay" / "retrain-rayjob.yaml"
TARGETS = 12  # the least-watched available items: the taste the events plant
PICKS = 6  # of them each shifted user plays


@pytest.fixture(scope="module")
def production(demo_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A registry whose hybrid@production was trained (and promoted) on the demo data."""
    root = tmp_path_factory.mktemp("retrain") / "registry"
    registry = Registry(str(root))
    prepared = prepare(str(demo_dir), "random:0.2:42")
    spec = TrainSpec("hybrid")
    model, result = fit_and_evaluate(prepared, spec)
    register(registry, model, result, prepared, spec, promote=True)
    return root


@pytest.fixture
def registry_dir(production: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(production, tmp_path / "registry"))


@dataclass
class Shift:
    users: list[str]
    unplayed: dict[str, set[str]]  # per user: target items they have not played (yet)


@contextmanager
def replicas_with_a_new_taste(demo_dir: Path, root: Path) -> Iterator[Shift]:
    """Two live replicas log that 200 users suddenly play items of one small set."""
    ds = Dataset.open(str(demo_dir))
    counts: dict[str, int] = {}
    for item in ds.interactions.column("item_id").to_pylist():
        counts[item] = counts.get(item, 0) + 1
    available = [i["item_id"] for i in ds.items.to_pylist() if i["available"]]
    targets = sorted(available, key=lambda i: (counts.get(i, 0), i))[:TARGETS]
    users = sorted(set(ds.interactions.column("user_id").to_pylist()))[:200]
    rng = np.random.default_rng(0)
    now = time.time() - 3600
    unplayed = {}
    with (
        EventLog(root / "gateway-a", fsync=False) as a,
        EventLog(root / "gateway-b", fsync=False) as b,
    ):
        for j, user in enumerate(users):
            picks = rng.choice(targets, PICKS, replace=False).tolist()
            unplayed[user] = set(targets) - set(picks)
            batch = [
                Event(user, item, "play", 1.0, now + j + k / 10) for k, item in enumerate(picks)
            ]
            (a if j % 2 else b).append(batch)
        yield Shift(users, unplayed)  # the replicas stay open: the export reads live logs


def taste_hits(registry: Registry, shift: Shift) -> float:
    """Mean number of a shifted user's unplayed target items in what production serves."""
    model = load_model(registry.local_path("hybrid@production"))
    recs = model.recommend(shift.users, k=10)
    return float(
        np.mean(
            [
                len(set(row) & shift.unplayed[u])
                for u, row in zip(shift.users, recs.item_ids.tolist(), strict=True)
            ]
        )
    )


def test_new_taste_is_exported_retrained_and_promoted(
    demo_dir: Path, registry_dir: Path, tmp_path: Path
) -> None:
    registry = Registry(str(registry_dir))
    with replicas_with_a_new_taste(demo_dir, tmp_path / "events") as shift:
        before = taste_hits(registry, shift)
        report = retrain(
            RetrainConfig(
                registry=str(registry_dir),
                out=str(tmp_path / "run"),
                base=str(demo_dir),
                events=str(tmp_path / "events"),
            )
        )
    assert report.decision == "promoted" and report.same_config
    assert report.production_before == 1 and report.production_after == 2
    assert registry.aliases("hybrid")["production"] == 2
    assert report.dataset["export"]["added"] == 200 * PICKS
    after = taste_hits(registry, shift)
    assert before < 0.5 and after > before + 1.5, (before, after)  # the new taste is served

    saved = json.loads((tmp_path / "run" / "report.json").read_text())
    assert saved["decision"] == "promoted" and saved["candidate"]["ref"] == "hybrid@2"
    assert saved["production"]["metrics"]["ndcg"] == saved["candidate"]["metrics"]["ndcg"]
    assert "**Decision: promoted.**" in (tmp_path / "run" / "report.md").read_text()
    mv = registry.get("hybrid@2")
    assert (
        mv.metadata["dataset_hash"]
        == Dataset.open(str(tmp_path / "run" / "dataset")).manifest.content_hash
    )


def test_a_worse_candidate_is_gated_by_the_ray_job(
    ray_session, demo_dir: Path, registry_dir: Path, tmp_path: Path, capsys
) -> None:
    registry = Registry(str(registry_dir))
    history = registry.alias_history("hybrid")
    with replicas_with_a_new_taste(demo_dir, tmp_path / "events"):
        rc = retrain_job.main(
            [
                "--base",
                str(demo_dir),
                "--events",
                str(tmp_path / "events"),
                "--registry",
                str(registry_dir),
                "--out",
                str(tmp_path / "run"),
                "--model",
                "popularity",
            ]
        )
    assert rc == 0  # gated is an outcome, not a failure
    out = capsys.readouterr().out
    assert out.startswith("gated: candidate ndcg@10 ")
    assert registry.aliases("hybrid")["production"] == 1  # unchanged
    assert registry.alias_history("hybrid") == history
    assert [mv.version for mv in registry.versions("hybrid")] == [1]  # nothing registered
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert report["decision"] == "gated" and not report["same_config"]
    assert report["candidate"]["kind"] == "popularity" and report["production"]["kind"] == "hybrid"
    assert report["candidate"]["metrics"]["ndcg"] < report["production"]["metrics"]["ndcg"] - 0.01
    assert (
        " < production " in report["reason"] and "hybrid@1 stays in production" in report["reason"]
    )


def test_a_first_model_serving_could_not_use_is_refused(demo_dir: Path, tmp_path: Path) -> None:
    registry = Registry(str(tmp_path / "reg"))
    report = retrain(
        RetrainConfig(
            registry=str(tmp_path / "reg"),
            out=str(tmp_path / "run"),
            dataset=str(demo_dir),
            model="popularity",  # the Serve graph serves hybrid@production: needs trending
        )
    )
    assert report.decision == "refused" and report.production is None
    assert "no trending component" in report.reason
    assert registry.names() == []  # the refused version was not left behind as `latest`
    named = retrain(
        RetrainConfig(
            registry=str(tmp_path / "reg"),
            out=str(tmp_path / "r2"),
            dataset=str(demo_dir),
            name="pop",
            model="popularity",
        )
    )
    assert named.decision == "promoted" and registry.get("pop@production").version == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tolerance", "-1"], "--tolerance: must be a number >= 0"),
        (["--metric", "rmse"], "--metric: must be one of"),
        (["--model", "nope"], "unknown recommender 'nope'"),
        (["--param", "bogus=1"], "unknown HybridConfig parameters ['bogus']"),
        (["--dataset", "/nonexistent"], "no such dataset directory"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    args: list[str], message: str, registry_dir: Path, tmp_path: Path, capsys
) -> None:
    rc = retrain_job.main(["--registry", str(registry_dir), "--out", str(tmp_path / "r"), *args])
    err = capsys.readouterr().err
    assert rc == 2 and message in err and err.count("\n") == 1, err


def test_export_job_reads_the_same_on_every_node(
    ray_session, demo_dir: Path, tmp_path: Path, capsys
) -> None:
    with replicas_with_a_new_taste(demo_dir, tmp_path / "events"):
        common = ["--events", str(tmp_path / "events"), "--base", str(demo_dir)]
        common += ["--registry", str(tmp_path / "reg")]
        assert events_export.main(["--out", str(tmp_path / "driver"), *common]) == 0
        assert events_export.main(["--out", str(tmp_path / "nodes"), "--each-node", *common]) == 0
    out = capsys.readouterr().out
    assert f"{200 * PICKS} new events from 2 logs" in out
    driver, nodes = (Dataset.open(str(tmp_path / d)).manifest for d in ("driver", "nodes"))
    assert driver.content_hash == nodes.content_hash


def test_the_rayjob_runs_this_job_with_valid_arguments_on_the_service_image() -> None:
    import shlex

    import yaml

    from deployments import kuberay

    manifest = yaml.safe_load(RAYJOB.read_text())
    assert manifest["kind"] == "RayJob" and manifest["metadata"]["generateName"]
    spec = manifest["spec"]
    assert spec["rayClusterSpec"]["rayVersion"] == kuberay.RAY_VERSION
    pods = [spec["rayClusterSpec"]["headGroupSpec"]["template"], spec["submitterPodTemplate"]]
    pods += [g["template"] for g in spec["rayClusterSpec"]["workerGroupSpecs"]]
    assert {c["image"] for p in pods for c in p["spec"]["containers"]} == {kuberay.IMAGE}
    argv = shlex.split(spec["entrypoint"].replace("$(date -u +%Y%m%dT%H%M%SZ)", "now"))
    assert argv[:3] == ["python", "-m", "train.retrain"]
    args = retrain_job.build_parser().parse_args(argv[3:])
    assert args.events == "/mnt/events" and args.registry == kuberay.K8S_ARGS["registry"]
    mounts = spec["rayClusterSpec"]["headGroupSpec"]["template"]["spec"]["containers"][0]
    assert {"name": "events", "mountPath": "/mnt/events", "readOnly": True} in mounts[
        "volumeMounts"
    ]
