"""The FastAPI application: routers, error mapping, the key gate, body limits and observability.

The same app runs as the Serve ingress (``gateway.py``) and, for the benchmark baseline,
under plain uvicorn — so both serve exactly the same code.

Without a key only liveness, readiness and the API's description (``/docs``, ``/redoc``,
``/openapi.json``) answer; ``/metrics`` needs a key with the ``metrics`` scope.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from deployments import web
from deployments.deps import token_signer
from deployments.fastlane import FastLaneAPI
from deployments.observability import Observe
from deployments.routes import (
    analyze_text,
    catalogue,
    events,
    generate_image,
    generate_music,
    generate_text,
    insights,
    moderate,
    ops,
    recommendations,
    users,
)
from deployments.state import GatewayState
from entertainai.errors import (
    ArtifactError,
    ContentRefused,
    EntertainAIError,
    InputError,
    NotFittedError,
    NotFoundError,
    PermissionDenied,
    Unauthenticated,
    Unavailable,
)
from entertainai.serving.security import (
    RateLimited,
    RateLimiter,
    authenticate_request,
    strip_paths,
)

log = logging.getLogger(__name__)

# One place maps every core error to its HTTP status.
STATUS: list[tuple[type[Exception], int, str]] = [
    (Unauthenticated, 401, "unauthenticated"),
    (PermissionDenied, 403, "forbidden"),
    (RateLimited, 429, "rate_limited"),
    (NotFoundError, 404, "not_found"),
    (InputError, 422, "invalid_input"),
    (ContentRefused, 422, "content_refused"),
    (NotFittedError, 503, "not_ready"),
    (Unavailable, 503, "unavailable"),
    (ArtifactError, 503, "model_unavailable"),
    (EntertainAIError, 400, "bad_request"),
]


def error_response(
    request: Request, status: int, error: str, detail: object = None
) -> JSONResponse:
    body = {
        "error": error,
        "detail": detail,
        "request_id": getattr(request.state, "request_id", None),
    }
    return JSONResponse(body, status_code=status)


def user_message(exc: Exception) -> str:
    """The error's own message, without server paths. An error raised in a composed deployment
    arrives through its handle as a Ray task error (a subclass of the original, so it maps to
    the same status) whose ``str`` is the remote traceback: clients get the original message
    only. Registry, event-log and catalogue locations are replaced with ``<path>``."""
    cause = getattr(exc, "cause", None)
    return strip_paths(str(cause if isinstance(cause, BaseException) else exc))


async def on_core_error(request: Request, exc: Exception) -> JSONResponse:
    for cls, status, code in STATUS:
        if isinstance(exc, cls):
            response = error_response(request, status, code, user_message(exc))
            if isinstance(exc, RateLimited):
                response.headers["Retry-After"] = str(max(1, int(exc.retry_after_s + 0.999)))
            if isinstance(exc, Unauthenticated):
                response.headers["WWW-Authenticate"] = "ApiKey"
            return response
    return await on_unexpected(request, exc)


async def on_validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    detail = [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
        for e in exc.errors()
    ]
    return error_response(request, 422, "invalid_input", detail)


async def on_model_error(request: Request, exc: ValidationError) -> JSONResponse:
    detail = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
    return error_response(request, 422, "invalid_input", detail)


async def on_http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    error = "payload_too_large" if exc.status_code == 413 else "http_error"
    return error_response(request, exc.status_code, error, exc.detail)


async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    # The trace goes to the log with the request id; the client never sees it.
    log.exception("unhandled error (request %s)", getattr(request.state, "request_id", "?"))
    return error_response(request, 500, "internal_error", "internal error; see server logs")


class BodyLimit:
    """Refuse request bodies over ``max_bytes`` with 413, counted as they stream in.

    A declared length is refused before the app runs. A streamed (chunked) body that grows
    past the limit raises ``_TooLarge`` from ``receive``: an HTTP exception, so FastAPI's body
    parsing passes it on as the 413 it is (any other exception there becomes its 400)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._reject(scope, send)
            return
        seen = 0

        async def counting_receive() -> dict:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                raise _TooLarge(self.max_bytes)
            return message

        try:
            await self.app(scope, counting_receive, send)
        except _TooLarge:
            await self._reject(scope, send)

    async def _reject(self, scope: Scope, send: Send) -> None:
        body = (
            b'{"error": "payload_too_large", "detail": "request body over %d bytes"}'
            % self.max_bytes
        )
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _TooLarge(StarletteHTTPException):
    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"request body over {max_bytes} bytes")


DOCS_PATHS = frozenset({"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"})
PUBLIC_PATHS = DOCS_PATHS | {"/healthz", "/readyz"}
# Paths whose scope the gate checks itself (``deployments/routes/ops.py`` declares /metrics
# without a key dependency).
GATED_SCOPES = {"/metrics": "metrics"}
# Requests without a valid key, per client address: enough for a misconfigured client to see
# its 401s, not for guessing keys or flooding 401s (each still costs a hash and a response).
UNAUTHENTICATED_PER_S, UNAUTHENTICATED_BURST, UNAUTHENTICATED_CLIENTS = 10.0, 200, 10_000


class KeyGate:
    """Refuse a request without a valid API key before anything reads or parses its body
    (malformed JSON without a key is a 401, not a 422), and throttle such requests per client
    address. Valid keys never touch this limiter, so a flood of bad keys cannot lock anyone
    out; behind a proxy every client shares the proxy's address, which only pools the refused.
    Scopes are checked by the routes' dependencies (``deployments/deps.py``).
    """

    def __init__(self, app: ASGIApp, limiter: RateLimiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        gateway = getattr(getattr(scope.get("app"), "state", None), "gateway", None)
        if (
            scope["type"] == "http"
            and scope["path"] not in PUBLIC_PATHS
            and gateway is not None  # still starting: /readyz says so, the routes refuse
            and gateway.args.require_api_key
        ):
            try:
                self.check(gateway, scope)
            except (Unauthenticated, PermissionDenied, RateLimited) as exc:
                response = await on_core_error(Request(scope), exc)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def check(self, gateway: GatewayState, scope: Scope) -> None:
        """Raise unless the request carries one valid key (and the scope its path needs)."""
        if gateway.keys.tokens is None:
            token_signer(gateway)  # a replica's first request may carry a user token
        try:
            # Remembered in the scope: the route's ``authorize`` does not hash the key again.
            principal = authenticate_request(gateway.keys, scope)
        except Unauthenticated:
            retry = self.limiter.check((scope.get("client") or ("unknown",))[0])
            if retry > 0:
                raise RateLimited(retry) from None
            raise
        needed = GATED_SCOPES.get(scope["path"])
        if needed is not None:
            principal.require(needed)


def create_app(
    max_body_bytes: int = 1_000_000,
    *,
    echo_request_id: bool = True,
    unauthenticated: RateLimiter | None = None,
    web_app: bool = True,
) -> FastAPI:
    """The HTTP API. ``echo_request_id=False`` when the server in front already puts the
    request id on every response (Ray Serve does), so the header is not sent twice.
    ``unauthenticated``: the per-client-address limiter of requests without a valid key.
    ``web_app=False``: the API alone, without the web app at /."""
    app = FastLaneAPI(
        title="EntertainAI",
        version="1",
        description="Recommendations, trending, events and catalogue for a streaming service.",
        docs_url="/docs",
    )
    app.echo_request_id = echo_request_id
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)
    if unauthenticated is None:
        unauthenticated = RateLimiter(
            UNAUTHENTICATED_PER_S, UNAUTHENTICATED_BURST, max_keys=UNAUTHENTICATED_CLIENTS
        )
    app.add_middleware(KeyGate, limiter=unauthenticated)  # outside BodyLimit: before any body
    # Added last = outermost: it also sees 413s and auth errors.
    app.add_middleware(Observe, echo_request_id=echo_request_id)
    app.add_exception_handler(EntertainAIError, on_core_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(ValidationError, on_model_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected)
    for module in (
        recommendations,
        catalogue,
        events,
        users,
        ops,
        generate_text,
        generate_image,
        generate_music,
        analyze_text,
        moderate,
        insights,
    ):
        app.include_router(module.router)
    if web_app:
        web.install(app)  # the web app at / and /web/... (deployments/web)
    # Serve names each request's route by scanning the routes in order (~19 us per request
    # behind the four docs routes FastAPI adds first, ~7 us with the API first); no path
    # overlaps, so the order changes nothing else.
    docs = [r for r in app.router.routes if getattr(r, "path", "") in DOCS_PATHS]
    app.router.routes[:] = [r for r in app.router.routes if r not in docs] + docs
    return app
