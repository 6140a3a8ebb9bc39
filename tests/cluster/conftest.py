"""One multi-node cluster (head + worker on 127.0.0.1, token auth) shared by the cluster tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cluster.cluster import LocalCluster
from tests.deployments.conftest import served_registry  # noqa: F401  (a hybrid@production)


@pytest.fixture(scope="session")
def cluster() -> Iterator[LocalCluster]:
    # Logical CPUs: 1 per node, so a 2-worker job at 0.75 CPU each must span both nodes.
    local = LocalCluster().start(head_cpus=1)
    try:
        local.add_worker("w1", num_cpus=1)
        yield local
    finally:
        local.shutdown()


@pytest.fixture(scope="session")
def cluster_registry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cluster") / "registry"
