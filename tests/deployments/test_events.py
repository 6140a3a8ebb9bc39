"""POST /v1/events when the disk fails: 507 (full) or 503 (I/O error) with a clear JSON body,
/readyz degraded and the failure exported for the alert, then ready and 202 again once the
disk is back, without a restart."""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from deployments.api import create_app
from deployments.settings import AppArgs
from deployments.state import GatewayState
from tests.deployments.conftest import ADMIN_KEY, WRITE_KEY

W = {"x-api-key": WRITE_KEY}


@pytest.fixture()
def client(served_registry: Path, tmp_path: Path, api_keys) -> Iterator[TestClient]:
    args = AppArgs(
        registry=str(served_registry),
        event_dir=str(tmp_path / "events"),
        rate_limit_per_s=1000,
        rate_limit_burst=1000,
    )
    app = create_app(args.max_body_bytes)
    app.state.gateway = GatewayState.build(args)
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def post_event(client: TestClient) -> object:
    item = client.app.state.gateway.service.models.model.item_ids_[0]  # type: ignore[attr-defined]
    body = {"events": [{"user_id": "u00003", "item_id": str(item), "event_type": "play"}]}
    return client.post("/v1/events", json=body, headers=W)


def failing_metric(client: TestClient) -> float:
    text = client.get("/metrics", headers={"x-api-key": ADMIN_KEY}).text
    line = next(x for x in text.splitlines() if x.startswith("entertainai_event_log_failing "))
    return float(line.split()[1])


def raise_oserror(code: int):  # noqa: ANN201 - an os.write/os.fsync stand-in
    def fail(*_: object) -> int:
        raise OSError(code, os.strerror(code))

    return fail


@pytest.mark.parametrize(
    ("call", "code", "status", "error", "hint"),
    [
        ("write", errno.ENOSPC, 507, "insufficient_storage", "disk is full"),
        ("fsync", errno.EIO, 503, "event_log_unavailable", "I/O error"),
    ],
)
def test_a_failing_disk_is_refused_clearly_and_heals_without_a_restart(
    client: TestClient,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    call: str,
    code: int,
    status: int,
    error: str,
    hint: str,
) -> None:
    assert post_event(client).status_code == 202
    before = client.get("/readyz").json()
    assert before["event_log"]["ok"]

    monkeypatch.setattr(os, call, raise_oserror(code))
    r = post_event(client)
    again = post_event(client)  # a later POST says the same, not 'model_unavailable'
    ready = client.get("/readyz").json()  # tries to heal: the disk still fails
    monkeypatch.undo()

    for answer in (r, again):
        assert answer.status_code == status, answer.text
        body = answer.json()
        assert body["error"] == error and hint in body["detail"] and body["request_id"]
        assert str(tmp_path) not in body["detail"]  # no server paths
    assert r.headers["retry-after"]
    assert ready["status"] == "degraded" and not ready["event_log"]["ok"]
    assert ready["event_log"]["disk_full"] is (status == 507)
    assert failing_metric(client) == 1.0

    healed = client.get("/readyz").json()  # the disk is back: healed by the probe
    assert healed["status"] == before["status"] and healed["event_log"]["ok"]
    assert failing_metric(client) == 0.0
    assert post_event(client).status_code == 202


# ---- issue 18: a viewer's token records its own events -----------------------------------------


def token_for(client: TestClient, user_id: str) -> dict[str, str]:
    r = client.post(f"/v1/users/{user_id}/tokens", headers={"x-api-key": ADMIN_KEY})
    assert r.status_code == 201, r.text
    return {"authorization": f"Bearer {r.json()['token']}"}


def logged(tmp_path: Path, needle: str) -> bool:
    return any(needle in p.read_text() for p in (tmp_path / "events").rglob("seg-*"))


def test_a_user_token_posts_events_for_its_own_user_only(
    client: TestClient, served_registry: Path, tmp_path: Path
) -> None:
    items = [str(i) for i in client.app.state.gateway.service.models.model.item_ids_[:3]]  # type: ignore[attr-defined]
    T = token_for(client, "u00003")

    def batch(*pairs: tuple[str, str]) -> dict:
        return {"events": [{"user_id": u, "item_id": i, "event_type": "play"} for u, i in pairs]}

    own = client.post("/v1/events", json=batch(("u00003", items[0])), headers=T)
    assert own.status_code == 202 and own.json()["accepted"] == 1
    assert logged(tmp_path, items[0])
    for refused in (
        batch(("u00004", items[1])),  # another user
        batch(("u00003", items[1]), ("u00004", items[1])),  # mixed: the whole batch
    ):
        r = client.post("/v1/events", json=refused, headers=T)
        assert r.status_code == 403, r.text
        assert r.json()["error"] == "forbidden" and "own user" in r.json()["detail"]
    assert not logged(tmp_path, items[1])  # nothing of a refused batch was written
    # A key writes for anyone.
    assert client.post("/v1/events", json=batch(("u00004", items[2])), headers=W).status_code == 202
    # Another replica (same registry, so the same token secret) that has served nothing yet
    # takes the token at its key gate too.
    args = AppArgs(registry=str(served_registry), event_dir=str(tmp_path / "other"))
    app = create_app()
    app.state.gateway = GatewayState.build(args)
    with TestClient(app) as other:
        r = other.post("/v1/events", json=batch(("u00003", items[1])), headers=T)
        assert r.status_code == 202, r.text
