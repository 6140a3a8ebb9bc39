"""Session-wide fixtures: one private local Ray per test session, started only if a test asks."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("OMP_NUM_THREADS", "2")


@pytest.fixture(autouse=True)
def own_catalogue_additions(tmp_path_factory: pytest.TempPathFactory, monkeypatch) -> None:
    """Items a test POSTs are recorded in its own place, not in a registry tests share."""
    monkeypatch.setenv("ENTERTAINAI_CATALOGUE_ROOT", str(tmp_path_factory.mktemp("catalogue")))


@pytest.fixture(scope="session")
def ray_session() -> Iterator[None]:
    import ray

    # address="local": never attach to a cluster that happens to run on this machine.
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small demo dataset shared by the Ray job tests."""
    from entertainai.data.synthetic import DemoConfig, generate

    path = tmp_path_factory.mktemp("jobs") / "demo"
    generate(str(path), DemoConfig(n_users=300, n_items=120, seed=3))
    return path
