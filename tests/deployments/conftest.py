"""A registry with a served hybrid model, trained once on small demo data."""

from __future__ import annotations

from pathlib import Path

import pytest

from entertainai.recommend.training import TrainSpec, fit_and_evaluate, prepare, register
from entertainai.registry import Registry

READ_KEY, WRITE_KEY, ADMIN_KEY = (
    "reader-key-0123456789",
    "writer-key-0123456789",
    "admin-key-0123456789",
)
KEYS_ENV = (
    f"reader:read:plain={READ_KEY},writer:read+write-events:plain={WRITE_KEY},"
    f"ops:admin:plain={ADMIN_KEY}"
)


@pytest.fixture(scope="session")
def served_registry(demo_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("serve") / "registry"
    registry = Registry(str(root))
    prepared = prepare(str(demo_dir), "random:0.2:42")
    for params in ({}, {"weights": [1.0, 0.5, 0.5]}):  # two versions, for promote/rollback
        spec = TrainSpec("hybrid", params, eval_users=200)
        model, result = fit_and_evaluate(prepared, spec)
        register(registry, model, result, prepared, spec, refit_on_full=False)
    registry.set_alias("hybrid", "production", 1)
    return root


@pytest.fixture()
def api_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENTERTAINAI_API_KEYS", KEYS_ENV)
