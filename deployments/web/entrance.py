"""Where the web app meets the API app: one path test in front of the API's middleware.

The API's key gate refuses every request without an API key, so pages (which a browser asks
for with a session cookie) cannot sit behind it. ``install`` puts :class:`WebEntrance` in
front of the API's middleware: ``/`` and ``/web/...`` go to the web app, everything else goes
on to the API untouched. The hot path pays nothing (the fast lane answers before any
middleware); other API requests pay one prefix test (0.3 us measured here). The web app has
its own request ids and metrics (``Observe``, into the same Prometheus registry), error pages
and security headers, and reaches the API only through the API app itself (``inner.call``).
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from deployments.observability import Observe
from deployments.web.context import STATIC, CsrfRejected, SignInRequired, WebContext
from deployments.web.inner import ApiError
from deployments.web.sessions import COOKIE
from entertainai.errors import EntertainAIError
from entertainai.serving.security import strip_paths

log = logging.getLogger(__name__)

PREFIX = "/web"
# No inline script or style anywhere: pages are templates plus /web/static files.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]


def is_web_path(path: str) -> bool:
    return path == "/" or path == PREFIX or path.startswith(PREFIX + "/")


class WebEntrance:
    """Pure ASGI: web paths to the web app, the rest to the API app (unchanged)."""

    def __init__(self, app: ASGIApp, web: ASGIApp) -> None:
        self.app = app
        self.web = web

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and is_web_path(scope["path"]):
            await self.web(scope, receive, send)
        else:
            await self.app(scope, receive, send)


class SecurityHeaders:
    """CSP and friends on every web response; pages and JSON are never cached."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith(PREFIX + "/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                headers += [h for h in SECURITY_HEADERS if h[0] not in names]
                if b"cache-control" not in names:
                    cache = b"public, max-age=86400" if static else b"no-store"
                    headers.append((b"cache-control", cache))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith(PREFIX + "/api/")


def _error(request: Request, status: int, error: str, detail: str) -> Response:
    if _wants_json(request):
        return JSONResponse(
            {"error": error, "detail": detail, "request_id": request.state.request_id},
            status_code=status,
        )
    templates = request.app.state.templates
    return templates.TemplateResponse(
        request,
        "error.html",
        {
            "status": status,
            "error": error,
            "detail": detail,
            "session": None,
            "page": "error",
            "title": f"{status} {error}",
            "csrf": "",
            "nav": [],
            "data": {},
        },
        status_code=status,
    )


async def on_sign_in_required(request: Request, exc: Exception) -> Response:
    if _wants_json(request):
        return _error(request, 401, "unauthenticated", "sign in first")
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"{PREFIX}/signin?next={target}", status_code=303)


async def on_csrf(request: Request, exc: Exception) -> Response:
    return _error(request, 403, "csrf", "missing or wrong CSRF token; reload the page")


async def on_api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    answer = exc.answer
    if answer.status == 401:  # the key was revoked since sign-in: so is the session
        ctx: WebContext = request.app.state.web
        session = ctx.store.get(request.cookies.get(COOKIE))
        if session is not None:
            ctx.store.delete(session)
        if not _wants_json(request):
            return await on_sign_in_required(request, SignInRequired())
    if _wants_json(request):
        headers = {k: v for k, v in answer.headers.items() if k in ("retry-after",)}
        return Response(
            answer.body,
            status_code=answer.status,
            media_type="application/json",
            headers=headers,
        )
    return _error(request, answer.status, "api", answer.detail())


async def on_core_error(request: Request, exc: Exception) -> Response:
    from deployments.api import STATUS  # the one status mapping (lazy: api imports us)

    status, code = next(((s, c) for cls, s, c in STATUS if isinstance(exc, cls)), (400, "error"))
    return _error(request, status, code, strip_paths(str(exc)))


async def on_http_error(request: Request, exc: Exception) -> Response:
    status = getattr(exc, "status_code", 500)
    return _error(request, status, "http_error", str(getattr(exc, "detail", "")))


async def on_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("web: unhandled error (request %s)", request.state.request_id)
    return _error(request, 500, "internal_error", "internal error; see server logs")


def create_web_app(api: ASGIApp, *, echo_request_id: bool = True) -> FastAPI:
    """The web app, reaching ``api`` in-process."""
    from fastapi.templating import Jinja2Templates
    from starlette.exceptions import HTTPException

    from deployments.web import pages
    from deployments.web.context import TEMPLATES

    web = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    web.state.web = WebContext(api)
    templates = Jinja2Templates(directory=str(TEMPLATES))
    templates.env.globals["asset_version"] = web.state.web.version
    web.state.templates = templates
    web.mount(PREFIX + "/static", StaticFiles(directory=str(STATIC)), name="static")
    web.include_router(pages.router)
    web.add_exception_handler(SignInRequired, on_sign_in_required)
    web.add_exception_handler(CsrfRejected, on_csrf)
    web.add_exception_handler(ApiError, on_api_error)
    web.add_exception_handler(EntertainAIError, on_core_error)
    web.add_exception_handler(HTTPException, on_http_error)
    web.add_exception_handler(Exception, on_unexpected)
    web.add_middleware(SecurityHeaders)
    web.add_middleware(Observe, echo_request_id=echo_request_id)
    return web


def install(app: FastAPI) -> FastAPI:
    """Serve the web app beside the API on ``app`` (call inside ``create_app``)."""
    web = create_web_app(app, echo_request_id=getattr(app, "echo_request_id", True))
    app.add_middleware(WebEntrance, web=web)
    app.state.web_app = web
    return web
