"""Ray Train, Tune and Data jobs via ``ray job submit`` on a two-node cluster; a node dies mid-Train."""

from __future__ import annotations

import signal
import time
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from entertainai.registry import Registry
from tests.cluster.cluster import RAY, LocalCluster, record_figure

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

# The same BPR run twice: once undisturbed, once with a node killed after the first checkpoint.
# 1.5 CPUs per worker on 2-CPU nodes: the two workers cannot share a node.
BPR = [
    "--model",
    "bpr",
    "--param",
    "epochs=20",  # the kill lands after the first checkpoint (epoch 2): 18 epochs to go
    "--workers",
    "2",
    "--cpus-per-worker",
    "1.5",
    "--report-every",
    "2",
    "--eval-users",
    "200",
]


@dataclass(frozen=True)
class CleanRun:
    ndcg: float
    worker_nodes: list[str]
    seconds: float


def train_command(demo_dir: Path, registry: Path, storage: Path, name: str) -> list[str]:
    return [
        "python",
        "-m",
        "train.recommender",
        "--data",
        str(demo_dir),
        *BPR,
        "--name",
        name,
        "--registry",
        str(registry),
        "--storage-path",
        str(storage),
        "--max-failures",
        "2",
    ]


def train_worker_nodes(cluster: LocalCluster, state: str | None = None) -> list[str]:
    names = cluster.node_names()
    actors = cluster.actors("RayTrainWorker")
    return sorted(
        names.get(a["node_id"], "dead") for a in actors if state is None or a["state"] == state
    )


@pytest.fixture(scope="package")
def clean_run(
    cluster: LocalCluster, demo_dir: Path, cluster_registry: Path, tmp_path_factory
) -> CleanRun:
    storage = tmp_path_factory.mktemp("train-clean")
    start = time.monotonic()
    job = cluster.submit(train_command(demo_dir, cluster_registry, storage, "bpr_clean"))
    seconds = time.monotonic() - start
    assert job.returncode == 0, job.stdout[-3000:] + job.stderr[-3000:]
    assert "registered bpr_clean@1" in job.stdout
    ndcg = Registry(str(cluster_registry)).get("bpr_clean").metrics["ndcg"]
    return CleanRun(ndcg, train_worker_nodes(cluster), seconds)


def test_train_job_workers_span_both_nodes(clean_run: CleanRun):
    # Two fits (the split run for the metrics, the final fit on all data), each on both nodes.
    assert sorted(clean_run.worker_nodes) == ["head", "head", "w1", "w1"], clean_run
    assert clean_run.ndcg > 0.05


def test_tune_search_job(cluster: LocalCluster, demo_dir: Path, cluster_registry: Path, tmp_path):
    job = cluster.submit(
        [
            "python",
            "-m",
            "tune.recommender",
            "--data",
            str(demo_dir),
            "--model",
            "ease",
            "--num-samples",
            "2",
            "--max-concurrent",
            "2",
            "--cpus-per-trial",
            "0.5",
            "--eval-users",
            "200",
            "--name",
            "ease_tuned",
            "--registry",
            str(cluster_registry),
            "--storage-path",
            str(tmp_path / "tune"),
            "--smoke-test",
        ]
    )
    assert job.returncode == 0, job.stdout[-3000:] + job.stderr[-3000:]
    best = Registry(str(cluster_registry)).get("ease_tuned")
    assert best.metrics["ndcg"] > 0.05


def test_data_batch_job_across_nodes(
    cluster: LocalCluster, clean_run: CleanRun, cluster_registry: Path, tmp_path
):
    out = tmp_path / "recs.parquet"
    job = cluster.submit(
        [
            "python",
            "-m",
            "train.batch_recommend",
            "--model",
            "bpr_clean@1",
            "--registry",
            str(cluster_registry),
            "--k",
            "5",
            "--out",
            str(out),
            "--batch-size",
            "64",
            "--actors",
            "2",
            # Leave a whole CPU free on a node: Ray Data's repartition task asks for 1.
            "--cpus-per-actor",
            "0.5",
        ]
    )
    assert job.returncode == 0, job.stdout[-3000:] + job.stderr[-3000:]
    table = pq.read_table(out)
    assert table.num_rows == 300 * 5  # every demo user, k rows each
    assert set(table.column_names) >= {"user_id", "item_id"}


def test_worker_node_killed_mid_train_resumes_from_checkpoint(
    cluster: LocalCluster, clean_run: CleanRun, demo_dir: Path, cluster_registry: Path, tmp_path
):
    cluster.add_worker("w2", num_cpus=2)  # the survivors must still fit two 1.5-CPU workers
    storage = tmp_path / "train"
    # One fit (--no-refit): the resume is what is measured; the clean run covers the refit.
    command = [*train_command(demo_dir, cluster_registry, storage, "bpr_kill"), "--no-refit"]
    job_id = cluster.submit_no_wait(command)
    deadline = time.monotonic() + 300
    # Mid-Train, after the controller has registered a checkpoint: rank 0 prints a line once
    # report() returns (a checkpoint directory on disk alone raced the report, and the run
    # restarted from epoch 0).
    while "checkpoint registered" not in cluster.job_logs(job_id):
        assert cluster.job_status(job_id) in ("PENDING", "RUNNING"), cluster.job_logs(job_id)
        assert time.monotonic() < deadline, "no checkpoint registered in 300 s"
        time.sleep(0.5)
    seen = len(list(storage.glob("*/checkpoint_*")))  # num_to_keep=2: at most 2 on disk
    assert cluster.job_status(job_id) == "RUNNING"
    alive = train_worker_nodes(cluster, state="ALIVE")
    victim = next(n for n in alive if n != "head")
    killed_at = time.monotonic()
    cluster.kill(victim, signal.SIGKILL)
    try:
        cluster.wait(
            lambda: cluster.job_status(job_id) in ("SUCCEEDED", "FAILED", "STOPPED"), 400, "the job"
        )
    finally:  # never leave a job holding the CPUs the next test needs
        cluster.run([RAY, "job", "stop", "--address", cluster.address, job_id], 120)
    logs = cluster.job_logs(job_id)
    assert cluster.job_status(job_id) == "SUCCEEDED", logs[-4000:]
    recovered_s = time.monotonic() - killed_at
    metrics = Registry(str(cluster_registry)).get("bpr_kill").metrics
    figure = {
        "killed_node": victim,
        "checkpoints_on_disk_at_kill": seen,
        "resumed_at_epoch": metrics["resumed_at"],
        "ndcg_resumed": metrics["ndcg"],
        "ndcg_clean": clean_run.ndcg,
        "kill_to_done_s": round(recovered_s, 1),
    }
    record_figure("node_kill_mid_train", figure)
    assert metrics["epoch"] == 20
    assert 2 <= metrics["resumed_at"] < 20  # from a checkpoint, not from scratch, mid-run
    assert abs(metrics["ndcg"] - clean_run.ndcg) <= max(0.05, 0.2 * clean_run.ndcg), figure
