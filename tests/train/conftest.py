from __future__ import annotations

from pathlib import Path

import pytest

from entertainai.data.synthetic import DemoConfig, generate


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small demo dataset shared by the Ray job tests."""
    path = tmp_path_factory.mktemp("jobs") / "demo"
    generate(str(path), DemoConfig(n_users=300, n_items=120, seed=3))
    return path
