"""What every web route needs: the API app, sessions, the dataset view, and typed
dependencies for the signed-in session, its scopes and the CSRF check."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlsplit

from fastapi import Depends, Request
from starlette.types import ASGIApp

from deployments.state import GatewayState
from deployments.web import inner
from deployments.web.catalog import WebData, dataset_uri
from deployments.web.operations import MetricsHistory
from deployments.web.sessions import COOKIE, Session, SessionStore
from entertainai.errors import PermissionDenied, Unauthenticated, Unavailable
from entertainai.serving.security import RateLimiter

STATIC = Path(__file__).parent / "static"
TEMPLATES = Path(__file__).parent / "templates"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
MAX_FORM_BYTES = 4096
# What a session signed in with a user token may open (route paths): the viewer's pages, their
# data and its own "play" / "not interested" events; the API itself refuses such a token
# everything about other users.
VIEWER_ROUTES = frozenset(
    {"/", "/web/search", "/web/items/{item_id}", "/web/api/home", "/web/api/trending"}
    | {"/web/api/search", "/web/api/events"}
)
# Failed sign-ins per client address (keys are 256-bit: this bounds floods, not guessing).
SIGNIN_PER_S, SIGNIN_BURST = 1.0, 10


class SignInRequired(Exception):
    """No valid session: pages redirect to the sign-in page, JSON routes answer 401."""


class CsrfRejected(Exception):
    """A state-changing request without this session's CSRF token (or from another origin)."""


def asset_version() -> str:
    """A hash of the static files, appended to their URLs so browsers cache them safely."""
    digest = hashlib.sha256()
    for path in sorted(STATIC.iterdir()):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:10]


@dataclass
class WebContext:
    """One per API app (per Gateway replica): built by ``install``."""

    api: ASGIApp
    history: MetricsHistory = field(default_factory=MetricsHistory)
    signin_limiter: RateLimiter = field(
        default_factory=lambda: RateLimiter(SIGNIN_PER_S, SIGNIN_BURST, max_keys=10_000)
    )
    version: str = field(default_factory=asset_version)
    report: dict[str, bytes] = field(default_factory=dict)  # dataset hash -> report HTML
    _store: SessionStore | None = None
    _data: WebData | None = None

    @property
    def gateway(self) -> GatewayState:
        state = getattr(getattr(self.api, "state", None), "gateway", None)
        if state is None:
            raise Unavailable("the service is starting; try again in a moment")
        return state

    @property
    def store(self) -> SessionStore:
        if self._store is None:
            self._store = SessionStore(self.gateway.args.registry)
        return self._store

    @property
    def data(self) -> WebData:
        if self._data is None:
            args = self.gateway.args
            self._data = WebData(dataset_uri(args.registry, args.curation_dataset))
        return self._data

    async def call(
        self,
        request: Request,
        session: Session | None,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
    ) -> inner.Answer:
        """The API's answer to ``method path`` with the session's key (any status)."""
        return await inner.call(
            self.api,
            method,
            path,
            key=session.key if session else None,
            params=params,
            body=body,
            request_id=getattr(request.state, "request_id", None),
            client=(request.client.host, request.client.port) if request.client else None,
        )

    async def json(
        self,
        request: Request,
        session: Session | None,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
    ) -> Any:
        """The API's JSON answer; raises :class:`inner.ApiError` for any non-2xx."""
        answer = await self.call(request, session, method, path, params=params, body=body)
        if not answer.ok:
            raise inner.ApiError(answer)
        return answer.json()


def get_context(request: Request) -> WebContext:
    return request.app.state.web


Ctx = Annotated[WebContext, Depends(get_context)]


def current_session(request: Request, ctx: Ctx) -> Session | None:
    return ctx.store.get(request.cookies.get(COOKIE))


MaybeSession = Annotated[Session | None, Depends(current_session)]


def signed_in(session: MaybeSession) -> Session:
    if session is None:
        raise SignInRequired()
    return session


SignedIn = Annotated[Session, Depends(signed_in)]


def scope(name: str):  # noqa: ANN201 - a FastAPI dependency factory
    def dependency(request: Request, session: SignedIn) -> Session:
        session.principal.require(name)
        if session.user_bound and viewer_route(request) not in VIEWER_ROUTES:
            raise PermissionDenied("signed in with a user token: the viewer pages only")
        return session

    return dependency


def viewer_route(request: Request) -> str:
    return str(getattr(request.scope.get("route"), "path", ""))


Reader = Annotated[Session, Depends(scope("read"))]
EventWriter = Annotated[Session, Depends(scope("write-events"))]
Admin = Annotated[Session, Depends(scope("admin"))]


def same_origin(request: Request) -> None:
    """Refuse a browser request that names another origin (defence beside the token and
    SameSite=Strict); requests without ``Origin`` (non-browser clients) pass to the token."""
    origin = request.headers.get("origin")
    if origin is None:
        return
    # The host, not the scheme: behind a TLS-terminating balancer the app sees http.
    if urlsplit(origin).netloc != request.headers.get("host", ""):
        raise CsrfRejected()


def is_https(request: Request) -> bool:
    """Whether the browser talks HTTPS (directly or to a balancer that says so)."""
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip()
    return request.url.scheme == "https" or forwarded == "https"


async def read_form(request: Request) -> dict[str, str]:
    """A small ``application/x-www-form-urlencoded`` body (sign-in, sign-out, profile)."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise Unauthenticated("form too large")
    return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


def require_csrf(request: Request, ctx: WebContext, session: Session, token: str | None) -> None:
    same_origin(request)
    if not ctx.store.check_csrf(session, token):
        raise CsrfRejected()


async def csrf_header(request: Request, ctx: Ctx, session: SignedIn) -> Session:
    """For JSON routes: the token in the ``x-csrf-token`` header."""
    require_csrf(request, ctx, session, request.headers.get(CSRF_HEADER))
    return session


Csrf = Annotated[Session, Depends(csrf_header)]
