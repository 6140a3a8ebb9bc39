"""Calls from the web app into the API app in the same process: a plain ASGI request.

The pages never re-implement an API route: each of their data calls is a request to the API's
own app (key gate, scopes, rate limits, validation, moderation, error bodies and metrics all
included), carrying the signed-in session's key in a header that only this process sees. No
socket, no HTTP client library: ~0.1 ms over the route itself here.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from starlette.types import ASGIApp, Message

JSON = b"application/json"


@dataclass(frozen=True)
class Answer:
    """One response of the API app."""

    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def json(self) -> Any:
        return json.loads(self.body)

    def detail(self) -> str:
        """The API's error message (its ``detail``), for a page to show."""
        try:
            body = self.json()
        except ValueError:
            return self.body.decode("utf-8", "replace")[:300] or f"HTTP {self.status}"
        detail = body.get("detail") if isinstance(body, dict) else None
        if isinstance(detail, list):  # validation errors: "field: message" each
            return "; ".join(
                f"{'.'.join(str(p) for p in d.get('loc', [])[1:])}: {d.get('msg', '')}"
                for d in detail
            )
        return str(detail or body.get("error") or f"HTTP {self.status}")


class ApiError(Exception):
    """A non-2xx answer, carried to the web app's error handler unchanged."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        super().__init__(answer.detail())


async def call(
    app: ASGIApp,
    method: str,
    path: str,
    *,
    key: str | None,
    params: dict[str, Any] | None = None,
    body: Any = None,
    request_id: str | None = None,
    client: tuple[str, int] | None = None,
) -> Answer:
    """``method path`` on ``app`` with ``key`` (JSON ``body``); the whole answer."""
    raw = b"" if body is None else json.dumps(body).encode()
    headers = [(b"host", b"web.internal"), (b"accept", JSON)]
    if key:
        headers.append((b"x-api-key", key.encode("latin-1")))
    if raw:
        headers += [(b"content-type", JSON), (b"content-length", str(len(raw)).encode())]
    if request_id:
        headers.append((b"x-request-id", request_id.encode("latin-1")))
    query = urlencode(
        [(k, v) for k, v in (params or {}).items() if v is not None], doseq=True
    ).encode()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query,
        "headers": headers,
        "client": client or ("127.0.0.1", 0),
        "server": ("web.internal", 80),
        "state": {},
    }
    sent, done = False, asyncio.Event()
    status, out_headers, chunks = 500, {}, []

    async def receive() -> Message:
        nonlocal sent
        if sent:  # the body was read: the "client" goes away only once the answer is in
            await done.wait()
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": raw, "more_body": False}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
            for name, value in message.get("headers", []):
                out_headers[name.decode("latin-1").lower()] = value.decode("latin-1")
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    try:
        await app(scope, receive, send)
    finally:
        done.set()
    return Answer(status, out_headers, b"".join(chunks))
