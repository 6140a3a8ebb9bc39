"""Schemathesis over the app's own OpenAPI schema, in-process: no 500, no hang, no stack trace.

Bounded: a fixed number of derandomised examples per operation (reproducible in CI) and a
per-call time limit. Runs against a copy of the served registry, so admin operations the
fuzzer reaches (promote, rollback, erase) cannot disturb other tests.
"""

from __future__ import annotations

import json
import shutil
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings

from deployments.api import create_app
from deployments.settings import AppArgs
from deployments.state import GatewayState
from tests.cluster.cluster import record_figure
from tests.deployments.conftest import ADMIN_KEY, READ_KEY

EXAMPLES_PER_OPERATION = 12
CALL_LIMIT_S = 5.0
# 503s the API documents as operating states (a capability not deployed in this graph, no
# model trained yet); anything else >= 500 is a bug.
OPERATIONAL_503 = {"unavailable", "model_unavailable", "not_ready"}
TRACE_MARKERS = ("Traceback (most recent call last)", 'File "/', "site-packages")


@pytest.fixture(scope="module")
def fuzz_app(
    served_registry: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    root = tmp_path_factory.mktemp("fuzz")
    registry = root / "registry"
    shutil.copytree(served_registry, registry)
    mp = pytest.MonkeyPatch()
    mp.setenv("ENTERTAINAI_API_KEYS", f"reader:read:plain={READ_KEY},ops:admin:plain={ADMIN_KEY}")
    args = AppArgs(
        registry=str(registry),
        event_dir=str(root / "events"),
        rate_limit_per_s=1e6,
        rate_limit_burst=10**6,
        max_body_bytes=20_000,
    )
    app = create_app(args.max_body_bytes)
    app.state.gateway = GatewayState.build(args)
    try:
        yield app
    finally:
        mp.undo()


@pytest.fixture(scope="module")
def api_schema(fuzz_app):
    return schemathesis.openapi.from_asgi("/openapi.json", fuzz_app)


def check_response(case, response, elapsed: float, tally: Counter) -> None:
    """Fails on a hang or a trace; counts every 5xx (``tally``: operational 503s apart), so a
    run reports its 5xx figure and the test asserts that no other 5xx came back."""
    where = f"{case.method} {case.formatted_path}"
    assert elapsed < CALL_LIMIT_S, f"{where} took {elapsed:.1f}s"
    body = response.text
    for marker in TRACE_MARKERS:
        assert marker not in body, f"{where}: stack trace in the body: {body[:500]}"
    if response.status_code >= 500:
        error = json.loads(body).get("error") if body.startswith("{") else None
        operational = response.status_code == 503 and error in OPERATIONAL_503
        tally["operational_503" if operational else "server_errors"] += 1
        if not operational:
            tally[f"{where} -> {response.status_code}: {body[:200]}"] += 1


def fuzz(
    schema, headers: dict[str, str], examples: int, extra_check=None, tally: Counter | None = None
) -> int:
    """Every operation of the schema, ``examples`` derandomised cases each; returns calls made."""
    tally = Counter() if tally is None else tally
    calls = 0
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=examples,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],  # no shrinking: bounded time
            suppress_health_check=list(HealthCheck),
        )
        def run(case) -> None:
            nonlocal calls
            start = time.perf_counter()
            response = case.call(headers=dict(headers))
            calls += 1
            check_response(case, response, time.perf_counter() - start, tally)
            if extra_check:
                extra_check(case, response)

        run()
    return calls


def test_no_server_error_hang_or_trace_with_a_key(api_schema):
    tally: Counter = Counter()
    calls = fuzz(api_schema, {"x-api-key": ADMIN_KEY}, EXAMPLES_PER_OPERATION, tally=tally)
    record_figure(
        "fuzz_5xx",
        {
            "calls": calls,
            "server_errors": tally["server_errors"],
            "operational_503": tally["operational_503"],  # capabilities this graph lacks
        },
    )
    assert calls > 50
    assert tally["server_errors"] == 0, [k for k in tally if " -> " in k]


def test_without_a_key_nothing_leaks(api_schema):
    public = {"/healthz", "/readyz", "/metrics", "/docs", "/openapi.json"}

    def refused(case, response) -> None:
        if case.path not in public:
            # The key is checked before anything else: not even which capabilities exist leaks.
            assert response.status_code in (401, 404, 405, 413, 422), (
                f"{case.method} {case.path} -> {response.status_code} without a valid key"
            )

    tally: Counter = Counter()
    assert fuzz(api_schema, {"x-api-key": "not-a-key-" + "x" * 20}, 3, refused, tally) > 10
    assert tally["server_errors"] == 0, [k for k in tally if " -> " in k]
