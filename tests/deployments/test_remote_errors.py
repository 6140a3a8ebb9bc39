"""Errors raised inside a composed deployment reach clients as their message, never a trace."""

from __future__ import annotations

from fastapi.testclient import TestClient
from ray.exceptions import RayTaskError

from deployments.api import create_app
from entertainai.errors import ArtifactError


def test_a_remote_core_error_keeps_its_status_and_only_its_message():
    app = create_app()
    cause = ArtifactError("no model for 'text': text_transformer@production is not in the registry")
    remote = RayTaskError(
        "ServeReplica:entertainai:TextGenerator.handle_request_with_rejection()",
        'Traceback (most recent call last):\n  File "replica.py", line 1820, in handle\n',
        cause,
    ).as_instanceof_cause()
    assert isinstance(remote, ArtifactError)  # what a DeploymentHandle raises in the ingress

    @app.get("/boom")
    async def boom() -> None:
        raise remote

    body = TestClient(app, raise_server_exceptions=False).get("/boom")
    assert body.status_code == 503 and body.json()["error"] == "model_unavailable"
    assert body.json()["detail"] == str(cause)
    assert "Traceback" not in body.text and "replica.py" not in body.text
