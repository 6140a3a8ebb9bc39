"""API keys, their hashes and other secrets never reach the logs, on any path through the app."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from deployments.api import create_app
from deployments.observability import configure_json_logging
from deployments.settings import AppArgs
from deployments.state import GatewayState
from entertainai.serving.security import generate_key, hash_key, redact
from tests.deployments.conftest import ADMIN_KEY, READ_KEY, WRITE_KEY


def test_requests_with_good_bad_and_misplaced_keys_log_no_secret(
    served_registry: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
):
    real = generate_key()  # a production-shaped key (43 url-safe characters)
    wrong = generate_key()
    monkeypatch.setenv(
        "ENTERTAINAI_API_KEYS",
        f"reader:read:plain={READ_KEY},writer:read+write-events:plain={WRITE_KEY},"
        f"ops:admin:plain={ADMIN_KEY},svc:read:{hash_key(real)}",
    )
    configure_json_logging()  # the replica's access log, writing to (captured) stderr
    args = AppArgs(registry=str(served_registry), event_dir=str(tmp_path / "events"))
    app = create_app(args.max_body_bytes)
    with caplog.at_level(logging.DEBUG):
        app.state.gateway = GatewayState.build(args)
        with TestClient(app, raise_server_exceptions=False) as client:
            statuses = [
                client.get("/v1/trending", headers={"x-api-key": real}).status_code,
                client.get("/v1/trending", headers={"x-api-key": wrong}).status_code,
                client.get("/v1/trending", headers={"x-api-key": READ_KEY + "x"}).status_code,
                # keys where they do not belong: query string, body, path
                client.get(f"/v1/trending?api_key={real}", headers={"x-api-key": real}).status_code,
                client.post(
                    "/v1/events",
                    json={"events": [{"user_id": real, "item_id": wrong, "event_type": "bad"}]},
                    headers={"x-api-key": WRITE_KEY},
                ).status_code,
                client.get(
                    f"/v1/users/{wrong}/recommendations?k=0", headers={"x-api-key": real}
                ).status_code,
                client.get("/v1/models", headers={"x-api-key": ADMIN_KEY}).status_code,
                client.get("/v1/models", headers={"authorization": f"Bearer {real}"}).status_code,
            ]
    assert statuses[0] == 200 and statuses[1] == statuses[2] == 401 and 422 in statuses
    # The server's logs (the test client's own httpx log of the URLs it sent is not the app's).
    server_records = [r for r in caplog.records if not r.name.startswith("httpx")]
    logged = capsys.readouterr().err + "\n".join(r.getMessage() for r in server_records)
    assert '"status": 401' in logged  # the failures were logged, so the check means something
    for secret in (real, wrong, READ_KEY, WRITE_KEY, ADMIN_KEY, hash_key(real)):
        assert secret not in logged, f"a secret reached the logs: {secret[:6]}..."


@pytest.mark.parametrize(
    "message",
    [
        "token=%s",
        "RAY_AUTH_TOKEN=%s",
        "Authorization: Bearer %s",
        "x-api-key: %s",
        "password: %s",
        "failed for key %s",
    ],
)
def test_log_lines_with_secrets_are_redacted(message: str):
    secret = generate_key()
    assert secret not in redact(message % secret)
