"""One multi-node cluster (head + worker on 127.0.0.1, token auth) shared by the cluster tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cluster.cluster import LocalCluster
from tests.deployments.conftest import served_registry  # noqa: F401  (a hybrid@production)


# Package scope: the nodes go away after the cluster tests instead of idling (and costing CPU)
# through the rest of the suite.
@pytest.fixture(scope="package")
def cluster() -> Iterator[LocalCluster]:
    local = start_cluster()
    try:
        yield local
    finally:
        local.shutdown()


def start_cluster(attempts: int = 2) -> LocalCluster:
    """Head + one worker. One retry: on a crowded machine a node's raylet occasionally dies at
    start-up (an agent port taken between our probe and its bind), which is not under test."""
    for attempt in range(1, attempts + 1):
        # Logical CPUs (not cores): 2 per node, so a 2-worker job at 1.5 CPU each must span
        # both nodes, while Ray Data's 1-CPU tasks still fit beside its actors.
        local = LocalCluster()
        try:
            local.start(head_cpus=2)
            local.add_worker("w1", num_cpus=2)
            return local
        except TimeoutError:
            local.shutdown()
            if attempt == attempts:
                raise
    raise AssertionError("unreachable")


@pytest.fixture(scope="session")
def cluster_registry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cluster") / "registry"
